"""Issue 18, must-show: encode/decode time before and after the reorganisation, within noise.

Times the codec of this working tree ("after") against a base commit ("before", default
``c876aff5``, checked out read-only with ``git worktree add`` into a temporary folder and removed
afterwards). Each run is a fresh interpreter with ``PYTHONPATH`` set to one tree, one torch
thread, the tree's own shipped weights (or ``--weights FILE`` for both), and:

* a warm-up encode + decode on a 128×128 crop (first-call costs are not the codec's speed);
* for each photo: a two-layer encode (centre-half mask, q 0.75 / 0.25) and its decode, each
  timed ``--repeats`` times, the fastest kept.

Runs alternate A/B/A/B… so that load from other work on the machine (a training run shares
it) falls on both sides alike; the figure per side is the median over its runs of the summed
encode (decode) seconds, and the ratio after/before is reported with the runs' spread.

    python bench/reorg_timing.py --runs 6 --out bench/results/reorg_timing.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PHOTOS = ("../shared/data/kodak/kodim01.png", "../shared/data/kodak/kodim23.png")


def worker(tree: Path, photos: list[str], repeats: int, weights: str | None) -> dict:
    """One run inside a fresh interpreter whose obic_core is ``tree``'s (checked, not assumed)."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import obic_core
    from obic_core import codec
    from obic_core.imageio import read_image

    where = Path(obic_core.__file__).resolve().parent.parent
    if where != tree.resolve():
        raise SystemExit(f"obic_core came from {where}, not {tree}")
    codec.load_codec(weights, device="cpu")
    settings = codec.EncodeSettings(object_quality=0.75, background_quality=0.25, device="cpu", weights=weights)

    def centre_mask(h: int, w: int) -> np.ndarray:
        m = np.zeros((h, w), bool)
        m[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
        return m

    images = [read_image(p).pixels for p in photos]
    warm = np.ascontiguousarray(images[0][:128, :128])
    codec.decode(codec.encode(warm, centre_mask(128, 128), settings), device="cpu", weights=weights)
    rows = []
    for path, img in zip(photos, images, strict=True):
        mask = centre_mask(*img.shape[:2])
        enc, dec = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            data = codec.encode(img, mask, settings)
            enc.append(time.perf_counter() - t)
            t = time.perf_counter()
            codec.decode(data, device="cpu", weights=weights)
            dec.append(time.perf_counter() - t)
        rows.append({"photo": Path(path).name, "bytes": len(data), "encode_s": min(enc), "decode_s": min(dec)})
    return {
        "encode_s": sum(r["encode_s"] for r in rows),
        "decode_s": sum(r["decode_s"] for r in rows),
        "photos": rows,
        "loadavg": os.getloadavg()[0],
    }


def _run(tree: Path, args: argparse.Namespace) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), "--repeats", str(args.repeats)]
    cmd += ["--photos", *[str(Path(p).resolve()) for p in args.photos]]
    if args.weights:
        cmd += ["--weights", str(Path(args.weights).resolve())]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if r.returncode != 0:
        raise SystemExit(f"run in {tree} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _git(*argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def _side(runs: list[dict], key: str) -> dict:
    values = [r[key] for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def compare(base_tree: Path, args: argparse.Namespace) -> dict:
    trees = {"before": base_tree, "after": REPO}
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for i in range(args.runs):
        for side in ("before", "after") if i % 2 == 0 else ("after", "before"):
            runs[side].append(_run(trees[side], args))
            last = runs[side][-1]
            print(f"run {i + 1}/{args.runs} {side:6s} encode {last['encode_s']:.3f} s  decode {last['decode_s']:.3f} s")
    out: dict = {
        "what": "two-layer encode (centre-half mask, q 0.75/0.25) + decode, summed over the photos; "
        f"fastest of {args.repeats} per photo per run, median over runs; 1 torch thread; "
        "runs interleaved before/after",
        "base_commit": args.base,
        "after": "working tree at " + _git("rev-parse", "--short", "HEAD") + " + uncommitted changes",
        "weights": args.weights or "each tree's shipped weights (resources/weights/learntobic.safetensors)",
        "photos": [Path(p).name for p in args.photos],
        "runs_per_side": args.runs,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other work)",
        "python": platform.python_version(),
    }
    for key in ("encode_s", "decode_s"):
        before, after = _side(runs["before"], key), _side(runs["after"], key)
        out[key] = {"before": before, "after": after, "ratio_after_before": after["median"] / before["median"]}
    out["bytes"] = {side: [p["bytes"] for p in runs[side][0]["photos"]] for side in runs}
    out["loadavg"] = {side: [r["loadavg"] for r in runs[side]] for side in runs}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="c876aff5", help="commit to compare against (default c876aff5)")
    ap.add_argument("--base-tree", type=Path, default=None, help="use this checkout of --base instead of a worktree")
    ap.add_argument("--photos", nargs="+", default=list(DEFAULT_PHOTOS))
    ap.add_argument("--runs", type=int, default=6, help="runs per side (default 6)")
    ap.add_argument("--repeats", type=int, default=2, help="timings per photo in a run; the fastest counts")
    ap.add_argument("--weights", default=None, help="one weight file for both trees (default: each tree's own)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reorg_timing.json")
    ap.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.photos, args.repeats, args.weights)))
        return 0
    if args.runs < 5:
        ap.error("--runs must be at least 5 per side")
    made = args.base_tree is None
    base_tree = args.base_tree or Path(tempfile.mkdtemp(prefix="obic_base_")) / "tree"
    if made:
        _git("worktree", "add", "--detach", str(base_tree), args.base)
    try:
        doc = compare(base_tree, args)
    finally:
        if made:
            _git("worktree", "remove", "--force", str(base_tree))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    for key in ("encode_s", "decode_s"):
        d = doc[key]
        print(
            f"{key}: before {d['before']['median']:.3f} s, after {d['after']['median']:.3f} s, "
            f"ratio {d['ratio_after_before']:.3f}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
