"""Segmentation benchmark: foreground IoU, boundary F-score and seconds per image on the
committed validation split (resources/splits/masks_val.txt), for every predictor.

    python bench/seg_eval.py [--limit N] [--update-card]

Writes bench/results/segmentation.json and bench/segmentation.md. With ``--update-card`` the
measured IoUs are stored in the network's model card, which is what ``method="auto"`` reads to
choose the default predictor (so the default is, by construction, the best measured one).

Metrics are computed at each image's original resolution against its mask:
- IoU: |P ∩ G| / |P ∪ G| per image, averaged over images (1 when both are empty).
- Boundary F (DAVIS-style, Perazzi et al. 2016): boundary pixels of P and G matched within a
  tolerance of 0.8 % of the image diagonal; F = 2PR / (P + R). Polygon-labelled masks (COCO)
  are coarse at edges, so this score has a floor that no predictor can beat there.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS_JSON = ROOT / "bench" / "results" / "segmentation.json"
TABLE_MD = ROOT / "bench" / "segmentation.md"
METHODS = ("net", "net+refine", "saliency")


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    union = np.logical_or(pred, gt).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, gt).sum() / union)


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)) > 0


def boundary_f(pred: np.ndarray, gt: np.ndarray, tol: float = 0.008) -> float:
    """DAVIS boundary F-measure with a tolerance of ``tol`` × image diagonal."""
    bp, bg = _boundary(pred), _boundary(gt)
    if not bp.any() and not bg.any():
        return 1.0
    if not bp.any() or not bg.any():
        return 0.0
    d = max(1.0, tol * float(np.hypot(*pred.shape)))
    dist_to_g = cv2.distanceTransform((~bg).astype(np.uint8), cv2.DIST_L2, 3)
    dist_to_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 3)
    precision = float((dist_to_g[bp] <= d).mean())
    recall = float((dist_to_p[bg] <= d).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def run_method(name: str, image: np.ndarray) -> np.ndarray:
    from obic_core.segmentation.classic import refine_mask, saliency_mask
    from obic_core.segmentation.predict import predict_net

    if name == "net":
        return predict_net(image)
    if name == "net+refine":
        return refine_mask(image, predict_net(image))
    if name == "saliency":
        return saliency_mask(image)
    raise ValueError(name)


def evaluate(pairs, methods, progress: bool = True) -> dict:
    from obic_core.imageio import read_image, read_mask

    per: dict[str, dict[str, list]] = {m: {"iou": [], "bf": [], "s": [], "key": []} for m in methods}
    for i, pair in enumerate(pairs):
        image = read_image(pair.image).pixels
        gt = read_mask(pair.mask, image.shape[:2])
        for m in methods:
            t = time.perf_counter()
            pred = run_method(m, image)
            per[m]["s"].append(time.perf_counter() - t)
            per[m]["iou"].append(iou(pred, gt))
            per[m]["bf"].append(boundary_f(pred, gt))
            per[m]["key"].append(pair.key)
        if progress and (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(pairs)} " + "  ".join(
                f"{m}: IoU {np.mean(per[m]['iou']):.3f}" for m in methods), flush=True)
    out = {}
    for m, v in per.items():
        keys = np.array(v["key"])
        by_set = {}
        for ds in sorted({k.rsplit("/", 1)[0] for k in keys}):
            sel = np.array([k.rsplit("/", 1)[0] == ds for k in keys])
            by_set[ds] = {"n": int(sel.sum()), "iou": round(float(np.mean(np.array(v["iou"])[sel])), 4),
                          "boundary_f": round(float(np.mean(np.array(v["bf"])[sel])), 4)}
        out[m] = {"n": len(v["iou"]), "iou": round(float(np.mean(v["iou"])), 4),
                  "boundary_f": round(float(np.mean(v["bf"])), 4),
                  "s_per_image": round(float(np.mean(v["s"])), 3),
                  "s_per_image_median": round(float(np.median(v["s"])), 3), "by_dataset": by_set}
    return out


def pick_pairs(limit: int):
    from obic_core.datasets import validation_pairs

    pairs = validation_pairs()
    if limit and limit < len(pairs):
        idx = np.linspace(0, len(pairs) - 1, limit).round().astype(int)  # even spread over both sets
        pairs = [pairs[i] for i in idx]
    return pairs


def write_table(res: dict, meta: dict) -> None:
    auto = meta["auto"]
    lines = [
        "# Segmentation: validation results",
        "",
        f"Validation split: `resources/splits/masks_val.txt` ({meta['n_pairs']} pairs: "
        + ", ".join(f"{k} {v}" for k, v in meta["datasets"].items())
        + (f"; an evenly spaced subset of {meta['n_total']}" if meta["n_pairs"] < meta["n_total"] else "")
        + "), full-resolution metrics.",
        f"CPU: {meta['cpu']}, {meta['threads']} torch thread(s), shared with a codec training run "
        "(timings are therefore pessimistic).",
        "",
        "| predictor | foreground IoU | boundary F | s / image (mean) | default |",
        "|---|---:|---:|---:|:---:|",
    ]
    labels = {"net": "DeepLab R34 (ours, width 0.5)", "net+refine": "DeepLab R34 + GrabCut refine",
              "saliency": "saliency + GrabCut (no weights)"}
    for m, r in res.items():
        is_default = (auto == m)
        lines.append(f"| {labels.get(m, m)} | {r['iou']:.3f} | {r['boundary_f']:.3f} | "
                     f"{r['s_per_image']:.2f} | {'✔' if is_default else ''} |")
    lines += ["", "Per data set (IoU / boundary F):", "",
              "| predictor | " + " | ".join(meta["datasets"]) + " |",
              "|---|" + "---:|" * len(meta["datasets"])]
    for m, r in res.items():
        cells = [f"{r['by_dataset'][d]['iou']:.3f} / {r['by_dataset'][d]['boundary_f']:.3f}"
                 if d in r["by_dataset"] else "–" for d in meta["datasets"]]
        lines.append(f"| {labels.get(m, m)} | " + " | ".join(cells) + " |")
    lines += ["", f"Default (`method=\"auto\"`): **{auto}** — the highest measured IoU; recorded in "
              "`resources/weights/deeplab_r34.json` (`evaluation`) by `--update-card`.", ""]
    extra = ROOT / "bench" / "segmentation_notes.md"
    if extra.exists():
        lines += [extra.read_text()]
    TABLE_MD.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0, help="evenly spaced subset of the split (0: all)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--update-card", action="store_true", help="record the results in the model card")
    args = p.parse_args(argv)
    import torch

    from obic_core.segmentation.predict import DEFAULT_WEIGHTS, load_segmenter, net_available, read_card

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    pairs = pick_pairs(args.limit)
    if not pairs:
        print("no validation pairs found (is ../shared/data present?)", file=sys.stderr)
        return 1
    methods = [m for m in args.methods if m == "saliency" or net_available()]
    if any(m != "saliency" for m in methods):
        t = time.perf_counter()
        load_segmenter()
        load_s = time.perf_counter() - t
    else:
        load_s = None
    res = evaluate(pairs, methods)
    best = max(res, key=lambda m: res[m]["iou"])
    datasets: dict[str, int] = {}
    for pr in pairs:
        ds = pr.key.rsplit("/", 1)[0]
        datasets[ds] = datasets.get(ds, 0) + 1
    from obic_core.datasets import validation_pairs

    meta = {"n_pairs": len(pairs), "n_total": len(validation_pairs()), "datasets": datasets,
            "cpu": platform.processor() or platform.machine(), "threads": args.threads,
            "net_load_s": None if load_s is None else round(load_s, 3), "auto": best,
            "weights_id": read_card().get("id"), "date": time.strftime("%Y-%m-%d %H:%M")}
    try:
        meta["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps({"meta": meta, "methods": res}, indent=2) + "\n")
    write_table(res, meta)
    if args.update_card and net_available():
        from obic_core.weights import atomic_write_bytes, card_path

        card = read_card()
        card["evaluation"] = {"set": "resources/splits/masks_val.txt", "n": len(pairs),
                              "date": meta["date"],
                              "methods": {m: {k: r[k] for k in ("iou", "boundary_f", "s_per_image")}
                                          for m, r in res.items()}}
        atomic_write_bytes(card_path(DEFAULT_WEIGHTS), (json.dumps(card, indent=2) + "\n").encode())
    for m, r in res.items():
        print(f"{m:12s} IoU {r['iou']:.4f}  boundary F {r['boundary_f']:.4f}  {r['s_per_image']:.3f} s/img")
    print(f"best: {best}; wrote {RESULTS_JSON.relative_to(ROOT)} and {TABLE_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
