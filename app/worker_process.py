"""The worker in a process of its own, started, watched and stopped by `sidekick serve`.

Triage is CPU- and GIL-bound (the ONNX embedder, LangGraph, Chroma): run in the API's
process it delays every acknowledgement behind it. Apart, the API process only writes
`accepted` rows and the worker process reads them; the store is the queue. Between the two
there are only pipes, never a lock they share: the API wakes the worker with a byte it
writes without blocking (a full pipe already holds a wake-up, a broken one means the worker
is gone and its successor polls the store), the worker says it is ready on another pipe and
beats a heartbeat into shared memory. A peer that dies holds nothing the other waits on.

A supervisor thread in the API process notices a worker that exited or stopped beating,
logs it and starts another, with a growing pause between restarts; until one is ready,
`/healthz` answers 503. The worker ignores SIGINT (Ctrl-C reaches both processes): the API
process stops it after uvicorn's graceful shutdown, so the order is always "stop accepting,
then drain". SIGTERM to the worker drains it (sent to it alone, the supervisor then starts
another; sent to the whole group, the API stops too): its handler only sets a flag and
writes a byte to a pipe (`app/worker_main.py`, the worker process's side).
A worker whose API process died stops on its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from app.settings import Settings
from app.worker_main import BEAT_S, run_worker

log = logging.getLogger("sidekick.worker")

#: Seconds a worker may take to recover what a previous process left before it is ready.
READY_TIMEOUT_S = 300
#: Seconds `stop()` waits for the ticket in hand to finish before killing the process.
DRAIN_TIMEOUT_S = 300
#: The first and the longest pause before a restart (doubling in between).
BACKOFF_S = (0.5, 30.0)
#: A worker up this long has recovered: the next restart pauses the shortest time again.
STEADY_S = 60.0


class WorkerDied(RuntimeError):
    """The worker process exited (or hung) before it was ready."""


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class WorkerProcess:
    """A spawned process running `app.worker.Worker` over the same store, kept running."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # TRICKY: spawn, not fork: the parent holds uvicorn's sockets and event loop,
        # threads and a database engine, none of which survive a fork cleanly.
        self._mp = multiprocessing.get_context("spawn")
        #: Set when the API stops (also from its signal handler: a plain attribute).
        self.closing = False
        # Guards `_proc` and `_wake`; never held across anything that can block.
        self._lock = threading.Lock()
        self._proc: Any = None
        self._wake: Any = None  # the write end of the wake-up pipe
        self._ready = False
        self._beat = self._mp.RawValue("d", 0.0)  # time.monotonic() of the last heartbeat
        self._since = 0.0
        self._down: str | None = None  # what happened to the last worker, until one is up
        self._done = threading.Event()  # in this process only: ends the supervisor's pauses
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker, wait until it has recovered (before the API serves), watch it."""
        self._spawn(fresh=True)
        self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                            name="sidekick-supervisor")
        self._supervisor.start()

    def stop(self) -> None:
        """Let the worker finish the ticket in hand and exit; the rest stay `accepted`."""
        self.closing = True
        self._done.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        proc = self._retire()
        if proc is None:
            return
        proc.join(DRAIN_TIMEOUT_S)
        if proc.is_alive():  # hung: the next start re-queues its ticket
            log.error("the worker did not drain in %d s; killing it", DRAIN_TIMEOUT_S)
            proc.kill()
            proc.join()

    def wake(self) -> None:
        """Tell the worker a ticket is waiting; never blocks, never fails."""
        with self._lock:
            if self._wake is None:
                return
            try:
                os.write(self._wake.fileno(), b"\0")
            except OSError:  # full: a wake-up is pending; broken: the next worker polls
                pass

    @property
    def running(self) -> bool:
        """Whether the worker process is alive, ready and beating."""
        return self.problem() is None

    def problem(self) -> str | None:
        """Why the worker cannot triage now (for `/healthz`), or None when it can."""
        fault, down = self._fault(), self._down
        if fault is None and not self._ready:
            fault = "the worker process is starting"
        if fault is not None and down is not None:
            return f"{fault}; the server restarts it ({down})"
        return fault

    def _fault(self) -> str | None:
        """What is wrong with the current worker process, None if nothing (yet)."""
        proc = self._proc
        if proc is None:
            return "the worker process is not running"
        if not proc.is_alive():
            return f"the worker process {_exit_text(proc.exitcode)}"
        silent = time.monotonic() - self._beat.value
        if self._ready and silent > self.settings.worker_hang_s:
            return f"the worker process has not answered for {silent:.0f} s (hung)"
        return None

    def _spawn(self, *, fresh: bool) -> None:
        """Start a worker process and wait until it is ready (raises WorkerDied)."""
        # The API process's log level (`--log-level` sets uvicorn.error's) for the worker too.
        level = logging.getLogger("uvicorn.error").getEffectiveLevel()
        wake_r, wake_w = self._mp.Pipe(duplex=False)
        ready_r, ready_w = self._mp.Pipe(duplex=False)
        self._beat.value = time.monotonic()
        proc = self._mp.Process(
            target=run_worker, name="sidekick-worker",
            args=(self.settings, wake_r, ready_w, self._beat, os.getpid(), level, fresh))
        proc.start()
        # The child holds its own copies: its death (or ours) is an EOF on the other side.
        wake_r.close()
        ready_w.close()
        os.set_blocking(wake_w.fileno(), False)
        with self._lock:
            self._ready = False
            self._proc, self._wake = proc, wake_w
        try:
            self._await_ready(proc, ready_r, restart=not fresh)
        except WorkerDied:
            self._retire(kill=True)
            raise
        finally:
            ready_r.close()
        self._ready, self._since, self._down = True, time.monotonic(), None

    def _await_ready(self, proc: Any, ready: Any, *, restart: bool) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.poll(0.5):
            if not proc.is_alive():
                raise WorkerDied(f"the worker process {_exit_text(proc.exitcode)}")
            if self.closing and restart:
                raise WorkerDied("the server is stopping")
            if time.monotonic() > deadline:
                raise WorkerDied(f"the worker process was not ready in {READY_TIMEOUT_S} s")
        try:
            ready.recv_bytes()
        except EOFError:  # it died right before saying it was ready
            proc.join(5)
            raise WorkerDied(f"the worker process {_exit_text(proc.exitcode)}") from None

    def _retire(self, *, kill: bool = False) -> Any:
        """Close the wake-up pipe (the worker drains on EOF) and signal it; the process."""
        with self._lock:
            proc, wake = self._proc, self._wake
            self._proc, self._wake, self._ready = None, None, False
            if wake is not None:
                wake.close()
        if proc is not None and proc.is_alive():
            if kill:
                proc.kill()
                proc.join()
            else:
                proc.terminate()  # SIGTERM: drain, wherever it is
        return proc

    def _supervise(self) -> None:
        """Restart a worker that exited or hung, pausing longer after each quick failure."""
        pause = BACKOFF_S[0]
        while not self._done.wait(BEAT_S):
            problem = self._fault()
            if problem is None:
                if time.monotonic() - self._since > STEADY_S:
                    pause = BACKOFF_S[0]
                continue
            if self.closing:  # the same signal stops the API: no restart
                return
            log.error("%s; restarting it in %.1f s", problem, pause)
            self._down = self._down or problem  # the first cause, through failed restarts
            self._retire(kill=True)  # a hung one is killed: nothing else triages meanwhile
            if self._done.wait(pause) or self.closing:
                return
            pause = min(pause * 2, BACKOFF_S[1])
            try:
                self._spawn(fresh=False)
            except WorkerDied as exc:
                if self.closing:
                    return
                log.error("the worker did not start again: %s", exc)
            else:
                log.info("the worker process is running again")
