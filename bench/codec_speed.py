"""Issue 2, must-show 4: encode and decode time of the obic codec on every Kodak image, on this
CPU with 2 threads, plus peak memory.

Each image is encoded with a predicted-free, fixed mask (the centre half of the frame is the
object; object q 0.75, background q 0.25) and in single-layer mode (q 0.5), then decoded; the
fastest of ``--repeats`` runs is kept. The model is loaded once before timing (loading is a
one-off per process, reported separately).

    python bench/codec_speed.py ../shared/data/kodak --out bench/results/codec_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("images", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench/results/codec_speed.json"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from obic_core import codec
    from obic_core.datasets import list_images
    from obic_core.imageio import read_image

    t0 = time.perf_counter()
    engine = codec.load_codec(device="cpu")
    load_s = time.perf_counter() - t0
    rows = []
    for path in list_images(args.images):
        img = read_image(path).pixels
        h, w = img.shape[:2]
        mask = np.zeros((h, w), bool)
        mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
        for mode, m, s in (
            ("two-layer", mask, codec.EncodeSettings(0.75, 0.25, device="cpu")),
            ("single", None, codec.EncodeSettings(0.5, 0.5, device="cpu")),
        ):
            enc, dec = [], []
            for _ in range(args.repeats):
                t = time.perf_counter()
                data = codec.encode(img, m, s)
                enc.append(time.perf_counter() - t)
                t = time.perf_counter()
                codec.decode(data, device="cpu")
                dec.append(time.perf_counter() - t)
            rows.append(
                {
                    "image": path.name,
                    "mode": mode,
                    "width": w,
                    "height": h,
                    "bpp": len(data) * 8 / (h * w),
                    "encode_s": min(enc),
                    "decode_s": min(dec),
                }
            )
            print(rows[-1], flush=True)
    summary = {}
    for mode in ("two-layer", "single"):
        r = [x for x in rows if x["mode"] == mode]
        summary[mode] = {
            k: {
                "median": statistics.median(x[k] for x in r),
                "max": max(x[k] for x in r),
                "mean": statistics.fmean(x[k] for x in r),
            }
            for k in ("encode_s", "decode_s", "bpp")
        }
    doc = {
        "threads": args.threads,
        "cores": os.cpu_count(),
        "model_id": engine.model_id,
        "model_load_s": load_s,
        "loadavg_at_end": os.getloadavg()[0],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "summary": summary,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "rows"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
