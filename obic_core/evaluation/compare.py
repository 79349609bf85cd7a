"""Same image, same file size, every codec: the engine behind the GUI's compare view and `obic compare`.

Each codec is driven to the largest file not above the target bpp (:meth:`CodecAdapter.at_bpp`),
decoded, and scored by :func:`obic_core.evaluation.metrics.image_metrics` against the same mask, so the
rows differ only in the codec. A codec that cannot get down to the target keeps its smallest
file and says ``reached: false`` rather than being shown at a larger size unnoticed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from obic_core.errors import ObicCancelled, ObicInputError
from obic_core.evaluation.codecs.registry import get_codec, parse_codecs
from obic_core.evaluation.metrics import image_metrics, timed
from obic_core.progress import Cancel, Progress, ignore_progress
from obic_core.results import CompareResult
from obic_core.rules import ALL_CODECS

__all__ = ["CompareReport", "CompareResult", "compare_image", "compare_one"]


@dataclass
class CompareReport:
    image_name: str
    width: int
    height: int
    target_bpp: float
    results: list[CompareResult]
    mask: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def file_names(self, result: CompareResult) -> tuple[str, str]:
        """(reconstruction PNG, compressed file) names used inside an output folder."""
        stem = Path(self.image_name).stem or "image"
        return f"{stem}_{result.codec}.png", f"{stem}_{result.codec}.{result.extension}"

    def to_json(self, with_files: bool = True) -> dict:
        """The documented JSON (``file`` is relative to the output folder).

        Non-finite numbers (PSNR of a lossless result) become null, so strict JSON readers
        accept the file; the GUI reads the same structure.
        """
        rows = []
        for r in self.results:
            png, stream = self.file_names(r) if with_files else (None, None)
            rows.append(r.to_json(png, stream))
        stem = Path(self.image_name).stem or "image"
        return {
            "image": self.image_name,
            "width": self.width,
            "height": self.height,
            "target_bpp": self.target_bpp,
            "mask": f"{stem}_mask.png" if with_files and self.mask is not None else None,
            "notes": list(self.notes),
            "results": rows,
        }

    def save(self, out_dir: str | Path, json_path: str | Path | None = None) -> dict:
        """Write every reconstruction (PNG), compressed file, the mask and the JSON."""
        from obic_core.imageio import write_bytes_atomic, write_png

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for r in self.results:
            png, stream = self.file_names(r)
            if r.image is not None:  # compare_one always measures both; a hand-made row may not
                write_png(out / png, r.image)
            if r.data is not None:
                write_bytes_atomic(out / stream, r.data)
        doc = self.to_json()
        if self.mask is not None:
            write_png(out / doc["mask"], np.where(self.mask, 255, 0).astype(np.uint8)[..., None].repeat(3, 2))
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
        write_bytes_atomic(Path(json_path) if json_path else out / "compare.json", text.encode())
        return doc


def compare_one(
    name: str,
    image: np.ndarray,
    mask: np.ndarray | None,
    target_bpp: float,
    *,
    object_quality: float = 0.8,
    background_quality: float = 0.2,
    device: str = "auto",
    weights=None,
    threads: int | None = None,
    cancel=None,
) -> CompareResult:
    """One codec at the target: search, decode (timed), score."""
    adapter = get_codec(
        name,
        mask=mask,
        object_quality=object_quality,
        background_quality=background_quality,
        device=device,
        weights=weights,
        threads=threads,
    )
    enc = adapter.at_bpp(image, target_bpp, cancel=cancel)
    decoded, decode_s = timed(lambda: adapter.decode(enc.data))
    m = image_metrics(image, decoded, mask)
    extra = {k: v for k, v in enc.extra.items()}
    return CompareResult(
        name,
        enc.bpp,
        enc.bytes,
        m["psnr"],
        m["ms_ssim"],
        m["object_psnr"],
        m["background_psnr"],
        m["object_ms_ssim"],
        enc.encode_s,
        decode_s,
        enc.reached,
        enc.quality,
        decoded,
        enc.data,
        adapter.extension,
        extra,
    )


def compare_image(
    image: np.ndarray,
    mask: np.ndarray | None,
    target_bpp: float,
    codecs: Sequence[str] = ALL_CODECS,
    object_quality: float = 0.8,
    background_quality: float = 0.2,
    device: str = "auto",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    weights=None,
    image_name: str = "image",
) -> CompareReport:
    """Every codec at the same target bpp, scored the same way (see module docstring).

    ``progress(stage, fraction)`` is called before each codec and at the end; ``cancel()``
    is polled between real encodes and raises :class:`~obic_core.errors.ObicCancelled`.
    Without a mask, ``obic`` codes one layer (like ``obic-single``) and region metrics are None.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ObicInputError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    if not (isinstance(target_bpp, int | float) and math.isfinite(target_bpp) and target_bpp > 0):
        raise ObicInputError(f"target bpp must be a positive number, got {target_bpp}")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != image.shape[:2]:
            raise ObicInputError(
                f"mask is {mask.shape[1]}×{mask.shape[0]} but the image is "
                f"{image.shape[1]}×{image.shape[0]}; they must match"
            )
    codecs = parse_codecs(list(codecs))
    report = progress or ignore_progress
    notes = []
    if mask is None and "obic" in codecs:
        notes.append("no mask: obic codes a single layer (same as obic-single); no region metrics")
    results = []
    for i, name in enumerate(codecs):
        if cancel is not None and cancel():
            raise ObicCancelled("comparison cancelled")
        report(name, i / len(codecs))
        results.append(
            compare_one(
                name,
                image,
                mask,
                target_bpp,
                object_quality=object_quality,
                background_quality=background_quality,
                device=device,
                weights=weights,
                cancel=cancel,
            )
        )
        if not results[-1].reached:
            notes.append(
                f"{name} cannot get down to {target_bpp:g} bpp on this image; "
                f"its smallest file ({results[-1].bpp:.4f} bpp) is shown"
            )
    if "hevc" in codecs:
        notes.append("hevc bpp counts the HEVC payload (what BPG would store); heif_bpp is the whole .heic file")
    report("done", 1.0)
    h, w = image.shape[:2]
    return CompareReport(image_name, w, h, float(target_bpp), results, mask, notes)
