"""Issue 3, must-show 3: object-weighted qualities vs equal qualities at the same total bpp.

For each held-out image/mask pair (resources/splits/masks_val.txt, never trained on):
encode with object quality 0.8 / background 0.2 -> total bpp B; then with *equal*
qualities searched by the codec's own target mode for the largest file ≤ B (difference 0);
pairs whose two files differ by more than 5 % in size are reported and left out. Object-region
PSNR (masked MSE over the ground-truth object pixels) of both is compared.

    python bench/object_gain.py --limit 40 --out bench/results/object_gain.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from obic_core import codec
from obic_core.datasets import validation_pairs
from obic_core.evaluation import metrics
from obic_core.imageio import read_image, read_mask, write_bytes_atomic

FRACTION_BINS = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.35), (0.35, 0.5), (0.5, 1.0)]


def object_gain(row: dict) -> float:
    """Object-region PSNR of the weighted file minus that of the equal-quality file (dB)."""
    return row["weighted_object_psnr"] - row["equal_object_psnr"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=40, help="first N validation pairs (sorted)")
    ap.add_argument("--object-quality", type=float, default=0.8)
    ap.add_argument("--background-quality", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=Path("bench/results/object_gain.json"))
    ap.add_argument("--weights", default=None, help="codec weights (default: the shipped ones)")
    args = ap.parse_args()
    pairs = validation_pairs()
    if not pairs:
        raise SystemExit("../shared/data is not available")
    # spread the subset over both data sets
    pairs = sorted(pairs, key=lambda p: p.key)[:: max(1, len(pairs) // args.limit)][: args.limit]
    rows = []
    t0 = time.time()
    for p in pairs:
        img = read_image(p.image).pixels
        mask = read_mask(p.mask, img.shape[:2])
        frac = mask.mean()
        if frac < 0.02 or frac > 0.9:
            continue
        weighted = codec.encode(
            img,
            mask,
            codec.EncodeSettings(args.object_quality, args.background_quality, device="cpu", weights=args.weights),
        )
        px = img.shape[0] * img.shape[1]
        b_w = len(weighted) * 8 / px
        eq = codec.encode_detailed(
            img, mask, codec.EncodeSettings(0.5, 0.5, target_bpp=b_w, device="cpu", weights=args.weights)
        )
        b_e = len(eq.data) * 8 / px
        dw = codec.decode(weighted, device="cpu", weights=args.weights).image
        de = codec.decode(eq.data, device="cpu", weights=args.weights).image
        rows.append(
            {
                "key": p.key,
                "object_fraction": round(float(frac), 3),
                "weighted_bpp": round(b_w, 4),
                "equal_bpp": round(b_e, 4),
                "equal_quality": round(eq.object_quality, 4),
                "within_5pct": bool(abs(b_e - b_w) <= 0.05 * b_w),
                "weighted_object_psnr": metrics.psnr(img, dw, mask),
                "equal_object_psnr": metrics.psnr(img, de, mask),
                "weighted_background_psnr": metrics.psnr(img, dw, ~mask),
                "equal_background_psnr": metrics.psnr(img, de, ~mask),
                "weighted_psnr": metrics.psnr(img, dw),
                "equal_psnr": metrics.psnr(img, de),
            }
        )
        print(json.dumps(rows[-1]))
    ok = [r for r in rows if r["within_5pct"]]

    def mean(key):
        return float(np.mean([r[key] for r in ok])) if ok else None

    def gain_by_fraction() -> list[dict]:
        """Why the mean moves: a small object frees many background bits, a large one few."""
        out = []
        for lo, hi in FRACTION_BINS:
            sel = [r for r in ok if lo <= r["object_fraction"] < hi]
            if sel:
                out.append(
                    {
                        "object_fraction": [lo, hi],
                        "pairs": len(sel),
                        "mean_gain_db": round(float(np.mean([object_gain(r) for r in sel])), 3),
                    }
                )
        return out

    summary = {
        "pairs_evaluated": len(rows),
        "pairs_within_5pct": len(ok),
        "object_quality": args.object_quality,
        "background_quality": args.background_quality,
        "mean_weighted_bpp": mean("weighted_bpp"),
        "mean_equal_bpp": mean("equal_bpp"),
        "mean_object_psnr_weighted": mean("weighted_object_psnr"),
        "mean_object_psnr_equal": mean("equal_object_psnr"),
        "mean_object_psnr_gain_db": (mean("weighted_object_psnr") - mean("equal_object_psnr")) if ok else None,
        "mean_background_psnr_weighted": mean("weighted_background_psnr"),
        "mean_background_psnr_equal": mean("equal_background_psnr"),
        "mean_psnr_weighted": mean("weighted_psnr"),
        "mean_psnr_equal": mean("equal_psnr"),
        "median_object_psnr_gain_db": float(np.median([object_gain(r) for r in ok])) if ok else None,
        "gain_by_object_fraction": gain_by_fraction(),
        "model_id": codec.load_codec(args.weights, device="cpu").model_id,
        "seconds": round(time.time() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(args.out, (json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n").encode())
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
