"""The eval gate in CI: the real `sidekick eval --gate`, on the shipped datasets and on the
real dev set (`--cv 5`, when ../shared is present). A metric below its threshold in
`evals/thresholds.toml` fails the build, and the failure message is the metric table.

Both runs share one base home (`--home`), so the posthog.com docs are embedded once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAI, json_reply

REPO = Path(__file__).resolve().parents[1]
DEV_SET = Path("data") / "posthog_issues_dev.jsonl"
#: Generous: the shipped datasets take ~3 min cold on 2 cores, the dev set's CV ~1 min.
TIMEOUT_S = 1500
#: The shipped run (a module fixture) counts against its first test: past the 600 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT_S + 300)]
#: Thresholds the offline engine does not meet yet, each with the number it measures: the
#: gate fails on them (exit 1), and this test fails on any other, and on one of these the
#: day it passes (then remove it here). The second blind set shows the stage cues still
#: miss phrasings nobody tuned for (0.725, issue #11). conversations.jsonl passes (0.913)
#: since a new follow-up question reads with its topic (`knowledge/topics.py`), and
#: conversations_holdout.jsonl since its failures were studied (it is no longer blind).
KNOWN_GAPS = {
    ("conversations_blind", "conversation_pass_rate"),  # 0.725
}


@pytest.fixture(scope="module")
def eval_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval") / "base"


def sidekick_eval(*args: str | Path, home: Path, llm_url: str | None = None
                  ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SIDEKICK_LLM_BASE_URL", "SIDEKICK_LLM_API_KEY", "OPENAI_API_KEY")}
    if llm_url:
        env.update(SIDEKICK_LLM_BASE_URL=llm_url, SIDEKICK_LLM_MODEL="fake-judge",
                   SIDEKICK_LLM_MAX_RETRIES="0")
    env["SIDEKICK_HOME"] = str(home.parent / "unused-home")  # the eval makes its own homes
    return subprocess.run([sys.executable, "-m", "app.cli", "eval", *map(str, args),
                           "--home", str(home), "--gate", "-q"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=TIMEOUT_S)


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    """The failure message: the metric table (stdout) and the end of stderr."""
    return (f"`sidekick eval --gate` exited {proc.returncode}\n--- metrics vs thresholds ---\n"
            f"{proc.stdout}\n--- stderr (end) ---\n{proc.stderr[-4000:]}")


def failing_rows(report_path: Path, limit: int = 25) -> str:
    if not report_path.exists():
        return ""
    report = json.loads(report_path.read_text())
    lines = []
    for key, data in report["datasets"].items():
        for row in data["failures"][:limit]:
            checks = f"; failed checks {row['checks']}" if row.get("checks") else ""
            lines.append(f"{key} {row['id']}: expected {row.get('expected')} got "
                         f"{row.get('got')}{checks}")
    return "\n--- failing rows (first per dataset) ---\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def shipped_run(eval_home: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    out = tmp_path_factory.mktemp("shipped")
    report_path, html_path = out / "report.json", out / "report.html"
    proc = sidekick_eval("--report", report_path, "--html", html_path, home=eval_home)
    return proc, report_path, html_path


def test_gate_on_the_shipped_datasets(shipped_run) -> None:
    proc, report_path, html_path = shipped_run
    assert report_path.exists(), explain(proc)
    report = json.loads(report_path.read_text())
    failing = {(row["dataset"], row["metric"]) for row in report["thresholds"]
               if not row["passed"]}
    # Without ../shared, rows needing the posthog.com docs or the issue index are skipped:
    # a floor set on the whole dataset does not hold for what is left (drafts answer worse
    # from the project's corpus alone). With ../shared beside the repo, as in CI, none is.
    partial = {name for name, data in report["datasets"].items() if data["skipped"]}
    if not (REPO.parent / "shared").is_dir():
        # The conversation rows skip nothing, but their follow-ups answer from the
        # posthog.com docs too: without them their floors do not hold either.
        partial |= {name for name in report["datasets"] if name.startswith("conversations")}
    unexpected = {(d, m) for d, m in failing - KNOWN_GAPS if d not in partial}
    assert not unexpected, explain(proc) + failing_rows(report_path)
    if not partial:
        closed = KNOWN_GAPS - failing
        assert not closed, f"known gaps now pass, remove them from KNOWN_GAPS: {closed}"
    failed = {d for d, _ in failing}
    assert not partial or not (REPO.parent / "shared").is_dir(), partial
    # The exit code follows the gate: 0 exactly when no threshold failed.
    assert proc.returncode == (1 if failed else 0), explain(proc)
    assert "LLM judge skipped: no LLM configured" in proc.stderr
    assert set(report["datasets"]) == {"triage", "retrieval", "drafts", "holdout",
                                       "conversations", "conversations_holdout",
                                       "conversations_blind", "intake_shapes"}
    # Issue #12: the intake's real shapes are scored on priority and playbook, and gated.
    gated = {row["metric"] for row in report["thresholds"] if row["dataset"] == "intake_shapes"}
    assert gated == {"priority_accuracy", "playbook_accuracy"}, report["thresholds"]
    assert report["gate_passed"] is not bool(failed) and report["llm_judge"] is None
    assert report["datasets"]["triage"]["n"] == 242
    assert "data:image/png;base64," in html_path.read_text()


@pytest.mark.shared
def test_gate_on_the_real_dev_set_cross_validated(shared_dir: Path, eval_home: Path,
                                                  tmp_path: Path) -> None:
    report_path = tmp_path / "dev.json"
    proc = sidekick_eval("--dataset", shared_dir / DEV_SET, "--cv", "5", "--baselines",
                         "--report", report_path, home=eval_home)
    assert proc.returncode == 0, explain(proc) + failing_rows(report_path)
    dev = json.loads(report_path.read_text())["datasets"]["posthog_issues_dev@cv5"]
    assert dev["n"] == 120 and dev["cv"]["folds"] == 5
    # The bar: Sidekick beats the off-the-shelf baselines on the same folds.
    for name, baseline in dev["baselines"]["models"].items():
        assert dev["team_accuracy"] > baseline["team_accuracy"], (name, explain(proc))


def test_rows_needing_absent_data_are_skipped_and_a_failed_gate_exits_1(
        eval_home: Path, tmp_path: Path) -> None:
    """Runs last, on the base the gate tests built: a small dataset, no ../shared."""
    rows = [{"id": f"small-{i}", "subject": subject, "requester": {"name": "Ada Lovelace"},
             "expected": {"team": team, "kind": "bug"}}
            for i, (subject, team) in enumerate([
                ("Recordings are blank after the SDK upgrade", "replay"),
                ("Funnel conversion drops to zero after we renamed an event",
                 "product-analytics"),
                ("Our batch export to S3 fails every night", "pipeline")])]
    rows.append({"id": "small-docs", "subject": "Where do I set the billing limit?",
                 "corpus": "posthog-com",
                 "expected": {"must_cite": ["https://posthog.com/docs/billing/limits-alerts"]}})
    dataset = tmp_path / "small.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("[small]\nteam_accuracy = 0.0\nkind_accuracy = 1.01\n")
    report_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    proc = sidekick_eval("--dataset", dataset, "--shared", tmp_path / "no-shared",
                         "--thresholds", thresholds, "--baselines", "--report", report_path,
                         "--html", html_path, home=eval_home)
    assert proc.returncode == 1, explain(proc)  # kind_accuracy can never reach 1.01
    assert "small: skipped 1 rows that need ../shared" in proc.stderr
    assert "gate: 1 metric(s) below threshold" in proc.stderr
    table = proc.stdout[proc.stdout.index("dataset  "):]
    assert "kind_accuracy" in table and "FAIL" in table and "PASS" in table
    report = json.loads(report_path.read_text())
    small = report["datasets"]["small"]
    assert small["n"] == 3 and small["skipped"] == ["small-docs (needs corpus)"]
    assert set(small["baselines"]["models"]) == {"tfidf_lr+shipped", "minilm_lr+shipped"}
    assert report["gate_passed"] is False
    assert html_path.read_text().count("data:image/png;base64,") >= 3


def test_the_llm_judge_runs_when_an_llm_is_configured(eval_home: Path, tmp_path: Path) -> None:
    """Every call gets the same verdict: the LLM engine's own calls fail validation and fall
    back to the offline engine, the judge's calls pass."""
    spec = {"greeting_name": "Ada", "language": "en", "must_contain": [],
            "must_not_contain": [], "must_link_issue": None, "status_after": None}
    rows = [{"id": f"judge-{i}", "subject": subject, "requester": {"name": "Ada Lovelace"},
             "expected": {"draft": spec}}
            for i, subject in enumerate(["How do I invite a teammate to our organization?",
                                         "Can I export a trends insight as CSV?"])]
    dataset = tmp_path / "judged.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report_path = tmp_path / "r.json"
    with FakeOpenAI() as fake:
        fake.always(json_reply({"helpful": True, "tone": True, "grounded": False,
                                "reason": "cites a setting the sources do not mention"}))
        proc = sidekick_eval("--dataset", dataset, "--shared", tmp_path / "no-shared",
                             "--report", report_path, home=eval_home, llm_url=fake.base_url)
    assert proc.returncode == 0, explain(proc)
    assert "LLM judge skipped" not in proc.stderr
    assert "LLM judge (fake-judge): pass 0.0 on 2 drafts" in proc.stdout
    judge = json.loads(report_path.read_text())["llm_judge"]["judged"]
    assert judge["n"] == 2 and judge["grounded_rate"] == 0.0 and judge["tone_rate"] == 1.0
    assert {f["id"] for f in judge["failures"]} == {"judge-0", "judge-1"}


WONDERFUL = ("Hey Ada,\n\nWonderful question! You can invite a teammate from your "
             "organization settings: open the members page, add their e-mail address and "
             "choose their role, and they get an invitation to join your organization.")


def test_engine_llm_runs_beside_offline_on_the_same_rows_and_gates_on_it(
        eval_home: Path, tmp_path: Path) -> None:
    """A model whose drafts pass every guard but say what the row forbids: the LLM run is
    scored beside the offline run of the same rows, its draft checks fall below offline's,
    and the gate fails on that (and on nothing else); the judge says it judged its own
    model's drafts. (A placeholder draft would not do: the check node replaces it by the
    offline draft: tests/test_llm_guards.py, tests/test_llm_real.py.)"""
    spec = {"greeting_name": "Ada", "language": "en", "must_contain": [],
            "must_not_contain": ["wonderful"], "must_link_issue": None, "status_after": None}
    rows = [{"id": f"eng-{i}", "subject": subject, "body": subject,
             "requester": {"name": "Ada Lovelace"},
             "expected": {"team": "growth", "draft": spec}}
            for i, subject in enumerate(["How do I invite a teammate to our organization?",
                                         "Where do I add a teammate to the project?"])]
    dataset = tmp_path / "engines.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("[engines]\nteam_accuracy = 0.0\n")
    report_path = tmp_path / "r.json"
    with FakeOpenAI() as fake:
        fake.always(json_reply({"body": WONDERFUL, "internal_note": "",
                                "status_after": "solved", "citations": []}))
        proc = sidekick_eval("--dataset", dataset, "--shared", tmp_path / "no-shared",
                             "--thresholds", thresholds, "--engine", "llm",
                             "--report", report_path, home=eval_home, llm_url=fake.base_url)
    assert proc.returncode == 1, explain(proc)
    assert "gate: 1 metric(s) below threshold" in proc.stderr
    table = proc.stdout[proc.stdout.index("dataset  "):]
    [floor] = [line for line in table.splitlines() if "draft_checks_pass_rate" in line]
    assert "(llm ≥ offline)" in floor and floor.endswith("FAIL")
    assert "judged drafts that its own model wrote" in proc.stderr
    engines = json.loads(report_path.read_text())["datasets"]["engines"]["engines"]
    assert engines["offline"]["llm_calls_per_ticket"] == 0
    assert engines["llm"]["llm_calls_per_ticket"] >= 1
    assert engines["llm"]["llm_tokens_per_ticket"] > 0
    assert engines["llm"]["draft_checks_pass_rate"] < engines["offline"]["draft_checks_pass_rate"]
    assert engines["llm"]["team_accuracy"] == engines["offline"]["team_accuracy"]
    assert "    llm     team" in proc.stdout and "    offline team" in proc.stdout
