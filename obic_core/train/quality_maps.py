"""Random per-block quality maps for training the codec to follow a painted map.

One model learns both the paper's two-quality case and arbitrary smooth maps (Song et al.,
ICCV 2021, train a single model on random quality maps for the same reason). Each crop gets
one of:

* **binary** — one quality per layer, drawn from the K trained levels (the two-layer codec);
* **constant** — one continuous quality everywhere (single-layer at any q, not only levels);
* **blob** — a smooth random field mapped to a random range [lo, hi];
* **ramp** — a linear gradient in a random direction between two random qualities;
* **layered** — a continuous quality per layer plus a smooth variation inside each layer
  (what ``--quality-map`` with ``--mask`` produces).

Values are quantised to the 6-bit grid the file format stores, so training sees exactly the
qualities a decoder will apply.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from obic_core.rules import quantise_quality


class QualityMapSampler:
    """Draws (B, 1, h, w) quality maps on the latent grid for a batch of latent masks."""

    KINDS = ("constant", "blob", "ramp", "layered")
    WEIGHTS = (0.2, 0.35, 0.25, 0.2)

    def __init__(self, binary_p: float = 0.5, seed: int = 0) -> None:
        self.binary_p = binary_p
        self.gen = torch.Generator().manual_seed(seed)

    def _u(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self.gen)

    def _range(self) -> tuple[float, float]:
        a, b = sorted(self._u(2).tolist())
        return a, b

    def blob(self, h: int, w: int) -> torch.Tensor:
        """A smooth field in [0, 1] (min–max normalised low-resolution noise)."""
        g = int(torch.randint(2, 6, (1,), generator=self.gen))
        noise = torch.randn((1, 1, g, g), generator=self.gen)
        field = F.interpolate(noise, size=(h, w), mode="bicubic", align_corners=True)[0, 0]
        lo, hi = field.min(), field.max()
        return (field - lo) / (hi - lo).clamp_min(1e-6)

    def ramp(self, h: int, w: int) -> torch.Tensor:
        theta = float(self._u(1)) * 2 * math.pi
        yy, xx = torch.meshgrid(
            torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
        )
        t = xx * math.cos(theta) + yy * math.sin(theta)
        return (t - t.min()) / (t.max() - t.min()).clamp_min(1e-6)

    def one(self, m_lat: torch.Tensor, levels: int) -> torch.Tensor:
        """A map for one (1, h, w) latent mask."""
        h, w = m_lat.shape[-2:]
        if float(self._u(1)) < self.binary_p:
            q_obj, q_bkg = (torch.randint(0, levels, (2,), generator=self.gen).float() / (levels - 1)).tolist()
            return quantise_quality(m_lat * q_obj + (1 - m_lat) * q_bkg)
        kind = self.KINDS[int(torch.multinomial(torch.tensor(self.WEIGHTS), 1, generator=self.gen))]
        if kind == "constant":
            q = torch.full((1, h, w), float(self._u(1)))
        elif kind in ("blob", "ramp"):
            lo, hi = self._range()
            field = self.blob(h, w) if kind == "blob" else self.ramp(h, w)
            q = (lo + (hi - lo) * field)[None]
        else:
            q_obj, q_bkg = self._u(2).tolist()
            spread = 0.3 * float(self._u(1))
            var = (self.blob(h, w) - 0.5) * spread
            q = (m_lat * q_obj + (1 - m_lat) * q_bkg + var).clamp(0, 1)
        return quantise_quality(q)

    def sample(self, latent_mask: torch.Tensor, levels: int) -> torch.Tensor:
        """(B, 1, h, w) latent masks -> (B, 1, h, w) quality maps (CPU tensors)."""
        m = latent_mask.detach().cpu()
        return torch.stack([self.one(m[i], levels) for i in range(m.shape[0])])
