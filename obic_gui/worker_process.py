"""A long-lived worker process that runs model and codec tasks (no Qt on either side).

Why a process and not just a thread: importing torch and running the entropy coder hold
Python's GIL for up to ~200 ms at a time (measured), which would freeze a GUI whose worker
shares its interpreter. In a separate process the GUI's event loop never waits on the GIL,
a crash in native code (or an out-of-memory kill) cannot take the window down, and Cancel can
always end a job: cooperatively through the cancel callback, or by stopping the process.

The child is ``python -m obic_gui.worker_process ADDRESS [MODULE ...]`` (not a
``multiprocessing.Process``: spawning re-imports the parent's ``__main__``, which breaks
when the app is embedded in an unguarded script). It connects back to the parent over a
``multiprocessing.connection`` socket (authenticated with a key it reads from stdin) and
speaks pickled tuples::

    parent → child  ("run", job_id, module, task, kwargs) | ("cancel", job_id) | ("quit",)
    child → parent  ("progress", job_id, stage, fraction)
                    ("result", job_id, value) | ("error", job_id, JobError)
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Client, Listener
from typing import Any

from obic_gui.job_errors import JobError, describe

#: progress messages are sent at most this often (seconds) — a chatty task cannot flood the pipe
PROGRESS_INTERVAL = 0.05
#: how long a starting child may take to connect back before it counts as failed
CONNECT_TIMEOUT_S = 120.0


def resolve(module: str, task: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(module), task)


#: what a worker's message may refer to when the GUI unpickles it (see GuardedUnpickler): these
#: packages, and of obic_core only its torch-free result types
ALLOWED_MODULES = ("builtins", "copyreg", "collections", "_codecs", "numpy", "obic_gui")
ALLOWED_CORE_MODULES = ("obic_core.results",)


class GuardedUnpickler(pickle.Unpickler):
    """Unpickles worker messages, refusing classes from anywhere but numpy, obic_gui and obic_core.results.

    Unpickling imports the module of every class in the data. One stray object from torch
    (even ``torch.__version__``, a str subclass) would import torch into the GUI process
    and block its event loop for seconds; this turns that mistake into a clear error.
    """

    def find_class(self, module: str, name: str):
        root = module.split(".", 1)[0]
        if root not in ALLOWED_MODULES and module not in ALLOWED_CORE_MODULES:
            raise pickle.UnpicklingError(
                f"a worker result refers to {module}.{name}; tasks must return plain data "
                "(numpy, obic_core.results, obic_gui.outcomes)"
            )
        return super().find_class(module, name)


def guarded_loads(data: bytes):
    return GuardedUnpickler(io.BytesIO(data)).load()


# ------------------------------------------------------------------------------ child side
def _limit_threads() -> None:
    """Honour OBIC_GUI_THREADS (tests and benchmarks share the CPU with a training run)."""
    n = os.environ.get("OBIC_GUI_THREADS")
    if not n:
        return
    try:
        import torch

        torch.set_num_threads(max(1, int(n)))
    except Exception:  # noqa: BLE001 - torch missing is reported by the task that needs it
        pass


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


class _CancelFlag:
    """The ``cancel`` callback of one job: reads any "cancel" the parent has sent meanwhile."""

    def __init__(self, conn, job_id: int) -> None:
        self.conn, self.job_id, self.set = conn, job_id, False

    def __call__(self) -> bool:
        if self.set:
            return True
        try:
            while self.conn.poll(0):
                msg = self.conn.recv()
                if msg and msg[0] == "cancel" and msg[1] == self.job_id:
                    self.set = True
                elif msg and msg[0] == "quit":
                    raise SystemExit(0)
        except (EOFError, OSError):
            raise SystemExit(0) from None  # the parent is gone: nobody wants the result
        return self.set


def serve(conn, preload: tuple[str, ...] = ()) -> None:
    """Child main loop: run one task at a time until "quit" or the parent goes away."""
    _limit_threads()
    for name in preload:  # warm imports while the user is still looking at the window
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the job that needs it reports the problem
            pass
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if not msg or msg[0] == "quit":
            return
        if msg[0] != "run":
            continue  # e.g. a late "cancel" for a job that already ended
        _, job_id, module, task, kwargs = msg
        cancel = _CancelFlag(conn, job_id)
        try:
            value = resolve(module, task)(**kwargs, progress=_Throttled(conn, job_id), cancel=cancel)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            err = describe(exc, task.replace("_", " "))
            if cancel():
                err = JobError("cancelled", "Cancelled", "The job was cancelled.")
            _send(conn, ("error", job_id, err))
            continue
        if cancel():
            _send(conn, ("error", job_id, JobError("cancelled", "Cancelled", "The job was cancelled.")))
        else:
            _send(conn, ("result", job_id, value))


def _send(conn, msg) -> None:
    try:
        conn.send(msg)
    except (OSError, EOFError):
        raise SystemExit(0) from None  # parent gone
    except Exception as exc:  # noqa: BLE001 - unpicklable result: report it instead of dying
        conn.send(("error", msg[1], describe(exc, "sending the result")))


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\..*")
    args = sys.argv[1:] if argv is None else argv
    address, preload = args[0], tuple(args[1:])
    authkey = bytes.fromhex(sys.stdin.readline().strip())
    conn = Client(address, authkey=authkey)
    try:
        serve(conn, preload)
    finally:
        conn.close()
    return 0


# ------------------------------------------------------------------------------ parent side
class WorkerProcess:
    """Parent-side handle of one worker process (started on first use, restarted after a kill)."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self._preload = preload
        self._proc: subprocess.Popen | None = None
        self._conn = None
        self._lock = threading.RLock()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exitcode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def start_async(self) -> None:
        """Start in the background (the GUI thread never waits for a process to come up)."""
        threading.Thread(target=self._start_quietly, name="obic-worker-start", daemon=True).start()

    def _start_quietly(self) -> None:
        try:
            self.start()
        except Exception:  # noqa: BLE001 - the next job retries and reports the error
            pass

    def start(self) -> None:
        with self._lock:
            if self.alive and self._conn is not None:
                return
            self._stop_locked()
            authkey = secrets.token_bytes(32)
            listener = Listener(authkey=authkey)
            env = dict(os.environ)
            # the child sees the same modules as the parent (tests add task modules to sys.path)
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
            proc = subprocess.Popen(
                [sys.executable, "-m", "obic_gui.worker_process", str(listener.address), *self._preload],
                stdin=subprocess.PIPE,
                env=env,
            )
            try:
                proc.stdin.write(authkey.hex().encode() + b"\n")
                proc.stdin.close()
                conn = self._accept(listener, proc)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                listener.close()
            self._proc, self._conn = proc, conn

    @staticmethod
    def _accept(listener: Listener, proc: subprocess.Popen):
        got: list = []
        t = threading.Thread(target=lambda: got.append(_try(listener.accept)), daemon=True)
        t.start()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while t.is_alive():
            t.join(0.05)
            if proc.poll() is not None or time.monotonic() > deadline:
                listener.close()  # unblocks accept()
                t.join(1.0)
                raise OSError(f"the worker process did not start (exit code {proc.poll()})")
        conn = got[0] if got else None
        if isinstance(conn, BaseException) or conn is None:
            raise OSError(f"the worker process did not connect: {conn}")
        return conn

    def send_job(self, job_id: int, module: str, task: str, kwargs: dict) -> None:
        self.start()
        self._conn.send(("run", job_id, module, task, kwargs))

    def poll(self, timeout: float) -> tuple | None:
        """The next message, or None after ``timeout`` seconds (or when the child died)."""
        conn = self._conn
        try:
            if conn is not None and conn.poll(timeout):
                data = conn.recv_bytes()
            else:
                return None
        except (EOFError, OSError):
            time.sleep(min(timeout, 0.05))
            return None
        try:
            return guarded_loads(data)
        except pickle.UnpicklingError as exc:
            # the job id is the tuple's second item; salvage it so the job fails cleanly
            job_id = _peek_job_id(data)
            return ("error", job_id, describe(exc, "reading the worker's result"))

    def request_cancel(self, job_id: int) -> None:
        try:
            if self._conn is not None:
                self._conn.send(("cancel", job_id))
        except (OSError, ValueError):
            pass

    def kill(self) -> None:
        """Stop a job that ignores its cancel callback (e.g. inside a native encoder)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(2.0)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(2.0)
            self._stop_locked()

    def stop(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._stop_locked(timeout)

    def _stop_locked(self, timeout: float = 2.0) -> None:
        if self._conn is not None:
            try:
                if self.alive:
                    self._conn.send(("quit",))
            except (OSError, ValueError):
                pass
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None


def _peek_job_id(data: bytes) -> int | None:
    """The job id of a message that cannot be unpickled safely (it is a plain int)."""
    import pickletools

    ints = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("BININT", "BININT1", "BININT2", "LONG1", "INT") and isinstance(arg, int):
                ints.append(arg)
                break
    except Exception:  # noqa: BLE001
        return None
    return ints[0] if ints else None


def _try(fn):
    try:
        return fn()
    except BaseException as exc:  # noqa: BLE001
        return exc


if __name__ == "__main__":
    sys.exit(main())
