"""The codec's shared rules, torch-free, so the GUI process and the library use one copy.

Everything here is a fact about the format or the trained model that more than one part of
the project must agree on: the rate weight a quality selects, the quality grid the file
format stores, and the formula that turns MS-SSIM into decibels.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:  # annotations only: this module must stay importable without torch
    import torch

#: the rules work elementwise on plain numbers, numpy arrays and torch tensors alike
T = TypeVar("T", float, np.ndarray, "torch.Tensor")

#: one latent position codes a 16×16 pixel block
LATENT_STRIDE = 16
#: hyper latents are 4× coarser than latents
HYPER_STRIDE = 4
#: images (and masks) are padded by edge replication to a multiple of this
PAD_MULTIPLE = LATENT_STRIDE * HYPER_STRIDE
#: share of object pixels from which a 16×16 block is coded in the object layer. A block that
#: is only partly object still holds object pixels, and with the majority rule (0.5) those were
#: coded at background quality: on 12 held-out pairs, q 0.8 / 0.2 against equal qualities at the
#: same size gained 1.05 dB object PSNR with 0.5, 1.28 dB with 0.25 and 1.43 dB with ≈0
#: (step-4,000 weights). 1/16 keeps that gain but ignores a few stray mask pixels.
OBJECT_BLOCK_THRESHOLD = 1 / 16
#: the largest image side the format and the readers accept
MAX_SIDE = 30_000

#: a(0) / a(1): the span of rate weights the quality levels are trained on. It was 32 for the
#: first 3,750 steps; q = 0 then gave ≈0.19 bpp on Kodak, so it was widened to 512 to reach
#: the 0.05–0.1 bpp range (docs/training.md).
RATE_RATIO = 512.0
#: the training loss's fixed MS-SSIM weight (λ_eff = DISTORTION_WEIGHT / a(q))
DISTORTION_WEIGHT = 64.0
#: the MSE term of the training loss (beside MS-SSIM): a block at quality q weighs its pixels'
#: MSE by MSE_TERM_WEIGHT·MSE_TOP_RATIO^q (docs/training.md, session 4)
MSE_TERM_WEIGHT = 1500.0
MSE_TOP_RATIO = 2.0
#: encode effort presets (obic_core.latent_refinement): max refines the latents at encode time
EFFORTS = ("fast", "default", "max")
#: qualities are stored on a 6-bit grid: q = k / 60, k = 0..60 (60 so the trained levels
#: k/5 and the GUI's two-decimal sliders in steps of 0.05 fall exactly on it)
QUALITY_STEPS = 60

#: every codec the compare view, `obic compare` and `obic bench` can run, in the order they are
#: listed (the GUI offers these too, so this is the one list; obic_core.evaluation.codecs has
#: an adapter for each)
ALL_CODECS = ("obic", "obic-single", "jpeg2000", "hevc", "avif", "webp", "jpegxl", "jpeg")


def rate_weight(q: T, levels_ratio: float = RATE_RATIO) -> T:
    """Rate weight of the training loss for quality q: a(q) = 512^(1-q).

    With the distortion weight fixed at 64, q = 1 trades like λ_eff = 64 (≈0.6 bpp on Kodak)
    and q = 0 like λ_eff = 64/512 = 0.125, the very-low-rate end (≈0.05–0.1 bpp). Works on
    floats, numpy arrays and torch tensors alike.
    """
    return levels_ratio ** (1 - q)


def effective_lambda(q: float) -> float:
    """Distortion/rate trade-off that quality ``q`` corresponds to (higher = more bits)."""
    return DISTORTION_WEIGHT / rate_weight(float(q))


def quantise_quality(q: T) -> T:
    """Snap qualities to the 6-bit grid of the file format (floats, numpy or torch)."""
    if isinstance(q, (int, float)):
        return round(min(max(float(q), 0.0), 1.0) * QUALITY_STEPS) / QUALITY_STEPS
    return (q.clip(0, 1) * QUALITY_STEPS).round() / QUALITY_STEPS


def ms_ssim_db(ms_ssim: float) -> float:
    """MS-SSIM in decibels, −10·log10(1 − MS-SSIM): spreads the 0.95–0.99 range readably."""
    if ms_ssim >= 1.0:
        return math.inf
    return -10.0 * math.log10(1.0 - ms_ssim)


def padded_size(height: int, width: int) -> tuple[int, int]:
    """The image size after edge-replicate padding to a multiple of 64."""
    up = PAD_MULTIPLE
    return -(-height // up) * up, -(-width // up) * up


def grid_shape(height: int, width: int) -> tuple[int, int]:
    """(rows, cols) of the latent grid of an image."""
    ph, pw = padded_size(height, width)
    return ph // LATENT_STRIDE, pw // LATENT_STRIDE


def pad_edge(a: np.ndarray) -> np.ndarray:
    """Pad the first two axes at the bottom/right to a multiple of 64 by edge replication."""
    ph, pw = padded_size(*a.shape[:2])
    pad = [(0, ph - a.shape[0]), (0, pw - a.shape[1])] + [(0, 0)] * (a.ndim - 2)
    return np.pad(a, pad, mode="edge")


def coded_mask(mask: np.ndarray) -> np.ndarray:
    """(H, W) pixel mask -> (rows, cols) bool latent grid: the block rule the codec codes.

    A block is object when at least 1/16 of its 256 (padded) pixels are (integer count, so
    this numpy copy and the torch one in :mod:`obic_core.masking` agree exactly).
    """
    padded = pad_edge(np.asarray(mask) > 0).view(np.uint8)
    rows, cols = padded.shape[0] // LATENT_STRIDE, padded.shape[1] // LATENT_STRIDE
    # two narrow sums instead of one int64 sum: a 48 MP mask took 1.8 s the int64 way
    blocks = padded.reshape(rows, LATENT_STRIDE, cols, LATENT_STRIDE)
    counts = blocks.sum(axis=3, dtype=np.uint8).sum(axis=1, dtype=np.uint16)
    return counts >= OBJECT_BLOCK_THRESHOLD * LATENT_STRIDE * LATENT_STRIDE
