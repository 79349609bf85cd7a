"""The `obic compare` and `obic bench` commands: argument parsing and printing only.

The work is :func:`obic_core.evaluation.compare.compare_image` and
:func:`obic_core.evaluation.bench.run_bench`, imported when the command runs (the codec
adapters and the bench are not needed to build the parser); errors are
:class:`~obic_core.errors.ObicError` subclasses that :mod:`obic_core.cli` turns into one line
on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from obic_core.errors import ObicInputError
from obic_core.evaluation.inputs import DEFAULT_BPP
from obic_core.rules import ALL_CODECS

if TYPE_CHECKING:
    from obic_core.evaluation.compare import CompareReport

_DEFAULT_BPP_TEXT = ",".join(f"{v:g}" for v in DEFAULT_BPP)


def register_cli(subparsers) -> None:
    """Add ``compare`` and ``bench`` (in that order) to the `obic` command's sub-parsers."""
    _register_compare(subparsers)
    _register_bench(subparsers)


# ------------------------------------------------------------------------------ obic compare


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


def _fmt(v: float | None, spec: str) -> str:
    from obic_core.evaluation.report import format_value

    return format_value(v, spec, missing="-", infinite="inf")


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
    from obic_core.cli.codec import resolve_mask
    from obic_core.evaluation.codecs.registry import parse_codecs
    from obic_core.evaluation.compare import compare_image
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


def _register_compare(subparsers) -> None:
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


# ------------------------------------------------------------------------------ obic bench


def _bpp_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise argparse.ArgumentTypeError("bpp values must be positive numbers")
    return values


def cmd_bench(args: argparse.Namespace) -> int:
    from obic_core.evaluation.bd import ANCHOR
    from obic_core.evaluation.bench import run_bench
    from obic_core.evaluation.codecs.registry import parse_codecs

    if args.workers < 1:
        raise ObicInputError("--workers must be at least 1")
    command = _command_line(args)
    doc = run_bench(
        args.source,
        args.out,
        parse_codecs(args.codecs),
        masks=args.masks,
        bpp=args.bpp,
        qualities=args.qualities,
        workers=args.workers,
        object_quality=args.object_quality,
        background_quality=args.background_quality,
        device=args.device,
        weights=str(args.weights) if args.weights else None,
        limit=args.limit,
        fresh=args.fresh,
        command=command,
    )
    for codec, row in doc["bd_rate"].items():
        cells = ", ".join(
            f"{m}: " + ("excluded" if e["bd_rate"] is None else f"{e['bd_rate']:+.1f} %") for m, e in row.items()
        )
        print(f"BD-rate vs {ANCHOR} — {codec}: {cells}")
    for codec, rows in doc.get("unreached", {}).items():
        cells = ", ".join(f"{r['target']:g} ({len(r['not_reached'])}/{r['images']} images above)" for r in rows)
        print(f"{codec} could not reach: {cells}")
    print(f"wrote {Path(args.out) / 'results.json'}, plots and README.md")
    if doc["errors"]:
        print(
            f"{len(doc['errors'])} point(s) failed, e.g. {doc['errors'][0]['key']}: "
            f"{doc['errors'][0]['error']}; rerun to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The command that regenerates these results (recorded in results.json and README.md)."""
    import shlex

    parts = ["obic", "bench", args.source]
    if args.masks:
        parts += ["--masks", args.masks]
    if args.codecs:
        parts += ["--codecs", *args.codecs]
    if args.bpp:
        parts += ["--bpp", ",".join(f"{b:g}" for b in args.bpp)]
    if args.qualities is not None:
        parts += ["--qualities", *args.qualities]
    parts += ["--out", args.out]
    if args.workers != 2:
        parts += ["--workers", str(args.workers)]
    if (args.object_quality, args.background_quality) != (0.8, 0.2):
        parts += [
            "--object-quality",
            f"{args.object_quality:g}",
            "--background-quality",
            f"{args.background_quality:g}",
        ]
    for flag, value in (
        ("--device", args.device if args.device != "cpu" else None),
        ("--weights", args.weights),
        ("--limit", args.limit),
    ):
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(str(p)) for p in parts)


def _register_bench(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark a data set: all codecs, RD plots, BD-rates (resumable)",
        description="Run every codec over a data set at the same target bpps (each searched to the "
        "largest file not above the target; or at native qualities), in parallel worker processes; "
        "finished points are cached in OUT/points.jsonl so an interrupted run resumes. Writes "
        "results.json, RD plots, README.md.",
    )
    p.add_argument("source", help="image folder, folder with images/ + masks/, or 'masks-val'")
    p.add_argument(
        "--masks",
        default=None,
        help="mask folder (same stems), auto (predict; cached in OUT/masks) or none "
        "(default: the data set's masks, else auto)",
    )
    p.add_argument("--codecs", nargs="+", default=None, help=f"default all: {' '.join(ALL_CODECS)}")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--bpp",
        type=_bpp_list,
        default=None,
        help=f"target bpps, comma-separated, every codec searched to each (default {_DEFAULT_BPP_TEXT})",
    )
    group.add_argument(
        "--qualities",
        nargs="*",
        default=None,
        metavar="CODEC=Q,...",
        help="sweep native quality settings instead (defaults per codec; override e.g. jpeg=5,10,20)",
    )
    p.add_argument("--out", required=True, help="results folder (resumes what it already holds)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2, 1 thread each)")
    p.add_argument("--object-quality", type=_quality, default=0.8)
    p.add_argument("--background-quality", type=_quality, default=0.2)
    p.add_argument("--device", default="cpu", help="obic device (default cpu)")
    p.add_argument("--weights", default=None, help="codec weight file (default: the shipped one)")
    p.add_argument(
        "--limit", type=int, default=None, help="only N images, evenly spaced over the set (smoke runs, subsets)"
    )
    p.add_argument("--fresh", action="store_true", help="ignore and discard cached points")
    p.set_defaults(func=cmd_bench)
