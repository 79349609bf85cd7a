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
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from obic_core import coding
from obic_core.errors import ObicDeviceError, ObicWeightsError
from obic_core.masking import HYPER_STRIDE
from obic_core.nn.entropy import SCALE_MIN, Y_RANGE, scale_index
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
        with warnings.catch_warnings():
            # torch warns about an unrelated Intel-GPU TF32 switch whenever these flags change
            warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
            with torch.backends.mkldnn.flags(enabled=False):
                return fn(*args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


@dataclass
class LayerCode:
    hyper: bytes
    latent: bytes
    y_hat: torch.Tensor  # (1, M, h, w) float64, zero outside the layer


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
        self.lock = threading.Lock()  # one coding job at a time per engine

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
            y = self.model.g_a(x[:, :, a * s : b * s])
            out[:, :, r0:r1] = y[:, :, r0 - a : r1 - a].double()
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
            out[:, :, r0 * s : r1 * s] = x[:, :, (r0 - a) * s : (r1 - a) * s].clamp_(0, 1)
        return out

    def gains(self, q: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Gain and inverse gain (1, M, 1, 1) of one quality: log-linear between trained levels."""
        K = self.config.levels
        pos = min(max(q, 0.0), 1.0) * (K - 1)
        k0 = min(int(np.floor(pos)), K - 2)
        a = pos - k0
        lg = self.log_gain[k0] * (1 - a) + self.log_gain[k0 + 1] * a
        lig = self.log_inv_gain[k0] * (1 - a) + self.log_inv_gain[k0 + 1] * a
        return lg.exp().view(1, -1, 1, 1), lig.exp().view(1, -1, 1, 1)

    def gain_maps(self, quality: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Gain and inverse gain maps (1, M, rows, cols) of a per-block quality grid.

        The same interpolation as :meth:`gains`, per block; only the distinct qualities of the
        grid (at most 61 on the file's 6-bit grid) are interpolated, then looked up, so a block
        at quality q gets exactly the vector ``gains(q)`` gives.
        """
        q = np.asarray(quality, dtype=np.float64)
        values, inverse = np.unique(q, return_inverse=True)
        pairs = [self.gains(float(v)) for v in values]
        g = torch.cat([p[0].view(1, -1) for p in pairs])  # (n, M)
        ig = torch.cat([p[1].view(1, -1) for p in pairs])
        idx = torch.from_numpy(inverse.reshape(-1)).to(self.device)
        rows, cols = q.shape
        return (
            g[idx].T.reshape(1, -1, rows, cols).contiguous(),
            ig[idx].T.reshape(1, -1, rows, cols).contiguous(),
        )

    # -- one layer ---------------------------------------------------------------------
    # Entropy parameters are evaluated only at the positions being coded (a position's
    # 1×1 parameter network and its 12 checkerboard taps, gathered), instead of running
    # the dense convolutions over the whole grid four times (2 passes × 2 layers): the
    # float64 work drops about 4×. Encoder and decoder call the very same functions.
    _CHUNK = 16384

    def _positions(self, m_lat: np.ndarray):
        h, w = m_lat.shape
        anchors = anchor_mask(h, w)[0, 0].numpy() > 0.5
        m_z = m_lat.reshape(h // HYPER_STRIDE, HYPER_STRIDE, w // HYPER_STRIDE, HYPER_STRIDE).any(axis=(1, 3))
        m_t = torch.from_numpy(m_lat.astype(np.float64)).view(1, 1, h, w).to(self.device)
        return m_t, m_z, np.flatnonzero(anchors & m_lat), np.flatnonzero(~anchors & m_lat)

    def _params_at(self, coder, hyper_flat: torch.Tensor, ctx_flat: torch.Tensor | None):
        """hyper_flat (n, 2M), ctx_flat (n, 2M) or None (anchors) -> means, scales (n, M)."""
        if ctx_flat is None:
            ctx_flat = torch.zeros_like(hyper_flat)
        h = torch.cat([hyper_flat, ctx_flat], dim=1)
        for layer in coder.params:
            if isinstance(layer, torch.nn.Conv2d):
                h = torch.nn.functional.linear(h, layer.weight[:, :, 0, 0], layer.bias)
            else:
                h = layer(h)
        means, scales = h.chunk(2, dim=1)
        return means, scales.abs().clamp_min(SCALE_MIN)

    def _context_at(self, coder, anchors_grid: torch.Tensor, flat_idx: np.ndarray, width: int) -> torch.Tensor:
        """Checkerboard context (n, 2M) at the given positions from a grid (M, h, w) holding
        the decoded anchors (zero elsewhere): the conv's non-zero taps, gathered."""
        conv = coder.context
        k = conv.kernel_size[0]
        c = k // 2
        taps = [(i, j) for i in range(k) for j in range(k) if conv.tap_mask[0, 0, i, j] > 0]
        padded = torch.nn.functional.pad(anchors_grid, (c, c, c, c))
        wp = width + 2 * c
        weight = torch.stack([conv.weight[:, :, i, j] for i, j in taps], dim=2)  # (2M, M, T)
        weight = weight.reshape(weight.shape[0], -1)  # (2M, M*T)
        flat = padded.reshape(padded.shape[0], -1)
        rows = torch.from_numpy(flat_idx // width).to(self.device)
        cols = torch.from_numpy(flat_idx % width).to(self.device)
        out = []
        for s0 in range(0, len(flat_idx), self._CHUNK):
            r, q = rows[s0 : s0 + self._CHUNK], cols[s0 : s0 + self._CHUNK]
            gathered = torch.stack([flat[:, (r + i) * wp + (q + j)] for i, j in taps], dim=1)  # (M, T, n)
            out.append(torch.nn.functional.linear(gathered.reshape(-1, gathered.shape[-1]).T, weight, conv.bias))
        return torch.cat(out) if out else torch.zeros(0, weight.shape[0], dtype=flat.dtype, device=self.device)

    def _hyper_and_anchor_params(self, coder, z_hat: np.ndarray, sel_a: np.ndarray):
        hyper = coder.h_s(torch.from_numpy(z_hat).unsqueeze(0).to(self.device))[0]
        hyper_flat = hyper.reshape(hyper.shape[0], -1).T  # (h*w, 2M)
        ia = torch.from_numpy(sel_a).to(self.device)
        means_a, scales_a = self._params_at(coder, hyper_flat[ia], None)
        return hyper_flat, means_a, scales_a

    @torch.no_grad()
    def encode_layer(self, name: str, y_s: torch.Tensor, m_lat: np.ndarray) -> LayerCode:
        coder, tables = self.coders[name], self.tables[name]
        m_t, m_z, sel_a, sel_n = self._positions(m_lat)
        h, w = m_lat.shape
        z = coder.h_a(y_s * m_t)[0].cpu().numpy()
        lo, hi = tables.lows[:, None, None], tables.highs[:, None, None]
        z_hat = np.clip(np.round(z), lo, hi) * m_z[None]
        hyper_bytes = coding.encode_hyper(z_hat[:, m_z].astype(np.int64), tables)
        hyper_flat, means_a, scales_a = self._hyper_and_anchor_params(coder, z_hat, sel_a)
        y_flat = y_s[0].reshape(y_s.shape[1], -1).T  # (h*w, M)
        ia, in_ = (torch.from_numpy(v).to(self.device) for v in (sel_a, sel_n))
        sym_a = torch.round(y_flat[ia] - means_a).clamp_(-Y_RANGE, Y_RANGE)
        y_hat_flat = torch.zeros_like(y_flat)
        y_hat_flat[ia] = sym_a + means_a
        grid = y_hat_flat.T.reshape(-1, h, w)
        means_n, scales_n = self._params_at(coder, hyper_flat[in_], self._context_at(coder, grid, sel_n, w))
        sym_n = torch.round(y_flat[in_] - means_n).clamp_(-Y_RANGE, Y_RANGE)
        y_hat_flat[in_] = sym_n + means_n
        enc = coding.LatentEncoder()
        for sym, scales in ((sym_a, scales_a), (sym_n, scales_n)):
            idx = scale_index(scales).T.cpu().numpy()  # channel-major order
            enc.push(sym.T.cpu().numpy().astype(np.int64), idx)
        y_hat = y_hat_flat.T.reshape(1, -1, h, w)
        return LayerCode(hyper_bytes, enc.finish(), y_hat)

    @torch.no_grad()
    def decode_layer(self, name: str, hyper_bytes: bytes, latent_bytes: bytes, m_lat: np.ndarray) -> torch.Tensor:
        coder, tables = self.coders[name], self.tables[name]
        _, m_z, sel_a, sel_n = self._positions(m_lat)
        h, w = m_lat.shape
        M = self.config.M
        z_hat = np.zeros((self.config.Nh, *m_z.shape), dtype=np.float64)
        z_hat[:, m_z] = coding.decode_hyper(hyper_bytes, int(m_z.sum()), tables)
        hyper_flat, means_a, scales_a = self._hyper_and_anchor_params(coder, z_hat, sel_a)
        dec = coding.LatentDecoder(latent_bytes)
        ia, in_ = (torch.from_numpy(v).to(self.device) for v in (sel_a, sel_n))
        y_hat_flat = torch.zeros(h * w, M, dtype=torch.float64, device=self.device)
        idx = scale_index(scales_a).T.cpu().numpy()
        sym = torch.from_numpy(dec.pull(idx).reshape(idx.shape)).to(self.device).double().T
        y_hat_flat[ia] = sym + means_a
        grid = y_hat_flat.T.reshape(M, h, w)
        means_n, scales_n = self._params_at(coder, hyper_flat[in_], self._context_at(coder, grid, sel_n, w))
        idx = scale_index(scales_n).T.cpu().numpy()
        sym = torch.from_numpy(dec.pull(idx).reshape(idx.shape)).to(self.device).double().T
        y_hat_flat[in_] = sym + means_n
        return y_hat_flat.T.reshape(1, M, h, w)


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
