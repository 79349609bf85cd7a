"""A long-lived worker process that runs model and codec tasks (no Qt on either side).

Why a process and not just a thread: importing torch and running the entropy coder hold
Python's GIL for up to ~200 ms at a time (measured), which would freeze a GUI whose worker
shares its interpreter. In a separate process the GUI's event loop never waits on the GIL,
a crash in native code (or an out-of-memory kill) cannot take the window down, and Cancel can
always end a job: cooperatively through the cancel callback, or by stopping the process.

Protocol over a ``multiprocessing`` pipe (pickled tuples)::

    parent → child  ("run", job_id, module, task, kwargs) | ("quit",)
    child → parent  ("progress", job_id, stage, fraction)
                    ("result", job_id, value) | ("error", job_id, JobError)
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from typing import Any

from obic_gui.job_errors import JobError, describe

#: progress messages are sent at most this often (seconds) — a chatty task cannot flood the pipe
PROGRESS_INTERVAL = 0.05


def resolve(module: str, task: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(module), task)


def _limit_threads() -> None:
    """Honour OBIC_GUI_THREADS (tests and benchmarks share the CPU with a training run)."""
    n = os.environ.get("OBIC_GUI_THREADS")
    if not n:
        return
    try:
        import torch

        torch.set_num_threads(max(1, int(n)))
    except Exception:  # torch missing is reported by the task that needs it
        pass


def serve(conn, cancel_event, preload: tuple[str, ...] = ()) -> None:
    """Child main loop: run one task at a time until "quit" or the parent goes away."""
    _limit_threads()
    for name in preload:  # warm imports while the user is still looking at the window
        try:
            importlib.import_module(name)
        except Exception:
            pass
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if not msg or msg[0] == "quit":
            return
        _, job_id, module, task, kwargs = msg
        cancel_event.clear()
        progress = _Throttled(conn, job_id)
        try:
            value = resolve(module, task)(**kwargs, progress=progress, cancel=cancel_event.is_set)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            err = describe(exc, task.replace("_", " "))
            if cancel_event.is_set():
                err = JobError("cancelled", "Cancelled", "The job was cancelled.")
            _send(conn, ("error", job_id, err))
            continue
        if cancel_event.is_set():
            _send(conn, ("error", job_id, JobError("cancelled", "Cancelled", "The job was cancelled.")))
        else:
            _send(conn, ("result", job_id, value))


class _Throttled:
    """The ``progress`` callback of one job: sends at most one message per PROGRESS_INTERVAL."""

    def __init__(self, conn, job_id: int) -> None:
        self.conn, self.job_id, self.last = conn, job_id, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL and 0.0 < fraction < 1.0:
            return
        self.last = now
        try:
            self.conn.send(("progress", self.job_id, str(stage), float(fraction)))
        except (OSError, ValueError):
            pass


def _send(conn, msg) -> None:
    try:
        conn.send(msg)
    except (OSError, ValueError, EOFError):
        raise SystemExit(0) from None  # parent gone
    except Exception as exc:  # unpicklable result: report it instead of dying silently
        conn.send(("error", msg[1], describe(exc, "sending the result")))


class WorkerProcess:
    """Parent-side handle of one worker process (started on first use, restarted after a kill)."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self._ctx = mp.get_context("spawn")  # never fork a process that runs Qt threads
        self._preload = preload
        self._proc = None
        self._conn = None
        self._cancel = None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def exitcode(self) -> int | None:
        return None if self._proc is None else self._proc.exitcode

    def start(self) -> None:
        if self.alive:
            return
        self.stop()
        parent, child = self._ctx.Pipe(duplex=True)
        self._cancel = self._ctx.Event()
        self._proc = self._ctx.Process(target=serve, args=(child, self._cancel, self._preload),
                                       name="obic-gui-worker", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def send_job(self, job_id: int, module: str, task: str, kwargs: dict) -> None:
        self.start()
        self._conn.send(("run", job_id, module, task, kwargs))

    def poll(self, timeout: float) -> tuple | None:
        """The next message, or None after ``timeout`` seconds (or when the child died)."""
        try:
            if self._conn is not None and self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError):
            return None
        return None

    def request_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def kill(self) -> None:
        """Stop a job that ignores its cancel callback (e.g. inside a native encoder)."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(2.0)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(2.0)
        self.stop()

    def stop(self, timeout: float = 2.0) -> None:
        if self._conn is not None:
            try:
                if self._proc is not None and self._proc.is_alive():
                    self._conn.send(("quit",))
            except (OSError, ValueError):
                pass
        if self._proc is not None:
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
