"""What a GUI job hands back when obic_core has no type for it (no Qt, no torch).

A task's answer crosses the worker's process boundary by pickling, and the GUI process
unpickles it, which imports the module of every class inside. So these bundles hold only
numpy arrays, plain values and obic_core's own result types from :mod:`obic_core.results`
(torch-free by contract) — never a mirror of those types: a codec's figures are a
:class:`~obic_core.results.CompareResult`, a stream's layout a :class:`~obic_core.results.Layout`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from obic_core.results import CompareResult, Layout


@dataclass
class EncodeOutcome:
    """The result of "Encode": the .obic stream, its layout and every codec's figures."""

    data: bytes
    layout: Layout
    figures: list[CompareResult]  # "obic" first, then the compared codecs
    target_bpp: float
    object_quality: float
    background_quality: float
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)  # e.g. a codec that was skipped, and why

    def figure(self, codec: str) -> CompareResult | None:
        return next((f for f in self.figures if f.codec == codec), None)


@dataclass
class DecodeOutcome:
    """A decoded .obic (or some of its layers)."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray | None  # (H, W) bool, when the stream carries one
    layers: tuple[str, ...]
    alpha: np.ndarray | None  # (H, W) uint8, 255 where decoded (one layer only)
    layout: Layout
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
