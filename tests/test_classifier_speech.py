"""The kind head's speech-act features: whether a ticket asks, and whether it ends asking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.classifier.model import load_model
from agent.classifier.persistence import MODEL_FILE
from agent.classifier.speech import WIDTH, speech_features

#: Column order of `speech_features`.
ASKS, ENDS_ASKING, WH, YES_NO, EXPECTED, BROKE, FIX, NEW, ACCOUNT = range(WIDTH)


@pytest.mark.parametrize(("text", "on"), [
    ("Recordings are blank since yesterday. Please fix.", {BROKE, FIX}),
    ("Is sampling on by default? We only see a third of sessions.", {ASKS, YES_NO}),
    ("We see a third of sessions.\nHow is sampling decided?", {ASKS, ENDS_ASKING, WH}),
    ("Wie viele Flags darf ein Projekt haben?", {ASKS, ENDS_ASKING, WH}),
    ("Half the visitors have no city. Is that expected?", {ASKS, ENDS_ASKING, YES_NO, EXPECTED}),
    ("It would be really helpful to have folders for insights.", {NEW}),
    ("Please cancel our plan and refund the last invoice.", {ACCOUNT}),
    ("", set()),
])
def test_speech_features_read_how_a_ticket_asks(text: str, on: set[int]) -> None:
    row = speech_features([text])[0]
    assert {i for i in range(WIDTH) if row[i]} == on


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


def test_a_model_fitted_on_other_features_is_retrained(trained_dir: Path, embedder,
                                                       tmp_path: Path) -> None:
    import json
    import shutil

    from agent.classifier import load_or_train
    from agent.classifier.fitting import features_fingerprint
    from agent.teams import load_teams

    directory = tmp_path / "classifier"
    shutil.copytree(trained_dir, directory)
    meta_path = directory / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["features_fingerprint"] == features_fingerprint()
    # As if the phrase lists (or the lexical tokens) changed since this model was fitted.
    meta_path.write_text(json.dumps({**meta, "features_fingerprint": "older-code"}))
    classifier = load_or_train(directory, embedder, load_teams())
    # Replaced (by a training, or by the shipped weights when they fit): never kept as is.
    assert classifier.meta["features_fingerprint"] == features_fingerprint()
    assert json.loads(meta_path.read_text())["features_fingerprint"] == features_fingerprint()
