"""Same image, same file size, every codec: the engine behind the GUI's compare view and `obic compare`.

Each codec is driven to the largest file not above the target bpp (:meth:`Codec.at_bpp`),
decoded, and scored by :func:`obic_core.metrics.image_metrics` against the same mask, so the
rows differ only in the codec. A codec that cannot get down to the target keeps its smallest
file and says ``reached: false`` rather than being shown at a larger size unnoticed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from obic_core.baselines import ALL_CODECS, ObicCancelled, get_codec, parse_codecs
from obic_core.errors import ObicInputError
from obic_core.metrics import image_metrics, timed

__all__ = ["ALL_CODECS", "CompareReport", "CompareResult", "available_codecs", "compare_image", "register_cli"]

Progress = Callable[[str, float], None] | None


@dataclass
class CompareResult:
    codec: str
    bpp: float
    bytes: int
    psnr: float | None
    ms_ssim: float | None
    object_psnr: float | None
    background_psnr: float | None
    object_ms_ssim: float | None
    encode_s: float
    decode_s: float
    reached: bool
    quality: float  # the codec's native setting that produced the file
    image: np.ndarray  # the reconstruction, (H, W, 3) uint8
    data: bytes  # the compressed file
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
            write_png(out / png, r.image)
            write_bytes_atomic(out / stream, r.data)
        doc = self.to_json()
        if self.mask is not None:
            write_png(out / doc["mask"], np.where(self.mask, 255, 0).astype(np.uint8)[..., None].repeat(3, 2))
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
        write_bytes_atomic(Path(json_path) if json_path else out / "compare.json", text.encode())
        return doc


def available_codecs() -> tuple[str, ...]:
    """The codecs of :data:`ALL_CODECS` whose libraries this installation has.

    Pillow builds differ (AVIF and JPEG 2000 are optional plugins, pillow-heif may lack x265),
    so the GUI offers only what will run instead of failing mid-comparison.
    """
    from PIL import features

    have = {
        "obic": True,
        "obic-single": True,
        "jpeg": True,
        "jpeg2000": bool(features.check("jpg_2000")),
        "avif": bool(features.check("avif")),
        "webp": bool(features.check("webp")),
    }
    try:
        import pillow_heif

        have["hevc"] = bool(pillow_heif.libheif_info().get("HEIF"))
    except (ImportError, AttributeError):
        have["hevc"] = False
    return tuple(c for c in ALL_CODECS if have.get(c))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


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
    progress: Progress = None,
    cancel: Callable[[], bool] | None = None,
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
    report = progress or (lambda stage, fraction: None)
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


# ------------------------------------------------------------------------------ CLI


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError("must be a positive number")
    return v


def _quality(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("quality must be between 0 and 1")
    return v


def _fmt(v, spec: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return format(v, spec)


def format_table(report: CompareReport) -> str:
    """The report as a fixed-width text table (what `obic compare` prints)."""
    head = (
        f"{'codec':12s} {'bpp':>7s} {'bytes':>7s} {'PSNR':>6s} {'MS-SSIM':>7s} {'obj PSNR':>8s} "
        f"{'bkg PSNR':>8s} {'obj MS':>7s} {'enc s':>6s} {'dec s':>6s}  reached"
    )
    lines = [f"{report.image_name}: {report.width}×{report.height}, target {report.target_bpp:g} bpp", head]
    for r in report.results:
        lines.append(
            f"{r.codec:12s} {r.bpp:7.4f} {r.bytes:7d} {_fmt(r.psnr, '6.2f')} "
            f"{_fmt(r.ms_ssim, '7.4f')} "
            f"{_fmt(r.object_psnr, '8.2f')} {_fmt(r.background_psnr, '8.2f')} "
            f"{_fmt(r.object_ms_ssim, '7.4f')} {r.encode_s:6.2f} {r.decode_s:6.2f}  "
            f"{'yes' if r.reached else 'NO'}"
        )
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    from obic_core.codec_cli import resolve_mask
    from obic_core.imageio import read_image

    loaded = read_image(args.image)
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ObicInputError(f"{out_dir} exists and is not a folder")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise ObicInputError(f"folder of --json {args.json} does not exist")
    mask = resolve_mask(args.mask, loaded.pixels)
    codecs = parse_codecs(args.codecs)

    def progress(stage: str, fraction: float) -> None:
        if not args.quiet and stage != "done":
            print(f"[{fraction * 100:3.0f}%] {stage} …", file=sys.stderr)

    report = compare_image(
        loaded.pixels,
        mask,
        args.target_bpp,
        codecs,
        args.object_quality,
        args.background_quality,
        args.device,
        progress,
        weights=str(args.weights) if args.weights else None,
        image_name=Path(args.image).name,
    )
    report.save(out_dir, args.json)
    print(format_table(report))
    print(f"wrote {len(report.results)} reconstructions and {args.json or out_dir / 'compare.json'}")
    return 0


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="every codec at the same bpp on one image (PNGs + JSON)",
        description="Encode IMAGE with every codec at the largest file not above --target-bpp, "
        "decode, score (PSNR, MS-SSIM, object/background PSNR) and write each "
        "reconstruction as PNG plus a JSON report.",
    )
    p.add_argument("image", help="input photo")
    p.add_argument("--target-bpp", type=_positive, required=True, help="file size budget in bits per pixel")
    p.add_argument(
        "--mask",
        default="auto",
        help="auto (predict), none (single layer, no region metrics) or a mask PNG (default auto)",
    )
    p.add_argument("--object-quality", type=_quality, default=0.8, help="obic object q in [0, 1] (default 0.8)")
    p.add_argument(
        "--background-quality",
        type=_quality,
        default=0.2,
        help="obic background q in [0, 1] (default 0.2); at the target their difference is kept",
    )
    p.add_argument(
        "--codecs",
        nargs="+",
        default=None,
        help=f"codecs to run (names or comma lists; default all: {' '.join(ALL_CODECS)})",
    )
    p.add_argument("--out-dir", required=True, help="folder for reconstructions and compare.json")
    p.add_argument("--json", default=None, help="write the JSON here instead of OUT_DIR/compare.json")
    p.add_argument("--device", default="auto", help="obic device: auto, cpu, cuda")
    p.add_argument("--weights", default=None, help="codec weight file (default: the shipped one)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_compare)
