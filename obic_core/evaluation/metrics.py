"""Image-quality and rate metrics, computed one way for every codec.

The compare view and the benchmarks only mean something if a JPEG and an .obic file are scored
by the same code, so every number in a comparison comes from here: PSNR and MS-SSIM on RGB
0–255 (MS-SSIM via pytorch-msssim, the implementation learned-compression papers report),
object / background PSNR as the masked mean squared error, object MS-SSIM on the object's
bounding box, bits per pixel (also per .obic layer) and wall-clock seconds.

Conventions: ``None`` means "not defined for this input" (no mask, empty region, image too
small for MS-SSIM); PSNR of identical pixels is ``math.inf``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from obic_core import rules

#: MS-SSIM's 5 scales with an 11-tap window need a side > (11 - 1) * 2**4
MS_SSIM_MIN_SIDE = 161

T = TypeVar("T")


def _check_pair(reference: np.ndarray, test: np.ndarray) -> None:
    if reference.shape != test.shape:
        raise ValueError(f"images differ in shape: {reference.shape} vs {test.shape}")
    if reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) RGB arrays, got {reference.shape}")


def mse(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    """Mean squared error over RGB 0–255, over the pixels where ``mask`` is True (all if None).

    Returns None for an empty region, so a missing background never reads as a perfect one.
    """
    _check_pair(reference, test)
    diff = reference.astype(np.float64) - test.astype(np.float64)
    sq = diff * diff
    if mask is None:
        return float(sq.mean())
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != reference.shape[:2]:
        raise ValueError(f"mask is {mask.shape}, image is {reference.shape[:2]}")
    n = int(mask.sum())
    if n == 0:
        return None
    return float(sq[mask].sum() / (3 * n))


def psnr_from_mse(value: float | None, peak: float = 255.0) -> float | None:
    if value is None:
        return None
    if value <= 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / value)


def psnr(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    """PSNR in dB of RGB uint8 images (peak 255), optionally over a mask region; inf if equal."""
    return psnr_from_mse(mse(reference, test, mask))


def _window_for(side: int) -> int | None:
    """Largest odd window ≤ 11 for which 5-scale MS-SSIM fits ``side`` pixels."""
    if side >= MS_SSIM_MIN_SIDE:
        return 11
    win = (side - 1) // 16 + 1
    win -= 1 - win % 2
    return win if win >= 3 and (win - 1) * 16 < side else None


def ms_ssim(reference: np.ndarray, test: np.ndarray) -> float | None:
    """MS-SSIM (pytorch-msssim, data range 255, 5 scales) of two RGB uint8 images.

    Images smaller than 161 px on a side use the largest window that still fits 5 scales (a
    smaller window is the only way to score them at all); below 33 px there is no score (None).
    Computed in float32 (float64 convolutions took 4–7 s per Kodak image on this CPU, float32
    0.1 s); identical images are 1.0 by definition rather than by rounding luck.
    """
    _check_pair(reference, test)
    win = _window_for(min(reference.shape[:2]))
    if win is None:
        return None
    if np.array_equal(reference, test):
        return 1.0
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    def to_t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]

    import warnings

    # oneDNN's grouped convolutions were 3× slower than PyTorch's own path here (0.73 vs 0.24 s
    # per Kodak image, one thread); the warning is about an unrelated Intel-GPU switch.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            value = _ms_ssim(to_t(reference), to_t(test), data_range=255.0, win_size=win)
    return float(value.item())


def ms_ssim_db(value: float | None) -> float | None:
    """MS-SSIM as −10·log10(1 − MS-SSIM) (the formula of :func:`obic_core.rules.ms_ssim_db`),
    with None passed through: spreads the 0.95–0.999 range plots live in."""
    return None if value is None else rules.ms_ssim_db(value)


def mask_bbox(mask: np.ndarray, min_side: int = MS_SSIM_MIN_SIDE) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the mask's True pixels, grown to ``min_side`` per axis.

    Growing (centred, clamped to the image) lets small objects be scored with the standard
    11-tap MS-SSIM instead of a different, smaller window. None for an empty mask.
    """
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None

    def grow(lo: int, hi: int, size: int) -> tuple[int, int]:
        need = min(min_side, size) - (hi - lo)
        if need > 0:
            lo -= need // 2
            hi += need - need // 2
            if lo < 0:
                hi, lo = hi - lo, 0
            if hi > size:
                lo, hi = max(0, lo - (hi - size)), size
        return lo, hi

    top, bottom = grow(int(rows[0]), int(rows[-1]) + 1, mask.shape[0])
    left, right = grow(int(cols[0]), int(cols[-1]) + 1, mask.shape[1])
    return top, left, bottom, right


def object_ms_ssim(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None) -> float | None:
    """MS-SSIM on the object's bounding box (see :func:`mask_bbox`); None without an object."""
    if mask is None:
        return None
    box = mask_bbox(mask)
    if box is None:
        return None
    t, l, b, r = box
    return ms_ssim(reference[t:b, l:r], test[t:b, l:r])


def image_metrics(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """Every quality number a comparison row shows, for one reconstruction.

    Keys: psnr, ms_ssim, object_psnr, background_psnr, object_ms_ssim (region keys are None
    without a mask or when the region is empty).
    """
    _check_pair(reference, test)
    out = {
        "psnr": psnr(reference, test),
        "ms_ssim": ms_ssim(reference, test),
        "object_psnr": None,
        "background_psnr": None,
        "object_ms_ssim": None,
    }
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        out["object_psnr"] = psnr(reference, test, mask)
        out["background_psnr"] = psnr(reference, test, ~mask)
        out["object_ms_ssim"] = object_ms_ssim(reference, test, mask)
    return out


def bpp(num_bytes: int, height: int, width: int) -> float:
    """Bits per pixel of ``num_bytes`` for an image of height × width."""
    return num_bytes * 8.0 / (height * width)


def obic_layer_bpp(data: bytes) -> dict[str, float]:
    """bpp of each part of an .obic file (header, mask, each layer) from its sub-streams.

    Uses :func:`obic_core.codec.inspect`, which parses the container without torch. The parts
    add up to the file's bpp, so the compare view can show where the bits went.
    """
    from obic_core import codec

    layout = codec.inspect(data)
    h, w = layout.height, layout.width
    out = {"header": bpp(layout.header_bytes, h, w), "mask": bpp(layout.mask_bytes, h, w)}
    for name, info in layout.layers.items():
        out[name] = bpp(info.bytes, h, w)
    return out


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """(fn(), seconds of wall-clock time it took) — perf_counter, the monotonic clock."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start
