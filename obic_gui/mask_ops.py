"""Mask editing primitives on numpy arrays (no Qt), shared by the canvas and the tests.

Boxes are ``(x0, y0, x1, y1)`` with exclusive ends, clipped to the mask. Every operation
returns the box it touched so that the canvas repaints and the undo stack stores only that
region, not the whole mask — brush strokes on a 24 MP photo stay cheap.
"""

from __future__ import annotations

import numpy as np

from obic_core import rules
from obic_core.boxes import Box
from obic_core.boxes import changed_box as changed_box  # one implementation, core's; re-exported for the GUI


def clip_box(box: Box, shape: tuple[int, int]) -> Box | None:
    h, w = shape
    x0, y0, x1, y1 = box
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(w, int(x1)), min(h, int(y1))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def union_box(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def grow_box(box: Box, by: int, shape: tuple[int, int]) -> Box | None:
    return clip_box((box[0] - by, box[1] - by, box[2] + by, box[3] + by), shape)


def capsule(
    shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], radius: float
) -> tuple[Box, np.ndarray] | None:
    """The pixels within ``radius`` of the segment p0–p1: (box, boolean hit array of the box).

    A capsule rather than stamped discs: a fast mouse drag leaves no gaps, and each mouse
    move costs one vectorised pass over the segment's box. Mask and quality brushes share it.
    """
    r = max(0.5, float(radius))
    (ax, ay), (bx, by) = p0, p1
    box = clip_box(
        (
            int(np.floor(min(ax, bx) - r)),
            int(np.floor(min(ay, by) - r)),
            int(np.ceil(max(ax, bx) + r)) + 1,
            int(np.ceil(max(ay, by) + r)) + 1,
        ),
        shape,
    )
    if box is None:
        return None
    x0, y0, x1, y1 = box
    # pixel centres are at integer + 0.5 in image coordinates
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    if seg2 < 1e-9:
        d2 = (xx - ax) ** 2 + (yy - ay) ** 2
    else:
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / seg2, 0.0, 1.0)
        d2 = (xx - (ax + t * dx)) ** 2 + (yy - (ay + t * dy)) ** 2
    hit = d2 <= r * r
    return (box, hit) if hit.any() else None


def paint_segment(
    mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: bool
) -> Box | None:
    """Set every pixel within ``radius`` of the segment p0–p1 (a :func:`capsule`) to ``value``."""
    found = capsule(mask.shape, p0, p1, radius)
    if found is None:
        return None
    (x0, y0, x1, y1), hit = found
    mask[y0:y1, x0:x1][hit] = value
    return x0, y0, x1, y1


def flood_fill(mask: np.ndarray, x: int, y: int, value: bool) -> Box | None:
    """Set the 4-connected region of equal value around (x, y) to ``value``.

    Returns None when the click is outside or the region already has that value.
    """
    h, w = mask.shape
    if not (0 <= x < w and 0 <= y < h) or bool(mask[y, x]) == bool(value):
        return None
    import cv2  # lazily: the first fill pays the import, start-up does not

    work = mask.astype(np.uint8)
    ff = np.zeros((h + 2, w + 2), np.uint8)
    _, _, _, rect = cv2.floodFill(
        work, ff, (int(x), int(y)), 1 if value else 0, flags=4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    )
    region = ff[1:-1, 1:-1].astype(bool)
    mask[region] = value
    rx, ry, rw, rh = rect
    return rx, ry, rx + rw, ry + rh


def coded_mask(mask: np.ndarray) -> np.ndarray:
    """The mask as the codec will see it, at pixel resolution: the block rule of
    :func:`obic_core.rules.coded_mask` (torch-free), each block spread over its 16×16 pixels."""
    h, w = mask.shape
    blocks = rules.coded_mask(mask)
    s = rules.LATENT_STRIDE
    rows, cols = blocks.shape
    full = np.broadcast_to(blocks[:, None, :, None], (rows, s, cols, s)).reshape(rows * s, cols * s)
    return full[:h, :w]


def _erode(m: np.ndarray) -> np.ndarray:
    inner = m.copy()
    inner[1:, :] &= m[:-1, :]
    inner[:-1, :] &= m[1:, :]
    inner[:, 1:] &= m[:, :-1]
    inner[:, :-1] &= m[:, 1:]
    return inner


def edges(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """Boundary band of the object: inside pixels within ``width`` steps of the outside.

    Outside the image counts as object (a mask touching the border has no outline there).
    OpenCV's erosion when available (SIMD, ~20× faster on a 48 MP mask), numpy otherwise.
    """
    m = np.ascontiguousarray(mask, dtype=bool)
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv is a dependency; keep the rule without it
        inner = m
        for _ in range(max(1, width)):
            inner = _erode(inner)
        return m & ~inner
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    inner = cv2.erode(m.view(np.uint8), cross, iterations=max(1, width)).view(bool)
    return m & ~inner


def coverage(mask: np.ndarray) -> tuple[float, float]:
    """(object fraction, object fraction as coded in 16×16 blocks) — the tools panel's figures."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return 0.0, 0.0
    if not m.any():
        return 0.0, 0.0
    return float(np.count_nonzero(m)) / m.size, float(np.count_nonzero(coded_mask(m))) / m.size


def overlay_bgra(
    mask: np.ndarray, colour: tuple[int, int, int], opacity: float, edge_opacity: float = 0.95
) -> np.ndarray:
    """Premultiplied BGRA overlay (QImage.Format_ARGB32_Premultiplied on little-endian).

    The object is tinted at ``opacity`` and its boundary drawn nearly opaque, so the outline
    stays readable even when the tint is faded right down to judge the photo underneath.
    One table lookup per pixel (outside / inside / outline): a few ms for a Kodak image.
    """
    m = np.ascontiguousarray(mask, dtype=bool)
    if not m.any():  # nothing to tint: calloc'd zeros cost nothing even for 48 MP
        return np.zeros((*m.shape, 4), np.uint8)
    level = m.astype(np.uint8)
    if edge_opacity > 0:
        level += edges(m)
    r, g, b = colour
    lut = np.zeros((3, 4), np.uint8)
    for i, a in ((1, float(np.clip(opacity, 0.0, 1.0))), (2, max(float(edge_opacity), float(opacity)))):
        lut[i] = (round(b * a), round(g * a), round(r * a), round(255 * a))
    # gather whole 32-bit pixels: 4× fewer element copies than indexing the (3, 4) table
    packed = np.take(lut.view(np.uint32).ravel(), level)
    return packed.view(np.uint8).reshape(*level.shape, 4)


def pack(region: np.ndarray) -> tuple[bytes, tuple[int, int]]:
    """Bit-pack a bool region for the undo stack (8× smaller than a bool array)."""
    return np.packbits(region, axis=None).tobytes(), region.shape


def unpack(packed: tuple[bytes, tuple[int, int]]) -> np.ndarray:
    data, shape = packed
    n = shape[0] * shape[1]
    bits = np.unpackbits(np.frombuffer(data, np.uint8), count=n)
    return bits.reshape(shape).astype(bool)
