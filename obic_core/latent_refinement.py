"""Encode effort ``max``: spend encode time finding better latents for the same decoder.

The analysis transform g_a is a fast amortised guess of the latents; the best latents for one
image under the trained rate–distortion objective are usually a little different (the
"amortisation gap"). ``refine_latents`` closes part of it with gradient steps on y itself
(Campos et al. 2019, "Content adaptive optimization for neural image compression"; Yang,
Bamler & Mandt 2020, "Improving inference for neural image compression"). The gradient comes
from the training relaxation (uniform noise for the rates, straight-through rounding for the
reconstruction); every step is scored on the true, hard-rounded objective and the best latents
are kept. Measured on a 256² Kodak crop at q 0.4 (30 steps): Adam lr 0.003 lowered the true
objective 1.3 %; lr 0.01 raised it 5 % (the relaxation drifts from the hard-rounded loss),
and straight-through rounding for the rates too gained only 0.5 % before rising. The
objective is the training loss at the chosen qualities — 64·(1 − MS-SSIM) + w(q)·MSE +
Σ a(q)·bits — so the file format, the decoder
and the meaning of a quality do not change: a refined file decodes with any decoder.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from obic_core.errors import ObicCancelled
from obic_core.progress import Cancel, Progress
from obic_core.rules import DISTORTION_WEIGHT, EFFORTS, HYPER_STRIDE, MSE_TERM_WEIGHT, MSE_TOP_RATIO, rate_weight

#: encode effort presets: name -> refinement steps (0 = the amortised latents of g_a)
EFFORT_STEPS = {"fast": 0, "default": 0, "max": 32}
assert tuple(EFFORT_STEPS) == EFFORTS
MS_SSIM_MIN_SIDE = 161  # pytorch-msssim's 5 scales with an 11-tap window need > 160 px
#: the stage :func:`refine_latents` reports its steps under
REFINE_STAGE = "refining the latents"


def rd_objective(out: dict, x: torch.Tensor, q_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The training loss of one image: distortion on the unpadded pixels + weighted rate."""
    from pytorch_msssim import ms_ssim

    h, w = size
    x_hat = out["x_hat"][..., :h, :w]
    ref = x[..., :h, :w]
    q_px = F.interpolate(q_map, scale_factor=16, mode="nearest")[..., :h, :w]
    mse_w = MSE_TERM_WEIGHT * MSE_TOP_RATIO**q_px
    loss = (mse_w * (x_hat - ref).pow(2).mean(dim=1, keepdim=True)).mean()
    if min(h, w) >= MS_SSIM_MIN_SIDE:
        loss = loss + DISTORTION_WEIGHT * (1 - ms_ssim(x_hat.clamp(0, 1), ref, data_range=1.0))
    a_y = rate_weight(q_map)
    a_z = F.avg_pool2d(a_y, HYPER_STRIDE)
    bits = sum((a_y * m["y"]).sum() + (a_z * m["z"]).sum() for m in out["bit_maps"].values())
    return loss + bits / (h * w)


def refine_latents(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    latent_mask: np.ndarray,
    q_grid: np.ndarray,
    size: tuple[int, int],
    steps: int,
    lr: float = 0.003,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> torch.Tensor:
    """Gradient steps on y (float64 in, float64 out) against :func:`rd_objective`, with the
    relaxed objective's gradient and the hard-rounded objective's score.

    Returns the latents with the lowest objective seen (the first is g_a's own), so more
    effort can never make the trained objective worse than ``default``. ``progress(stage,
    fraction)`` is called after each step (:mod:`obic_core.progress`).
    """
    if steps <= 0:
        return y
    device = next(model.parameters()).device
    x = x.to(device).float()
    lat = torch.from_numpy(latent_mask.astype(np.float32))[None, None].to(device)
    q = torch.from_numpy(np.asarray(q_grid, dtype=np.float32))[None, None].to(device)
    var = y.detach().float().clone().requires_grad_(True)
    opt = torch.optim.Adam([var], lr=lr)
    best, best_loss = y, float("inf")
    frozen = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        # a fixed seed for the relaxation's noise: the same image and settings give the same file
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            torch.manual_seed(0)
            for i in range(steps + 1):
                if cancel is not None and cancel():
                    raise ObicCancelled("encoding cancelled")
                with torch.no_grad():
                    true = rd_objective(model.code_latents(var, lat, q, noise=False), x, q, size).item()
                if true < best_loss:  # step 0 keeps g_a's float64 latents themselves
                    best_loss, best = true, (y if i == 0 else var.detach().double().clone())
                if i == steps:
                    break
                loss = rd_objective(model.code_latents(var, lat, q, noise=True), x, q, size)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if progress is not None:
                    progress(REFINE_STAGE, (i + 1) / steps)
    finally:
        for p, f in zip(model.parameters(), frozen, strict=True):
            p.requires_grad_(f)
    return best
