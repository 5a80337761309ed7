"""The kind head's speech-act features: whether a ticket asks, and whether it ends asking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.classifier.model import load_model
from agent.classifier.persistence import MODEL_FILE
from agent.classifier.speech import WIDTH, speech_features


@pytest.mark.parametrize(("text", "expected"), [
    ("Recordings are blank since Tuesday.", [0.0, 0.0]),
    ("Is sampling on by default? We only see a third of sessions.", [1.0, 0.0]),
    ("We see a third of sessions.\nIs sampling on by default?", [1.0, 1.0]),
    ("Wie viele Flags darf ein Projekt haben?", [1.0, 1.0]),
    ("", [0.0, 0.0]),
])
def test_speech_features_read_the_question_marks(text: str, expected: list[float]) -> None:
    assert speech_features([text]).tolist() == [expected]


def test_speech_features_keep_one_row_per_text() -> None:
    assert speech_features([]).shape == (0, WIDTH)
    assert speech_features(["a?", "b.", "c"]).shape == (3, WIDTH)


def test_the_trained_kind_head_reads_them_and_the_team_head_does_not(trained_dir: Path
                                                                      ) -> None:
    model = load_model(trained_dir / MODEL_FILE)
    assert model.kind.uses_speech and not model.team.uses_speech
    dimension = model.dimension
    # The dense kind head has one weight row per vector dimension plus the speech features.
    assert model.kind.dense.weights.shape[0] == dimension + WIDTH
    # Same vector, same words: only the question mark differs, and so does the kind.
    vector = np.zeros((1, dimension), dtype=np.float32)
    asked = model.kind.probabilities(vector, None, ["sampling on by default?"])
    told = model.kind.probabilities(vector, None, ["sampling on by default."])
    question = model.kind.classes.index("question")
    assert asked[0, question] > told[0, question]
