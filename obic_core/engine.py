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
from pathlib import Path
from typing import cast

import numpy as np
import torch

from obic_core import range_coder as coding
from obic_core.errors import ObicDeviceError, ObicWeightsError
from obic_core.nn.layer_codec import LayerCode, LayerCodec
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
        codecs = {n: cast(LayerCodec, model.codecs[n]) for n in LAYERS}  # a ModuleDict types its items as Module
        self.coders = {n: copy.deepcopy(c).double().to(self.device).eval() for n, c in codecs.items()}
        self.log_gain = model.log_gain.detach().double().to(self.device)
        self.log_inv_gain = model.log_inv_gain.detach().double().to(self.device)
        self.tables = {n: coding.HyperTables(*c.z_density.probability_tables()) for n, c in codecs.items()}
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

    # -- one layer: the float64 copy of its LayerCodec does the coding ---------------------
    def encode_layer(self, name: str, y_s: torch.Tensor, m_lat: np.ndarray) -> LayerCode:
        """Range-code one layer's scaled latents (see :class:`~obic_core.nn.layer_codec.LayerCodec`)."""
        return self.coders[name].compress(y_s, m_lat, self.tables[name])

    def decode_layer(self, name: str, hyper_bytes: bytes, latent_bytes: bytes, m_lat: np.ndarray) -> torch.Tensor:
        """Decode one layer's streams to its scaled latents ŷ (zero outside the layer)."""
        return self.coders[name].decompress(hyper_bytes, latent_bytes, m_lat, self.tables[name], self.device)


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
