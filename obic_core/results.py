"""The result types of obic_core's public calls, in a module that imports nothing but numpy.

They are defined here, not beside the code that fills them (``codec``, ``evaluation.compare``,
``rate_estimate``, which re-export them), because results cross process boundaries by
pickling, and unpickling an object imports the module its class is defined in. The GUI runs
codec work in a worker process and must never import torch: holding these classes in a module
that is torch-free by construction (an import-linter contract in ``pyproject.toml`` keeps it
so) lets every floor — CLI, bench, GUI — use the one type instead of a mirror of it.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["CompareResult", "LayerInfo", "Layout", "QualityMapInfo", "SizeEstimate"]


# -- a .obic file's layout (codec.inspect) ------------------------------------------------------
@dataclass
class LayerInfo:
    """One coded layer's sub-stream: its bytes, of which latent words and hyper words (+ length)."""

    bytes: int
    latent_bytes: int
    hyper_bytes: int


@dataclass
class QualityMapInfo:
    """The block quality map a v2 file stores: its bytes and its min / mean / max quality."""

    bytes: int
    min: float
    mean: float
    max: float


@dataclass
class Layout:
    """What :func:`obic_core.codec.inspect` says about a .obic stream (``obic info``)."""

    width: int
    height: int
    model_name: str
    model_id: str
    object_quality: float
    background_quality: float
    file_bytes: int
    header_bytes: int
    mask_bytes: int
    layers: dict[str, LayerInfo]
    full_mask: bool = False
    version: int = 1
    quality_map: QualityMapInfo | None = None

    @property
    def bpp(self) -> float:
        return self.file_bytes * 8 / (self.width * self.height)

    def parts_bytes(self) -> dict[str, int]:
        """Bytes of each part of the stream: ``header``, ``mask`` and ``{layer}_latent`` /
        ``{layer}_hyper`` for both layers (0 for a layer the file lacks), so a chart of where
        the bits go always has the same bars."""
        out = {"header": self.header_bytes, "mask": self.mask_bytes}
        for name in ("object", "background"):
            info = self.layers.get(name)
            out[f"{name}_latent"] = info.latent_bytes if info else 0
            out[f"{name}_hyper"] = info.hyper_bytes if info else 0
        return out

    def to_json(self) -> dict:
        px = self.width * self.height
        layers = {"mask": {"bytes": self.mask_bytes, "bpp": self.mask_bytes * 8 / px}}
        for name, info in self.layers.items():
            layers[name] = {
                "bytes": info.bytes,
                "bpp": info.bytes * 8 / px,
                "latent_bytes": info.latent_bytes,
                "hyper_bytes": info.hyper_bytes,
            }
        return {
            "width": self.width,
            "height": self.height,
            "file_bytes": self.file_bytes,
            "bpp": self.bpp,
            "header_bytes": self.header_bytes,
            "qualities": {"object": self.object_quality, "background": self.background_quality},
            "model": {"name": self.model_name, "id": self.model_id},
            "full_mask": self.full_mask,
            "version": self.version,
            "quality_map": None if self.quality_map is None else asdict(self.quality_map),
            "layers": layers,
        }


# -- one codec on one image (evaluation.compare) ------------------------------------------------
@dataclass
class CompareResult:
    """One codec's file for an image, its reconstruction and its measured figures.

    Only the codec, the size and the rate are needed: a row that was not measured (an opened
    .obic has no original to score against) leaves the scores None. ``image``, ``data`` and
    ``extension`` are what "export this result" writes.
    """

    codec: str
    bpp: float
    bytes: int
    psnr: float | None = None
    ms_ssim: float | None = None
    object_psnr: float | None = None
    background_psnr: float | None = None
    object_ms_ssim: float | None = None
    encode_s: float | None = None
    decode_s: float | None = None
    reached: bool = True  # False: the codec could not get down to the target; its smallest file
    #: the codec's native setting that produced the file; OBIC files made with two layer
    #: qualities say both, (object, background)
    quality: float | tuple[float, float] | None = None
    image: np.ndarray | None = None  # the reconstruction, (H, W, 3) uint8
    data: builtins.bytes | None = None  # the compressed file (builtins.: the field ``bytes`` shadows the type)
    extension: str = "bin"  # of the compressed file (obic, heic, j2k, ...)
    extra: dict = field(default_factory=dict)  # e.g. hevc HEIF vs payload size, obic layer bpp

    def to_json(self, file: str | None = None, stream: str | None = None) -> dict:
        out = {
            "codec": self.codec,
            "bpp": self.bpp,
            "bytes": self.bytes,
            "psnr": self.psnr,
            "ms_ssim": self.ms_ssim,
            "object_psnr": self.object_psnr,
            "background_psnr": self.background_psnr,
            "object_ms_ssim": self.object_ms_ssim,
            "encode_s": self.encode_s,
            "decode_s": self.decode_s,
            "reached": self.reached,
            "file": file,
            "quality": self.quality,
            "stream": stream,
        }
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return _finite(out)


def _finite(value):
    """``value`` with non-finite floats (the PSNR of a lossless result) as None, for strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# -- the live size estimate (rate_estimate) -----------------------------------------------------
@dataclass
class SizeEstimate:
    """The entropy model's prediction of the file size for a quality grid (no range coding)."""

    total_bytes: int
    layer_bytes: dict[str, float]  # object / background (latents + hyper latents)
    side_bytes: int  # header, mask and quality-map sub-streams
    block_bits: np.ndarray  # (rows, cols) bits attributed to each 16×16 block
    #: (rows, cols) bool: the blocks the object layer codes (the estimator's coded mask), so a
    #: caller can split the bits by region without running the block rule itself
    coded: np.ndarray | None = None
    seconds: float = 0.0  # the estimate itself
    prepare_seconds: float = 0.0  # analysing the image first (0 when an earlier analysis was reused)

    def share(self, region: np.ndarray) -> float:
        """Share of the layers' bits spent in a boolean (rows, cols) block region."""
        total = float(self.block_bits.sum())
        return float(self.block_bits[region].sum()) / total if total > 0 else 0.0
