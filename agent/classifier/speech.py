"""Speech-act features: what a ticket asks for, beside what it is about.

The MiniLM vector says what a ticket is about, not whether its author asks how something
works, reports that it broke, asks for something new or asks us to change their account;
on our triage set the vector alone confuses a question with a bug report one time in three.
The plainest signs of the difference are the question mark (86 of 86 questions carry one,
39 of 101 bug reports do) and a handful of phrasings, which the hashed lexical head sees
but weighs like any other word. These few numbers go to the kind head beside the vector.

The phrase lists cover the languages our tickets come in (en, de, fr, es, pt, it, nl);
they are cues for a learned weight, not rules: a ticket matching none is classified by
its vector and words alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

#: Sentences end at . ! ? followed by whitespace, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(phrases) + r")(?!\w)", re.IGNORECASE)


#: A question that asks for an explanation or a way: "how do I", "why", "wie", "comment" ...
_WH_OPENER = _words(
    "how", "what", "why", "where", "which", "when", "who", "wie", "was", "warum", "wo",
    "welche[rsn]?", "wieso", "comment", "pourquoi", "quel(?:le)?s?", "où", "c[oó]mo", "qu[eé]",
    "por ?qu[eé]", "d[oó]nde", "cu[aá]l", "onde", "qual", "come", "perch[eé]", "dove",
    "hoe", "wat", "waarom", "welke", "waar")
#: A yes/no question about how things are: "is there", "can I", "do you", "gibt es" ...
_YES_NO_OPENER = _words(
    "is", "are", "do", "does", "can", "could", "should", "will", "am", "ist", "gibt",
    "kann", "k[öo]nnen", "muss", "m[üu]ssen", "est-ce", "peut", "peux", "faut", "hay",
    "puedo", "existe", "há", "posso", "[eè]", "c'[eè]", "si pu[oò]", "kan", "moet", "zijn")
#: The customer wonders whether what they see is normal.
_EXPECTED = _words(
    "expected", "normal", "intended", "by design", "am i doing something wrong",
    "should we (?:be )?worr(?:y|ied)", "is that right", "erwartet", "normale?", "esperado",
    "previsto", "attendu", "verwacht")
#: Something that worked stopped working, or fails outright.
_BROKE = _words(
    "stopped", "broke", "broken", "no longer", "used to", "regression", "crash\\w*", "hangs?",
    "(?:does|is|are|do)n'?t work(?:ing)?", "not working", "ignored", "no longer works",
    "since (?:yesterday|this morning|today|last|the (?:last )?(?:update|upgrade|release)|"
    "(?:mon|tues|wednes|thurs|fri|satur|sun)day|\\d\\w*)",
    "5\\d\\d", "exception", "traceback", "fails?", "failing", "kaputt", "seit", "depuis",
    "desde", "non funziona", "werkt niet", "funktioniert nicht", "ne fonctionne plus")
#: Asked to fix or look into it.
_FIX = _words(
    "please fix", "can you (?:look|check|fix|investigate)", "could you (?:look|check|fix)",
    "is there an (?:incident|outage)", "outage", "incident", "take a look", "escalation")
#: Asked for something new.
_NEW = _words(
    "would be (?:really |very |super )?(?:great|nice|useful|helpful|amazing)",
    "could you add", "please add", "any plans?", "roadmap", "feature request", "would love",
    "is it planned", "planned", "support for", "be able to", "(?:i|we)(?:'d| would) (?:really )?"
    "(?:love|like) (?:to|a|an|it)", "could (?:they|it|you|posthog) (?:be added|add|support|give)",
    "have it back", "eta", "is (?:this|that|it) coming", "wäre (?:toll|schön|super)",
    "serait (?:bien|génial|utile)",
    "sería (?:genial|útil)", "seria (?:ótimo|útil)", "sarebbe (?:utile|bello)")
#: Asked to change the customer's own account, plan or bill.
_ACCOUNT = _words(
    "refund", "refunded", "cancel", "charged", "invoice", "please (?:delete|remove|change|"
    "update|move|transfer|close)", "locked out", "admin rights", "reset link",
    "(?:make|give) me (?:an? )?(?:admin|owner)", "annual(?:e)?", "anual", "annuel",
    "j[äa]hrlich", "twice", "two times", "double (?:charge|payment)", "r[üu]ckerstattung",
    "k[üu]ndigen", "rembourse\\w*",
    "reembols\\w*", "estorn\\w*", "rimbors\\w*", "terugbetal\\w*")

#: How many features `speech_features` returns per text.
WIDTH = 9


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _row(text: str) -> tuple[float, ...]:
    sentences = _sentences(text)
    questions = [s for s in sentences if s.endswith("?")]
    return (
        float(bool(questions)),
        float(bool(sentences) and sentences[-1].endswith("?")),
        float(any(_WH_OPENER.match(q) for q in questions)),
        float(any(_YES_NO_OPENER.match(q) for q in questions)),
        float(any(_EXPECTED.search(q) for q in questions)),
        float(bool(_BROKE.search(text))),
        float(bool(_FIX.search(text))),
        float(bool(_NEW.search(text))),
        float(bool(_ACCOUNT.search(text))),
    )


def speech_features(texts: Sequence[str]) -> np.ndarray:
    """(n, WIDTH) floats, one row per text, 1.0 where a cue is present.

    Columns: asks, ends asking, wh- question, yes/no question, asks whether it is expected,
    something broke, asked to fix, asked for something new, asked for an account change.
    """
    return np.asarray([_row(text) for text in texts], dtype=np.float32).reshape(len(texts), WIDTH)
