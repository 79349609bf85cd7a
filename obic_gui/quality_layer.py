"""The quality layer: a per-pixel quality map painted beside the mask (numpy only: no Qt, no torch).

The codec takes one quality per 16×16 block (:mod:`obic_core.quality_map`); the app keeps a
map per *pixel* so that a brush stroke looks like the stroke the user made, and hands that map
to ``EncodeSettings(quality_map=...)``, which block-averages it exactly as the CLI does with
``--quality-map``. Pixels are stored as uint8, q = v / 255 (the CLI's 8-bit map convention and
what :func:`obic_core.quality_map.block_steps` reads directly): one byte a pixel like the mask,
and every 6-bit step k / 60 survives the round trip.

The live size estimate needs the block grid after every stroke. Recomputing it for a 24 MP
photo costs ≈ 60 ms, so :class:`QualityLayer` keeps integer block sums and refreshes only the
blocks a write touched. Every painting helper returns the box it changed, like
:mod:`obic_gui.mask_ops`, so the overlay and the undo stack handle only that region.
"""

from __future__ import annotations

import zlib

import numpy as np

from obic_core.rules import LATENT_STRIDE, QUALITY_STEPS, coded_mask, grid_shape
from obic_gui.mask_ops import Box, capsule

#: the pixel map's scale: q = v / LEVELS
LEVELS = 255


def to_level(q: float) -> int:
    """A quality in [0, 1] as a pixel value 0..255."""
    return int(round(min(max(float(q), 0.0), 1.0) * LEVELS))


def to_q(level) -> float:
    return float(level) / LEVELS


def steps_to_levels(steps: np.ndarray) -> np.ndarray:
    """6-bit block steps (q = k / 60) → pixel levels (q = v / 255), rounded."""
    return np.rint(np.asarray(steps, np.float64) * (LEVELS / QUALITY_STEPS)).astype(np.uint8)


def expand_blocks(blocks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A (rows, cols) block grid → (H, W) pixels (each block covers 16×16 pixels, cropped)."""
    h, w = shape
    s = LATENT_STRIDE
    return np.ascontiguousarray(np.repeat(np.repeat(blocks, s, axis=0), s, axis=1)[:h, :w])


class QualityLayer:
    """An (H, W) uint8 quality map (q = v / 255) and its 16×16 block grid, kept up to date."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        if self.pixels.ndim != 2 or self.pixels.size == 0:
            raise ValueError(f"a quality layer is one non-empty channel, got shape {self.pixels.shape}")
        self._sums = np.zeros(grid_shape(*self.pixels.shape), np.int64)
        self._refresh((0, 0, self.pixels.shape[1], self.pixels.shape[0]))

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def filled(cls, shape: tuple[int, int], q: float) -> QualityLayer:
        return cls(np.full(shape, to_level(q), np.uint8))

    @classmethod
    def from_layers(cls, mask: np.ndarray, object_quality: float, background_quality: float) -> QualityLayer:
        """The two-quality encode as a map: each 16×16 block at its layer's quality.

        Blocks, not pixels: the codec codes a block that is 1/16 object in the object layer at
        the object quality, so starting from the coded mask changes nothing until the user paints.
        """
        h, w = mask.shape
        blocks = np.where(coded_mask(mask), to_level(object_quality), to_level(background_quality)).astype(np.uint8)
        return cls(expand_blocks(blocks, (h, w)))

    @classmethod
    def from_block_steps(cls, steps: np.ndarray, shape: tuple[int, int]) -> QualityLayer:
        """The map a v2 .obic stores (block steps) as pixels, so it reopens as it was painted."""
        rows, cols = grid_shape(*shape)
        steps = np.asarray(steps)
        if steps.shape != (rows, cols):
            raise ValueError(f"a quality grid for {shape[1]}×{shape[0]} must be {rows}×{cols}, got {steps.shape}")
        return cls(expand_blocks(steps_to_levels(steps), shape))

    # -- reading ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape

    def quality_at(self, x: int, y: int) -> float:
        return to_q(self.pixels[y, x])

    def read(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        return self.pixels[y0:y1, x0:x1].copy()

    def block_quality(self) -> np.ndarray:
        """(rows, cols) mean quality of each block of the edge-padded image, in [0, 1]."""
        return self._sums / float(LATENT_STRIDE * LATENT_STRIDE * LEVELS)

    def block_steps(self) -> np.ndarray:
        """(rows, cols) uint8 steps 0..60: the grid the encoder derives from this map.

        Integer sums, so a tie (a block mean exactly half-way between two steps) may round
        the other way than the encoder's float mean; that only ever moves the estimate, never
        the file (the encoder receives the pixel map itself).
        """
        return np.rint(self.block_quality() * QUALITY_STEPS).astype(np.uint8)

    def summary(self) -> dict[str, float]:
        q = self.block_steps() / QUALITY_STEPS
        return {"min": float(q.min()), "mean": float(q.mean()), "max": float(q.max())}

    # -- writing ---------------------------------------------------------------------------
    def write(self, box: Box, patch: np.ndarray) -> None:
        x0, y0, x1, y1 = box
        self.pixels[y0:y1, x0:x1] = patch
        self._refresh(box)

    def touched(self, box: Box) -> None:
        """The caller wrote ``pixels`` inside ``box`` directly: bring the block sums up to date."""
        self._refresh(box)

    def _refresh(self, box: Box) -> None:
        """Recompute the sums of every block that ``box`` reaches, padding included: the padding
        repeats the last row and column, so a box touching the bottom or right edge reaches
        every padding block below or beside it."""
        h, w = self.pixels.shape
        rows, cols = self._sums.shape
        s = LATENT_STRIDE
        x0, y0, x1, y1 = box
        by0, bx0 = y0 // s, x0 // s
        by1 = rows if y1 >= h else -(-y1 // s)
        bx1 = cols if x1 >= w else -(-x1 // s)
        ys0, ys1, xs0, xs1 = by0 * s, by1 * s, bx0 * s, bx1 * s
        if ys1 <= h:
            sub = self.pixels[ys0:ys1]
        else:
            sub = self.pixels.take(np.minimum(np.arange(ys0, ys1), h - 1), axis=0)
        if xs1 <= w:
            sub = sub[:, xs0:xs1]
        else:
            sub = sub.take(np.minimum(np.arange(xs0, xs1), w - 1), axis=1)
        self._sums[by0:by1, bx0:bx1] = sub.reshape(by1 - by0, s, bx1 - bx0, s).sum(axis=(1, 3), dtype=np.int64)


# -- painting (each returns the box it changed, or None) ---------------------------------------
def _region_of(region: np.ndarray | None, box: Box) -> np.ndarray | None:
    if region is None:
        return None
    x0, y0, x1, y1 = box
    return region[y0:y1, x0:x1]


def paint_segment(
    layer: QualityLayer,
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    q: float,
    region: np.ndarray | None = None,
) -> Box | None:
    """Paint quality ``q`` on a capsule (a brush move), only inside ``region`` when given."""
    found = capsule(layer.shape, p0, p1, radius)
    if found is None:
        return None
    box, hit = found
    limit = _region_of(region, box)
    if limit is not None:
        hit &= limit
    x0, y0, x1, y1 = box
    view = layer.pixels[y0:y1, x0:x1]
    level = to_level(q)
    hit &= view != level
    if not hit.any():
        return None
    view[hit] = level
    layer.touched(box)
    return box


def ramp(
    shape: tuple[int, int], a: tuple[float, float], b: tuple[float, float], qa: float, qb: float
) -> np.ndarray | None:
    """(H, W) uint8 levels of a linear ramp: ``qa`` at a and before it, ``qb`` at b and beyond.

    None when a and b are the same point (a drag of no length has no direction).
    """
    h, w = shape
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    if seg2 < 1e-6:
        return None
    xs = (np.arange(w, dtype=np.float32) + 0.5 - ax) * (dx / seg2)
    ys = (np.arange(h, dtype=np.float32) + 0.5 - ay) * (dy / seg2)
    t = np.clip(ys[:, None] + xs[None, :], 0.0, 1.0)
    return np.rint((qa + (qb - qa) * t) * LEVELS).astype(np.uint8)


def connected_region(classes: np.ndarray, x: int, y: int) -> np.ndarray | None:
    """The 4-connected pixels of the same class (mask value or label) as (x, y)."""
    h, w = classes.shape
    if not (0 <= x < w and 0 <= y < h):
        return None
    import cv2  # lazily, like mask_ops.flood_fill

    work = np.ascontiguousarray(classes, dtype=np.uint8)
    ff = np.zeros((h + 2, w + 2), np.uint8)
    cv2.floodFill(work, ff, (int(x), int(y)), 0, loDiff=0, upDiff=0, flags=4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
    return ff[1:-1, 1:-1].astype(bool)


# -- presets ---------------------------------------------------------------------------------
PRESETS = {
    "object": "Object sharp / background soft",
    "centre": "Centre-weighted",
    "uniform": "Uniform",
}


def preset_levels(
    name: str, shape: tuple[int, int], high: float, low: float, mask: np.ndarray | None = None
) -> np.ndarray:
    """A whole-image map for a preset: ``object`` (the mask at ``high``, the rest at ``low``),
    ``centre`` (``high`` in the middle falling smoothly to ``low`` in the corners) or
    ``uniform`` (``high`` everywhere)."""
    h, w = shape
    if name == "uniform":
        return np.full(shape, to_level(high), np.uint8)
    if name == "object":
        m = np.zeros(shape, bool) if mask is None else np.asarray(mask, bool)
        return np.where(m, to_level(high), to_level(low)).astype(np.uint8)
    if name == "centre":
        yy = (np.arange(h, dtype=np.float32) + 0.5) / h * 2 - 1
        xx = (np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1
        r = np.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2) / np.sqrt(2.0)  # 0 centre, 1 corners
        t = np.clip(r, 0.0, 1.0)
        falloff = t * t * (3 - 2 * t)  # smoothstep: flat in the middle, no ridge
        return np.rint((high + (low - high) * falloff) * LEVELS).astype(np.uint8)
    raise ValueError(f"unknown preset {name!r} (one of {', '.join(PRESETS)})")


# -- objects (label images) ------------------------------------------------------------------
def label_levels(labels: np.ndarray, current: np.ndarray, label: int, q: float) -> np.ndarray:
    """``current`` with every pixel of ``label`` set to quality ``q``."""
    return np.where(labels == label, np.uint8(to_level(q)), current).astype(np.uint8)


def label_means(labels: np.ndarray, pixels: np.ndarray, count: int) -> list[float | None]:
    """Mean painted quality of each label 0..count (None for a label with no pixels)."""
    n = np.bincount(labels.ravel(), minlength=count + 1)[: count + 1]
    s = np.bincount(labels.ravel(), weights=pixels.ravel().astype(np.float64), minlength=count + 1)[: count + 1]
    return [float(s[i] / n[i] / LEVELS) if n[i] else None for i in range(count + 1)]


def block_labels(labels: np.ndarray, count: int) -> np.ndarray:
    """(rows, cols) label covering most of each 16×16 block (edge-padded like the codec)."""
    from obic_core.rules import pad_edge

    padded = pad_edge(np.asarray(labels, np.uint8))
    s = LATENT_STRIDE
    rows, cols = padded.shape[0] // s, padded.shape[1] // s
    votes = [(padded == k).reshape(rows, s, cols, s).sum(axis=(1, 3)) for k in range(count + 1)]
    return np.stack(votes, axis=-1).argmax(axis=-1)


# -- undo payloads ---------------------------------------------------------------------------
def pack(patch: np.ndarray) -> tuple[bytes, tuple[int, int]]:
    """zlib-compress a uint8 patch for the undo stack (painted maps are mostly flat areas)."""
    return zlib.compress(np.ascontiguousarray(patch, np.uint8).tobytes(), 1), patch.shape


def unpack(packed: tuple[bytes, tuple[int, int]]) -> np.ndarray:
    data, shape = packed
    return np.frombuffer(zlib.decompress(data), np.uint8).reshape(shape).copy()
