"""Plain dataclasses that worker tasks hand to the GUI (no Qt, no torch).

Tasks convert obic_core's own result types into these before returning, for two reasons:
results cross a process boundary by pickling, and unpickling a class defined in
``obic_core.codec`` would import torch into the GUI process — the one thing it must not do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: bar order and captions of the "bits per layer" chart
BIT_PARTS = (
    ("object_latent", "object latent"),
    ("object_hyper", "object hyper"),
    ("background_latent", "background latent"),
    ("background_hyper", "background hyper"),
    ("mask", "mask"),
    ("header", "header"),
)


@dataclass
class LayerBits:
    bytes: int
    latent_bytes: int
    hyper_bytes: int


@dataclass
class QualityMapBits:
    """The block quality map a v2 .obic stores: its bytes and min / mean / max quality."""

    bytes: int
    min: float
    mean: float
    max: float


@dataclass
class StreamLayout:
    """What ``obic_core.codec.inspect`` says about a .obic stream."""

    width: int
    height: int
    file_bytes: int
    header_bytes: int
    mask_bytes: int
    layers: dict[str, LayerBits] = field(default_factory=dict)
    model_name: str = ""
    object_quality: float | None = None
    background_quality: float | None = None
    quality_map: QualityMapBits | None = None  # v2 files: the per-block quality map

    @property
    def bpp(self) -> float:
        return self.file_bytes * 8.0 / max(1, self.width * self.height)

    def parts_bytes(self) -> dict[str, int]:
        """Bytes of each part of the stream, keyed like :data:`BIT_PARTS`."""
        out = {"header": self.header_bytes, "mask": self.mask_bytes}
        for name in ("object", "background"):
            info = self.layers.get(name)
            out[f"{name}_latent"] = info.latent_bytes if info else 0
            out[f"{name}_hyper"] = info.hyper_bytes if info else 0
        return out


@dataclass
class CodecFigures:
    """One codec's reconstruction of the current image and its measured figures."""

    codec: str
    bytes: int
    bpp: float
    psnr: float | None = None
    ms_ssim: float | None = None
    object_psnr: float | None = None
    background_psnr: float | None = None
    object_ms_ssim: float | None = None
    encode_s: float | None = None
    decode_s: float | None = None
    reached: bool = True
    #: the codec's own setting (see quality.fmt_quality); OBIC: (object q, background q)
    quality: float | str | tuple[float, float] | None = None
    image: np.ndarray | None = None  # (H, W, 3) uint8 reconstruction
    #: the compressed file itself and its extension (obic, heic, jpg, …): what "export this side" writes
    data: bytes | None = None
    extension: str = "bin"


@dataclass
class EncodeOutcome:
    """The result of "Encode": the .obic stream, its layout and every codec's figures."""

    data: bytes
    layout: StreamLayout
    figures: list[CodecFigures]  # "obic" first, then the compared codecs
    target_bpp: float
    object_quality: float
    background_quality: float
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)  # e.g. a codec that was skipped, and why

    def figure(self, codec: str) -> CodecFigures | None:
        return next((f for f in self.figures if f.codec == codec), None)


@dataclass
class DecodeOutcome:
    """A decoded .obic (or some of its layers)."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray | None  # (H, W) bool, when the stream carries one
    layers: tuple[str, ...]
    alpha: np.ndarray | None  # (H, W) uint8, 255 where decoded (one layer only)
    layout: StreamLayout
    decode_s: float | None = None
    quality_steps: np.ndarray | None = None  # v2 files: (rows, cols) uint8 block steps, q = k / 60


@dataclass
class RDPoint:
    bpp: float
    psnr: float | None
    ms_ssim: float | None
    object_psnr: float | None


@dataclass
class SweepOutcome:
    """Rate–distortion points of the current image, per codec, for the RD plot."""

    curves: dict[str, list[RDPoint]]
    targets: list[float]


@dataclass
class ProbeOutcome:
    """What the worker can do: shown in the rate panel once it has started."""

    devices: list[str]
    codecs: list[str]
    seg_methods: list[str]
    torch_version: str = ""
    problem: str | None = None  # e.g. missing weights: shown before anyone presses Encode


@dataclass
class LoadedDocument:
    """An image file read on the io lane."""

    path: str
    image: np.ndarray
    notes: list[str] = field(default_factory=list)


@dataclass
class SizeEstimate:
    """The entropy model's prediction of the file size for a quality grid (no coding)."""

    total_bytes: int
    layer_bytes: dict[str, float]  # object / background
    side_bytes: int  # header, mask and quality-map sub-streams
    block_bits: np.ndarray | None  # (rows, cols) float32 bits attributed to each 16×16 block
    seconds: float = 0.0  # the estimate itself, in the worker
    prepare_seconds: float = 0.0  # analysing this image and mask first (0 when cached)
    missing: bool = False  # the worker no longer holds this image: send it again
    coded: np.ndarray | None = None  # (rows, cols) bool: the blocks coded in the object layer
