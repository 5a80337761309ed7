"""The embedding classifier: accuracy and calibration floors, persistence, incremental training."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from embedding_helpers import CountingEmbedder

from agent.classifier import ExampleError, load_or_train, parse_example
from agent.classifier.calibration import expected_calibration_error, fit_temperature
from agent.classifier.examples import SHIPPED_EXAMPLES, load_examples
from agent.classifier.model import softmax
from agent.teams import load_teams

OUTPUTS = Path(__file__).parent / "outputs"

# Floors a bit below what 5-fold CV on the shipped examples measures (team 0.84 on the 251
# with a team, kind 0.89 on all 398, embedding-only team 0.79; ECE 0.07 team, 0.01 kind).
TEAM_ACCURACY_FLOOR = 0.78
KIND_ACCURACY_FLOOR = 0.77
EMBEDDING_ONLY_TEAM_FLOOR = 0.74
ECE_CEILING = 0.10

TICKETS = [
    ("Recordings are blank", "Every session replay since yesterday is a white page."),
    ("Invoice has the wrong VAT id", "Please fix the VAT number on our last two invoices."),
    ("Flag is false for everyone", "Our feature flag with a 50% rollout never returns true."),
    (None, "snowflake batch export failing with auth error since the key rotation"),
]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """A classifier this module trains itself (conftest's may be the shipped weights)."""
    directory = tmp_path_factory.mktemp("classifier-trained")
    load_or_train(directory, embedder, load_teams(), prebuilt=False)
    return directory


@pytest.fixture
def classifier_copy(trained_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the trained classifier, for tests that add examples."""
    return Path(shutil.copytree(trained_dir, tmp_path / "classifier"))


def _features(embedder, subject, body):
    text = "\n\n".join(p for p in (subject, body) if p)
    vector = embedder.embed([text])[0]
    subject_vector = embedder.embed([subject])[0] if subject else None
    return vector, text, subject_vector


def test_shipped_examples_are_valid_and_cover_every_team():
    examples = load_examples(SHIPPED_EXAMPLES, origin="shipped")
    teams = load_teams()
    per_team = {slug: sum(e.team == slug for e in examples) for slug in teams.slugs}
    assert all(n >= 25 for n in per_team.values()), per_team
    assert len({e.id for e in examples}) == len(examples)
    assert len({e.key for e in examples}) == len(examples)
    assert {e.kind for e in examples} == {"bug", "feature_request", "question", "account_request"}


def test_cross_validated_accuracy_and_calibration(trained_dir, embedder):
    classifier = load_or_train(trained_dir, embedder, load_teams())
    report = classifier.meta["report"]
    team, kind = report["team"], report["kind"]
    OUTPUTS.mkdir(exist_ok=True)
    metrics = {
        "dataset": "agent/data/examples.jsonl", "folds": report["folds"],
        "team_accuracy": team["accuracy"], "team_ece_10_bins": team["ece"],
        "team_accuracy_embedding_only": team["embedding_only_accuracy"],
        "kind_accuracy": kind["accuracy"], "kind_ece_10_bins": kind["ece"],
        "team_temperature": team["temperature"], "team_blend": team["blend"],
    }
    (OUTPUTS / "classifier_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print("classifier CV on shipped examples:", metrics)
    assert team["accuracy"] >= TEAM_ACCURACY_FLOOR, team
    assert team["embedding_only_accuracy"] >= EMBEDDING_ONLY_TEAM_FLOOR, team
    assert kind["accuracy"] >= KIND_ACCURACY_FLOOR, kind
    assert team["ece"] <= ECE_CEILING and kind["ece"] <= ECE_CEILING, metrics


def test_predict_stays_in_the_taxonomy(trained_dir, embedder):
    teams = load_teams()
    classifier = load_or_train(trained_dir, embedder, teams)
    for subject, body in TICKETS:
        vector, text, subject_vector = _features(embedder, subject, body)
        for result in (classifier.predict(vector),
                       classifier.predict(vector, text=text, subject_embedding=subject_vector)):
            assert result["team"] in teams.slugs
            assert 0.0 <= result["team_confidence"] <= 1.0
            assert 0.0 <= result["kind_confidence"] <= 1.0
            assert result["kind"] in ("bug", "feature_request", "question", "account_request")
            assert list(result["team_scores"]) == list(teams.slugs)
            assert sum(result["team_scores"].values()) == pytest.approx(1.0, abs=1e-5)
    vector, text, subject_vector = _features(embedder, *TICKETS[0])
    result = classifier.predict(vector, text=text, subject_embedding=subject_vector)
    assert result["team"] == "replay"


def test_predict_many_matches_predict(trained_dir, embedder):
    classifier = load_or_train(trained_dir, embedder, load_teams())
    texts = ["\n\n".join(p for p in t if p) for t in TICKETS]
    vectors = embedder.embed(texts)
    batch = classifier.predict_many(vectors, texts=texts)
    for vector, text, result in zip(vectors, texts, batch, strict=True):
        single = classifier.predict(vector, text=text)
        assert single["team"] == result["team"]
        assert single["team_confidence"] == pytest.approx(result["team_confidence"], rel=1e-5)
    with pytest.raises(ValueError, match="shape"):
        classifier.predict_many(np.zeros((1, 10)))


def test_persistence_roundtrip_gives_identical_predictions(trained_dir, embedder):
    first = load_or_train(trained_dir, embedder, load_teams())
    counting = CountingEmbedder(embedder)
    second = load_or_train(trained_dir, counting, load_teams())
    assert counting.texts == 0, "loading a current model must not embed or train"
    assert second.meta["trained_at"] == first.meta["trained_at"]
    texts = ["\n\n".join(p for p in t if p) for t in TICKETS]
    vectors = embedder.embed(texts)
    assert first.predict_many(vectors, texts=texts) == second.predict_many(vectors, texts=texts)
    assert first.predict_many(vectors) == second.predict_many(vectors)


def test_incremental_retrain_embeds_only_new_texts(classifier_copy, embedder):
    counting = CountingEmbedder(embedder)
    classifier = load_or_train(classifier_copy, counting, load_teams())
    before = classifier.example_counts()
    rows = [
        {"id": "t-1", "subject": "Heatmap overlay offset on retina screens",
         "body": "Clicks are drawn 40px left of the buttons.", "expected": {"team": "replay"}},
        {"id": "t-2", "subject": "Please add an Attio destination",
         "body": "We would like to sync persons to Attio.",
         "expected": {"team": "pipeline", "kind": "feature_request"}},
        {"id": "t-3", "body": "how do I change who receives our invoices",
         "expected": {"kind": "question"}},
    ]
    assert classifier.add_examples(rows) == (3, 0)
    # Two subjects and three texts are new; the third row has no subject (its text is reused).
    assert counting.texts == 5
    after = classifier.example_counts()
    assert after["replay"] == before["replay"] + 1 and after["pipeline"] == before["pipeline"] + 1
    assert sum(after.values()) == sum(before.values()) + 2  # the kind-only row adds no team
    assert classifier.meta["report"]["kind"]["counts"]["question"] >= 1
    counting.texts = 0
    assert classifier.add_examples(rows) == (0, 3)
    assert counting.texts == 0
    reloaded = load_or_train(classifier_copy, counting, load_teams())
    assert {"t-1", "t-2", "t-3"} <= {e.id for e in reloaded.examples}
    assert counting.texts == 0


def test_custom_taxonomy_trains_and_predicts_only_its_teams(tmp_path, embedder):
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text(
        '[replay]\nname = "Replay"\nowns = ["session recordings and playback"]\n\n'
        '[pipeline]\nname = "Pipeline"\nowns = ["batch exports, destinations, warehouse"]\n\n'
        '[money]\nname = "Money"\nowns = ["invoices, refunds, credit cards and plans"]\n')
    teams = load_teams(teams_file)
    classifier = load_or_train(tmp_path / "classifier", embedder, teams)
    assert classifier.meta["teams"] == ["replay", "pipeline", "money"]
    shipped = load_examples(SHIPPED_EXAMPLES, origin="shipped")
    outside = sum(e.team is not None and e.team not in teams for e in shipped)
    # Their kind labels still train the kind head; their team labels are counted, not used.
    assert classifier.meta["report"]["skipped_unknown_team"] == outside > 0
    for subject, body in TICKETS:
        vector, text, subject_vector = _features(embedder, subject, body)
        result = classifier.predict(vector, text=text, subject_embedding=subject_vector)
        assert result["team"] in teams.slugs
        assert set(result["team_scores"]) == set(teams.slugs)
    counts = classifier.example_counts()
    assert counts["money"] == 0 and counts["replay"] >= 25


def test_taxonomy_change_retrains(classifier_copy, embedder, tmp_path):
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text('[replay]\nname = "Replay"\nowns = ["recordings"]\n\n'
                          '[growth]\nname = "Growth"\nowns = ["billing and login"]\n')
    retrained = load_or_train(classifier_copy, embedder, load_teams(teams_file))
    assert retrained.meta["teams"] == ["replay", "growth"]
    assert retrained.example_counts()["replay"] >= 25


def test_unknown_team_is_kept_and_counted_but_not_trained(classifier_copy, embedder):
    classifier = load_or_train(classifier_copy, embedder, load_teams())
    row = {"id": "t-9", "subject": "Marketing site copy", "body": "Typo on the pricing page.",
           "expected": {"team": "marketing", "kind": "bug"}}
    assert classifier.add_examples([row]) == (1, 0)
    assert classifier.meta["report"]["skipped_unknown_team"] == 1
    assert "marketing" not in classifier.example_counts()


@pytest.mark.parametrize(("row", "field"), [
    ({"subject": "x", "expected": {"team": "replay"}}, "id"),
    ({"id": "a", "expected": {"team": "replay"}}, "subject"),
    ({"id": "a", "subject": "x"}, "expected"),
    ({"id": "a", "subject": "x", "expected": {"kind": "complaint"}}, "expected.kind"),
    ({"id": "a", "subject": "x", "expected": {"team": 3}}, "expected.team"),
    ({"id": "a", "subject": "x", "source": "fax", "expected": {}}, "source"),
])
def test_bad_rows_name_the_field(row, field):
    with pytest.raises(ExampleError) as info:
        parse_example(row)
    assert f"`{field}`" in str(info.value) or field in info.value.message


def test_calibration_helpers():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=4000)
    logits = rng.normal(size=(4000, 3))
    logits[np.arange(4000), labels] += 1.5
    calibrated = softmax(logits)
    # Labels drawn from the model's own probabilities: calibrated by construction.
    drawn = np.array([rng.choice(3, p=p) for p in calibrated])
    assert expected_calibration_error(calibrated, drawn) < 0.03
    assert fit_temperature(logits, drawn) == pytest.approx(1.0, abs=0.15)
    # Three times too sharp: temperature scaling brings it back to ~3.
    assert fit_temperature(3 * logits, drawn) == pytest.approx(3.0, rel=0.15)
    assert expected_calibration_error(softmax(3 * logits), drawn) > 0.1


def test_inference_does_not_import_sklearn(trained_dir):
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from agent.classifier.model import load_model\n"
        f"m = load_model(Path({str(trained_dir / 'model.npz')!r}))\n"
        "v = np.ones((1, m.dimension), dtype=np.float32) / m.dimension ** 0.5\n"
        "m.team.probabilities(v, None, ['blank recordings'])\n"
        "assert 'sklearn' not in sys.modules and 'scipy' not in sys.modules, 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_shipped_weights_are_current(embedder):
    from agent.classifier import shipped
    from agent.classifier.fitting import FORMAT_VERSION, shipped_fingerprint, teams_fingerprint
    from agent.classifier.persistence import read_meta

    rebuild = "stale: run `python -m agent.classifier.shipped` and commit agent/classifier/weights"
    meta = read_meta(shipped.WEIGHTS_DIR)
    assert meta is not None, f"no shipped weights; {rebuild}"
    assert meta["shipped_fingerprint"] == shipped_fingerprint(), f"examples changed; {rebuild}"
    assert meta["teams_fingerprint"] == teams_fingerprint(load_teams()), f"teams; {rebuild}"
    assert meta["model_id"] == embedder.model_id, f"embedding model changed; {rebuild}"
    assert meta["format"] == FORMAT_VERSION, f"format changed; {rebuild}"
    assert shipped.shipped_model(embedder, load_teams()) is not None, rebuild
    # numpy arrays and JSON only, and small enough to live in the repository.
    files = sorted(shipped.WEIGHTS_DIR.iterdir())
    assert {f.name for f in files} == {"model.npz", "meta.json"}
    assert sum(f.stat().st_size for f in files) < 400_000


def test_a_new_home_installs_the_shipped_weights_without_training(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    classifier = load_or_train(tmp_path / "classifier", counting, load_teams())
    assert counting.texts == 0, "installing the shipped weights must not embed or train"
    from agent.classifier import shipped

    assert classifier.meta["token"] == shipped.shipped_model(embedder, load_teams())[1]["token"]
    assert len(classifier.examples) == len(load_examples(SHIPPED_EXAMPLES, origin="shipped"))
    # A user's example on top trains as before (and keeps the shipped examples).
    row = {"id": "t-ship", "subject": "Heatmap overlay offset", "body": "Clicks drawn 40px left.",
           "expected": {"team": "replay"}}
    assert classifier.add_examples([row]) == (1, 0)
    assert classifier.meta["token"] != shipped.shipped_model(embedder, load_teams())[1]["token"]


def test_retraining_gives_the_shipped_predictions(trained_dir, embedder):
    from agent.classifier.shipped import shipped_model

    fresh = load_or_train(trained_dir, embedder, load_teams())
    found = shipped_model(embedder, load_teams())
    assert found is not None
    rows = load_examples(Path(__file__).parents[1] / "evals" / "datasets" / "triage.jsonl",
                         origin="eval")
    texts = [e.text for e in rows] + ["\n\n".join(p for p in t if p) for t in TICKETS]
    subjects = [e.subject_text for e in rows] + [s or b for s, b in TICKETS]
    vectors, subject_vectors = embedder.embed(texts), embedder.embed(subjects)
    shipped_p = found[0].team.probabilities(vectors, subject_vectors, texts)
    fresh_p = fresh._model.team.probabilities(vectors, subject_vectors, texts)
    assert (shipped_p.argmax(1) == fresh_p.argmax(1)).all()
    np.testing.assert_allclose(shipped_p, fresh_p, atol=2e-3)
    kinds = (found[0].kind.probabilities(vectors, None, texts),
             fresh._model.kind.probabilities(vectors, None, texts))
    assert (kinds[0].argmax(1) == kinds[1].argmax(1)).all()
