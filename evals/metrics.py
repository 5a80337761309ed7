"""Scoring arithmetic: accuracy, per-class precision/recall/F1, calibration, ranking.

Pure functions over plain lists, so that each one can be checked by hand on a few rows.
Pairs whose expected label is None are not scored (the eval-dataset contract).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: Bins of the reliability diagram and of the expected calibration error.
CALIBRATION_BINS = 10


def scored_pairs(expected: Sequence[Any], got: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Return the (expected, got) pairs that are scored: those with an expected value."""
    return [(e, g) for e, g in zip(expected, got, strict=True) if e is not None]


def accuracy(expected: Sequence[Any], got: Sequence[Any]) -> float | None:
    """Share of scored pairs where got equals expected; None when nothing is scored."""
    pairs = scored_pairs(expected, got)
    if not pairs:
        return None
    return sum(e == g for e, g in pairs) / len(pairs)


def labels_of(expected: Sequence[Any], got: Sequence[Any],
              order: Sequence[str] = ()) -> list[str]:
    """The labels of a confusion matrix: `order` first, then any other seen label, sorted."""
    seen = {str(x) for pair in scored_pairs(expected, got) for x in pair if x is not None}
    return [*order, *sorted(seen - set(order))]


def confusion_matrix(expected: Sequence[Any], got: Sequence[Any],
                     labels: Sequence[str]) -> list[list[int]]:
    """Count matrix: rows are expected labels, columns predicted ones (in `labels` order).

    A predicted label outside `labels` is not counted in any column (the row total then
    exceeds the row's sum); pass `labels_of(...)` to see every label.
    """
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for e, g in scored_pairs(expected, got):
        if e in index and g in index:
            matrix[index[e]][index[g]] += 1
    return matrix


def per_class(expected: Sequence[Any], got: Sequence[Any],
              labels: Sequence[str]) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1 and support of each label (0.0 where undefined)."""
    pairs = scored_pairs(expected, got)
    out: dict[str, dict[str, float | int]] = {}
    for label in labels:
        tp = sum(e == label and g == label for e, g in pairs)
        predicted = sum(g == label for _, g in pairs)
        support = sum(e == label for e, _ in pairs)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return out


def macro_f1(expected: Sequence[Any], got: Sequence[Any]) -> float | None:
    """Unweighted mean F1 over the labels that occur among the expected values.

    Labels only ever predicted (never expected) are left out, as sklearn does with
    `labels=` set to the true classes: a wrong guess already costs the true class's recall.
    """
    pairs = scored_pairs(expected, got)
    if not pairs:
        return None
    labels = sorted({e for e, _ in pairs})
    table = per_class([e for e, _ in pairs], [g for _, g in pairs], labels)
    return sum(float(table[label]["f1"]) for label in labels) / len(labels)


def reliability_bins(confidences: Sequence[float], correct: Sequence[bool],
                     bins: int = CALIBRATION_BINS) -> list[dict[str, float | int]]:
    """Equal-width confidence bins: each with its range, count, mean confidence, accuracy.

    A confidence of exactly 1.0 falls in the last bin; empty bins are listed with n = 0.
    """
    rows: list[dict[str, float | int]] = []
    members: list[list[int]] = [[] for _ in range(bins)]
    for i, confidence in enumerate(confidences):
        members[min(int(confidence * bins), bins - 1)].append(i)
    for b, idx in enumerate(members):
        n = len(idx)
        rows.append({
            "lo": b / bins, "hi": (b + 1) / bins, "n": n,
            "confidence": sum(confidences[i] for i in idx) / n if n else 0.0,
            "accuracy": sum(bool(correct[i]) for i in idx) / n if n else 0.0,
        })
    return rows


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool],
                               bins: int = CALIBRATION_BINS) -> float | None:
    """ECE: the count-weighted mean |accuracy − confidence| over the bins."""
    total = len(confidences)
    if not total:
        return None
    return sum(int(b["n"]) / total * abs(float(b["accuracy"]) - float(b["confidence"]))
               for b in reliability_bins(confidences, correct, bins))


def first_hit_rank(wanted: Sequence[str], ranked: Sequence[str | None],
                   same: Any = None) -> int | None:
    """1-based rank of the first item of `ranked` that is one of `wanted`, else None."""
    same = same or (lambda a, b: a == b)
    for rank, item in enumerate(ranked, 1):
        if item is not None and any(same(item, w) for w in wanted):
            return rank
    return None


def hit_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of queries whose first relevant item is within the top k."""
    if not ranks:
        return None
    return sum(r is not None and r <= k for r in ranks) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float | None:
    """Mean of 1/rank of the first relevant item (0 when none was found)."""
    if not ranks:
        return None
    return sum(1.0 / r if r else 0.0 for r in ranks) / len(ranks)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
