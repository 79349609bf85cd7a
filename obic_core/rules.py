"""The codec's shared rules, torch-free, so the GUI process and the library use one copy.

Everything here is a fact about the format or the trained model that more than one part of
the project must agree on: the rate weight a quality selects, the quality grid the file
format stores, and the formula that turns MS-SSIM into decibels.
"""

from __future__ import annotations

import math
from typing import TypeVar

T = TypeVar("T")

#: a(0) / a(1): the span of rate weights the quality levels are trained on. It was 32 for the
#: first 3,750 steps; q = 0 then gave ≈0.19 bpp on Kodak, so it was widened to 512 to reach
#: the 0.05–0.1 bpp range (docs/training.md).
RATE_RATIO = 512.0
#: the training loss's fixed MS-SSIM weight (λ_eff = DISTORTION_WEIGHT / a(q))
DISTORTION_WEIGHT = 64.0
#: qualities are stored on a 6-bit grid: q = k / 60, k = 0..60 (60 so the trained levels
#: k/5 and the GUI's two-decimal sliders in steps of 0.05 fall exactly on it)
QUALITY_STEPS = 60


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
