"""What ``--effort max`` buys over ``default``: BD-rate and encode time (issue 15 §2).

For each photo, encodes at a few qualities with both efforts (same decoder, same file format),
decodes, and scores PSNR and MS-SSIM on the reconstruction. BD-rate of max against default
(negative: max needs fewer bits for the same quality) per photo, then the mean. Kodak photos and
held-out masks-val photos (single layer, so the figure is about the latents, not the mask).
One torch thread; the machine's load average is recorded.

    python bench/effort.py --kodak 2 --masks-val 4 --qualities 0.1 0.35 0.6 0.85   # bench/results/effort.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def measure(path: Path, qualities: list[float]) -> dict:
    from obic_core.codec import EncodeSettings, decode, encode
    from obic_core.evaluation.metrics import image_metrics
    from obic_core.imageio import read_image

    img = read_image(path).pixels
    h, w = img.shape[:2]
    rows: dict[str, list[dict]] = {"default": [], "max": []}
    for effort in rows:
        for q in qualities:
            t0 = time.perf_counter()
            data = encode(img, None, EncodeSettings(q, q, device="cpu", effort=effort))
            seconds = time.perf_counter() - t0
            m = image_metrics(img, decode(data, device="cpu").image)
            rows[effort].append(
                {
                    "q": q,
                    "bpp": len(data) * 8 / (h * w),
                    "psnr": m["psnr"],
                    "ms_ssim": m["ms_ssim"],
                    "encode_s": seconds,
                }
            )
    return rows


def main() -> None:
    import torch

    from obic_core.datasets import shared_data_dir, validation_pairs
    from obic_core.evaluation.bd import bd_rate

    ap = argparse.ArgumentParser()
    ap.add_argument("--kodak", type=int, default=3, help="first N Kodak photos")
    ap.add_argument("--masks-val", type=int, default=3, help="first N held-out masks-val photos")
    ap.add_argument("--qualities", type=float, nargs="+", default=[0.1, 0.35, 0.6, 0.85])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "effort.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = shared_data_dir()
    if root is None:
        sys.exit("needs ../shared/data (Kodak and the masks-val pairs)")
    sets = {
        "kodak": sorted((root / "kodak").glob("*.png"))[: args.kodak],
        "masks-val": [p.image for p in validation_pairs()][: args.masks_val],
    }
    load_before = os.getloadavg()
    out: dict = {"qualities": args.qualities, "load_avg_before": load_before, "sets": {}}
    for name, paths in sets.items():
        per = []
        for p in paths:
            rows = measure(p, args.qualities)
            entry = {"image": p.name, "rows": rows}
            for metric in ("psnr", "ms_ssim"):
                pts = {e: [(r["bpp"], r[metric]) for r in rows[e]] for e in rows}
                entry[f"bd_rate_{metric}"] = bd_rate(pts["default"], pts["max"])[0]
            entry["encode_s"] = {e: statistics.mean(r["encode_s"] for r in rows[e]) for e in rows}
            per.append(entry)
            print(name, p.name, {k: v for k, v in entry.items() if k != "rows"}, flush=True)

        def mean(key: str, rows: list[dict] = per) -> float | None:
            vals = [r[key] for r in rows if r[key] is not None]
            return statistics.mean(vals) if vals else None

        out["sets"][name] = {
            "images": per,
            "mean_bd_rate_psnr": mean("bd_rate_psnr"),
            "mean_bd_rate_ms_ssim": mean("bd_rate_ms_ssim"),
            "mean_encode_s": {e: statistics.mean(r["encode_s"][e] for r in per) for e in ("default", "max")},
        }
    out["load_avg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "images"} for k, v in out["sets"].items()}, indent=1))


if __name__ == "__main__":
    main()
