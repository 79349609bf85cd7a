"""Background jobs: one job at a time per lane, with progress, cancel, result and error signals.

Lanes separate work that may overlap: ``io`` (reading and writing files, in a thread),
``mask`` (segmentation), ``codec`` (encode, compare, decode, sweeps) and ``estimate`` (the
live file-size estimate while qualities are painted: its own process, so painting keeps its
answers coming during a long encode & compare). By default every lane but ``io`` runs in its
own worker process, started on first use (see :mod:`obic_gui.worker_process` for why); tests
inject fake tasks by giving another ``task_module`` and thread lanes.

A second :meth:`JobManager.submit` on a busy lane is refused (returns None) by default —
a second click never starts a second job. ``when_busy="replace"`` cancels the running job
(and anything queued) and starts the new one when the lane frees, which is what opening
another image while a mask is being predicted needs; ``when_busy="queue"`` waits in line
(e.g. decoding a file while the start-up probe is still loading the model).

Each call site says where its answer goes: ``submit(..., on_done=, on_failed=,
on_cancelled=, on_progress=, on_started=)`` are called for that job only, so no receiver
has to pick its jobs out of everyone's by name. The manager's signals still report every
job (after its own handlers), for what concerns all of them: enabling buttons, the status
bar. A job's ``tag`` is its display name ("Cancelled (encode)") and what ``has_work`` /
``drop_queued`` filter by.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from obic_gui.job_errors import JobError, describe
from obic_gui.worker_process import WorkerProcess, resolve

LANES = ("io", "mask", "codec", "estimate")
#: after Cancel, how long a process job may take to stop by itself before it is killed
CANCEL_GRACE_S = 2.0
#: the handlers that end a job (exactly one of them is called)
_ENDINGS = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class JobInfo:
    """Identifies a job in signals and handlers: its id, lane and display name."""

    id: int
    lane: str
    tag: str


@dataclass
class _Handlers:
    """Where one job's answer goes (see :meth:`JobManager.submit`); ``owner`` for :meth:`JobManager.forget`."""

    owner: object = None
    done: Callable[[Any], None] | None = None
    failed: Callable[[JobError], None] | None = None
    cancelled: Callable[[], None] | None = None
    progress: Callable[[str, float], None] | None = None
    started: Callable[[], None] | None = None


@dataclass
class _Pending:
    info: JobInfo
    task: str
    kwargs: dict


class _Bridge(QObject):
    """Lives in the GUI thread; worker threads emit through it (queued connections)."""

    progress = Signal(int, str, float)
    done = Signal(int, object, object)  # job id, result, JobError | None


class _ThreadRunner(QRunnable):
    def __init__(self, bridge: _Bridge, job_id: int, fn, kwargs: dict, cancel: threading.Event, task: str) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._bridge, self._id, self._fn, self._kwargs = bridge, job_id, fn, kwargs
        self._cancel, self._task = cancel, task

    def run(self) -> None:
        def progress(stage: str, fraction: float) -> None:
            self._bridge.progress.emit(self._id, str(stage), float(fraction))

        try:
            value = self._fn(**self._kwargs, progress=progress, cancel=self._cancel.is_set)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            err = describe(exc, self._task.replace("_", " "))
            self._bridge.done.emit(self._id, None, err)
            return
        self._bridge.done.emit(self._id, value, None)


class _ProcessRunner(QRunnable):
    """Waits (in a pool thread) on the worker process's pipe and forwards its messages."""

    def __init__(
        self,
        bridge: _Bridge,
        job_id: int,
        worker: WorkerProcess,
        module: str,
        task: str,
        kwargs: dict,
        cancel: threading.Event,
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._bridge, self._id, self._worker = bridge, job_id, worker
        self._module, self._task, self._kwargs, self._cancel = module, task, kwargs, cancel

    def run(self) -> None:
        w = self._worker
        try:
            w.send_job(self._id, self._module, self._task, self._kwargs)
        except Exception as exc:  # noqa: BLE001
            w.kill()
            self._bridge.done.emit(self._id, None, describe(exc, "starting the worker"))
            return
        self._kwargs = {}
        cancel_at = None
        while True:
            if self._cancel.is_set() and cancel_at is None:
                cancel_at = time.monotonic()
                w.request_cancel(self._id)
            if cancel_at is not None and time.monotonic() - cancel_at > CANCEL_GRACE_S:
                w.kill()  # the job ignored its cancel callback: stop the process
                stopped = JobError("cancelled", "Cancelled", "The job was stopped.")
                self._bridge.done.emit(self._id, None, stopped)
                return
            msg = w.poll(0.05)
            if msg is None:
                if not w.alive:
                    code = w.exitcode
                    w.kill()
                    if self._cancel.is_set():
                        err = JobError("cancelled", "Cancelled", "The job was stopped.")
                    else:
                        err = JobError(
                            "crash",
                            "The worker stopped",
                            f"The background worker stopped unexpectedly (exit code {code}); "
                            "it will be restarted for the next job. If this repeats, the "
                            "image may be too large for this machine's memory.",
                        )
                    self._bridge.done.emit(self._id, None, err)
                    return
                continue
            kind, job_id = msg[0], msg[1]
            if job_id is not None and job_id != self._id:
                continue  # a late message of an earlier, killed job (None: unreadable, so ours)
            if kind == "progress":
                self._bridge.progress.emit(self._id, msg[2], msg[3])
            elif kind == "result":
                self._bridge.done.emit(self._id, msg[2], None)
                return
            elif kind == "error":
                self._bridge.done.emit(self._id, None, msg[2])
                return


class JobManager(QObject):
    """Runs tasks (functions ``task(**kwargs, progress, cancel)``) off the GUI thread."""

    started = Signal(object)  # JobInfo
    progress = Signal(object, str, float)  # JobInfo, stage, fraction in [0, 1]
    finished = Signal(object, object)  # JobInfo, result
    failed = Signal(object, object)  # JobInfo, JobError
    cancelled = Signal(object)  # JobInfo
    busy_changed = Signal(str, bool)  # lane, busy

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        task_module: str = "obic_gui.tasks",
        process_lanes: tuple[str, ...] = ("mask", "codec", "estimate"),
        preload: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.task_module = task_module
        self._process_lanes = set(process_lanes)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(len(LANES) + 1)
        self._bridge = _Bridge(self)
        self._bridge.progress.connect(self._on_progress)
        self._bridge.done.connect(self._on_done)
        self._ids = itertools.count(1)
        self._running: dict[str, tuple[JobInfo, threading.Event]] = {}
        self._queue: dict[str, deque[_Pending]] = {lane: deque() for lane in LANES}
        self._handlers: dict[int, _Handlers] = {}  # job id → its handlers, until the job has ended
        preload = preload or {}
        self._workers = {lane: WorkerProcess(preload.get(lane, ())) for lane in self._process_lanes}
        self._closed = False

    # -- queries -------------------------------------------------------------------------
    def is_busy(self, lane: str) -> bool:
        return lane in self._running

    def running(self, lane: str) -> JobInfo | None:
        entry = self._running.get(lane)
        return entry[0] if entry else None

    def queued(self, lane: str) -> list[JobInfo]:
        return [p.info for p in self._queue[lane]]

    def has_work(self, lane: str, ignore_tags: tuple[str, ...] = ()) -> bool:
        """A job (other than ``ignore_tags``) is running or waiting on ``lane``."""
        jobs = ([self.running(lane)] if self.is_busy(lane) else []) + self.queued(lane)
        return any(j is not None and j.tag not in ignore_tags for j in jobs)

    def is_cancelling(self, lane: str) -> bool:
        entry = self._running.get(lane)
        return bool(entry and entry[1].is_set())

    # -- control -------------------------------------------------------------------------
    def warm_up(self, lane: str) -> None:
        """Start a lane's worker process now so the first real job does not wait for it."""
        if lane in self._workers and not self._closed:
            self._workers[lane].start_async()

    def submit(
        self,
        lane: str,
        tag: str,
        task: str,
        kwargs: dict | None = None,
        *,
        when_busy: str = "refuse",
        owner: object = None,
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[JobError], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_progress: Callable[[str, float], None] | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> JobInfo | None:
        """Start ``task`` on ``lane``; None when the lane is busy and ``when_busy`` is "refuse".

        The ``on_*`` handlers are this job's own, called in the GUI thread before the
        matching signal: exactly one of ``on_done(result)``, ``on_failed(JobError)`` and
        ``on_cancelled()`` ends it (a queued job that is dropped, or replaced, is cancelled);
        ``on_started()`` and ``on_progress(stage, fraction)`` come while it runs. They get no
        JobInfo: the call site knows which job it started, and what its closure remembers
        (the document generation, a request token) is the context. A handler that raises is
        reported like a failing slot and the lane carries on. ``owner`` (e.g. the window)
        can :meth:`forget` its handlers before it goes away.
        """
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")
        if when_busy not in ("refuse", "queue", "replace"):
            raise ValueError(f"when_busy must be refuse, queue or replace, not {when_busy!r}")
        if self._closed or (lane in self._running and when_busy == "refuse"):
            return None
        info = JobInfo(next(self._ids), lane, tag)
        self._handlers[info.id] = _Handlers(owner, on_done, on_failed, on_cancelled, on_progress, on_started)
        if lane in self._running:
            if when_busy == "replace":
                dropped = list(self._queue[lane])
                self._queue[lane].clear()
                for p in dropped:
                    self._cancelled(p.info)
                self.cancel(lane)
            self._queue[lane].append(_Pending(info, task, dict(kwargs or {})))
            return info
        self._start(info, task, dict(kwargs or {}))
        return info

    def forget(self, owner: object) -> None:
        """Drop the handlers ``owner`` gave (it is going away): its jobs still run and end, and
        the signals still say so, but nothing calls into it any more."""
        for handlers in self._handlers.values():
            if handlers.owner is owner:
                handlers.done = handlers.failed = handlers.cancelled = handlers.progress = handlers.started = None

    def cancel(self, lane: str | None = None) -> None:
        """Ask the running job(s) to stop; ``cancelled`` is emitted once they have."""
        for name, (_info, event) in list(self._running.items()):
            if lane is None or name == lane:
                event.set()

    def drop_queued(self, lane: str | None = None, keep_tags: tuple[str, ...] = ()) -> None:
        """Forget waiting jobs except those tagged ``keep_tags`` (each gets a ``cancelled``)."""
        for name, q in self._queue.items():
            if lane is None or name == lane:
                dropped = [p for p in q if p.info.tag not in keep_tags]
                kept = [p for p in q if p.info.tag in keep_tags]
                q.clear()
                q.extend(kept)
                for p in dropped:
                    self._cancelled(p.info)

    def shutdown(self, wait_s: float = 3.0) -> None:
        """Cancel everything and stop the worker processes (called when the window closes)."""
        self._closed = True
        for q in self._queue.values():
            q.clear()
        self._handlers.clear()  # nobody is listening any more: late answers go nowhere
        self.cancel()
        self._pool.waitForDone(int(wait_s * 1000))
        for w in self._workers.values():
            w.stop(timeout=1.0)

    # -- internals -----------------------------------------------------------------------
    def _start(self, info: JobInfo, task: str, kwargs: dict, announce_busy: bool = True) -> None:
        event = threading.Event()
        self._running[info.lane] = (info, event)
        if info.lane in self._workers:
            runner: QRunnable = _ProcessRunner(
                self._bridge, info.id, self._workers[info.lane], self.task_module, task, kwargs, event
            )
        else:
            try:
                fn = resolve(self.task_module, task)
            except (ImportError, AttributeError) as exc:
                self._running.pop(info.lane)
                error = describe(exc, f"finding task {task}")
                self._handle(info, "failed", error)
                self.failed.emit(info, error)
                if not announce_busy:
                    self.busy_changed.emit(info.lane, False)
                return
            runner = _ThreadRunner(self._bridge, info.id, fn, kwargs, event, task)
        if announce_busy:
            self.busy_changed.emit(info.lane, True)
        self._handle(info, "started")
        self.started.emit(info)
        self._pool.start(runner)

    def _find(self, job_id: int) -> JobInfo | None:
        for info, _ in self._running.values():
            if info.id == job_id:
                return info
        return None

    def _on_progress(self, job_id: int, stage: str, fraction: float) -> None:
        info = self._find(job_id)
        if info is not None and not self.is_cancelling(info.lane):
            fraction = max(0.0, min(1.0, fraction))
            self._handle(info, "progress", stage, fraction)
            self.progress.emit(info, stage, fraction)

    def _handle(self, info: JobInfo, kind: str, *args: object) -> None:
        """Call the job's own ``kind`` handler, before the signal that tells everyone; "done",
        "failed" and "cancelled" end the job, so its handlers are dropped then. A handler that
        raises is reported the way Qt reports a failing slot (``sys.excepthook``): the lane
        still frees and the next job still starts."""
        handlers = self._handlers.pop(info.id, None) if kind in _ENDINGS else self._handlers.get(info.id)
        handler = getattr(handlers, kind, None)
        if handler is None:
            return
        try:
            handler(*args)
        except Exception:  # noqa: BLE001 - a handler's bug must not wedge the lane
            sys.excepthook(*sys.exc_info())

    def _cancelled(self, info: JobInfo) -> None:
        self._handle(info, "cancelled")
        self.cancelled.emit(info)

    def _on_done(self, job_id: int, value: object, error: JobError | None) -> None:
        info = self._find(job_id)
        if info is None:
            return
        _, event = self._running.pop(info.lane)
        if event.is_set() or (error is not None and error.kind == "cancelled"):
            self._cancelled(info)
        elif error is not None:
            self._handle(info, "failed", error)
            self.failed.emit(info, error)
        else:
            self._handle(info, "done", value)
            self.finished.emit(info, value)
        if info.lane in self._running:
            return  # a receiver of the signal above started the next job on this lane already
        queue = self._queue[info.lane]
        if queue and not self._closed:
            nxt = queue.popleft()
            self._start(nxt.info, nxt.task, nxt.kwargs, announce_busy=False)
        else:
            self.busy_changed.emit(info.lane, False)
