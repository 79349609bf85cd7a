"""Pixel boxes ``(x0, y0, x1, y1)`` with exclusive ends, and the box an edit changed (numpy only).

Interactive edits (:mod:`obic_core.segmentation.interactive`, the GUI's brushes and undo
stack) report the smallest box that holds every changed pixel, so a caller repaints and
stores only that region. This module is torch- and OpenCV-free so that the GUI process can
import it at start-up.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Box", "changed_box"]

Box = tuple[int, int, int, int]


def changed_box(before: np.ndarray, after: np.ndarray) -> Box | None:
    """Smallest box holding every pixel that differs (None when nothing changed)."""
    diff = before != after
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
