"""How a pixel mask becomes the latent-grid mask — the one rule encoder and decoder share.

Rule (documented in docs/format.md): the image is padded to a multiple of
:data:`PAD_MULTIPLE` by edge replication (the mask too), the padded mask is averaged over
each 16×16 block, and a latent position belongs to the object layer when that average is
≥ 1/16 (at least 16 of its 256 pixels are object). A hyper-latent position (1/64
resolution) is coded for a layer when any of the 4×4 latent positions under it belongs to
that layer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

LATENT_STRIDE = 16
HYPER_STRIDE = 4  # hyper latents are 4× coarser than latents
PAD_MULTIPLE = LATENT_STRIDE * HYPER_STRIDE
#: share of object pixels from which a 16×16 block is coded in the object layer. A block that
#: is only partly object still holds object pixels, and with the majority rule (0.5) those were
#: coded at background quality: on 12 held-out pairs, q 0.8 / 0.2 against equal qualities at the
#: same size gained 1.05 dB object PSNR with 0.5, 1.28 dB with 0.25 and 1.43 dB with ≈0
#: (step-4,000 weights). 1/16 keeps that gain but ignores a few stray mask pixels.
OBJECT_BLOCK_THRESHOLD = 1 / 16


def padded_size(height: int, width: int) -> tuple[int, int]:
    up = PAD_MULTIPLE
    return -(-height // up) * up, -(-width // up) * up


def pad_replicate(x: torch.Tensor) -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom/right to a multiple of 64 by edge replication."""
    h, w = x.shape[-2:]
    ph, pw = padded_size(h, w)
    if (ph, pw) == (h, w):
        return x
    return F.pad(x, (0, pw - w, 0, ph - h), mode="replicate")


def latent_mask_from_pixels(mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) float mask in [0, 1] -> (B, 1, H/16, W/16) binary latent mask (padded)."""
    padded = pad_replicate(mask.float())
    return (F.avg_pool2d(padded, LATENT_STRIDE) >= OBJECT_BLOCK_THRESHOLD).float()


def hyper_mask(latent_mask: torch.Tensor) -> torch.Tensor:
    """Hyper-latent positions that a layer with this latent mask must code."""
    return F.max_pool2d(latent_mask, HYPER_STRIDE)


def latent_mask_numpy(mask: np.ndarray) -> np.ndarray:
    """Same rule for a (H, W) bool/uint8 pixel mask, returning a bool latent grid."""
    t = torch.from_numpy((np.asarray(mask) > 0).astype(np.float32))[None, None]
    return latent_mask_from_pixels(t)[0, 0].numpy() > 0.5
