"""A cheap guess at the ticket's language, so the reply can greet in it.

Counting function words is crude but needs no model and takes microseconds; it only has to
tell "clearly German/French/Spanish/Portuguese" from everything else, which stays English.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "de", "fr", "es", "pt"]
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "pt": "Portuguese",
}

# Function words that are frequent in one language and rare in the others. Words shared by
# two of them ("que", "para", "no", "es", "la", "do") are left out on purpose: they would
# only blur the vote between neighbours.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are to of it this that with for on not my we our you have has can but be "
        "from when what how does any there please thanks hello hey would could they".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ich wir sie mit für auf ein eine einen zu den dem von bei "
        "auch aber wie wenn mein meine unser unsere haben habe hallo danke bitte kann können "
        "wird werden noch nur oder sich dass keine kein leider".split()
    ),
    "fr": frozenset(
        "le les et est une pas je nous vous avec pour sur dans ce cette mais mon ma mes notre "
        "nos bonjour merci qui ne sont avons ai il elle au aux peux pouvez puis votre "
        "depuis".split()
    ),
    "es": frozenset(
        "el los las y una del por pero muy mi mis nuestro nuestra con hola gracias tengo "
        "tenemos están cómo qué al lo puedo pueden cuando también sin hay desde".split()
    ),
    "pt": frozenset(
        "os e é um uma da dos das não você vocês com em na meu minha nosso nossa olá "
        "obrigado obrigada tenho temos estão também ao isso pode podem quando sem desde eu "
        "mim já foi seu sua então estou".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

#: Hits a language needs before the text counts as "clearly" written in it.
MIN_HITS = 3


def _counts(text: str) -> dict[str, int]:
    counts = dict.fromkeys(_STOPWORDS, 0)
    for word in _WORD.findall(text.lower()):
        for lang, words in _STOPWORDS.items():
            if word in words:
                counts[lang] += 1
    return counts


def clearly_english(text: str, *, min_hits: int = MIN_HITS) -> bool:
    """Whether `text` has English function words enough, and more than any other's."""
    counts = _counts(text)
    return counts["en"] >= min_hits and counts["en"] > max(
        n for lang, n in counts.items() if lang != "en")


def detect_language(text: str, *, min_hits: int = MIN_HITS) -> Language:
    """Guess the language of `text`: de, fr, es or pt when clearly so, otherwise en.

    A language wins when it has at least `min_hits` function words, more than English, and
    half again as many as the runner-up (Spanish and Portuguese share much vocabulary). A
    short reply ("Danke, das hat geklappt!") can be read with a lower `min_hits`.
    """
    counts = _counts(text)
    ranked = sorted((lang for lang in counts if lang != "en"), key=counts.__getitem__,
                    reverse=True)
    best, runner_up = ranked[0], ranked[1]
    if (
        counts[best] >= min_hits
        and counts[best] > counts["en"]
        and counts[best] >= 1.5 * counts[runner_up]
    ):
        return best  # type: ignore[return-value]  # keys of _STOPWORDS are Languages
    return "en"
