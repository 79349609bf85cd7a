"""Entropy coding with constriction's range coder: symbols + model parameters <-> bytes.

Three kinds of streams:

* hyper latents ``z``: one categorical table per channel (from
  :meth:`FactorizedDensity.probability_tables`), symbols offset by the channel's low end;
* latents ``y``: zero-mean quantized Gaussians whose standard deviation is an entry of the
  fixed :data:`~obic_core.nn.entropy.SCALE_TABLE` (the symbol is ``round(y − mean)``, so the
  probability model never depends on a floating-point mean);
* the latent-grid mask: an adaptive binary model with a 4-neighbour context (≈1 bit per
  8–20 positions for blob-like masks).

Only numpy arrays cross this boundary; no torch here.
"""

from __future__ import annotations

from typing import TypeAlias

import constriction
import numpy as np

from obic_core.errors import ObicFormatError
from obic_core.nn.entropy import SCALE_TABLE, Y_RANGE

# constriction is a compiled module whose submodules are attributes, not importable paths
Categorical = constriction.stream.model.Categorical
QuantizedGaussian = constriction.stream.model.QuantizedGaussian
RangeEncoder: TypeAlias = constriction.stream.queue.RangeEncoder
RangeDecoder: TypeAlias = constriction.stream.queue.RangeDecoder


def _to_bytes(encoder: RangeEncoder) -> bytes:
    return encoder.get_compressed().astype("<u4").tobytes()


def _decoder(data: bytes) -> RangeDecoder:
    if len(data) % 4:
        raise ObicFormatError("entropy-coded stream length is not a multiple of 4 bytes")
    return RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))


class HyperTables:
    """Per-channel categorical models for z, built once per loaded model."""

    def __init__(self, lows: np.ndarray, highs: np.ndarray, probs: np.ndarray) -> None:
        self.lows = lows.astype(np.int64)
        self.highs = highs.astype(np.int64)
        self.models = [
            Categorical(self._table(probs[c, : highs[c] - lows[c] + 1]), perfect=False) for c in range(len(lows))
        ]

    @staticmethod
    def _table(p: np.ndarray) -> np.ndarray:
        # constriction needs at least two symbols; a channel whose density collapsed to one
        # value gets a never-used second entry (the encoder clamps to [low, high]).
        p = np.asarray(p, dtype=np.float64).copy()
        return p if len(p) >= 2 else np.append(p, 0.0)


def encode_hyper(symbols: np.ndarray, tables: HyperTables) -> bytes:
    """symbols: (C, n) int, already clamped to each channel's [low, high]."""
    enc = RangeEncoder()
    for c, model in enumerate(tables.models):
        if symbols.shape[1]:
            enc.encode((symbols[c] - tables.lows[c]).astype(np.int32), model)
    return _to_bytes(enc)


def decode_hyper(data: bytes, count: int, tables: HyperTables) -> np.ndarray:
    dec = _decoder(data)
    out = np.zeros((len(tables.models), count), dtype=np.int64)
    try:
        for c, model in enumerate(tables.models):
            if count:
                out[c] = dec.decode(model, count).astype(np.int64) + tables.lows[c]
    except Exception as exc:  # noqa: BLE001 — constriction reports damaged data with several exception types
        raise ObicFormatError(f"hyper-latent stream is damaged ({exc})") from None
    return out


_GAUSSIAN = QuantizedGaussian(-Y_RANGE, Y_RANGE)


class LatentEncoder:
    """Collects y symbols in decoding order (anchors, then non-anchors) into one stream."""

    def __init__(self) -> None:
        self._enc = RangeEncoder()

    def push(self, symbols: np.ndarray, scale_idx: np.ndarray) -> None:
        if symbols.size:
            stds = SCALE_TABLE[scale_idx.astype(np.int64).ravel()]
            self._enc.encode(symbols.astype(np.int32).ravel(), _GAUSSIAN, np.zeros_like(stds), stds)

    def finish(self) -> bytes:
        return _to_bytes(self._enc)


class LatentDecoder:
    def __init__(self, data: bytes) -> None:
        self._dec = _decoder(data)

    def pull(self, scale_idx: np.ndarray) -> np.ndarray:
        if not scale_idx.size:
            return np.zeros(0, dtype=np.int64)
        stds = SCALE_TABLE[scale_idx.astype(np.int64).ravel()]
        try:
            return self._dec.decode(_GAUSSIAN, np.zeros_like(stds), stds).astype(np.int64)
        except Exception as exc:  # noqa: BLE001 — (as in decode_hyper) any failure here is damaged data
            raise ObicFormatError(f"latent stream is damaged ({exc})") from None


# -- latent-grid mask -------------------------------------------------------------------
_CONTEXTS = 16


def _context(grid: np.ndarray, r: int, c: int) -> int:
    h, w = grid.shape
    left = grid[r, c - 1] if c > 0 else 0
    up = grid[r - 1, c] if r > 0 else 0
    ul = grid[r - 1, c - 1] if r > 0 and c > 0 else 0
    ur = grid[r - 1, c + 1] if r > 0 and c + 1 < w else 0
    return int(left) | int(up) << 1 | int(ul) << 2 | int(ur) << 3


def _probabilities(counts: np.ndarray) -> np.ndarray:
    return (counts + 0.4) / (counts.sum() + 0.8)


def encode_mask_grid(grid: np.ndarray) -> bytes:
    """Lossless, context-adaptive coding of a small binary grid (raster order)."""
    grid = np.asarray(grid, dtype=np.uint8)
    counts = np.zeros((_CONTEXTS, 2), dtype=np.float64)
    enc = RangeEncoder()
    h, w = grid.shape
    for r in range(h):
        for c in range(w):
            ctx = _context(grid, r, c)
            bit = int(grid[r, c])
            enc.encode(bit, Categorical(_probabilities(counts[ctx]), perfect=False))
            counts[ctx, bit] += 1
    return _to_bytes(enc)


def decode_mask_grid(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    dec = _decoder(data)
    h, w = shape
    grid = np.zeros((h, w), dtype=np.uint8)
    counts = np.zeros((_CONTEXTS, 2), dtype=np.float64)
    try:
        for r in range(h):
            for c in range(w):
                ctx = _context(grid, r, c)
                bit = int(dec.decode(Categorical(_probabilities(counts[ctx]), perfect=False)))
                grid[r, c] = bit
                counts[ctx, bit] += 1
    except Exception as exc:  # noqa: BLE001 — (as in decode_hyper) any failure here is damaged data
        raise ObicFormatError(f"mask stream is damaged ({exc})") from None
    return grid.astype(bool)
