"""BM25 over chunks, with a tokenizer that keeps the names support tickets are made of.

Product and SDK names, error codes and method calls (`posthog-js`, `$pageview`,
`ERR_BLOCKED_BY_CLIENT`, `capture()`) are what a lexical index is for: embeddings blur
them. A compound token is kept whole *and* split into its parts, so `posthog-js` matches
both "posthog-js" and "js", and `$pageview` matches "pageview".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_TOKEN = re.compile(r"[\w$][\w$.\-/]*[\w$]|[\w$]")
_PARTS = re.compile(r"[.\-/_$]+")
_STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its "
    "me my no not of on or our so than that the their them then there these this to was "
    "we were what when where which who why will with you your hi hey hello thanks please".split()
)


def _stem(token: str) -> str:
    # Plural "s" only: enough for "recordings"/"recording" without mangling names.
    if len(token) > 3 and token.isalpha() and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Lower-cased terms; compounds (`posthog-js`, `err_blocked_by_client`) plus their parts."""
    terms: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group()
        parts = [p for p in _PARTS.split(token) if p]
        if len(parts) > 1 or token.startswith("$"):
            terms.append(token)
        terms.extend(_stem(p) for p in parts if len(p) > 1 or p.isdigit())
    return [t for t in terms if t not in _STOPWORDS]


class BM25Index:
    """Okapi BM25 over a fixed list of documents, with scores normalized to 0..1.

    Args:
        documents: The texts, in the order their scores are returned.
        k1: Term-frequency saturation.
        b: Length normalization.

    """

    def __init__(self, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(documents)
        self._k1, self._b = k1, b
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(self.size, dtype=np.float32)
        for row, text in enumerate(documents):
            counts = Counter(tokenize(text))
            lengths[row] = sum(counts.values())
            for term, tf in counts.items():
                rows, tfs = postings.setdefault(term, ([], []))
                rows.append(row)
                tfs.append(tf)
        avg = float(lengths.mean()) if self.size else 1.0
        self._norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        self._postings = {
            term: (np.array(rows, dtype=np.int64), np.array(tfs, dtype=np.float32))
            for term, (rows, tfs) in postings.items()
        }
        self._idf = {term: self._term_idf(len(rows)) for term, (rows, _) in postings.items()}
        self._max_idf = self._term_idf(0)

    def _term_idf(self, df: int) -> float:
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query: str | Iterable[str]) -> np.ndarray:
        """Every document's score for the query, in 0..1.

        The raw BM25 sum is divided by the sum of the query terms' IDF (a term unknown to
        the corpus counts with the highest IDF), so 1.0 means "has every query term about
        as often as an average document" and the value does not depend on query length.
        """
        terms = set(tokenize(query) if isinstance(query, str) else query)
        out = np.zeros(self.size, dtype=np.float32)
        if not terms or not self.size:
            return out
        for term in terms:
            if term not in self._postings:
                continue
            rows, tfs = self._postings[term]
            out[rows] += self._idf[term] * tfs * (self._k1 + 1) / (tfs + self._norm[rows])
        ceiling = sum(self._idf.get(t, self._max_idf) for t in terms)
        return np.clip(out / max(ceiling, 1e-9), 0.0, 1.0)
