"""The LearntOBIC network: one analysis/synthesis transform, two independently coded layers.

Data flow (training and coding share every part)::

    x --g_a--> y --(gain per layer & position)--> y_s
    y_s ⊙ M_obj --object codec (h_a, z density, h_s, checkerboard ctx, params)--> ŷ_obj
    y_s ⊙ M_bkg --background codec (its own copies of the same parts)-----------> ŷ_bkg
    ŷ = M_obj ⊙ ŷ_obj ⊙ g⁻¹_obj + M_bkg ⊙ ŷ_bkg ⊙ g⁻¹_bkg --g_s--> x̂

Rate control is gain-unit style (Cui et al., "Asymmetric Gained Deep Image Compression with
Continuous Rate Adaptation", CVPR 2021): K learned channel-wise gain vectors (and inverse
gains) are trained at K quality levels; a quality q in [0, 1] interpolates the two nearest
levels exponentially (linear in log-gain). Each layer has its own q, so the object /
background balance is chosen at inference time without retraining.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from obic_core.nn.layer_codec import LayerCodec, ste_round
from obic_core.nn.layers import GDN, conv, deconv
from obic_core.rules import DISTORTION_WEIGHT, RATE_RATIO, rate_weight

LAYERS = ("object", "background")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters; stored in every weight file's model card."""

    N: int = 64  # transform width (96 measured 2x slower per step on 2 cores, GDN-bound)
    M: int = 128  # latent channels
    Nh: int = 64  # hyper-latent channels
    levels: int = 6  # trained quality levels of the gain units
    name: str = "learntobic-gdn"

    def to_dict(self) -> dict:
        return asdict(self)


class LearntOBIC(nn.Module):
    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        N, M, K = self.config.N, self.config.M, self.config.levels
        self.g_a = nn.Sequential(
            conv(3, N),
            GDN(N),
            conv(N, N),
            GDN(N),
            conv(N, N),
            GDN(N),
            conv(N, M),
        )
        self.g_s = nn.Sequential(
            deconv(M, N),
            GDN(N, inverse=True),
            deconv(N, N),
            GDN(N, inverse=True),
            deconv(N, N),
            GDN(N, inverse=True),
            deconv(N, 3),
        )
        # Spread initial gains so the K levels start at different rates (log-gain -1 .. +1).
        init = torch.linspace(-1.0, 1.0, K).view(K, 1).expand(K, M).clone()
        self.log_gain = nn.Parameter(init)
        self.log_inv_gain = nn.Parameter(-init.clone())
        self.codecs = nn.ModuleDict({name: LayerCodec(M, self.config.Nh) for name in LAYERS})

    # -- rate control -----------------------------------------------------------------
    def gains(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gain and inverse gain for qualities q, interpolated in log space.

        q of shape (B,) gives (B, M, 1, 1); a per-block quality map (B, 1, h, w) gives a gain
        map (B, M, h, w): every latent position is scaled by its own block's quality.
        """
        K = self.config.levels
        pos = q.clamp(0, 1).to(self.log_gain.dtype) * (K - 1)
        k0 = pos.floor().long().clamp(max=K - 2)
        alpha = (pos - k0.to(pos.dtype)).unsqueeze(-1)
        lg = self.log_gain[k0] * (1 - alpha) + self.log_gain[k0 + 1] * alpha
        lig = self.log_inv_gain[k0] * (1 - alpha) + self.log_inv_gain[k0 + 1] * alpha
        if q.dim() == 1:
            return lg.exp()[..., None, None], lig.exp()[..., None, None]
        # (B, 1, h, w, M) -> (B, M, h, w)
        return lg.exp().squeeze(1).permute(0, 3, 1, 2), lig.exp().squeeze(1).permute(0, 3, 1, 2)

    # -- training / estimation ----------------------------------------------------------
    def forward(
        self,
        x: torch.Tensor,
        latent_mask: torch.Tensor,
        q_obj: torch.Tensor | None = None,
        q_bkg: torch.Tensor | None = None,
        noise: bool = True,
        bf16: bool = False,
        q_map: torch.Tensor | None = None,
    ) -> dict:
        """x in [0,1] (B,3,H,W) with H, W multiples of 64; latent_mask (B,1,H/16,W/16).

        Qualities are either one per layer (``q_obj``, ``q_bkg`` of shape (B,)) or a per-block
        quality map ``q_map`` (B,1,H/16,W/16) that applies inside both layers; the two-layer
        case is the map ``M·q_obj + (1−M)·q_bkg``.

        Returns the reconstruction, the bits each layer costs (y and z separately, per image)
        and the same bits per position (``bit_maps``: y on the latent grid, z on the hyper
        grid) so a loss can weigh each block's rate by its own quality. ``noise=False`` uses
        hard rounding everywhere: the estimate that the real file size is compared against.
        """
        if q_map is None:  # then both layer qualities are given (see above)
            q_map = latent_mask * q_obj.view(-1, 1, 1, 1) + (1 - latent_mask) * q_bkg.view(-1, 1, 1, 1)  # type: ignore[union-attr]
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            y = self.g_a(x)
        return self.code_latents(y.float(), latent_mask, q_map, noise=noise, bf16=bf16)

    def code_latents(
        self,
        y: torch.Tensor,
        latent_mask: torch.Tensor,
        q_map: torch.Tensor,
        noise: bool = True,
        bf16: bool = False,
        synthesise: bool = True,
    ) -> dict:
        """Everything after the analysis transform: the two layers' rates and the reconstruction.

        Split from :meth:`forward` so that encode-time latent refinement (``--effort max``)
        can optimise ``y`` itself against the very loss the model was trained on.
        ``synthesise=False`` skips g_s (``x_hat`` is None): the live size estimate needs rates only.
        """
        device_type = y.device.type
        gain, inv_gain = self.gains(q_map)
        masks = {"object": latent_mask, "background": 1 - latent_mask}
        y_s = y * gain
        y_dec = torch.zeros_like(y)
        bits, bit_maps = {}, {}
        for name, m_lat in masks.items():
            out = self.codecs[name](y_s, m_lat, noise=noise)
            y_q, y_map, z_map = out["y_q"], out["y_bits"], out["z_bits"]
            bit_maps[name] = {"y": y_map, "z": z_map}
            bits[name] = {"y": y_map.sum(dim=(1, 2, 3)), "z": z_map.sum(dim=(1, 2, 3))}
            y_dec = y_dec + y_q * m_lat
        x_hat = None
        if synthesise:
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                x_hat = self.g_s(y_dec * inv_gain).float()
        return {"x_hat": x_hat, "bits": bits, "bit_maps": bit_maps, "q_map": q_map}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "DISTORTION_WEIGHT",
    "LAYERS",
    "LayerCodec",
    "LearntOBIC",
    "ModelConfig",
    "RATE_RATIO",
    "count_parameters",
    "rate_weight",
    "ste_round",
]
