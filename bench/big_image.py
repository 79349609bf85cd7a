"""Big images: encode + decode a 6000×4000 photo on the CPU, reporting time and peak memory.

The photo is a Kodak image resized to 6000×4000 (benchmark input only). Each step runs in a
fresh subprocess so the peak resident memory (ru_maxrss) belongs to that step alone.

    python bench/big_image.py --out bench/results/big_image.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP = r"""
import resource, sys, time, json
import numpy as np
from obic_core import codec
from obic_core.imageio import read_image, write_png
mode, src, obic = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
if mode == "encode":
    img = read_image(src).pixels
    h, w = img.shape[:2]
    mask = np.zeros((h, w), bool); mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = True
    data = codec.encode(img, mask, codec.EncodeSettings(0.75, 0.25, device="cpu"))
    open(obic, "wb").write(data)
    extra = {"bytes": len(data), "bpp": len(data) * 8 / (h * w)}
else:
    dec = codec.decode(open(obic, "rb").read(), device="cpu")
    extra = {"shape": list(dec.image.shape)}
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, **extra}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=Path("../shared/data/kodak/kodim23.png"))
    ap.add_argument("--size", default="6000x4000")
    ap.add_argument("--out", type=Path, default=Path("bench/results/big_image.json"))
    args = ap.parse_args()
    import cv2
    import numpy as np

    from obic_core.imageio import read_image, write_png

    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.png"
        src = read_image(args.source).pixels
        write_png(big, np.ascontiguousarray(cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)))
        obic = Path(tmp) / "big.obic"
        res = {"size": args.size, "source": str(args.source), "date": time.strftime("%Y-%m-%d %H:%M")}
        for mode in ("encode", "decode"):
            out = subprocess.run(
                [sys.executable, "-c", STEP, mode, str(big), str(obic)], capture_output=True, text=True, check=True
            )
            res[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            print(mode, res[mode], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
