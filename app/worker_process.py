"""The worker in a process of its own, started and stopped by `sidekick serve`.

Triage is CPU- and GIL-bound (the ONNX embedder, LangGraph, Chroma): run in the API's
process it delays every acknowledgement behind it. Apart, the API process only writes
`accepted` rows and the worker process reads them; the store is the queue, so nothing
else passes between the two but a wake-up event and a stop event.

Ctrl-C reaches both processes (one process group): the worker ignores SIGINT and waits for
the API process to set the stop event after uvicorn's graceful shutdown, so the order is
always "stop accepting, then drain". A SIGTERM sent to the worker alone drains it too; a
worker whose API process died stops on its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from typing import Any

from app.settings import Settings

log = logging.getLogger("sidekick.worker")

#: Seconds `start()` waits for the worker to recover what a previous process left.
READY_TIMEOUT_S = 300
#: Seconds `stop()` waits for the ticket in hand to finish before killing the process.
DRAIN_TIMEOUT_S = 300


class WorkerProcess:
    """A spawned process running `app.worker.Worker` over the same store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # TRICKY: spawn, not fork: the parent holds uvicorn's sockets and event loop,
        # threads and a database engine, none of which survive a fork cleanly.
        self._mp = multiprocessing.get_context("spawn")
        self.wake_event = self._mp.Event()
        self._stop = self._mp.Event()
        self._ready = self._mp.Event()
        self._proc: Any = None

    def start(self) -> None:
        """Start the worker and wait until it has recovered (before the API serves)."""
        # The API process's log level (`--log-level` sets uvicorn.error's) for the worker too.
        level = logging.getLogger("uvicorn.error").getEffectiveLevel()
        self._proc = self._mp.Process(
            target=run_worker, name="sidekick-worker",
            args=(self.settings, self.wake_event, self._stop, self._ready, os.getpid(), level))
        self._proc.start()
        while not self._ready.wait(0.5):
            if not self._proc.is_alive():
                raise RuntimeError(f"the worker process exited with {self._proc.exitcode}")

    def stop(self) -> None:
        """Let the worker finish the ticket in hand and exit; the rest stay `accepted`."""
        if self._proc is None:
            return
        self._stop.set()
        self.wake_event.set()
        self._proc.join(DRAIN_TIMEOUT_S)
        if self._proc.is_alive():  # hung: the next start re-queues its ticket
            log.error("the worker did not drain in %d s; killing it", DRAIN_TIMEOUT_S)
            self._proc.kill()
            self._proc.join()
        self._proc = None

    def wake(self) -> None:
        """Tell the worker a ticket is waiting."""
        self.wake_event.set()

    @property
    def running(self) -> bool:
        """Whether the worker process is alive."""
        return self._proc is not None and self._proc.is_alive()


def run_worker(settings: Settings, wake: Any, stop: Any, ready: Any, parent_pid: int,
               level: int = logging.INFO) -> None:
    """The worker process's main: work until `stop` is set (or the parent is gone)."""
    from app.api.main import open_runtime

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if settings.worker_nice:
        os.nice(settings.worker_nice)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.basicConfig(level=level, format="%(levelname)s:     [worker] %(message)s")
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))  # no per-start chatter
    with open_runtime(settings, wake=wake) as runtime:
        runtime.worker.start()
        ready.set()
        while not stop.wait(1.0):
            if os.getppid() != parent_pid:
                log.warning("the API process is gone; the worker stops")
                break
        runtime.worker.stop()
        log.info("worker drained")
