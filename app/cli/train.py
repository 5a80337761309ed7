"""`sidekick train FILE.jsonl`: add labeled past tickets to the offline classifier."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from app.cli import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `train` subcommand."""
    parser = sub.add_parser(
        "train",
        help="add labeled tickets (eval-dataset JSONL) to the classifier and retrain",
        description="Validate every row, add the new ones to the classifier's examples, "
        "retrain, and report cross-validated accuracy and calibration.",
    )
    parser.add_argument("file", type=Path, metavar="FILE.jsonl")
    parser.add_argument("--evaluate", action="store_true",
                        help="only measure: k-fold CV of FILE's rows, trained on the current "
                        "examples plus the other folds; nothing is added")
    parser.add_argument("--folds", type=int, default=5, help="folds for --evaluate (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    parser.set_defaults(func=run)


def _validate(path: Path) -> list[Any]:
    """Every row of the file as an Example; the first bad row is a UsageError."""
    from agent.classifier import ExampleError, parse_example, read_rows

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    examples = []
    try:
        for number, row in read_rows(path):
            try:
                examples.append(parse_example(row))
            except ExampleError as exc:
                raise ExampleError(exc.field, exc.message, line=number) from None
    except ExampleError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    if not examples:
        raise UsageError(f"{path}: no rows")
    return examples


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _print_training(summary: dict[str, Any]) -> None:
    print(f"{summary['file']}: {summary['rows']} rows, {summary['added']} added, "
          f"{summary['skipped']} skipped (already known or unlabeled)")
    if summary["unknown_team"]:
        teams = ", ".join(f"{t} ({n})" for t, n in summary["unknown_team"].items())
        print(f"not trained on team (outside the taxonomy): {teams}")
    print("examples per team: " + ", ".join(f"{t} {n}" for t, n in summary["per_team"].items()))
    report = summary["report"]
    team, kind = report["team"], report["kind"]
    state = "retrained" if summary["added"] else "unchanged"
    print(f"model {state}; {report['folds']}-fold CV: team accuracy {_percent(team['accuracy'])} "
          f"on {team['n_evaluated']} (ECE {team['ece'] or 0:.3f}), kind accuracy "
          f"{_percent(kind['accuracy'])} on {kind['n_evaluated']} (ECE {kind['ece'] or 0:.3f})")
    where = "stored in the database for every process" if summary.get("stored") else "local"
    print(f"classifier version {summary['version']} ({where})")


def _print_evaluation(summary: dict[str, Any]) -> None:
    report = summary["evaluation"]
    print(f"{summary['file']}: {report['folds']}-fold CV, trained on the current examples "
          "plus the other folds (nothing saved)")
    print(f"team accuracy {_percent(report['team_accuracy'])} on {report['n_team']} rows "
          f"(ECE {report['team_ece'] or 0:.3f}); kind accuracy "
          f"{_percent(report['kind_accuracy'])} on {report['n_kind']} rows "
          f"(ECE {report['kind_ece'] or 0:.3f})")
    for error in report["team_errors"]:
        print(f"  {error['id']}: expected {error['expected']}, got {error['predicted']} "
              f"({error['confidence']:.2f})")


def run(args: argparse.Namespace) -> int:
    """Validate the whole file first; train only when every row is valid."""
    examples = _validate(args.file)
    if args.folds < 2:
        raise UsageError("--folds must be at least 2")

    from agent.classifier import add_and_train, load_or_train
    from agent.teams import load_teams
    from app.settings import get_settings
    from app.shared_classifier import pull, store_engine, uses_store
    from knowledge.embeddings import MiniLMEmbedder

    settings = get_settings()
    try:
        teams = load_teams(settings.teams_file)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    embedder = MiniLMEmbedder()
    engine = None
    if uses_store(settings):
        # Start from the shared version, so this training adds to every host's examples.
        engine = store_engine(settings)
        pull(engine, settings.classifier_dir, embedder, teams)
    unknown = Counter(e.team for e in examples if e.team and e.team not in teams)
    summary: dict[str, Any] = {"file": str(args.file), "rows": len(examples),
                               "unknown_team": dict(unknown)}
    if args.evaluate:
        from agent.classifier.evaluation import holdout_cv

        classifier = load_or_train(settings.classifier_dir, embedder, teams)
        summary["evaluation"] = holdout_cv(classifier, examples, folds=args.folds).as_dict()
        show = _print_evaluation
    else:
        classifier, added, skipped = add_and_train(settings.classifier_dir, embedder, teams,
                                                   examples)
        summary.update(added=added, skipped=skipped, per_team=classifier.example_counts(),
                       report=classifier.meta["report"], version=classifier.version)
        if engine is not None:
            from app.store.classifier_versions import publish

            # One transaction: other processes see this whole version or none of it.
            summary["stored"] = publish(engine, settings.classifier_dir)
        show = _print_training
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        show(summary)
    return 0
