"""`obic bench`: a data set × codecs × target rates, resumable, in parallel, with RD plots and BD-rates.

Why it is built this way:

* **Matched rates by default.** Every codec is searched (real encodes, as ``obic compare``
  does) to the largest file not above each of the same target bitrates
  (:data:`DEFAULT_BPP`, 0.05–0.65 bpp), so all curves span the same rates and BD-rates
  compare like with like; a target a codec cannot get down to is listed, per codec and
  image, instead of being met with a bigger file. ``--qualities`` sweeps native settings
  instead (no search cost, but each codec then covers its own range).
* **Points are independent tasks** (:mod:`.worker`: one image, one codec, one setting), run
  in a process pool (default 2 workers, one thread each) so a long run shares the machine
  politely and a crash or Ctrl-C loses at most the points in flight.
* **Every finished point is appended to ``points.jsonl``** (:mod:`.points`), so a rerun skips
  what is there and changed weights or settings are recomputed instead of mixed in.
* Curves (:mod:`.curves`) average over images per setting; BD-rates (:mod:`.bd`) use reached
  points only. On Kodak the published anchors (:mod:`.anchors`) are drawn and BD-rated too.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from obic_core.errors import ObicInputError
from obic_core.evaluation import anchors as published
from obic_core.evaluation.bd import ANCHOR, METHOD, SECOND_ANCHOR, bd_table
from obic_core.evaluation.codecs.registry import get_codec, parse_codecs
from obic_core.evaluation.curves import LABELS, METRICS, build_curves, mean, unreached_targets
from obic_core.evaluation.inputs import DEFAULT_BPP, Item, collect_items, safe_name
from obic_core.evaluation.plots import PLOTS, plot_curves
from obic_core.evaluation.points import POINTS_FILE, cache_key, json_safe, load_points
from obic_core.evaluation.report import markdown_report
from obic_core.evaluation.worker import init_worker, predict_mask_task, run_point
from obic_core.rules import ALL_CODECS


def parse_qualities(specs: Sequence[str] | None, codecs: Sequence[str]) -> dict[str, list[float]]:
    """--qualities [codec=q1,q2,...] ... -> native qualities per codec (defaults elsewhere)."""
    out = {}
    for c in codecs:
        out[c] = [float(q) for q in get_codec(c).default_qualities]
    for spec in specs or []:
        if "=" not in spec:
            raise ObicInputError(f"--qualities {spec!r}: expected CODEC=Q1,Q2,...")
        name, values = spec.split("=", 1)
        name = name.strip().lower()
        if name not in out:
            raise ObicInputError(f"--qualities {spec!r}: {name} is not among the codecs run")
        try:
            out[name] = sorted(float(v) for v in values.split(",") if v.strip())
        except ValueError:
            raise ObicInputError(f"--qualities {spec!r}: not a list of numbers") from None
    return out


def _tasks(
    items: list[Item],
    codecs: Sequence[str],
    settings: dict[str, list[float]],
    mode: str,
    mask_source: str,
    mask_paths: dict[str, str | None],
    signatures: dict[str, str],
    object_quality: float,
    background_quality: float,
    device: str,
    weights,
) -> list[dict]:
    tasks = []
    for item in items:
        for codec in codecs:
            variants = ("hevc-420", "hevc-444") if codec == "hevc" and mode == "quality" else (codec,)
            for run_codec in variants:
                for s in settings[codec]:
                    t = {
                        "key": f"{item.key}|{run_codec}|{s:g}",
                        "image": item.key,
                        "codec": run_codec,
                        "mode": mode,
                        "setting": float(s),
                        "signature": signatures[run_codec],
                        "image_path": item.image,
                        "mask_path": mask_paths.get(item.key),
                        "mask_source": mask_source,
                        "object_quality": object_quality,
                        "background_quality": background_quality,
                        "device": device,
                        "weights": weights,
                    }
                    t["cache_key"] = cache_key(t)
                    tasks.append(t)
    # slow learned-codec points first, so the pool does not end on a long tail of them
    tasks.sort(key=lambda t: (not t["codec"].startswith("obic"), t["image"]))
    return tasks


def _executor(workers: int):
    import concurrent.futures as cf
    import multiprocessing as mp

    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=init_worker)


def _run_all(fn, jobs: list[tuple], workers: int, desc: str, on_done) -> None:
    """Run fn(*job) for each job (in-process when workers == 1), calling on_done(result)."""
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc=desc, unit="pt", file=sys.stderr, disable=not jobs)
    try:
        if workers <= 1:
            init_worker()
            for job in jobs:
                on_done(fn(*job))
                bar.update()
            return
        import concurrent.futures as cf

        pool = _executor(workers)
        try:
            futures = [pool.submit(fn, *job) for job in jobs]
            for fut in cf.as_completed(futures):
                on_done(fut.result())
                bar.update()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    finally:
        bar.close()


def run_bench(
    source: str,
    out: str | Path,
    codecs: Sequence[str] = ALL_CODECS,
    *,
    masks: str | None = None,
    bpp: Sequence[float] | None = None,
    qualities: Sequence[str] | None = None,
    workers: int = 2,
    object_quality: float = 0.8,
    background_quality: float = 0.2,
    device: str = "cpu",
    weights=None,
    limit: int | None = None,
    fresh: bool = False,
    command: str | None = None,
) -> dict:
    """Run (or resume) a benchmark and write results.json, plots and README.md into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    codecs = parse_codecs(list(codecs))
    items, dataset, mask_source = collect_items(source, masks)
    if limit and limit < len(items):  # evenly spaced, so a subset spans every source of the set
        items = [items[i * len(items) // limit] for i in range(limit)]
    mode = "quality" if qualities is not None else "bpp"
    if mode == "bpp":
        targets = sorted(float(b) for b in (bpp or DEFAULT_BPP))
        if not targets or targets[0] <= 0:
            raise ObicInputError("--bpp values must be positive")
        settings = {c: targets for c in codecs}
    else:
        settings = parse_qualities(qualities, codecs)
    run_codecs = [
        c2 for c in codecs for c2 in (("hevc-420", "hevc-444") if c == "hevc" and mode == "quality" else (c,))
    ]
    signatures = {}
    for c in run_codecs:
        adapter = get_codec(
            c,
            mask=np.zeros((1, 1), bool) if c == "obic" else None,
            object_quality=object_quality,
            background_quality=background_quality,
            device=device,
            weights=weights,
        )
        signatures[c] = adapter.signature()  # also fails early when obic weights are missing

    # masks: ground truth, none, or predicted once and cached beside the results
    mask_paths: dict[str, str | None] = {it.key: it.mask for it in items}
    if mask_source == "auto":
        mdir = out / "masks"
        mdir.mkdir(exist_ok=True)
        predicted = {it.key: str(mdir / f"{safe_name(it.key)}.png") for it in items}
        mask_paths.update(predicted)
        to_predict = [(it.image, predicted[it.key]) for it in items if not Path(predicted[it.key]).exists()]
        _run_all(predict_mask_task, to_predict, workers, "masks", lambda _: None)

    points_path = out / POINTS_FILE
    if fresh and points_path.exists():
        points_path.unlink()
    cached = load_points(points_path)
    tasks = _tasks(
        items,
        codecs,
        settings,
        mode,
        mask_source,
        mask_paths,
        signatures,
        object_quality,
        background_quality,
        device,
        weights,
    )
    todo = [(t,) for t in tasks if t["cache_key"] not in cached]
    cache_keys = {t["key"]: t["cache_key"] for t in tasks}
    errors: list[dict] = []
    if len(todo) < len(tasks):
        # (run_bench is the body of `obic bench`: its progress goes to stderr, beside the tqdm bars)
        print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} points already done", file=sys.stderr)  # noqa: T201

    with open(points_path, "a") as log:

        def done(rec: dict) -> None:
            rec["cache_key"] = cache_keys[rec["key"]]
            if "error" in rec:
                errors.append(rec)
                return
            cached[rec["cache_key"]] = rec
            log.write(json.dumps(json_safe(rec)) + "\n")
            log.flush()

        _run_all(run_point, todo, workers, f"bench {dataset}", done)

    wanted = {t["cache_key"] for t in tasks}
    points = [cached[k] for k in sorted(wanted) if k in cached]
    curves = build_curves(points, codecs, settings, len(items))
    has_masks = mask_source != "none"
    metrics = [k for k, _, needs in METRICS if has_masks or not needs]
    table = bd_table(curves, metrics)
    table_second = bd_table(curves, metrics, anchor=SECOND_ANCHOR) if SECOND_ANCHOR in codecs else {}
    keys = [i.key for i in items]
    anchor_doc = published.load_anchors(dataset, keys)
    speed = {}
    for c in run_codecs:
        ps = [p for p in points if p["codec"] == c]
        speed[c] = {
            "encode_s": mean(p["encode_s"] for p in ps),
            "decode_s": mean(p["decode_s"] for p in ps),
            "point_cpu_s": mean(p.get("cpu_s") for p in ps),  # search + decode + metrics
        }
    doc = {
        "dataset": dataset,
        "source": source,
        "images": len(items),
        "image_keys": keys,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": command or f"obic bench {source} --out {out}",
        "config": {
            "codecs": list(codecs),
            "mode": mode,
            "bpp": settings[codecs[0]] if mode == "bpp" else [],
            "qualities": settings if mode == "quality" else {},
            "mask_source": mask_source,
            "object_quality": object_quality,
            "background_quality": background_quality,
            "workers": workers,
            "signatures": signatures,
            "anchor": ANCHOR,
            "bd_method": METHOD,
        },
        "metrics": metrics,
        "curves": curves,
        "bd_rate": table,
        f"bd_rate_vs_{SECOND_ANCHOR}": table_second,
        "unreached": unreached_targets(points, codecs, settings[codecs[0]], keys) if mode == "bpp" else {},
        "speed": speed,
        "errors": [{"key": e["key"], "error": e["error"]} for e in errors],
        "points": points,
    }
    if anchor_doc:
        doc["anchors"] = published.summary(anchor_doc)
        doc["bd_rate_vs_anchors"] = published.bd_vs_anchors(anchor_doc, curves, metrics)
    from obic_core.imageio import write_bytes_atomic

    write_bytes_atomic(out / "results.json", (json.dumps(json_safe(doc), indent=1) + "\n").encode())
    title = f"{dataset} ({len(items)} images)"
    for m in metrics:
        references = published.curves_for(anchor_doc, m)
        plot_curves(curves, m, LABELS[m], out / PLOTS[m], title, references)
    write_bytes_atomic(out / "README.md", markdown_report(json_safe(doc)).encode())
    return doc
