"""`sidekick eval`: score the agent on eval datasets, write reports, gate on thresholds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `eval` subcommand."""
    parser = sub.add_parser(
        "eval", help="score triage, retrieval and drafts on eval datasets",
        description="Triage every row of each dataset through the same service as "
        "`sidekick triage`, each dataset in a fresh home, and score the results against "
        "`expected`. Prints the metrics against their thresholds.",
    )
    parser.add_argument("--dataset", action="append", type=Path, metavar="F",
                        help="eval-dataset JSONL (repeatable; default: the three shipped "
                        "datasets in evals/datasets)")
    parser.add_argument("--train", action="append", type=Path, default=[], metavar="F",
                        help="labeled past tickets to add to the classifier first (repeatable)")
    parser.add_argument("--cv", type=int, default=None, metavar="K",
                        help="K-fold cross-validation on each dataset: each fold is triaged "
                        "by a classifier also trained on the other folds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds (default 0)")
    parser.add_argument("--report", type=Path, metavar="OUT.json", help="write the JSON report")
    parser.add_argument("--html", type=Path, metavar="OUT.html", help="write the HTML report")
    parser.add_argument("--thresholds", type=Path, default=None, metavar="F",
                        help="thresholds TOML (default evals/thresholds.toml)")
    parser.add_argument("--gate", action="store_true",
                        help="exit 1 when any metric misses its threshold")
    parser.add_argument("--baselines", action="store_true",
                        help="also score TF-IDF + LR and MiniLM + LR on the same folds")
    parser.add_argument("--home", type=Path, default=None, metavar="DIR",
                        help="keep the base home (ingested docs, trained classifier) in DIR "
                        "and reuse it next time (default: a temporary folder)")
    parser.add_argument("--shared", type=Path, default=None, metavar="DIR",
                        help="the shared data folder (default ../shared beside the repository)")
    parser.add_argument("--engine", choices=("auto", "offline", "llm"), default="auto",
                        help="auto (default): the LLM engine when SIDEKICK_LLM_BASE_URL or a "
                        "key is set, else offline; llm: the LLM engine beside the offline "
                        "engine on the same rows, gated on team accuracy and draft checks no "
                        "lower than offline's; offline: the offline engine even with an LLM set")
    parser.add_argument("--rows", type=int, default=None, metavar="N",
                        help="evaluate only the first N rows of each dataset (a fixed subset)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _load_inputs(args: argparse.Namespace) -> tuple[list, list, dict]:
    """Validate datasets, training rows and thresholds before any work starts."""
    from agent.classifier import ExampleError, parse_example, read_rows
    from evals.dataset import SHIPPED, DatasetError, load_dataset
    from evals.thresholds import DEFAULT_THRESHOLDS, ThresholdError, load_thresholds

    try:
        datasets = [load_dataset(p) for p in (args.dataset or SHIPPED)]
        bounds = load_thresholds(args.thresholds or DEFAULT_THRESHOLDS)
    except (DatasetError, ThresholdError) as exc:
        raise UsageError(str(exc)) from None
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise UsageError("two datasets share a file name; their reports would collide")
    train_rows = []
    for path in args.train:
        if not path.is_file():
            raise UsageError(f"--train {path}: no such file")
        try:
            for line, row in read_rows(path):
                try:
                    parse_example(row)
                except ExampleError as exc:
                    raise UsageError(f"--train {path}:{line}: {exc}") from None
                train_rows.append(row)
        except ExampleError as exc:
            raise UsageError(f"--train {path}: {exc}") from None
    if args.rows is not None:
        if args.rows < 1:
            raise UsageError("--rows must be at least 1")
        import dataclasses

        datasets = [dataclasses.replace(d, rows=d.rows[:args.rows]) for d in datasets]
    if args.engine == "llm":
        from app.settings import get_settings

        if not get_settings().llm_enabled:
            raise UsageError("--engine llm: no LLM configured (set SIDEKICK_LLM_BASE_URL, "
                             "or SIDEKICK_LLM_API_KEY / OPENAI_API_KEY)")
    if args.cv is not None:
        smallest = min(len(d.rows) for d in datasets)
        if not 2 <= args.cv <= smallest:
            raise UsageError(f"--cv must be between 2 and {smallest} (rows in the smallest "
                             "dataset)")
    return datasets, train_rows, bounds


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the reports; exit 1 on a failed gate."""
    datasets, train_rows, bounds = _load_inputs(args)
    from evals.suite import Options, run_suite
    from evals.thresholds import format_table
    from evals.workspace import DEFAULT_SHARED

    options = Options(datasets=datasets, train_rows=train_rows, cv=args.cv, seed=args.seed,
                      home=args.home, shared=args.shared or DEFAULT_SHARED,
                      baselines=args.baselines, progress=not args.quiet, engine=args.engine,
                      rows=args.rows)
    outcome = run_suite(options, bounds, lambda message: print(message, file=sys.stderr))
    from evals.summary import summary_lines

    for line in summary_lines(outcome.report):
        print(line)
    print()
    print(format_table(outcome.checks))
    if args.report:
        from evals.report import write_json

        write_json(outcome.report, args.report)
        print(f"JSON report: {args.report}")
    if args.html:
        from evals.report_html import write_html

        write_html(outcome.report, args.html)
        print(f"HTML report: {args.html}")
    if args.gate and not outcome.passed:
        failed = sum(not c.passed for c in outcome.checks)
        print(f"gate: {failed} metric(s) below threshold", file=sys.stderr)
        return 1
    return 0
