"""Encode/decode seconds per image for every codec, side by side, one at a time on this CPU.

    python bench/speed.py ../shared/data/kodak --bpp 0.25 --out bench/results/kodak

Why a separate script: ``obic bench`` times points inside parallel workers next to each other,
which is right for throughput but blurs per-codec latency. Here every codec runs in this one
process with one thread (torch, x265, AVIF), images in turn and codecs interleaved per image,
so background load hits all codecs alike. For each image and codec the setting for the target
bpp is found first (not timed); then the encode at exactly that setting and the decode are
each timed ``--repeats`` times and the fastest kept (the usual way to strip scheduler noise).
The table reports the median over images and the mean.

Writes ``speed.md`` and ``speed.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from obic_core.datasets import list_images
from obic_core.evaluation.codecs.registry import ALL_CODECS, get_codec, parse_codecs
from obic_core.evaluation.metrics import timed
from obic_core.imageio import read_image, read_mask, write_bytes_atomic


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of(fn, repeats: int) -> float:
    return min(timed(fn)[1] for _ in range(repeats))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", help="folder of images (e.g. ../shared/data/kodak)")
    ap.add_argument("--bpp", type=float, default=0.25, help="target bpp the settings are chosen for")
    ap.add_argument("--codecs", nargs="+", default=None, help=f"default: {' '.join(ALL_CODECS)}")
    ap.add_argument(
        "--masks",
        default=None,
        help="folder of masks for obic (same stems; e.g. bench/results/kodak/masks), "
        "'auto' to predict, 'none' (obic single layer); "
        "default: OUT/masks if present, else auto",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", required=True, help="folder for speed.md and speed.json")
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    codecs = parse_codecs(args.codecs)
    images = list_images(Path(args.images))[: args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mask_dir = Path(args.masks) if args.masks not in (None, "auto", "none") else out / "masks"
    load_before = os.getloadavg()[0]
    times: dict[str, dict[str, list[float]]] = {c: {"encode_s": [], "decode_s": [], "bpp": []} for c in codecs}
    started = time.time()
    for n, path in enumerate(images, 1):
        pixels = read_image(path).pixels
        mask_path = mask_dir / f"{path.stem}.png"
        if args.masks == "none":
            mask = None
        elif args.masks != "auto" and mask_path.exists():
            mask = read_mask(mask_path, pixels.shape[:2])
        else:
            from obic_core.segmentation import predict_mask

            mask = np.asarray(predict_mask(pixels, "auto"), dtype=bool)
        for name in codecs:
            adapter = get_codec(name, mask=mask, device=args.device, weights=args.weights, threads=1)
            enc = adapter.at_bpp(pixels, args.bpp)
            enc_s = best_of(lambda a=adapter, e=enc, p=pixels: a.reencode(p, e), args.repeats)
            dec_s = best_of(lambda a=adapter, e=enc: a.decode(e.data), args.repeats)
            times[name]["encode_s"].append(enc_s)
            times[name]["decode_s"].append(dec_s)
            times[name]["bpp"].append(enc.bpp)
        print(f"[{n}/{len(images)}] {path.name}", file=sys.stderr)

    rows = {
        c: {
            "encode_s_median": statistics.median(t["encode_s"]),
            "encode_s_mean": statistics.fmean(t["encode_s"]),
            "decode_s_median": statistics.median(t["decode_s"]),
            "decode_s_mean": statistics.fmean(t["decode_s"]),
            "bpp_mean": statistics.fmean(t["bpp"]),
            "per_image": t,
        }
        for c, t in times.items()
    }
    h, w = read_image(images[0]).pixels.shape[:2]
    doc = {
        "images": len(images),
        "folder": str(args.images),
        "first_image_size": [w, h],
        "target_bpp": args.bpp,
        "repeats": args.repeats,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "threads": 1,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg()[0],
        "wall_s": time.time() - started,
        "codecs": rows,
        "command": "python bench/speed.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    write_bytes_atomic(out / "speed.json", (json.dumps(doc, indent=1) + "\n").encode())
    lines = [
        f"# Speed: seconds per image ({len(images)} images, {w}×{h} first), one thread",
        "",
        f"CPU: {doc['cpu']} ({doc['cores']} cores); load average {load_before:.1f} before, "
        f"{doc['loadavg_after']:.1f} after (other work on the machine slows every codec alike). "
        f"Settings chosen for {args.bpp:g} bpp; fastest of {args.repeats} runs per image.",
        "",
        f"Regenerate: `{doc['command']}`",
        "",
        "| codec | mean bpp | encode s (median) | encode s (mean) | decode s (median) | decode s (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for c, r in rows.items():
        lines.append(
            f"| {c} | {r['bpp_mean']:.3f} | {r['encode_s_median']:.3f} | {r['encode_s_mean']:.3f} | "
            f"{r['decode_s_median']:.3f} | {r['decode_s_mean']:.3f} |"
        )
    lines += [
        "",
        "obic times are one full encode at the chosen qualities (analysis transform, both layers, "
        "entropy coding) and one full decode, on the CPU.",
    ]
    write_bytes_atomic(out / "speed.md", ("\n".join(lines) + "\n").encode())
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
