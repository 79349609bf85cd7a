"""Probability models: the only place that knows how latents are distributed.

* :class:`FactorizedDensity` — a learned, per-channel, non-parametric density for the hyper
  latent ``z`` (Ballé et al., "Variational image compression with a scale hyperprior",
  ICLR 2018, appendix 6.1). For coding it is turned into integer-bin probability tables
  once, from the weights alone, so encoder and decoder build the same tables.
* :func:`gaussian_likelihood` — the conditional Gaussian model of ``y`` given the mean and
  scale predicted by the hyper decoder + context model.
* :data:`SCALE_TABLE` and :func:`scale_index` — scales are snapped to a fixed log-spaced
  table before coding, so the entropy coder sees a small, exactly reproducible set of
  distributions.

Everything here runs in float32 or float64, never bf16: rates are sums of many small
log-probabilities and bf16's 8-bit mantissa visibly biases them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

LIKELIHOOD_BOUND = 1e-9
SCALE_MIN = 0.11
SCALE_MAX = 64.0
SCALE_LEVELS = 64
#: log-spaced scale table shared by training (lower bound) and coding (snapping)
SCALE_TABLE = np.exp(np.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS))
#: symbols of y are clipped to [-Y_RANGE, Y_RANGE] before coding (identically on both sides)
Y_RANGE = 255


def scale_index(scales: torch.Tensor) -> torch.Tensor:
    """Index of the table entry nearest (in log space) to each scale."""
    log_table = torch.as_tensor(np.log(SCALE_TABLE), dtype=scales.dtype, device=scales.device)
    step = log_table[1] - log_table[0]
    idx = torch.round((scales.clamp(SCALE_MIN, SCALE_MAX).log() - log_table[0]) / step)
    return idx.clamp(0, SCALE_LEVELS - 1).long()


def _std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2**-0.5))


def gaussian_likelihood(y: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Probability mass of the unit-width bin around ``y`` under N(means, scales)."""
    scales = scales.clamp_min(SCALE_MIN)
    v = (y - means).abs()
    upper = _std_normal_cdf((0.5 - v) / scales)
    lower = _std_normal_cdf((-0.5 - v) / scales)
    return (upper - lower).clamp_min(LIKELIHOOD_BOUND)


class FactorizedDensity(nn.Module):
    """Per-channel learned cumulative density c(x) = sigmoid(f_K(...f_1(x))).

    Each f_k is an affine map with positive (softplus) weights followed by
    x + tanh(a) * tanh(x), which keeps c monotone so it is a valid CDF.
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        self.channels = channels
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def _logits_cdf(self, x: torch.Tensor) -> torch.Tensor:
        """x: (C, 1, N) -> logits of the CDF, (C, 1, N)."""
        logits = x
        for i, matrix in enumerate(self.matrices):
            logits = torch.matmul(F.softplus(matrix.to(x.dtype)), logits) + self.biases[i].to(x.dtype)
            if i < len(self.factors):
                logits = logits + torch.tanh(self.factors[i].to(x.dtype)) * torch.tanh(logits)
        return logits

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Bin probability of each element of z (B, C, H, W)."""
        b, c, h, w = z.shape
        x = z.permute(1, 0, 2, 3).reshape(c, 1, -1).float()
        lower = self._logits_cdf(x - 0.5)
        upper = self._logits_cdf(x + 0.5)
        sign = -torch.sign(lower + upper).detach()  # evaluate in the stable tail
        lik = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        lik = lik.clamp_min(LIKELIHOOD_BOUND)
        return lik.reshape(c, b, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def probability_tables(self, support: int = 64, tail: float = 1e-7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-channel bin probabilities on a trimmed integer support, in float64.

        Returns ``(lows, highs, probs)``: channel c codes symbols ``lows[c] .. highs[c]``
        with masses ``probs[c, :highs[c] - lows[c] + 1]`` (the rest zero padding). z is
        clamped to that range on the encoder side before anything uses it, so the clamp is
        part of the quantizer, not a coding error. The tables depend only on the weights and
        are computed in float64 on the CPU, so every encoder and decoder derives the same ones.
        """
        import copy

        model = copy.deepcopy(self).cpu().double()
        values = torch.arange(-support, support + 1, dtype=torch.float64)
        x = values.view(1, 1, -1).expand(self.channels, 1, -1)
        lower = torch.sigmoid(model._logits_cdf(x - 0.5))
        upper = torch.sigmoid(model._logits_cdf(x + 0.5))
        pmf = (upper - lower).clamp_min(0).squeeze(1).numpy()
        lows = np.zeros(self.channels, dtype=np.int64)
        highs = np.zeros(self.channels, dtype=np.int64)
        for ch in range(self.channels):
            cdf = np.cumsum(pmf[ch])
            lo = int(np.searchsorted(cdf, tail * cdf[-1]))
            hi = int(np.searchsorted(cdf, (1 - tail) * cdf[-1]))
            lows[ch], highs[ch] = lo, max(hi, lo)
        width = int((highs - lows).max()) + 1
        probs = np.zeros((self.channels, width), dtype=np.float64)
        for ch in range(self.channels):
            seg = pmf[ch, lows[ch] : highs[ch] + 1]
            probs[ch, : len(seg)] = seg
        return lows - support, highs - support, probs
