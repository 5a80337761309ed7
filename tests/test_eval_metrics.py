"""The eval metrics on inputs small enough to compute by hand."""

from __future__ import annotations

import pytest

from evals import metrics


def test_accuracy_skips_rows_without_an_expected_value() -> None:
    assert metrics.accuracy(["a", "b", None, "a"], ["a", "a", "b", "b"]) == pytest.approx(1 / 3)
    assert metrics.accuracy([None, None], ["a", "b"]) is None
    assert metrics.accuracy([], []) is None


def test_confusion_matrix_rows_are_expected_columns_predicted() -> None:
    expected = ["a", "a", "b", "b", "c", None]
    got = ["a", "b", "b", "b", "a", "c"]
    labels = metrics.labels_of(expected, got, ["c", "b"])
    assert labels == ["c", "b", "a"]  # given order first, then the rest sorted
    assert metrics.confusion_matrix(expected, got, labels) == [
        [0, 0, 1],  # c -> a
        [0, 2, 0],  # b -> b twice
        [0, 1, 1],  # a -> b, a -> a
    ]


def test_per_class_precision_recall_f1_by_hand() -> None:
    expected = ["a", "a", "b", "b", "c"]
    got = ["a", "b", "b", "b", "a"]
    table = metrics.per_class(expected, got, ["a", "b", "c"])
    # a: 1 true positive, predicted twice, 2 expected
    assert table["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    # b: 2 true positives, predicted 3 times, 2 expected -> P 2/3, R 1, F1 0.8
    assert table["b"]["precision"] == pytest.approx(2 / 3)
    assert table["b"]["recall"] == 1.0
    assert table["b"]["f1"] == pytest.approx(0.8)
    assert table["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics.macro_f1(expected, got) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_macro_f1_matches_sklearn_over_the_true_classes() -> None:
    from sklearn.metrics import f1_score

    expected = ["x", "y", "y", "z", "z", "z", "x", "y"]
    got = ["x", "y", "z", "z", "w", "z", "y", "y"]
    want = f1_score(expected, got, labels=["x", "y", "z"], average="macro")
    assert metrics.macro_f1(expected, got) == pytest.approx(want)


def test_reliability_bins_and_ece_by_hand() -> None:
    confidences = [0.95, 0.95, 0.55, 0.55]
    correct = [True, False, True, True]
    bins = metrics.reliability_bins(confidences, correct)
    assert len(bins) == 10
    assert bins[9] == {"lo": 0.9, "hi": 1.0, "n": 2, "confidence": 0.95, "accuracy": 0.5}
    assert bins[5]["n"] == 2 and bins[5]["accuracy"] == 1.0
    assert sum(b["n"] for b in bins) == 4
    # two bins, each half the rows, each off by 0.45
    assert metrics.expected_calibration_error(confidences, correct) == pytest.approx(0.45)
    assert metrics.expected_calibration_error([], []) is None


def test_a_confidence_of_one_falls_in_the_last_bin() -> None:
    bins = metrics.reliability_bins([1.0, 0.0], [True, False])
    assert bins[-1]["n"] == 1 and bins[0]["n"] == 1
    assert metrics.expected_calibration_error([1.0, 0.0], [True, False]) == 0.0


def test_ranks_hit_rate_and_mrr() -> None:
    assert metrics.first_hit_rank(["u2"], ["u1", "u2", "u2"]) == 2
    assert metrics.first_hit_rank(["u9"], ["u1", None]) is None
    ranks = [1, 2, None, 4]
    assert metrics.mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.5 + 0 + 0.25) / 4)
    assert metrics.hit_at_k(ranks, 2) == 0.5
    assert metrics.hit_at_k(ranks, 5) == 0.75
    assert metrics.mean_reciprocal_rank([]) is None


def test_percentile_interpolates_like_numpy() -> None:
    import numpy as np

    values = [10.0, 1.0, 4.0, 2.0, 3.0]
    for q in (0, 50, 95, 100):
        assert metrics.percentile(values, q) == pytest.approx(np.percentile(values, q))
    assert metrics.percentile([], 50) is None
