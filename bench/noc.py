"""NoC@85 / NoC@90: how many clicks a simulated user needs to correct the predicted mask.

    python bench/noc.py [--pairs 40] [--max-clicks 20] [--latency-repeats 5]

The standard protocol of interactive segmentation (Xu et al. 2016; Sofiiuk et al., RITM 2022):
every click goes to the centre of the largest error region (the maximum of the distance
transform of false negatives or false positives, image border counting as boundary); it is
positive on a missed object pixel, negative on a wrongly taken one. NoC@t is the number of
clicks until IoU ≥ t, counted as the cap (20) when it never gets there; "never" is that share.

Start: the default predictor (``predict_mask(image, method="auto")``), cached per weight file in
``scratch/noc_cache/`` (git-ignored) because prediction is most of the CPU time.

Tools compared (same start mask):
- ``current``: what the app had before click-to-segment — refine (1 interaction), then the smart
  box around the ground-truth object's box (2 interactions: its corners) that only edits the inside
  of the box; nothing a click can drive after that.
- ``box-clears``: the smart box alone (2 interactions), clearing outside itself.
- ``clicks``: click-to-segment (:class:`obic_core.segmentation.interactive.ClickSession`).
- ``box+clicks``: the smart box that clears outside (2 interactions), then clicks.

Pair sets: an evenly spaced subset of ``resources/splits/masks_val.txt`` (DUTS-TR + COCO, the
sources the network is trained on, images never trained on); of the 96 COCO pairs of
``../shared/data/saliency`` with their masks (the union of every annotated object, often many
small ones); and the same COCO photos with only their largest annotated instance as the target
(from ``labels_yolo/``), starting from an empty mask: the single-object protocol of the
interactive-segmentation literature (the predictor cannot know which object is wanted).
Per-click latency is timed separately on photos resized to 768×512. Writes bench/results/noc.json
and bench/noc.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS_JSON = ROOT / "bench" / "results" / "noc.json"
TABLE_MD = ROOT / "bench" / "noc.md"
CACHE = ROOT / "scratch" / "noc_cache"
THRESHOLDS = (0.85, 0.90)
TOOLS = ("current", "box-clears", "clicks", "box+clicks")


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    union = np.logical_or(pred, gt).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, gt).sum() / union)


def next_click(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, bool] | None:
    """(x, y, positive) at the centre of the largest error region, or None when there is no error."""
    fn = np.pad(gt & ~pred, 1).astype(np.uint8)  # padding: the image border counts as boundary
    fp = np.pad(pred & ~gt, 1).astype(np.uint8)
    dfn = cv2.distanceTransform(fn, cv2.DIST_L2, 5)[1:-1, 1:-1]
    dfp = cv2.distanceTransform(fp, cv2.DIST_L2, 5)[1:-1, 1:-1]
    positive = dfn.max() >= dfp.max()
    d = dfn if positive else dfp
    if d.max() <= 0:
        return None
    y, x = np.unravel_index(int(np.argmax(d)), d.shape)
    return int(x), int(y), bool(positive)


def gt_rect(gt: np.ndarray) -> tuple[int, int, int, int] | None:
    """The ground truth's bounding box as (x, y, w, h), as a user would drag it."""
    ys, xs = np.nonzero(gt)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def flat(curve: list[float], max_clicks: int) -> list[float]:
    """Pad a curve with its last value to 0..max_clicks (no further interaction can change it)."""
    return (curve + [curve[-1]] * (max_clicks + 1))[: max_clicks + 1]


def curves_for(image, gt, init, max_clicks: int) -> tuple[dict[str, list[float]], list[float]]:
    """IoU after 0..max_clicks interactions for every tool, and the seconds each simulated click took."""
    from obic_core.segmentation import refine_mask
    from obic_core.segmentation.interactive import smart_box

    start = iou(init, gt)
    cv2.setRNGSeed(0)  # GrabCut (refine) draws from OpenCV's global RNG: seeded, runs repeat exactly
    refined = refine_mask(image, init)
    rect = gt_rect(gt)
    kept = refined if rect is None else smart_box(image, refined, rect, clear_outside=False)
    cleared = init if rect is None else smart_box(image, init, rect, clear_outside=True)  # same from any start
    out = {
        "current": flat([start, iou(refined, gt), iou(refined, gt), iou(kept, gt)], max_clicks),  # refine, 2 corners
        "box-clears": flat([start, start, iou(cleared, gt)], max_clicks),  # the box's 2 corners
    }
    out["clicks"], times = curve_clicks(image, gt, init, max_clicks, [])
    out["box+clicks"], more = curve_clicks(image, gt, cleared, max_clicks, [start, start])
    return out, times + more


def curve_clicks(image, gt, init, max_clicks: int, before: list[float], stop_at: float = 0.90):
    """IoU after each interaction: ``before`` (what led to ``init``), ``init``, then simulated clicks."""
    from obic_core.segmentation.interactive import ClickSession

    session = ClickSession(image, init)
    ious, times = [*before, iou(init, gt)], []
    while len(ious) <= max_clicks and ious[-1] < stop_at:  # curves are read up to the highest threshold
        c = next_click(session.mask, gt)
        if c is None:
            break
        t = time.perf_counter()
        session.add(*c)
        times.append(time.perf_counter() - t)
        ious.append(iou(session.mask, gt))
    return flat(ious, max_clicks), times


def noc(curve: list[float], t: float, cap: int) -> tuple[int, bool]:
    for k, v in enumerate(curve):
        if v >= t:
            return k, True
    return cap, False


def weights_tag() -> str:
    from obic_core.segmentation.predict import auto_choice, weights_path

    path = weights_path()
    h = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "noweights"
    method, refine = auto_choice()
    return f"{h}-{method}{'+refine' if refine else ''}"


def initial_mask(pair, image: np.ndarray, tag: str) -> np.ndarray:
    from obic_core.segmentation import predict_mask

    path = CACHE / tag / (pair.key.replace("/", "__") + ".png")
    if path.is_file():
        m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if m is not None and m.shape == image.shape[:2]:
            return m > 127
    mask = predict_mask(image, method="auto")
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.where(mask, 255, 0).astype(np.uint8))
    return mask


def largest_instance(pair, shape: tuple[int, int]) -> np.ndarray:
    """The largest annotated object of a COCO pair, rasterised from its YOLO polygon label."""
    label = pair.image.parent.parent / "labels_yolo" / (pair.image.stem + ".txt")
    h, w = shape
    best = np.zeros(shape, bool)
    for line in label.read_text().splitlines():
        v = np.array(line.split()[1:], np.float64).reshape(-1, 2) * (w, h)
        if len(v) < 3:
            continue
        m = np.zeros(shape, np.uint8)
        cv2.fillPoly(m, [np.round(v).astype(np.int32)], 1)
        if m.sum() > best.sum():
            best = m > 0
    return best


def pick(pairs, n: int):
    if n and n < len(pairs):
        idx = np.linspace(0, len(pairs) - 1, n).round().astype(int)
        return [pairs[i] for i in idx]
    return pairs


def pair_sets(n: int) -> dict[str, list]:
    from obic_core.datasets import find_pairs, shared_data_dir, validation_pairs

    root = shared_data_dir()
    sets = {"masks_val": pick(validation_pairs(), n)}
    if root is not None and (root / "saliency" / "images").is_dir():
        sets["coco"] = pick(find_pairs(root / "saliency"), n)
        sets["coco-instance"] = sets["coco"]
    return sets


def evaluate(pairs, max_clicks: int, tag: str, instance: bool = False, progress: bool = True) -> dict:
    from obic_core.datasets import validation_keys
    from obic_core.imageio import read_image, read_mask

    val = validation_keys()
    rows = []
    for i, pair in enumerate(pairs):
        image = read_image(pair.image).pixels
        gt = read_mask(pair.mask, image.shape[:2])
        init = initial_mask(pair, image, tag)
        if instance:  # the user picks one object: nothing says which, so start from an empty mask
            gt = largest_instance(pair, image.shape[:2])
            init = np.zeros_like(gt)
        curves, times = curves_for(image, gt, init, max_clicks)
        rows.append(
            {
                "key": pair.key,
                "in_masks_val": pair.key in val,
                "size": [int(image.shape[1]), int(image.shape[0])],
                "curves": {k: [round(v, 4) for v in c] for k, c in curves.items()},
                "click_s": [round(t, 4) for t in times],
            }
        )
        if progress:
            r = rows[-1]["curves"]
            print(
                f"  {i + 1}/{len(pairs)} {pair.key}: start {r['clicks'][0]:.3f}  "
                + "  ".join(f"{k} NoC90 {noc(c, 0.9, max_clicks)[0]}" for k, c in r.items()),
                flush=True,
            )
    return summarise(rows, max_clicks)


def summarise(rows: list[dict], max_clicks: int) -> dict:
    out = {"n": len(rows), "start_iou": round(float(np.mean([r["curves"]["clicks"][0] for r in rows])), 4), "tools": {}}
    for tool in TOOLS:
        entry = {}
        for t in THRESHOLDS:
            res = [noc(r["curves"][tool], t, max_clicks) for r in rows]
            entry[f"noc@{round(t * 100)}"] = round(float(np.mean([k for k, _ in res])), 2)
            entry[f"never@{round(t * 100)}"] = round(float(np.mean([not ok for _, ok in res])), 3)
        for k in (1, 3, 5, 10):
            entry[f"iou@{k}"] = round(float(np.mean([r["curves"][tool][min(k, max_clicks)] for r in rows])), 4)
        out["tools"][tool] = entry
    times = [t for r in rows for t in r["click_s"]]
    out["click_s_median"] = round(float(np.median(times)), 4) if times else None
    out["rows"] = rows
    return out


def latency(pairs, repeats: int, tag: str, size=(768, 512), clicks: int = 10) -> dict:
    """Seconds per click on images resized to ``size`` (the simulator's clicks, timed one by one)."""
    from obic_core.imageio import read_image, read_mask
    from obic_core.segmentation.interactive import ClickSession

    times = []
    for pair in pairs[:repeats]:
        image = read_image(pair.image).pixels
        gt = read_mask(pair.mask, image.shape[:2])
        init = initial_mask(pair, image, tag)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        gt = cv2.resize(gt.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        init = cv2.resize(init.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        session = ClickSession(image, init)
        for _ in range(clicks):
            c = next_click(session.mask, gt)
            if c is None:
                break
            t = time.perf_counter()
            session.add(*c)
            times.append(time.perf_counter() - t)
    arr = np.array(times)
    out = {
        "size": list(size),
        "clicks": int(arr.size),
        "median_s": round(float(np.median(arr)), 4),
        "p90_s": round(float(np.quantile(arr, 0.9)), 4),
        "max_s": round(float(arr.max()), 4),
    }
    out["scissors_anchor_s"] = scissors_latency(pairs[:repeats], size)
    return out


def scissors_latency(pairs, size) -> float:
    """Median seconds a scissors anchor takes (edge features + cost map) on photos of ``size``."""
    from obic_core.imageio import read_image
    from obic_core.segmentation.interactive import Scissors

    times = []
    for pair in pairs:
        image = cv2.resize(read_image(pair.image).pixels, size, interpolation=cv2.INTER_AREA)
        tool = Scissors(image)
        for fx, fy in ((0.3, 0.3), (0.5, 0.5), (0.7, 0.6)):
            t = time.perf_counter()
            tool.set_anchor(fx * size[0], fy * size[1])
            times.append(time.perf_counter() - t)
    return round(float(np.median(times)), 4)


TOOL_NAMES = {
    "current": "before: refine + smart box (edits inside only)",
    "box-clears": "smart box clearing outside",
    "clicks": "**click-to-segment**",
    "box+clicks": "**smart box clearing outside, then clicks**",
}
SET_NAMES = {
    "masks_val": "`resources/splits/masks_val.txt`: DUTS-TR + COCO, the network's training sources (images never "
    "trained on)",
    "coco": "COCO photos of `../shared/data/saliency`, target = the union of every annotated object",
    "coco-instance": "the same COCO photos, target = their largest annotated object, starting from an empty mask "
    "(the single-object protocol of the literature)",
}


def write_table(res: dict, meta: dict) -> None:
    lines = [
        "# Interactive correction: NoC@85 / NoC@90",
        "",
        "Clicks a simulated user needs, starting from the default predicted mask (`predict_mask(image, "
        f'method="auto")`, weights `{meta["weights"]}`), until the mask reaches IoU 0.85 / 0.90. Each click goes',
        "to the centre of the largest error region (distance-transform maximum), positive on a missed object",
        f"pixel, negative on a wrong one; cap {meta['max_clicks']} interactions (an image that never gets there counts",
        "as the cap, and *never* is that share). A smart box counts as 2 interactions (its corners, dragged on the",
        "target's bounding box), refine as 1; after them the old tools have nothing a click can drive, so their",
        "curves stay flat. A click curve stops once it reaches 0.90 (so *IoU after k* is a floor there).",
        "",
        f"Regenerate: `{meta['command']}` ({meta['wall_s'] / 60:.0f} min here with the predicted masks already in "
        "`scratch/noc_cache/`; a first run predicts them too, ~6 min more).",
        "",
        "## Summary",
        "",
        "| set | start IoU | NoC@90 before | NoC@90 clicks | best NoC@90 (tool) | target ≤ 8 |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in res["sets"].items():
        t = r["tools"]
        best = min(TOOLS, key=lambda k: t[k]["noc@90"])
        ok = "met" if t[best]["noc@90"] <= 8 else "not met"
        lines.append(
            f"| {name} | {r['start_iou']:.3f} | {t['current']['noc@90']:.2f} | {t['clicks']['noc@90']:.2f} | "
            f"{t[best]['noc@90']:.2f} ({best}) | {ok} |"
        )
    lat = res["latency"]
    lines += [
        "",
        f"Per click on a 768×512 photo: median {lat['median_s']:.3f} s, slowest {lat['max_s']:.3f} s "
        f"(target ≤ 0.3 s: {'met' if lat['max_s'] <= 0.3 else 'not met'}).",
        "",
        "COCO's masks are the union of every annotated object — often ten or more, many tiny, all traced",
        "as coarse polygons — so IoU 0.9 there asks for a click on every object and for edges that follow",
        "the polygons rather than the photo; published NoC figures use single objects (the `coco-instance`",
        "rows are that protocol).",
        "",
    ]
    for name, r in res["sets"].items():
        lines += [f"## {SET_NAMES[name]}", ""]
        n_val = sum(row["in_masks_val"] for row in r["rows"])
        start = "empty mask" if name == "coco-instance" else "predicted mask"
        lines.append(f"{r['n']} pairs (evenly spaced); start IoU ({start}) {r['start_iou']:.3f}.")
        if name == "coco":
            lines.append(
                f"{n_val} of them are in masks_val; the other {r['n'] - n_val} were *training* pairs of the shipped "
                "network, so its start there is optimistic (with a network trained without COCO all are out-of-source)."
            )
        lines += [
            "",
            "| tool | NoC@85 | NoC@90 | never 85 | never 90 | IoU after 1 | 3 | 5 | 10 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for tool in TOOLS:
            e = r["tools"][tool]
            cells = [f"{e['noc@85']:.2f}", f"{e['noc@90']:.2f}", f"{e['never@85'] * 100:.0f} %"]
            cells += [f"{e['never@90'] * 100:.0f} %"] + [f"{e[f'iou@{k}']:.3f}" for k in (1, 3, 5, 10)]
            lines.append(f"| {TOOL_NAMES[tool]} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Seconds per click",
        "",
        f"{lat['clicks']} simulated clicks on {lat['size'][0]}×{lat['size'][1]} photos (masks_val pairs resized), "
        f"one thread, {meta['machine']} shared with a training run: median **{lat['median_s']:.3f} s**, "
        f"90th percentile {lat['p90_s']:.3f} s, slowest {lat['max_s']:.3f} s. Median of every click above (photos "
        "at their own size, ≤ 640 px): "
        + ", ".join(f"{k} {v['click_s_median']:.3f} s" for k, v in res["sets"].items())
        + f". A scissors anchor (edge features and cost map around it) takes {lat['scissors_anchor_s']:.3f} s "
        "(median); following the mouse from it costs microseconds.",
        "",
        "How a click works (`obic_core/segmentation/interactive.py`): a window around the click, sized by the",
        "click's distance to the nearest pixel that already has its label; colour models fitted to the wrong-side",
        "pixels near the click (its label) and far from it (the other), one graph cut (GrabCut's, models frozen)",
        "at most 160 px across, window border held at the current mask, this and every earlier click disc as",
        "hard seeds, the answer snapped back to full-resolution edges with a guided filter; only pixels that flip",
        "towards the click's label and touch the click are taken. Its constants were tuned on pairs outside all",
        "three sets (DUTS-TR2 and the COCO pairs not picked here), never on them.",
        "",
    ]
    TABLE_MD.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=40, help="pairs per set (evenly spaced; 0 = all)")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--latency-repeats", type=int, default=5, help="images for the 768×512 per-click timing")
    ap.add_argument("--sets", nargs="*", default=None, help="masks_val, coco, coco-instance (default all)")
    ap.add_argument("--latency-only", action="store_true", help="re-time the clicks, keep the NoC results")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    all_sets = pair_sets(args.pairs)
    sets = {k: v for k, v in all_sets.items() if not args.sets or k in args.sets}
    if not any(sets.values()):
        print("no pairs found (is ../shared/data present?)", file=sys.stderr)
        return 2
    tag = weights_tag()
    if args.latency_only:  # keep the NoC tables, time the clicks again
        res = json.loads(RESULTS_JSON.read_text())
        meta = res["meta"]
    else:
        res = {"sets": {}}
        if args.sets and RESULTS_JSON.is_file():  # rerun some sets, keep the others
            res = json.loads(RESULTS_JSON.read_text())
        for name, pairs in sets.items():
            print(f"{name}: {len(pairs)} pairs", flush=True)
            t1 = time.perf_counter()
            res["sets"][name] = evaluate(pairs, args.max_clicks, tag, instance=name == "coco-instance")
            res["sets"][name]["wall_s"] = round(time.perf_counter() - t1, 1)
        cmd = "python bench/noc.py" + (f" --pairs {args.pairs}" if args.pairs != 40 else "")
        meta = {"weights": tag, "max_clicks": args.max_clicks, "command": cmd}
    res["latency"] = latency(all_sets.get("masks_val") or next(iter(sets.values())), args.latency_repeats, tag)
    meta["machine"] = f"{platform.processor() or platform.machine()}, 2 cores"
    meta["wall_s"] = round(sum(r.get("wall_s", 0) for r in res["sets"].values()), 1)  # without the timing
    res["meta"] = meta
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, indent=1)  # number lists (the curves) on one line each
    text = re.sub(r"\[\s*([-\d.,\s]+?)\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", text)
    RESULTS_JSON.write_text(text + "\n")
    write_table(res, meta)
    for name, r in res["sets"].items():
        for tool, e in r["tools"].items():
            n85, n90 = e["noc@85"], e["noc@90"]
            print(f"{name:13s} {tool:11s} NoC@85 {n85:5.2f}  NoC@90 {n90:5.2f}  never90 {e['never@90']:.2f}")
    print(f"latency {res['latency']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
