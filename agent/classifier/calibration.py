"""Temperature scaling, blend weights and the expected calibration error, in numpy.

All three are fitted or measured on out-of-fold predictions: a model's confidence on its
own training rows says nothing about its confidence on a new ticket.
"""

from __future__ import annotations

import numpy as np

from agent.classifier.model import log_softmax

#: Candidate temperatures: from sharpening (x~30) to flattening (x~30), ~3% apart.
_TEMPERATURES = np.logspace(-1.5, 1.5, 241)
#: Candidate weights of the dense (embedding) head in the log-linear blend.
BLEND_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels under softmax(logits)."""
    return float(-log_softmax(logits)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Find the temperature T minimising the NLL of softmax(logits / T)."""
    if not len(labels):
        return 1.0
    losses = [nll(logits / t, labels) for t in _TEMPERATURES]
    return float(_TEMPERATURES[int(np.argmin(losses))])


def fit_blend(dense: np.ndarray, lexical: np.ndarray, labels: np.ndarray
              ) -> tuple[float, float]:
    """Find the blend weight and temperature with the lowest out-of-fold NLL.

    Args:
        dense: out-of-fold log-probabilities of the embedding head, (n, k).
        lexical: out-of-fold log-probabilities of the lexical head, (n, k).
        labels: true class indices, (n,).

    """
    best = (np.inf, 0.5, 1.0)
    for weight in BLEND_GRID:
        mixed = weight * dense + (1 - weight) * lexical
        temperature = fit_temperature(mixed, labels)
        loss = nll(mixed / temperature, labels)
        if loss < best[0]:
            best = (loss, weight, temperature)
    return best[1], best[2]


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray,
                               bins: int = 10) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width bins."""
    if not len(labels):
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds confidences in (edges[i], edges[i+1]]; the first bin also holds 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(error)
