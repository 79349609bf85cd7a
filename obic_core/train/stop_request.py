"""A stop the training loops honour between steps.

Ctrl-C, ``kill`` and a session ending all arrive as SIGINT/SIGTERM. Left to Python's default,
SIGINT would raise inside a backward pass or halfway through writing a checkpoint; instead the
signal only raises a flag, the loop finishes its step, saves its checkpoint and exports as after
a normal end, so a run can always be resumed from where it stopped.
"""

from __future__ import annotations

import signal


class StopRequest:
    """Installs SIGINT/SIGTERM handlers that set :attr:`requested` (checked once per step)."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._request)
        signal.signal(signal.SIGINT, self._request)

    def _request(self, signum: int, frame: object) -> None:
        self.requested = True


__all__ = ["StopRequest"]
