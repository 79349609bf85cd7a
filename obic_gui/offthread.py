"""Per-pixel numpy work for big photos, off the GUI thread, with only the latest result kept.

Tinting a 48-megapixel mask or measuring its coded fraction takes 0.2–1.8 s; done in a
paint handler it freezes the window (measured: 1.7 s when an 8000×6000 photo opened). These
helpers are pure numpy (which releases the GIL for the heavy loops), so one helper thread
runs them while the event loop keeps going. Each request has a key (e.g. "the canvas
overlay"); a newer request for the same key makes the older result irrelevant, and it is
dropped instead of being shown late.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

#: below this many pixels the work takes a few ms and is done at once, on the GUI thread
ASYNC_PIXELS = 4_000_000


class _Task(QRunnable):
    def __init__(self, owner: OffThread, key: str, token: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._owner, self._key, self._token, self._fn = owner, key, token, fn

    def run(self) -> None:
        if not self._owner.is_latest(self._key, self._token):
            return  # replaced while it waited in the queue: skip the work
        try:
            result = self._fn()
        except Exception:  # noqa: BLE001 - a display helper failing must not kill the thread
            traceback.print_exc(file=sys.stderr)
            return
        try:
            self._owner.done.emit(self._key, self._token, result)
        except RuntimeError:  # the application is shutting down: nobody wants the result
            pass


class OffThread(QObject):
    """One helper thread; ``submit(key, fn, callback)`` calls ``callback(fn())`` on the GUI thread."""

    done = Signal(str, int, object)  # emitted from the helper thread, delivered queued

    def __init__(self) -> None:
        super().__init__()
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._tokens: dict[str, int] = {}
        self._callbacks: dict[str, Callable[[Any], None]] = {}
        self.done.connect(self._deliver)

    def submit(self, key: str, fn: Callable[[], Any], callback: Callable[[Any], None]) -> None:
        token = self._tokens.get(key, 0) + 1
        self._tokens[key] = token
        self._callbacks[key] = callback
        self._pool.start(_Task(self, key, token, fn))

    def is_latest(self, key: str, token: int) -> bool:
        return self._tokens.get(key) == token

    def pending(self, key: str) -> bool:
        return key in self._callbacks

    def forget(self, key: str) -> None:
        """Drop the result of ``key``'s outstanding request (it is no longer wanted)."""
        self._tokens[key] = self._tokens.get(key, 0) + 1
        self._callbacks.pop(key, None)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Wait for the helper thread to be idle (tests, snapshots); results arrive as events."""
        return self._pool.waitForDone(timeout_ms)

    def _deliver(self, key: str, token: int, result: Any) -> None:
        if self._tokens.get(key) != token:
            return  # a newer request replaced this one
        callback = self._callbacks.pop(key, None)
        if callback is None:
            return
        try:
            callback(result)
        except RuntimeError as exc:  # the receiving widget was deleted meanwhile
            if "already deleted" not in str(exc):
                raise


_instance: OffThread | None = None


def off_thread() -> OffThread:
    """The application's helper (created on first use, lives as long as the process)."""
    global _instance
    if _instance is None:
        _instance = OffThread()
    return _instance
