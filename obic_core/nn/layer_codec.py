"""One coded layer: hyperprior + checkerboard context + Gaussian entropy model.

The object and the background layer of an `.obic` file are each one :class:`LayerCodec`: the
same parts serve the training forward pass (:meth:`LayerCodec.forward`, rates as
−log2 likelihoods with noise or hard rounding) and the real coder (:meth:`LayerCodec.compress`
/ :meth:`LayerCodec.decompress`, constriction range coding in float64), so the decoder
rebuilds exactly what training optimised.

Algorithm (Ballé et al. 2018, "Variational image compression with a scale hyperprior", with the
checkerboard context of He et al. 2021, "Checkerboard Context Model for Efficient Learned Image
Compression"), for the positions of this layer only (mask ``m``; all other positions cost no bits):

1. z = h_a(y_s ⊙ m), rounded and clipped to the factorized density's table; coded per channel
   at the hyper positions whose 4×4 latent group touches the layer.
2. hyper = h_s(ẑ) gives 2M features per latent position.
3. Two passes over a checkerboard::

        pass 1: anchors A          pass 2: non-anchors x
        A . A . A . A              A x A x A x A
        . A . A . A .      ->      x A x A x A x
        A . A . A . A              A x A x A x A

   anchors ((row + col) even) take (μ, σ) from the hyperprior alone; non-anchors also from the
   decoded anchors of this layer around them (a 5×5 masked convolution, 12 taps).
4. A symbol is round(y_s − μ) clipped to ±Y_RANGE, coded with a zero-mean quantized Gaussian
   whose σ is snapped to the 64-entry scale table.

Symbol order in a layer's latent stream: all anchors, then all non-anchors; inside each group
channel-major (channel 0 at every position in raster order, then channel 1, …). The hyper
stream is channel-major in raster order as well.

Why gathering is correct: the entropy-parameter network is *pointwise* (only 1×1
convolutions), so (μ, σ) at a position depend on that position's hyper features and context
alone. The coder therefore evaluates it only at the positions it codes — gathered into rows —
instead of running dense convolutions over the whole grid twice per layer (≈4× less float64
work). ``__init__`` asserts the pointwise property; a wider kernel there would silently make the
gathered coder disagree with training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from obic_core import range_coder
from obic_core.masking import hyper_mask
from obic_core.nn.entropy import SCALE_MIN, Y_RANGE, FactorizedDensity, gaussian_likelihood, scale_index
from obic_core.nn.layers import CheckerboardConv, anchor_mask, conv, deconv
from obic_core.rules import HYPER_STRIDE


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


@dataclass
class LayerCode:
    hyper: bytes
    latent: bytes
    y_hat: torch.Tensor  # (1, M, h, w) float64, zero outside the layer


class LayerCodec(nn.Module):
    """Hyper codec + checkerboard context + entropy parameters for one layer."""

    #: positions per gathered chunk of the context convolution (bounds peak memory)
    CHUNK = 16384

    def __init__(self, M: int, Nh: int) -> None:
        super().__init__()
        self.h_a = nn.Sequential(
            conv(M, Nh, 3, 1),
            nn.LeakyReLU(inplace=True),
            conv(Nh, Nh, 5, 2),
            nn.LeakyReLU(inplace=True),
            conv(Nh, Nh, 5, 2),
        )
        self.h_s = nn.Sequential(
            deconv(Nh, M, 5, 2),
            nn.LeakyReLU(inplace=True),
            deconv(M, M, 5, 2),
            nn.LeakyReLU(inplace=True),
            conv(M, 2 * M, 3, 1),
        )
        self.z_density = FactorizedDensity(Nh)
        self.context = CheckerboardConv(M, 2 * M, 5)
        self.params = nn.Sequential(
            nn.Conv2d(4 * M, 3 * M, 1),
            nn.LeakyReLU(inplace=True),
            nn.Conv2d(3 * M, 2 * M, 1),
            nn.LeakyReLU(inplace=True),
            nn.Conv2d(2 * M, 2 * M, 1),
        )
        assert all(layer.kernel_size == (1, 1) for layer in self.params if isinstance(layer, nn.Conv2d)), (
            "the entropy-parameter network must be pointwise: the coder evaluates it at gathered positions"
        )

    # -- training -----------------------------------------------------------------------
    def entropy_parameters(self, hyper: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        means, scales = self.params(torch.cat([hyper, ctx], dim=1)).chunk(2, dim=1)
        return means, scales.abs().clamp_min(SCALE_MIN)

    def checkerboard_parameters(
        self, y_s: torch.Tensor, hyper: torch.Tensor, m_lat: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Means/scales for every position, anchors from the hyperprior only, non-anchors
        also from the (rounded) anchors of this layer — exactly what the decoder can know."""
        anchors = anchor_mask(*y_s.shape[-2:], device=y_s.device).to(y_s.dtype)
        zeros = torch.zeros_like(hyper)
        means_a, scales_a = self.entropy_parameters(hyper, zeros)
        y_anchor = (ste_round(y_s - means_a) + means_a) * anchors * m_lat
        means_n, scales_n = self.entropy_parameters(hyper, self.context(y_anchor))
        means = anchors * means_a + (1 - anchors) * means_n
        scales = anchors * scales_a + (1 - anchors) * scales_n
        return means, scales

    def forward(self, y_s: torch.Tensor, m_lat: torch.Tensor, noise: bool = True) -> dict:
        """Training / estimation: ŷ (straight-through rounded) and bits per position.

        ``noise=True`` prices y and z with additive uniform noise (the usual relaxation);
        ``noise=False`` with hard rounding, the estimate a real file is compared against.
        Returns ``y_q`` (B, M, h, w), ``y_bits`` (B, 1, h, w) and ``z_bits`` (B, 1, h/4, w/4).
        """
        m_z = hyper_mask(m_lat)
        z = self.h_a(y_s * m_lat)
        z_hat = z + torch.empty_like(z).uniform_(-0.5, 0.5) if noise else torch.round(z)
        z_hat = z_hat * m_z
        z_lik = self.z_density.likelihood(z_hat)
        means, scales = self.checkerboard_parameters(y_s, self.h_s(z_hat), m_lat)
        y_q = ste_round(y_s - means) + means
        y_rate_in = y_s + torch.empty_like(y_s).uniform_(-0.5, 0.5) if noise else y_q
        y_lik = gaussian_likelihood(y_rate_in, means, scales)
        return {
            "y_q": y_q,
            "y_bits": (-torch.log2(y_lik) * m_lat).sum(dim=1, keepdim=True),
            "z_bits": (-torch.log2(z_lik) * m_z).sum(dim=1, keepdim=True),
        }

    # -- coding (float64 copies; see obic_core.engine) ----------------------------------
    def _positions(self, m_lat: np.ndarray, device: torch.device):
        h, w = m_lat.shape
        anchors = anchor_mask(h, w)[0, 0].numpy() > 0.5
        m_z = m_lat.reshape(h // HYPER_STRIDE, HYPER_STRIDE, w // HYPER_STRIDE, HYPER_STRIDE).any(axis=(1, 3))
        m_t = torch.from_numpy(m_lat.astype(np.float64)).view(1, 1, h, w).to(device)
        return m_t, m_z, np.flatnonzero(anchors & m_lat), np.flatnonzero(~anchors & m_lat)

    def _params_at(self, hyper_flat: torch.Tensor, ctx_flat: torch.Tensor | None):
        """hyper_flat (n, 2M), ctx_flat (n, 2M) or None (anchors) -> means, scales (n, M)."""
        if ctx_flat is None:
            ctx_flat = torch.zeros_like(hyper_flat)
        h = torch.cat([hyper_flat, ctx_flat], dim=1)
        for layer in self.params:
            if isinstance(layer, nn.Conv2d):
                h = F.linear(h, layer.weight[:, :, 0, 0], layer.bias)
            else:
                h = layer(h)
        means, scales = h.chunk(2, dim=1)
        return means, scales.abs().clamp_min(SCALE_MIN)

    def _context_at(self, anchors_grid: torch.Tensor, flat_idx: np.ndarray, width: int) -> torch.Tensor:
        """Checkerboard context (n, 2M) at the given positions from a grid (M, h, w) holding
        the decoded anchors (zero elsewhere): the conv's non-zero taps, gathered."""
        conv_ = self.context
        k = conv_.kernel_size[0]
        c = k // 2
        device = anchors_grid.device
        taps = [(i, j) for i in range(k) for j in range(k) if conv_.tap_mask[0, 0, i, j] > 0]
        padded = F.pad(anchors_grid, (c, c, c, c))
        wp = width + 2 * c
        weight = torch.stack([conv_.weight[:, :, i, j] for i, j in taps], dim=2)  # (2M, M, T)
        weight = weight.reshape(weight.shape[0], -1)  # (2M, M*T)
        flat = padded.reshape(padded.shape[0], -1)
        rows = torch.from_numpy(flat_idx // width).to(device)
        cols = torch.from_numpy(flat_idx % width).to(device)
        out = []
        for s0 in range(0, len(flat_idx), self.CHUNK):
            r, q = rows[s0 : s0 + self.CHUNK], cols[s0 : s0 + self.CHUNK]
            gathered = torch.stack([flat[:, (r + i) * wp + (q + j)] for i, j in taps], dim=1)  # (M, T, n)
            out.append(F.linear(gathered.reshape(-1, gathered.shape[-1]).T, weight, conv_.bias))
        return torch.cat(out) if out else torch.zeros(0, weight.shape[0], dtype=flat.dtype, device=device)

    def _hyper_and_anchor_params(self, z_hat: np.ndarray, sel_a: np.ndarray, device: torch.device):
        hyper = self.h_s(torch.from_numpy(z_hat).unsqueeze(0).to(device))[0]
        hyper_flat = hyper.reshape(hyper.shape[0], -1).T  # (h*w, 2M)
        means_a, scales_a = self._params_at(hyper_flat[torch.from_numpy(sel_a).to(device)], None)
        return hyper_flat, means_a, scales_a

    @torch.no_grad()
    def compress(self, y_s: torch.Tensor, m_lat: np.ndarray, tables: range_coder.HyperTables) -> LayerCode:
        """Scaled latents y_s (1, M, h, w) float64 and the layer's grid mask -> the two streams
        and ŷ (what the decoder will reconstruct, zero outside the layer)."""
        device = y_s.device
        m_t, m_z, sel_a, sel_n = self._positions(m_lat, device)
        h, w = m_lat.shape
        z = self.h_a(y_s * m_t)[0].cpu().numpy()
        lo, hi = tables.lows[:, None, None], tables.highs[:, None, None]
        z_hat = np.clip(np.round(z), lo, hi) * m_z[None]
        hyper_bytes = range_coder.encode_hyper(z_hat[:, m_z].astype(np.int64), tables)
        hyper_flat, means_a, scales_a = self._hyper_and_anchor_params(z_hat, sel_a, device)
        y_flat = y_s[0].reshape(y_s.shape[1], -1).T  # (h*w, M)
        ia, in_ = (torch.from_numpy(v).to(device) for v in (sel_a, sel_n))
        sym_a = torch.round(y_flat[ia] - means_a).clamp_(-Y_RANGE, Y_RANGE)
        y_hat_flat = torch.zeros_like(y_flat)
        y_hat_flat[ia] = sym_a + means_a
        grid = y_hat_flat.T.reshape(-1, h, w)
        means_n, scales_n = self._params_at(hyper_flat[in_], self._context_at(grid, sel_n, w))
        sym_n = torch.round(y_flat[in_] - means_n).clamp_(-Y_RANGE, Y_RANGE)
        y_hat_flat[in_] = sym_n + means_n
        enc = range_coder.LatentEncoder()
        for sym, scales in ((sym_a, scales_a), (sym_n, scales_n)):
            idx = scale_index(scales).T.cpu().numpy()  # channel-major order
            enc.push(sym.T.cpu().numpy().astype(np.int64), idx)
        return LayerCode(hyper_bytes, enc.finish(), y_hat_flat.T.reshape(1, -1, h, w))

    @torch.no_grad()
    def decompress(
        self,
        hyper_bytes: bytes,
        latent_bytes: bytes,
        m_lat: np.ndarray,
        tables: range_coder.HyperTables,
        device: torch.device,
    ) -> torch.Tensor:
        """The two streams and the layer's grid mask -> ŷ (1, M, h, w) float64 (the scaled
        latents; the caller applies the inverse gains)."""
        _, m_z, sel_a, sel_n = self._positions(m_lat, device)
        h, w = m_lat.shape
        M = self.context.in_channels
        Nh = self.z_density.channels
        z_hat = np.zeros((Nh, *m_z.shape), dtype=np.float64)
        z_hat[:, m_z] = range_coder.decode_hyper(hyper_bytes, int(m_z.sum()), tables)
        hyper_flat, means_a, scales_a = self._hyper_and_anchor_params(z_hat, sel_a, device)
        dec = range_coder.LatentDecoder(latent_bytes)
        ia, in_ = (torch.from_numpy(v).to(device) for v in (sel_a, sel_n))
        y_hat_flat = torch.zeros(h * w, M, dtype=torch.float64, device=device)
        idx = scale_index(scales_a).T.cpu().numpy()
        sym = torch.from_numpy(dec.pull(idx).reshape(idx.shape)).to(device).double().T
        y_hat_flat[ia] = sym + means_a
        grid = y_hat_flat.T.reshape(M, h, w)
        means_n, scales_n = self._params_at(hyper_flat[in_], self._context_at(grid, sel_n, w))
        idx = scale_index(scales_n).T.cpu().numpy()
        sym = torch.from_numpy(dec.pull(idx).reshape(idx.shape)).to(device).double().T
        y_hat_flat[in_] = sym + means_n
        return y_hat_flat.T.reshape(1, M, h, w)
