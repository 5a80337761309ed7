"""Hashed lexical features (words, word bigrams, character 4-grams), in numpy only.

The embedding misses surface cues that decide a label on real issues: the template a
GitHub author picked (`## Bug description` vs `### Feature request`), product names, SDK
names. A hashing trick keeps inference free of sklearn and of a stored vocabulary: only
the hashed buckets seen in training keep a weight, as a sorted array of bucket ids.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections import Counter

import numpy as np

#: 2**20 buckets: collisions are rare for a few thousand training features.
BUCKETS = 1 << 20
#: Longer texts are pastes (logs, stack traces); their start carries the signal.
MAX_CHARS = 12_000
#: Words, plus runs of `#$*?`: markdown headings of issue templates, and question marks,
#: whose bigrams ("expected ?", "way ?") tell a question from a bug report.
_TOKEN = re.compile(r"[^\W_]+|[#$*?]+", re.UNICODE)


def _features(text: str) -> list[str]:
    words = _TOKEN.findall(text[:MAX_CHARS].lower())
    features = list(words)
    features += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for word in words:
        padded = f" {word} "
        features += [padded[i : i + 4] for i in range(len(padded) - 3)]
    return features


# TRICKY: a memo of a pure function, not a client cache: the team and the kind heads of one
# prediction read the same text, and hashing it is most of the lexical heads' cost.
@functools.lru_cache(maxsize=64)
def bucket_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted hashed bucket ids of a text and their counts (read-only arrays)."""
    # crc32 rather than hash(): Python salts str hashes per process.
    counts = Counter(zlib.crc32(f.encode("utf-8")) % BUCKETS for f in _features(text))
    if not counts:
        ids, values = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    else:
        ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        order = np.argsort(ids)
        ids, values = ids[order], values[order]
    ids.setflags(write=False)
    values.setflags(write=False)
    return ids, values


def project(text: str, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Restrict a text's features to `columns` (sorted bucket ids).

    Returns:
        The positions in `columns` and the values there: sublinear counts (1 + log tf),
        L2-normalised over the kept features, as in training.

    """
    ids, counts = bucket_counts(text)
    if not len(columns) or not len(ids):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    positions = np.searchsorted(columns, ids)
    positions = np.clip(positions, 0, len(columns) - 1)
    known = columns[positions] == ids
    positions, values = positions[known], np.log1p(counts[known])
    norm = float(np.linalg.norm(values))
    return positions, (values / norm if norm else values).astype(np.float32)


def lexical_logits(text: str, columns: np.ndarray, weights: np.ndarray,
                   bias: np.ndarray) -> np.ndarray:
    """Linear scores of one text for a head whose inputs are `columns`."""
    positions, values = project(text, columns)
    return values @ weights[positions] + bias
