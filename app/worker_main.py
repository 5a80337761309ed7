"""The worker process's main, spawned by `app/worker_process.py` for `sidekick serve`.

Its main thread relays each wake-up byte from the API process to the worker thread and beats
the heartbeat the API's supervisor watches, once a second, also while the ticket in hand is
drained. It stops on SIGTERM, on an EOF from the API process (it stopped or died), or when
its parent is gone, always after the ticket in hand.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import time
from typing import Any

from app.settings import Settings

log = logging.getLogger("sidekick.worker")

#: Seconds between heartbeats (and between the supervisor's looks at the worker).
BEAT_S = 1.0


class _StopRequest:
    """A SIGTERM handler that only sets a flag and writes a byte to a pipe of its own.

    TRICKY: nothing in a signal handler may take a lock: the handler runs on the main
    thread between two bytecodes, possibly inside the very wait that holds the lock.
    """

    def __init__(self) -> None:
        self.requested = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)

    def __call__(self, signum: int, frame: object) -> None:
        self.requested = True
        try:
            os.write(self._w, b"\0")
        except OSError:
            pass  # full: a byte is there already

    def fileno(self) -> int:
        """The read end, for `select`."""
        return self._r


def run_worker(settings: Settings, wake: Any, ready: Any, beat: Any, parent_pid: int,
               level: int = logging.INFO, fresh: bool = True) -> None:
    """The worker process's main: work until SIGTERM, an EOF on `wake`, or no parent."""
    stop = _StopRequest()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from app.api.main import open_runtime

    if settings.worker_nice:
        os.nice(settings.worker_nice)
    from app.logs import configure_logging
    from app.worker import worker_name

    configure_logging(settings, "worker", level=level)
    # One name for every incarnation under this API process: a restarted worker takes
    # back at once what the one it replaces (killed, hung) held.
    with open_runtime(settings, worker_id=worker_name(f"serve-{parent_pid}")) as runtime:
        worker = runtime.worker
        worker.start(fresh=fresh)
        beat.value = time.monotonic()
        ready.send_bytes(b"ready")
        ready.close()
        log.info("%s; the worker drains", _serve(worker, wake, stop, beat, parent_pid))
        worker.stop(BEAT_S)
        while worker.running:  # the ticket in hand: keep beating, it is not hung
            beat.value = time.monotonic()
            worker.stop(BEAT_S)
        log.info("worker drained")


def _serve(worker: Any, wake: Any, stop: _StopRequest, beat: Any, parent_pid: int) -> str:
    """Relay wake-ups to the worker thread and beat until told to stop; why it stops."""
    while not stop.requested:
        beat.value = time.monotonic()
        readable, _, _ = select.select([wake, stop], [], [], BEAT_S)
        if wake in readable:
            if not os.read(wake.fileno(), 4096):  # EOF: the API process stopped or died
                return "the API process is gone"
            worker.wake()
        if os.getppid() != parent_pid:
            return "the API process is gone"
        if not worker.running:
            raise RuntimeError("the worker thread died")
    return "SIGTERM"
