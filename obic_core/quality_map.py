"""Per-block quality maps: what a painted map, a label image or two layer qualities become.

The codec applies one quality per 16×16 latent block (a gain map instead of a gain vector).
Every way of choosing qualities ends here as a (rows, cols) grid of steps k = 0..60 (q = k/60,
the 6-bit grid the file stores), so encoder, file and decoder see the same numbers:

* a painted map — (H, W) floats in [0, 1], or an 8-bit gray image (0 → q 0, 255 → q 1) —
  is averaged over each block of the padded image;
* a label image (0 = background, 1..N = objects) with one quality per label takes, per block,
  the quality of the label that covers most of it;
* two layer qualities are the constant grid inside each layer.

torch-free, like :mod:`obic_core.rules`, so the GUI process can build and show the same grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from obic_core.errors import ObicInputError
from obic_core.rules import LATENT_STRIDE, QUALITY_STEPS, pad_edge, padded_size


def to_steps(q: np.ndarray | float) -> np.ndarray:
    """Qualities in [0, 1] -> uint8 steps 0..60 (NaN is refused, not guessed)."""
    arr = np.asarray(q, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ObicInputError("the quality map holds NaN or infinite values")
    return np.rint(np.clip(arr, 0.0, 1.0) * QUALITY_STEPS).astype(np.uint8)


def to_quality(steps: np.ndarray) -> np.ndarray:
    return np.asarray(steps, dtype=np.float64) / QUALITY_STEPS


def block_steps(quality: np.ndarray) -> np.ndarray:
    """An (H, W) map of qualities in [0, 1] (or uint8 0..255) -> block steps (rows, cols)."""
    q = np.asarray(quality)
    if q.ndim != 2:
        raise ObicInputError(f"a quality map must be one gray channel, got shape {q.shape}")
    q = q.astype(np.float64) / 255.0 if q.dtype == np.uint8 else q.astype(np.float64)
    if not np.isfinite(q).all():
        raise ObicInputError("the quality map holds NaN or infinite values")
    padded = pad_edge(q)
    rows, cols = padded.shape[0] // LATENT_STRIDE, padded.shape[1] // LATENT_STRIDE
    means = padded.reshape(rows, LATENT_STRIDE, cols, LATENT_STRIDE).mean(axis=(1, 3))
    return to_steps(means)


def layer_steps(latent_mask: np.ndarray, object_quality: float, background_quality: float) -> np.ndarray:
    """The two-quality case as a grid: each block takes its layer's quality."""
    return np.where(latent_mask, to_steps(object_quality), to_steps(background_quality)).astype(np.uint8)


def label_quality_map(labels: np.ndarray, object_qualities: Sequence[float], background_quality: float) -> np.ndarray:
    """(H, W) integer labels (0 = background, 1..N objects) -> (H, W) float quality map.

    The pixel map is then block-averaged like any painted map, so a block shared by two objects
    gets a quality between theirs; that keeps edges from jumping by a whole quality step.
    """
    lab = np.asarray(labels)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise ObicInputError("an object label image must be one channel of integers (0 = background)")
    n = int(lab.max()) if lab.size else 0
    if n and len(object_qualities) == 1:
        object_qualities = list(object_qualities) * n
    if len(object_qualities) < n:
        raise ObicInputError(f"the label image has {n} objects but {len(object_qualities)} object qualities were given")
    table = np.array([background_quality, *object_qualities], dtype=np.float64)
    if not np.isfinite(table).all() or table.min() < 0 or table.max() > 1:
        raise ObicInputError("qualities must be numbers in 0..1")
    return table[lab]


def image_block_steps(quality: np.ndarray, image: np.ndarray) -> np.ndarray:
    """:func:`block_steps` of a map meant for ``image``: the map is the image's size, or the
    size of the padded image (what :func:`pixel_map` gives); anything else is refused."""
    h, w = np.shape(image)[:2]
    shape = tuple(np.shape(quality)[:2])
    if np.ndim(quality) != 2 or shape not in ((h, w), padded_size(h, w)):
        raise ObicInputError(f"the quality map has shape {np.shape(quality)} but the image is {w}x{h} (width x height)")
    return block_steps(quality)


def pixel_map(steps: np.ndarray) -> np.ndarray:
    """Block steps -> a map of the padded image that :func:`block_steps` turns back into exactly
    those steps (each block's 16×16 pixels hold its quality).

    Re-encoding a stored map (the split view's OBIC side) goes through the same door as a
    painted one. The padded size, not the image's, keeps blocks that lie wholly in the padding
    as they were stored.
    """
    grid = to_quality(np.asarray(steps, dtype=np.uint8))
    return np.repeat(np.repeat(grid, LATENT_STRIDE, axis=0), LATENT_STRIDE, axis=1)


def shifted(steps: np.ndarray, shift: float) -> np.ndarray:
    """Every block's quality moved by ``shift`` (target-bitrate search), clipped to 0..1."""
    return to_steps(to_quality(steps) + shift)


def summary(steps: np.ndarray, latent_mask: np.ndarray | None = None) -> dict:
    """min / mean / max quality of a grid (and per layer when a latent mask is given)."""
    q = to_quality(steps)
    out: dict[str, float | None] = {"min": float(q.min()), "mean": float(q.mean()), "max": float(q.max())}
    if latent_mask is not None:
        for name, m in (("object", latent_mask), ("background", ~latent_mask)):
            out[f"{name}_mean"] = float(q[m].mean()) if m.any() else None
    return out


def read_quality_map(path: str, shape: tuple[int, int]) -> np.ndarray:
    """An 8-bit gray picture (0 → q 0, 255 → q 1; colour is converted to luminance, alpha
    ignored) resized to the image with bilinear filtering -> (H, W) float qualities."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            gray = im.convert("L")
            if gray.size != (shape[1], shape[0]):
                gray = gray.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
            return np.asarray(gray, dtype=np.float64) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise ObicInputError(f"cannot read the quality map {path}: {exc}") from None


def read_labels(path: str, shape: tuple[int, int]) -> np.ndarray:
    """An 8-bit label image (0 = background, 1..N = objects; palette indices count as labels)
    -> (H, W) uint8, resized with nearest neighbour so labels never blend."""
    from PIL import Image, UnidentifiedImageError

    im: Image.Image  # Image.open gives an ImageFile, resize a plain Image
    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16"):
                raise ObicInputError(f"{path}: an object label image must be 8-bit gray or palette, not {im.mode}")
            if im.size != (shape[1], shape[0]):
                im = im.resize((shape[1], shape[0]), Image.Resampling.NEAREST)
            lab = np.asarray(im)
    except (OSError, UnidentifiedImageError) as exc:
        raise ObicInputError(f"cannot read the label image {path}: {exc}") from None
    if lab.max(initial=0) > 255:
        raise ObicInputError(f"{path}: labels must be 0..255")
    return lab.astype(np.uint8)


def parse_qualities(text: str) -> list[float]:
    """'0.9' or '0.9,0.6,0.4' -> qualities, each in [0, 1]."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ObicInputError(f"object qualities must be numbers separated by commas, got {text!r}") from None
    if not values or any(not (0.0 <= v <= 1.0) for v in values):
        raise ObicInputError(f"each object quality must be in 0..1, got {text!r}")
    return values
