"""numpy ⇄ QImage conversions (the only place that knows QImage memory layouts).

QImages made by :func:`rgb_to_qimage` own a copy of their pixels, so the numpy array they
came from may change or go away — the document edits its mask in place while the canvas
shows the old overlay. :func:`rgb_view` and :func:`bgra_view` share memory instead (no
copy of a 144 MB photo on the GUI thread); their callers keep the array alive.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB → QImage (copied)."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def rgb_view(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 RGB (C-contiguous) → QImage that *shares* its memory (keep rgb alive)."""
    if not (rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.flags.c_contiguous):
        return rgb_to_qimage(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)


def bgra_view(arr: np.ndarray) -> QImage:
    """(H, W, 4) premultiplied BGRA → QImage that *shares* ``arr``'s memory (keep arr alive)."""
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)


def checker(h: int, w: int, cell: int = 12) -> np.ndarray:
    """A light/dark grey checkerboard, shown where a decoded layer has no pixels."""
    yy, xx = np.mgrid[:h, :w]
    on = ((yy // cell) + (xx // cell)) % 2 == 0
    out = np.where(on, 204, 153).astype(np.uint8)
    return np.repeat(out[..., None], 3, axis=2)


def over_checker(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Composite an image with an alpha mask over a checkerboard (for partial decodes)."""
    if alpha is None:
        return rgb
    a = (np.asarray(alpha, np.float32) / 255.0)[..., None]
    bg = checker(*rgb.shape[:2]).astype(np.float32)
    return np.round(rgb.astype(np.float32) * a + bg * (1 - a)).astype(np.uint8)
