"""`sidekick worker`: triage, decisions and Zendesk polling, without the API.

Run any number of them, on any host, against one PostgreSQL database (`SIDEKICK_DATABASE_URL`)
beside `sidekick serve --no-worker` API replicas: each claims batches of accepted tickets
under a lease its heartbeat renews (`app/worker.py`), so a worker that dies loses nothing
and needs no restart of the others. SIGTERM or Ctrl-C drains it: the ticket in hand is
finished, the rest of its batch goes back to `accepted`, and it exits 0.
"""

from __future__ import annotations

import argparse
import logging
import select
import signal


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `worker` subcommand."""
    parser = sub.add_parser("worker", help="run a triage worker (no API) on the shared store")
    parser.add_argument("--log-level", default=None,
                        choices=["critical", "error", "warning", "info", "debug"],
                        help="overrides SIDEKICK_LOG_LEVEL")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Work until SIGTERM or SIGINT, then drain and exit 0."""
    from app.api.main import open_runtime
    from app.logs import configure_logging
    from app.settings import get_settings
    from app.worker_main import BEAT_S, _StopRequest

    settings = get_settings()
    configure_logging(settings, "worker", level=args.log_level)
    log = logging.getLogger("sidekick.worker")
    stop = _StopRequest()  # only a flag and a byte: nothing in a handler may take a lock
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open_runtime(settings) as runtime:
        worker = runtime.worker
        # Not fresh: other workers and API replicas may hold work right now.
        worker.start(fresh=False)
        log.info("worker %s started", worker.id)
        while not stop.requested:
            select.select([stop], [], [], BEAT_S)
            if not worker.running:
                raise RuntimeError("the worker thread died")
        log.info("SIGTERM; the worker drains")
        worker.stop()
        log.info("worker drained")
    return 0
