"""The model side of compress/decompress: tensors <-> symbols for each layer.

Built from the very modules that training uses (:mod:`obic_core.nn.model`), so the
decoder reconstructs exactly what the training-time forward pass with hard rounding
produces. Everything that decides *probabilities* — hyper synthesis, checkerboard
context, entropy parameters, scale-table snapping — runs in float64, so encoder and
decoder agree on every scale index whatever the thread count or device (a float32
discrepancy at a table boundary would desynchronise the range coder). The pixel
transforms g_a / g_s run in float32; they only move pixel values, never the parse.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from obic_core import coding
from obic_core.errors import ObicDeviceError, ObicWeightsError
from obic_core.masking import HYPER_STRIDE
from obic_core.nn.entropy import Y_RANGE, gaussian_likelihood, scale_index
from obic_core.nn.layers import anchor_mask
from obic_core.nn.model import LAYERS, LearntOBIC, ModelConfig
from obic_core.weights import DEFAULT_CODEC, load_weights


def resolve_device(name: str | None) -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ObicDeviceError("CUDA was requested but no CUDA device is available; use --device cpu")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ObicDeviceError(f"unknown device '{name}' (use auto, cpu or cuda)")
    return torch.device(name)


def deterministic_kernels(fn):
    """Run with oneDNN disabled: its float32 convolutions split reductions by thread count,
    so the same image gave different pixels with 1 and 2 threads (measured: up to 1e-5 after
    the first transposed convolution). PyTorch's native im2col + GEMM path gives identical
    results for any thread count at about the same speed on this CPU."""

    def wrapped(*args, **kwargs):
        with torch.backends.mkldnn.flags(enabled=False):
            return fn(*args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


@dataclass
class LayerCode:
    hyper: bytes
    latent: bytes
    y_hat: torch.Tensor          # (1, M, h, w) float64, zero outside the layer
    est_bits: float              # -log2 likelihood under the coded (snapped) models


class Engine:
    """A loaded model ready to code: float32 transforms + float64 entropy parts + tables."""

    def __init__(self, weights: Path | None = None, device: str | None = "auto") -> None:
        path = Path(weights) if weights else DEFAULT_CODEC
        loaded = load_weights(path)
        cfg = loaded.card.get("config")
        if cfg is None:
            from safetensors import safe_open

            with safe_open(str(path), "pt") as f:
                cfg = json.loads((f.metadata() or {}).get("config", "{}"))
        try:
            config = ModelConfig(**cfg)
            model = LearntOBIC(config)
            model.load_state_dict(loaded.state)
        except (TypeError, RuntimeError) as exc:
            raise ObicWeightsError(f"{path} is not a LearntOBIC weight file ({exc})") from None
        self.device = resolve_device(device)
        self.config = config
        self.model_id = loaded.id
        self.model_name = config.name
        self.path = path
        model.eval()
        self.model = model.to(self.device)
        self.coders = {n: copy.deepcopy(model.codecs[n]).double().to(self.device).eval() for n in LAYERS}
        self.log_gain = model.log_gain.detach().double().to(self.device)
        self.log_inv_gain = model.log_inv_gain.detach().double().to(self.device)
        self.tables = {n: coding.HyperTables(*model.codecs[n].z_density.probability_tables()) for n in LAYERS}
        self.lock = threading.Lock()   # one coding job at a time per engine

    # -- transforms ------------------------------------------------------------------
    #: images above this many pixels run the transforms in horizontal strips, which bounds
    #: peak memory (a 6000×4000 photo would need >10 GB of activations in one piece)
    strip_pixels: int = 4_000_000
    strip_latent_rows: int = 16
    #: receptive-field margins in latent rows: g_a sees ±30 px (<2 rows), g_s ±4 latent rows
    halo_analysis: int = 4
    halo_synthesis: int = 6

    def _strips(self, rows: int) -> list[tuple[int, int]]:
        step = self.strip_latent_rows
        return [(r, min(r + step, rows)) for r in range(0, rows, step)]

    @torch.no_grad()
    @deterministic_kernels
    def analyse(self, x: torch.Tensor) -> torch.Tensor:
        """x: (1, 3, H, W) float in [0, 1], H, W multiples of 64 -> y (float64).

        Large images go through in strips with a halo wider than the receptive field, so the
        kept latent rows are computed from exactly the pixels a whole-image pass would use.
        """
        x = x.to(self.device)
        H, W = x.shape[-2:]
        if H * W <= self.strip_pixels:
            return self.model.g_a(x).double()
        rows, halo, s = H // 16, self.halo_analysis, 16
        out = torch.empty(1, self.config.M, rows, W // 16, dtype=torch.float64, device=self.device)
        for r0, r1 in self._strips(rows):
            a, b = max(0, r0 - halo), min(rows, r1 + halo)
            y = self.model.g_a(x[:, :, a * s: b * s])
            out[:, :, r0:r1] = y[:, :, r0 - a: r1 - a].double()
        return out

    @torch.no_grad()
    @deterministic_kernels
    def synthesise(self, y: torch.Tensor) -> torch.Tensor:
        rows, cols = y.shape[-2:]
        if rows * cols * 256 <= self.strip_pixels:
            return self.model.g_s(y.float()).clamp_(0, 1)
        halo, s = self.halo_synthesis, 16
        out = torch.empty(1, 3, rows * s, cols * s, dtype=torch.float32, device=self.device)
        for r0, r1 in self._strips(rows):
            a, b = max(0, r0 - halo), min(rows, r1 + halo)
            x = self.model.g_s(y[:, :, a:b].float())
            out[:, :, r0 * s: r1 * s] = x[:, :, (r0 - a) * s: (r1 - a) * s].clamp_(0, 1)
        return out

    def gains(self, q: float) -> tuple[torch.Tensor, torch.Tensor]:
        K = self.config.levels
        pos = min(max(q, 0.0), 1.0) * (K - 1)
        k0 = min(int(np.floor(pos)), K - 2)
        a = pos - k0
        lg = self.log_gain[k0] * (1 - a) + self.log_gain[k0 + 1] * a
        lig = self.log_inv_gain[k0] * (1 - a) + self.log_inv_gain[k0 + 1] * a
        return lg.exp().view(1, -1, 1, 1), lig.exp().view(1, -1, 1, 1)

    # -- one layer ---------------------------------------------------------------------
    def _positions(self, m_lat: np.ndarray) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
        h, w = m_lat.shape
        anchors = anchor_mask(h, w)[0, 0].numpy() > 0.5
        m_z = m_lat.reshape(h // HYPER_STRIDE, HYPER_STRIDE, w // HYPER_STRIDE, HYPER_STRIDE).any(axis=(1, 3))
        m_t = torch.from_numpy(m_lat.astype(np.float64)).view(1, 1, h, w).to(self.device)
        return m_t, m_z, anchors & m_lat, ~anchors & m_lat

    @torch.no_grad()
    def encode_layer(self, name: str, y_s: torch.Tensor, m_lat: np.ndarray) -> LayerCode:
        coder, tables = self.coders[name], self.tables[name]
        m_t, m_z, sel_a, sel_n = self._positions(m_lat)
        z = coder.h_a(y_s * m_t)[0].cpu().numpy()
        lo, hi = tables.lows[:, None, None], tables.highs[:, None, None]
        z_hat = np.clip(np.round(z), lo, hi) * m_z[None]
        hyper_bytes = coding.encode_hyper(z_hat[:, m_z].astype(np.int64), tables)
        hyper = coder.h_s(torch.from_numpy(z_hat).unsqueeze(0).to(self.device))
        means_a, scales_a = coder.entropy_parameters(hyper, torch.zeros_like(hyper))
        sym_a = torch.round(y_s - means_a).clamp_(-Y_RANGE, Y_RANGE)
        anchors = torch.from_numpy(sel_a).to(self.device)
        y_anchor = torch.where(anchors, sym_a + means_a, torch.zeros_like(y_s))
        means_n, scales_n = coder.entropy_parameters(hyper, coder.context(y_anchor))
        sym_n = torch.round(y_s - means_n).clamp_(-Y_RANGE, Y_RANGE)
        nonanch = torch.from_numpy(sel_n).to(self.device)
        y_hat = torch.where(anchors, y_anchor, torch.where(nonanch, sym_n + means_n, torch.zeros_like(y_s)))
        enc = coding.LatentEncoder()
        est = 0.0
        for sym, scales, sel in ((sym_a, scales_a, sel_a), (sym_n, scales_n, sel_n)):
            idx = scale_index(scales)[0][:, torch.from_numpy(sel)].cpu().numpy()
            s = sym[0][:, torch.from_numpy(sel)].cpu().numpy()
            enc.push(s.astype(np.int64), idx)
            if s.size:
                from obic_core.nn.entropy import SCALE_TABLE

                stds = torch.from_numpy(SCALE_TABLE[idx])
                est += float(-torch.log2(gaussian_likelihood(torch.from_numpy(s).double(), torch.zeros(1,
                             dtype=torch.float64), stds)).sum())
        return LayerCode(hyper_bytes, enc.finish(), y_hat, est)

    @torch.no_grad()
    def decode_layer(self, name: str, hyper_bytes: bytes, latent_bytes: bytes, m_lat: np.ndarray) -> torch.Tensor:
        coder, tables = self.coders[name], self.tables[name]
        m_t, m_z, sel_a, sel_n = self._positions(m_lat)
        h, w = m_lat.shape
        M = self.config.M
        z_hat = np.zeros((self.config.Nh, *m_z.shape), dtype=np.float64)
        z_hat[:, m_z] = coding.decode_hyper(hyper_bytes, int(m_z.sum()), tables)
        hyper = coder.h_s(torch.from_numpy(z_hat).unsqueeze(0).to(self.device))
        dec = coding.LatentDecoder(latent_bytes)
        means_a, scales_a = coder.entropy_parameters(hyper, torch.zeros_like(hyper))
        y_hat = torch.zeros(1, M, h, w, dtype=torch.float64, device=self.device)
        sel = torch.from_numpy(sel_a).to(self.device)
        idx = scale_index(scales_a)[0][:, sel].cpu().numpy()
        sym = torch.from_numpy(dec.pull(idx).reshape(idx.shape)).double().to(self.device)
        y_hat[0][:, sel] = sym + means_a[0][:, sel]
        means_n, scales_n = coder.entropy_parameters(hyper, coder.context(y_hat))
        sel = torch.from_numpy(sel_n).to(self.device)
        idx = scale_index(scales_n)[0][:, sel].cpu().numpy()
        sym = torch.from_numpy(dec.pull(idx).reshape(idx.shape)).double().to(self.device)
        y_hat[0][:, sel] = sym + means_n[0][:, sel]
        return y_hat


_CACHE: dict[tuple[str, str], Engine] = {}
_CACHE_LOCK = threading.Lock()


def get_engine(weights: str | Path | None = None, device: str | None = "auto") -> Engine:
    """Load (once) and return the engine for these weights on this device."""
    dev = str(resolve_device(device))
    key = (str(Path(weights).resolve()) if weights else str(DEFAULT_CODEC), dev)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Engine(Path(key[0]), dev)
        return _CACHE[key]
