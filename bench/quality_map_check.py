"""The quality-map checks of issue 16, on Kodak photos with the shipped weights.

1. Left/right: a map with the left half 255 and the right half 0 against all-0 and all-1 maps —
   PSNR of each half, file sizes (the half-map file must lie between the two).
2. Three levels (object / near / far) against uniform quality at the same size: object PSNR
   with a map of q_obj inside the GT-free "object" (the centre ellipse), q_near in a ring around
   it and q_far elsewhere, the uniform quality found by bisection to the same file size.
3. The map's byte cost in each file.

    python bench/quality_map_check.py --images 6 --out bench/results/quality_map.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from obic_core.codec import EncodeSettings, decode, encode, inspect
from obic_core.datasets import shared_data_dir
from obic_core.imageio import read_image, read_mask


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


SETTINGS: dict = {"device": "cpu"}


def left_right(img: np.ndarray) -> dict:
    h, w = img.shape[:2]
    half = (w // 2) // 16 * 16  # whole blocks on the left
    maps = {"all0": np.zeros((h, w)), "all1": np.ones((h, w)), "left1": np.zeros((h, w))}
    maps["left1"][:, :half] = 1.0
    out = {}
    for name, q in maps.items():
        data = encode(img, None, EncodeSettings(quality_map=q, **SETTINGS))
        rec = decode(data, **SETTINGS).image
        out[name] = {
            "bytes": len(data),
            "map_bytes": inspect(data).quality_map.bytes,
            "psnr_left": psnr(rec[:, :half], img[:, :half]),
            "psnr_right": psnr(rec[:, half:], img[:, half:]),
        }
    out["gap_db"] = out["left1"]["psnr_left"] - out["left1"]["psnr_right"]
    out["between"] = out["all0"]["bytes"] < out["left1"]["bytes"] < out["all1"]["bytes"]
    return out


def three_levels(img: np.ndarray, obj: np.ndarray | None = None, q_obj=0.9, q_near=0.5, q_far=0.1) -> dict:
    """``obj``: the object mask (ground truth on masks-val; a centre ellipse on Kodak). "near" is a
    ring around it (48 px, or 0.6 ellipse radii), "far" the rest."""
    import cv2

    h, w = img.shape[:2]
    if obj is None:
        yy, xx = np.mgrid[:h, :w]
        r = np.sqrt(((yy - h / 2) / (h * 0.28)) ** 2 + ((xx - w / 2) / (w * 0.22)) ** 2)
        obj, near = r < 1, (r >= 1) & (r < 1.6)
    else:
        grown = cv2.dilate(obj.astype(np.uint8), np.ones((97, 97), np.uint8)) > 0
        near = grown & ~obj
    q = np.where(obj, q_obj, np.where(near, q_near, q_far))
    data = encode(img, obj, EncodeSettings(quality_map=q, **SETTINGS))
    rec = decode(data, **SETTINGS).image
    # uniform quality at the same size (bisection on q, largest file not above)
    lo, hi = 0.0, 1.0
    best = None
    for _ in range(9):
        mid = (lo + hi) / 2
        d = encode(img, None, EncodeSettings(mid, mid, **SETTINGS))
        if len(d) <= len(data):
            best, lo = (mid, d), mid
        else:
            hi = mid
    if best is None:
        best = (0.0, encode(img, None, EncodeSettings(0.0, 0.0, **SETTINGS)))
    uni = decode(best[1], **SETTINGS).image
    regions = {"object": obj, "near": near, "far": ~(obj | near)}
    res = {"map_bytes": len(data), "uniform_bytes": len(best[1]), "uniform_q": best[0]}
    for name, m in regions.items():
        res[f"{name}_psnr_map"] = psnr(rec[m], img[m])
        res[f"{name}_psnr_uniform"] = psnr(uni[m], img[m])
        res[f"{name}_gain_db"] = res[f"{name}_psnr_map"] - res[f"{name}_psnr_uniform"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--out", type=Path, default=Path("bench/results/quality_map.json"))
    ap.add_argument("--source", choices=["kodak", "masks-val"], default="kodak")
    ap.add_argument("--weights", default=None)
    args = ap.parse_args()
    if args.weights:
        SETTINGS["weights"] = args.weights
    shared = shared_data_dir()
    if shared is None:
        raise SystemExit("needs ../shared/data/kodak")
    if args.source == "kodak":
        items = [(p, None) for p in sorted((shared / "kodak").glob("*.png"))[:: max(1, 24 // args.images)]]
    else:
        from obic_core.datasets import validation_pairs

        pairs = validation_pairs()
        items = [(pr.image, pr.mask) for pr in pairs[:: max(1, len(pairs) // args.images)]]
    rows = []
    t0 = time.time()
    for p, mask_path in items[: args.images]:
        img = read_image(p).pixels
        obj = None if mask_path is None else read_mask(mask_path, img.shape[:2])
        rows.append({"image": p.name, "left_right": left_right(img), "three_levels": three_levels(img, obj)})
        print(p.name, round(rows[-1]["left_right"]["gap_db"], 2), round(rows[-1]["three_levels"]["object_gain_db"], 2))

    def mean(f):
        return float(np.mean([f(r) for r in rows]))

    from obic_core.codec import load_codec

    summary = {
        "weights": load_codec(args.weights, device="cpu").model_id,
        "source": args.source,
        "images": [r["image"] for r in rows],
        "left_right_gap_db": mean(lambda r: r["left_right"]["gap_db"]),
        "left_right_all_between": all(r["left_right"]["between"] for r in rows),
        "left_right_bytes": {k: mean(lambda r, k=k: r["left_right"][k]["bytes"]) for k in ("all0", "left1", "all1")},
        "map_bytes_left_right": mean(lambda r: r["left_right"]["left1"]["map_bytes"]),
        "three_levels_object_gain_db": mean(lambda r: r["three_levels"]["object_gain_db"]),
        "three_levels_near_gain_db": mean(lambda r: r["three_levels"]["near_gain_db"]),
        "three_levels_far_gain_db": mean(lambda r: r["three_levels"]["far_gain_db"]),
        "seconds": round(time.time() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
