"""Fitting the heads: logistic regressions, out-of-fold calibration, the CV report.

sklearn and scipy are imported inside the functions that need them: only training pays
for them; `sidekick triage` loads the `.npz` and never imports either.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.classifier.calibration import expected_calibration_error, fit_blend, fit_temperature
from agent.classifier.lexical import BUCKETS, bucket_counts
from agent.classifier.model import Head, LexicalHead, Target, log_softmax, softmax
from agent.classifier.speech import speech_features

#: Inverse L2 strengths, chosen by 5-fold CV on the shipped examples plus the dev issues.
DENSE_C = 10.0
LEXICAL_C = 30.0
#: A lexical feature must occur in this many training rows to get a weight.
MIN_DF = 3
#: A class absent from a fold's training rows gets this bias: probability ~0, never -inf.
_ABSENT_BIAS = -30.0


@dataclass(frozen=True)
class Features:
    """The training matrix of every row: vectors, lexical counts and speech-act features."""

    vectors: np.ndarray
    subject_vectors: np.ndarray
    lexical: Any  # scipy.sparse.csr_matrix of raw bucket counts, (n, BUCKETS)
    is_prototype: np.ndarray
    speech: np.ndarray
    #: Per-row sample weight: a team's own labeled history counts more than our examples.
    weights: np.ndarray

    @classmethod
    def build(cls, texts: list[str], vectors: np.ndarray, subject_vectors: np.ndarray,
              is_prototype: list[bool], weights: list[float] | None = None) -> Features:
        """Hash the texts' lexical features next to their precomputed vectors."""
        from scipy.sparse import csr_matrix

        indptr, indices, values = [0], [], []
        for text in texts:
            ids, counts = bucket_counts(text)
            indices.append(ids)
            values.append(counts)
            indptr.append(indptr[-1] + len(ids))
        lexical = csr_matrix(
            (np.concatenate(values) if values else np.zeros(0, np.float32),
             np.concatenate(indices) if indices else np.zeros(0, np.int64), indptr),
            shape=(len(texts), BUCKETS), dtype=np.float32)
        return cls(vectors, subject_vectors, lexical, np.asarray(is_prototype, dtype=bool),
                   speech_features(texts),
                   np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=float))

    def dense_input(self, rows: np.ndarray, *, uses_subject: bool, uses_speech: bool
                    ) -> np.ndarray:
        """What the dense head of a target reads for `rows` (as Target.probabilities builds)."""
        parts = [self.vectors[rows]]
        if uses_subject:
            parts.append(self.subject_vectors[rows])
        if uses_speech:
            parts.append(self.speech[rows])
        return np.hstack(parts) if len(parts) > 1 else parts[0]


@dataclass
class TargetReport:
    """How one target was trained and how well it does out of fold."""

    counts: dict[str, int]
    n_evaluated: int = 0
    accuracy: float | None = None
    embedding_only_accuracy: float | None = None
    ece: float | None = None
    blend: float = 0.5
    temperature: float = 1.0
    fallback_temperature: float = 1.0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready copy."""
        return dict(self.__dict__)


def _full_head(model: Any, n_features: int, present: np.ndarray, n_classes: int) -> Head:
    """Turn a sklearn LogisticRegression into a head over all classes (absent ones ~never win)."""
    weights = np.zeros((n_features, n_classes), dtype=np.float32)
    bias = np.full(n_classes, _ABSENT_BIAS, dtype=np.float32)
    coef, intercept = model.coef_, model.intercept_
    if len(present) == 2:  # binary LR stores one row: logits [0, w.x + b] give the same p
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]])
    weights[:, present] = coef.T
    bias[present] = intercept
    return Head(weights, bias)


def _fit_linear(x: Any, y: np.ndarray, n_classes: int, c: float,
                weights: np.ndarray | None = None) -> Head:
    """Class-weighted multinomial logistic regression (a constant head for one class)."""
    present = np.unique(y)
    if len(present) < 2:
        bias = np.full(n_classes, _ABSENT_BIAS, dtype=np.float32)
        bias[present] = 0.0
        return Head(np.zeros((x.shape[1], n_classes), dtype=np.float32), bias)
    from sklearn.linear_model import LogisticRegression

    # Balanced weights: a team with 4 real examples must not be swamped by one with 40.
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(x, y, sample_weight=weights)
    return _full_head(model, x.shape[1], present, n_classes)


def _lexical_matrix(counts: Any, columns: np.ndarray) -> Any:
    """Sublinear, L2-normalised counts restricted to `columns` (as lexical.project does)."""
    from scipy.sparse import diags

    x = counts[:, columns].tocsr(copy=True)
    x.data = np.log1p(x.data)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return diags(1.0 / np.where(norms > 0, norms, 1.0)) @ x


def _fit_lexical(counts: Any, y: np.ndarray, n_classes: int, weights: np.ndarray
                 ) -> LexicalHead:
    # Keep features seen in three or more rows: same CV accuracy as keeping all of them,
    # a fifth of the columns, a faster fit and a smaller model.
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    columns = np.flatnonzero(df >= MIN_DF) if (df >= MIN_DF).any() else np.flatnonzero(df)
    head = _fit_linear(_lexical_matrix(counts, columns), y, n_classes, LEXICAL_C, weights)
    return LexicalHead(columns.astype(np.int64), head.weights, head.bias)


def fit_heads(features: Features, rows: np.ndarray, y: np.ndarray, n_classes: int,
              uses_subject: bool, uses_speech: bool) -> tuple[Head, LexicalHead, Head]:
    """Fit the dense, lexical and fallback heads on `rows` (labels `y`)."""
    weights = features.weights[rows]
    fallback = _fit_linear(features.vectors[rows], y, n_classes, DENSE_C, weights)
    dense = fallback
    if uses_subject or uses_speech:
        x = features.dense_input(rows, uses_subject=uses_subject, uses_speech=uses_speech)
        dense = _fit_linear(x, y, n_classes, DENSE_C, weights)
    lexical = _fit_lexical(features.lexical[rows], y, n_classes, weights)
    return dense, lexical, fallback


def _head_log_probs(features: Features, rows: np.ndarray, heads: tuple[Head, LexicalHead, Head],
                    uses_subject: bool, uses_speech: bool
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dense, lexical, fallback = heads
    vectors = features.vectors[rows]
    dense_in = features.dense_input(rows, uses_subject=uses_subject, uses_speech=uses_speech)
    lex = _lexical_matrix(features.lexical[rows], lexical.columns) @ lexical.weights
    return (log_softmax(dense.logits(dense_in)), log_softmax(lex + lexical.bias),
            log_softmax(fallback.logits(vectors)))


def out_of_fold(features: Features, labeled: np.ndarray, y: np.ndarray, n_classes: int,
                uses_subject: bool, uses_speech: bool, folds: int, seed: int
                ) -> tuple[np.ndarray, ...] | None:
    """Out-of-fold log-probabilities (dense, lexical, fallback) of the real labeled rows.

    Prototype rows (team descriptions) always stay on the training side. Returns None when
    there are too few real rows to hold any out.
    """
    from sklearn.model_selection import StratifiedKFold

    real = ~features.is_prototype[labeled]
    evaluable = np.flatnonzero(real)
    if len(evaluable) < 2 * folds or len(np.unique(y[evaluable])) < 2:
        return None
    out = [np.zeros((len(evaluable), n_classes)) for _ in range(3)]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has only N members"
        splits = list(splitter.split(evaluable, y[evaluable]))
    for train_pos, test_pos in splits:
        train = np.concatenate([evaluable[train_pos], np.flatnonzero(~real)])
        heads = fit_heads(features, labeled[train], y[train], n_classes, uses_subject,
                          uses_speech)
        parts = _head_log_probs(features, labeled[evaluable[test_pos]], heads, uses_subject,
                                uses_speech)
        for target, part in zip(out, parts, strict=True):
            target[test_pos] = part
    return (*out, y[evaluable])


def _confusion(classes: tuple[str, ...], truth: np.ndarray, predicted: np.ndarray
               ) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for t, p in zip(truth, predicted, strict=True):
        if t != p:
            row = table.setdefault(classes[t], {})
            row[classes[p]] = row.get(classes[p], 0) + 1
    return table


def fit_target(features: Features, labels: list[str | None], classes: tuple[str, ...], *,
               uses_subject: bool, uses_speech: bool = False, folds: int = 5, seed: int = 0
               ) -> tuple[Target, TargetReport]:
    """Calibrate on out-of-fold predictions, then fit the final heads on every labeled row."""
    index = {c: i for i, c in enumerate(classes)}
    labeled = np.array([i for i, label in enumerate(labels) if label in index], dtype=np.int64)
    y = np.array([index[labels[i]] for i in labeled], dtype=np.int64)
    real = ~features.is_prototype[labeled]
    report = TargetReport(counts=dict(Counter(classes[v] for v in y[real])))
    oof = out_of_fold(features, labeled, y, len(classes), uses_subject, uses_speech, folds,
                      seed)
    if oof is not None:
        dense, lexical, fallback, truth = oof
        report.blend, report.temperature = fit_blend(dense, lexical, truth)
        report.fallback_temperature = fit_temperature(fallback, truth)
        mixed = report.blend * dense + (1 - report.blend) * lexical
        probabilities = softmax(mixed / report.temperature)
        predicted = probabilities.argmax(axis=1)
        report.n_evaluated = len(truth)
        report.accuracy = float((predicted == truth).mean())
        report.embedding_only_accuracy = float((fallback.argmax(axis=1) == truth).mean())
        report.ece = expected_calibration_error(probabilities, truth)
        report.confusion = _confusion(classes, truth, predicted)
    dense_head, lexical_head, fallback_head = fit_heads(
        features, labeled, y, len(classes), uses_subject, uses_speech)
    target = Target(classes=classes, dense=dense_head, lexical=lexical_head,
                    fallback=fallback_head, uses_subject=uses_subject, blend=report.blend,
                    temperature=report.temperature,
                    fallback_temperature=report.fallback_temperature, uses_speech=uses_speech)
    return target, report
