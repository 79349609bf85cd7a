"""A training run's per-step CSV log and its clock-driven checkpoints, shared by both loops.

Runs here are killed at the end of a working session, so what a kill can lose is bounded: the CSV
is flushed every 50 steps and the checkpoint (with optimizer state) is written at each validation
and whenever ``ckpt_minutes`` have passed since the last one.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class RunLog:
    def __init__(self, path: Path, header: Sequence[str], save: Callable[[], None], ckpt_minutes: float) -> None:
        new = not path.exists()
        self._file = open(path, "a", newline="")
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(header)
        self._save = save
        self._every_s = ckpt_minutes * 60
        self._saved_at = time.time()

    def checkpoint(self) -> None:
        """Write the checkpoint now (after a validation, or at the end) and restart the clock."""
        self._save()
        self._saved_at = time.time()

    def write(self, step: int, row: Sequence[Any]) -> None:
        """Log one step's row; checkpoint if the clock says so."""
        self._writer.writerow(row)
        if step % 50 == 0:
            self._file.flush()
        if time.time() - self._saved_at > self._every_s:
            self.checkpoint()

    def close(self) -> None:
        """The final checkpoint, then the log closed."""
        self.checkpoint()
        self._file.close()
