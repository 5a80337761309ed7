"""The trained weights and the arithmetic of a prediction: numpy only, no sklearn.

Each target (team, kind) has three linear heads, blended log-linearly and then
temperature-scaled:

- `dense`: logistic regression on the ticket's MiniLM vector (for team, concatenated with
  the subject's vector: on real GitHub issues the title alone names the product area; for
  kind, with the speech-act features of speech.py: does the ticket ask a question);
- `lexical`: logistic regression on hashed words and character 4-grams (see lexical.py);
- `fallback`: the text vector alone, used when a caller passes only an embedding.

`p = softmax((w * log p_dense + (1 - w) * log p_lexical) / T)`, with `w` and `T` chosen on
out-of-fold predictions (training.py), so that confidences are calibrated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from agent.classifier.lexical import lexical_logits
from agent.classifier.speech import speech_features


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    return np.exp(log_softmax(logits))


@dataclass(frozen=True)
class Head:
    """A linear layer: `x @ weights + bias`."""

    weights: np.ndarray
    bias: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Scores for a batch of feature rows."""
        return x @ self.weights + self.bias


@dataclass(frozen=True)
class LexicalHead:
    """A linear layer over hashed lexical features; `columns` are the kept bucket ids."""

    columns: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    def logits(self, texts: list[str]) -> np.ndarray:
        """Scores for a batch of texts."""
        return np.stack([lexical_logits(t, self.columns, self.weights, self.bias) for t in texts])


@dataclass(frozen=True)
class Target:
    """Everything needed to predict one label (team or kind)."""

    classes: tuple[str, ...]
    dense: Head
    lexical: LexicalHead
    fallback: Head
    uses_subject: bool
    blend: float
    temperature: float
    fallback_temperature: float
    uses_speech: bool = False

    def probabilities(self, vectors: np.ndarray, subject_vectors: np.ndarray | None,
                      texts: list[str] | None) -> np.ndarray:
        """Calibrated class probabilities for a batch (texts None: embedding-only mode)."""
        if texts is None:
            return softmax(self.fallback.logits(vectors) / self.fallback_temperature)
        dense_in = vectors
        if self.uses_subject:
            subjects = vectors if subject_vectors is None else subject_vectors
            dense_in = np.hstack([vectors, subjects])
        if self.uses_speech:
            dense_in = np.hstack([dense_in, speech_features(texts)])
        mixed = (self.blend * log_softmax(self.dense.logits(dense_in))
                 + (1.0 - self.blend) * log_softmax(self.lexical.logits(texts)))
        return softmax(mixed / self.temperature)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Return the arrays `save_model` writes, keys prefixed with the target's name."""
        return {
            f"{prefix}.classes": np.array(self.classes, dtype=str),
            f"{prefix}.dense.weights": self.dense.weights,
            f"{prefix}.dense.bias": self.dense.bias,
            f"{prefix}.lexical.columns": self.lexical.columns,
            f"{prefix}.lexical.weights": self.lexical.weights,
            f"{prefix}.lexical.bias": self.lexical.bias,
            f"{prefix}.fallback.weights": self.fallback.weights,
            f"{prefix}.fallback.bias": self.fallback.bias,
            f"{prefix}.scalars": np.array(
                [float(self.uses_subject), self.blend, self.temperature,
                 self.fallback_temperature, float(self.uses_speech)]),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Target:
        """Rebuild a target written by `to_arrays`."""
        def head(name: str) -> Head:
            return Head(arrays[f"{prefix}.{name}.weights"], arrays[f"{prefix}.{name}.bias"])

        uses_subject, blend, temperature, fallback_temperature, uses_speech = (
            arrays[f"{prefix}.scalars"])
        return cls(
            classes=tuple(str(c) for c in arrays[f"{prefix}.classes"]),
            dense=head("dense"),
            lexical=LexicalHead(arrays[f"{prefix}.lexical.columns"],
                                arrays[f"{prefix}.lexical.weights"],
                                arrays[f"{prefix}.lexical.bias"]),
            fallback=head("fallback"),
            uses_subject=bool(uses_subject),
            blend=float(blend),
            temperature=float(temperature),
            fallback_temperature=float(fallback_temperature),
            uses_speech=bool(uses_speech),
        )


@dataclass(frozen=True)
class Model:
    """The team and kind targets of one trained classifier."""

    team: Target
    kind: Target
    #: Also written to meta.json: a meta and weights from two different fits never pair up.
    token: str = ""

    @property
    def dimension(self) -> int:
        """The embedding dimension the model expects."""
        return int(self.team.fallback.weights.shape[0])


def save_model(model: Model, path: Path) -> None:
    """Write the weights as one `.npz` (atomically: a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    arrays: dict[str, Any] = {**model.team.to_arrays("team"), **model.kind.to_arrays("kind"),
                              "token": np.array(model.token)}
    with tmp.open("wb") as handle:
        np.savez(handle, **arrays)
    tmp.replace(path)


def load_model(path: Path | BinaryIO) -> Model:
    """Read weights written by `save_model` (a file, or its bytes in a BytesIO)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return Model(team=Target.from_arrays(arrays, "team"), kind=Target.from_arrays(arrays, "kind"),
                 token=str(arrays.get("token", "")))
