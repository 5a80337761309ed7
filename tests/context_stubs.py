"""Collaborators of the graph's Context that tests of the drafting path do not exercise."""

from __future__ import annotations

from typing import Any

import numpy as np


class ZeroEmbedder:
    """Every text is the zero vector: for nodes whose stubbed neighbours ignore vectors."""

    model_id = "zeros"

    def embed(self, texts: Any) -> np.ndarray:
        return np.zeros((len(texts), 4), dtype=np.float32)


class MemoryOutbox:
    """An outbox that sends nothing (the tests stop at the review)."""

    def deliver(self, *, key: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"key": key}
