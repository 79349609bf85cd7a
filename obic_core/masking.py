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

from obic_core.rules import (  # noqa: F401  (re-exported: the rule's historical home)
    HYPER_STRIDE,
    LATENT_STRIDE,
    OBJECT_BLOCK_THRESHOLD,
    PAD_MULTIPLE,
    padded_size,
)


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
