"""`sidekick serve`: the HTTP API (uvicorn) and the background worker, as one command.

The worker runs in a child process the API's lifespan starts and drains
(`app/worker_process.py`), so triage never competes with the API for the GIL. With
`--no-worker` the process is an API replica only (API and Slack): `sidekick worker`
processes, on this host or others, triage what it accepts through the shared database.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import tempfile
from types import FrameType
from typing import Any

from app.cli import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `serve` subcommand."""
    parser = sub.add_parser("serve", help="run the HTTP API and the triage worker")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument("--log-level", default=None,
                        choices=["critical", "error", "warning", "info", "debug"],
                        help="overrides SIDEKICK_LOG_LEVEL for the API and its worker")
    parser.add_argument("--no-worker", action="store_true",
                        help="serve the API and Slack only; `sidekick worker` processes "
                             "on the same database (SIDEKICK_DATABASE_URL) triage")
    parser.set_defaults(func=run)


def _already_handled(signum: int, frame: object) -> None:
    """Ignore a signal uvicorn re-raises after its graceful shutdown (already handled)."""


def _server(config: Any) -> Any:
    """A uvicorn server whose signal handler also tells the worker's supervisor."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # TRICKY: the worker got the same signal (one process group) and is stopping:
            # its supervisor must not restart it. Only a flag here, nothing that can block.
            process = getattr(config.app.state, "worker_process", None)
            if process is not None:
                process.closing = True
            super().handle_exit(sig, frame)

    return Server(config)


#: prometheus-client's multiprocess mode: the directory where each process writes its counts.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_between_processes() -> None:
    """Count metrics in files every process of this server shares (app/metrics.py).

    Must run before anything imports prometheus_client (it picks its mode at import); the
    spawned worker inherits the variable. An operator's own directory is kept (it must exist
    and start empty); otherwise a fresh one is made and removed at exit.
    """
    if os.environ.get(MULTIPROC_ENV):
        return
    path = tempfile.mkdtemp(prefix="sidekick-metrics-")
    os.environ[MULTIPROC_ENV] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM, then drain the worker and exit 0."""
    import uvicorn

    from app.logs import configure_logging
    from app.settings import get_settings

    settings = get_settings()
    level = args.log_level or settings.log_level
    configure_logging(settings, "api", level=level)
    # Before anything imports prometheus_client: the worker process's counts reach /metrics.
    share_between_processes()
    from app.api.main import InsecureConfig, check_security, create_app

    try:
        # Refuses without tokens or secrets outside development; in development it still
        # refuses a non-loopback --host without tokens (create_app prints the WARNING block).
        check_security(settings, host=args.host)
        app = (create_app(settings, start_worker=False) if args.no_worker
               else create_app(settings, worker_process=True))
    except InsecureConfig as exc:
        raise UsageError(str(exc)) from None
    # TRICKY: uvicorn (>= 0.29) restores the previous handlers after its graceful shutdown
    # and raises the captured signal again; with these no-op handlers in place that
    # re-raise ends the process with 0 instead of dying of SIGTERM / KeyboardInterrupt.
    signal.signal(signal.SIGTERM, _already_handled)
    signal.signal(signal.SIGINT, _already_handled)
    # log_config=None: uvicorn's loggers keep app/logs.py's one handler (format, redaction).
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=level,
                            log_config=None, lifespan="on",
                            timeout_keep_alive=settings.api_keep_alive_s)
    server = _server(config)
    server.run()
    # A failed startup (port taken, database down) leaves `started` false.
    return 0 if server.started else 1
