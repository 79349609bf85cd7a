"""`obic bench`: a data set × codecs × rate points, resumable, in parallel, with RD plots and BD-rates.

Why it is built this way:

* **Points are independent tasks** (one image, one codec, one target bpp or native quality),
  run in a process pool (default 2 workers, one torch thread each) so a long run shares the
  machine politely and a crash or Ctrl-C loses at most the points in flight.
* **Every finished point is appended to ``points.jsonl``** in the output folder, keyed by
  image, codec, rate setting, mask source and a codec signature (library versions, obic
  weights id and qualities). A rerun skips what is there, so an interrupted run resumes, and
  changed weights or settings are recomputed instead of mixed in.
* **Curves average over images per setting** (mean bpp, mean PSNR in dB, mean MS-SSIM); in
  ``--bpp`` mode a point is *reached* only if every image reached it. BD-rates (the
  ``bjontegaard`` package, Akima interpolation) use reached points only and need ≥ 4 of
  them on both curves; a codec with fewer is listed as excluded, with the reason.
* ``hevc`` is searched at 4:2:0 and 4:4:4 and the better kept: per point in ``--bpp`` mode
  (higher PSNR at the target), per image in ``--qualities`` mode (the chroma whose PSNR
  curve has the lower BD-rate). Its headline rate is the HEVC payload; the whole-HEIF rate
  is plotted and tabulated beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from obic_core.baselines import ALL_CODECS, get_codec, parse_codecs
from obic_core.errors import ObicError, ObicInputError

DEFAULT_BPP = (0.05, 0.1, 0.2, 0.4)
ANCHOR = "hevc"
#: the issue's second reference (milestone: ≤ −25 % against it), reported in its own table
SECOND_ANCHOR = "jpeg2000"
HEIF_CURVE = "hevc (whole HEIF file)"
#: metrics that get an RD plot and a BD-rate column: key, label, needs masks
METRICS = (
    ("psnr", "PSNR (dB)", False),
    ("ms_ssim_db", "MS-SSIM (dB)", False),
    ("object_psnr", "object PSNR (dB)", True),
    ("background_psnr", "background PSNR (dB)", True),
)
PLOTS = {
    "psnr": "rd_psnr.png",
    "ms_ssim_db": "rd_ms_ssim.png",
    "object_psnr": "rd_object_psnr.png",
    "background_psnr": "rd_background_psnr.png",
}
MIN_BD_POINTS = 4
POINTS_FILE = "points.jsonl"
STYLE = {
    "obic": ("tab:red", "o"),
    "obic-single": ("tab:orange", "s"),
    "hevc": ("black", "D"),
    HEIF_CURVE: ("gray", "d"),
    "jpeg2000": ("tab:blue", "^"),
    "avif": ("tab:green", "v"),
    "webp": ("tab:purple", "P"),
    "jpeg": ("tab:brown", "X"),
    "hevc-420": ("dimgray", "<"),
    "hevc-444": ("silver", ">"),
}


# ------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Item:
    key: str  # stable id: file stem, or "<dataset>/<stem>" for split pairs
    image: str
    mask: str | None  # ground-truth or cached predicted mask PNG


def _safe(key: str) -> str:
    return key.replace("/", "__")


def collect_items(source: str, masks: str | None) -> tuple[list[Item], str, str]:
    """(items, data set name, mask source) for ``obic bench SOURCE --masks MASKS``.

    SOURCE is a folder of images, a folder with ``images/`` + ``masks/`` (masks used), or
    ``masks-val`` (the committed validation split of the shared image/mask pairs). MASKS is
    a folder of PNGs with the images' stems, ``auto`` (predicted, cached in the output), or
    ``none``; the default is the data set's own masks, else ``auto``.
    """
    from obic_core import datasets

    if source == "masks-val" and not Path(source).is_dir():
        pairs = datasets.validation_pairs()
        if not pairs:
            raise ObicInputError("masks-val needs the shared data (../shared/data or $OBIC_SHARED_DATA)")
        if masks not in (None, "gt"):
            raise ObicInputError("masks-val always uses its ground-truth masks")
        return [Item(p.key, str(p.image), str(p.mask)) for p in pairs], "masks-val", "gt"
    folder = Path(source)
    if not folder.is_dir():
        raise ObicInputError(f"{source} is not a folder (or 'masks-val')")
    if (folder / "images").is_dir() and masks is None:
        pairs = datasets.find_pairs(folder)
        return [Item(p.image.stem, str(p.image), str(p.mask)) for p in pairs], folder.name, "gt"
    images = datasets.list_images(folder / "images" if (folder / "images").is_dir() else folder)
    if not images:
        raise ObicInputError(f"no images in {folder}")
    mode = masks or "auto"
    if mode in ("auto", "none"):
        return [Item(p.stem, str(p), None) for p in images], folder.name, mode
    mask_dir = Path(mode)
    if not mask_dir.is_dir():
        raise ObicInputError(f"--masks {mode}: not a folder (or auto / none)")
    found = {p.stem: p for p in datasets.list_images(mask_dir)}
    missing = [p.name for p in images if p.stem not in found]
    if missing:
        raise ObicInputError(f"no mask in {mask_dir} for {len(missing)} image(s), e.g. {missing[0]}")
    return [Item(p.stem, str(p), str(found[p.stem])) for p in images], folder.name, "gt"


# ------------------------------------------------------------------------------ tasks (worker side)


def _init_worker() -> None:
    """One thread per worker process: 2 workers then use the 2 cores a codec run also wants."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # torch 2.13 warns about Intel-GPU TF32 on first use; one line per worker is only noise
    warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
    import torch

    torch.set_num_threads(1)
    try:
        import pillow_heif

        pillow_heif.options.DECODE_THREADS = 1
    except ImportError:  # pragma: no cover
        pass


def _predict_mask_task(image_path: str, out_path: str) -> str:
    from obic_core.imageio import read_image, write_png
    from obic_core.segmentation import predict_mask

    pixels = read_image(image_path).pixels
    mask = np.asarray(predict_mask(pixels, "auto"), dtype=bool)
    write_png(out_path, np.repeat(np.where(mask, 255, 0).astype(np.uint8)[..., None], 3, 2))
    return out_path


def run_point(task: dict) -> dict:
    """Encode one image with one codec at one setting, decode, score. Runs in a worker."""
    from obic_core.imageio import read_image, read_mask
    from obic_core.metrics import image_metrics, ms_ssim_db, timed

    record = {k: task[k] for k in ("key", "image", "codec", "mode", "setting", "signature")}
    try:
        pixels = read_image(task["image_path"]).pixels
        mask = read_mask(task["mask_path"], pixels.shape[:2]) if task["mask_path"] else None
        adapter = get_codec(
            task["codec"],
            mask=mask,
            object_quality=task["object_quality"],
            background_quality=task["background_quality"],
            device=task["device"],
            weights=task["weights"],
            threads=1,
        )
        if task["mode"] == "bpp":
            enc = adapter.at_bpp(pixels, task["setting"])
        else:
            enc = adapter.encode_at(pixels, task["setting"])
        decoded, decode_s = timed(lambda: adapter.decode(enc.data))
        m = image_metrics(pixels, decoded, mask)
        record.update(m)
        record.update(
            bpp=enc.bpp,
            bytes=enc.bytes,
            quality=enc.quality,
            reached=enc.reached,
            encode_s=enc.encode_s,
            decode_s=decode_s,
            ms_ssim_db=ms_ssim_db(m["ms_ssim"]),
            width=int(pixels.shape[1]),
            height=int(pixels.shape[0]),
            extra={k: v for k, v in enc.extra.items() if k != "alternatives"},
        )
    except ObicError as exc:
        record["error"] = str(exc)
    except Exception as exc:  # a codec library failing on one image must not stop the run
        record["error"] = f"{type(exc).__name__}: {exc}"
    return record


# ------------------------------------------------------------------------------ cache


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_json(value):
    if value == "inf":
        return math.inf
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def load_points(path: Path) -> dict[str, dict]:
    """Finished points by cache key; a torn last line (killed mid-write) is ignored."""
    points: dict[str, dict] = {}
    if not path.exists():
        return points
    for line in path.read_text().splitlines():
        try:
            rec = _from_json(json.loads(line))
        except ValueError:
            continue
        if isinstance(rec, dict) and "cache_key" in rec and "error" not in rec:
            points[rec["cache_key"]] = rec
    return points


def cache_key(task: dict) -> str:
    return "|".join(
        [
            task["key"],
            task["codec"],
            f"{task['mode']}={task['setting']:g}",
            f"mask={task['mask_source']}",
            task["signature"],
        ]
    )


# ------------------------------------------------------------------------------ aggregation


def _mean(values: Iterable) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _bd(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> tuple[float | None, str]:
    """BD-rate (%) of test vs anchor on (rate, distortion) points; (None, reason) if impossible."""
    import bjontegaard

    def distinct(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        # a codec pinned at its smallest or largest file returns the same file for several
        # targets; repeated points carry no information and break the interpolation
        out: list[tuple[float, float]] = []
        for r, d in sorted(points):
            if not out or (r > out[-1][0] * (1 + 1e-9) and d != out[-1][1]):
                out.append((r, d))
        return out

    a, t = distinct(anchor), distinct(test)
    if len(a) < MIN_BD_POINTS or len(t) < MIN_BD_POINTS:
        return None, f"fewer than {MIN_BD_POINTS} distinct points"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = bjontegaard.bd_rate(
                [p[0] for p in a],
                [p[1] for p in a],
                [p[0] for p in t],
                [p[1] for p in t],
                method="akima",
                require_matching_points=False,
            )
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
            return None, f"not computable ({exc})"
    note = "; ".join(sorted({str(w.message).split(" You can")[0] for w in caught}))
    if value is None or not math.isfinite(value):
        return None, note or "not computable"
    return float(value), note


def choose_hevc_chroma(points: list[dict]) -> dict[str, str]:
    """Per image, the chroma (hevc-420 / hevc-444) whose native-quality PSNR curve is better."""
    by_image: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for p in points:
        if p["codec"] in ("hevc-420", "hevc-444"):
            by_image[p["image"]][p["codec"]].append((p["bpp"], p["psnr"]))
    choice = {}
    for image, curves in by_image.items():
        best = "hevc-420"
        if "hevc-444" in curves and "hevc-420" in curves:
            value, _ = _bd(curves["hevc-420"], curves["hevc-444"])
            if value is not None and value < 0:
                best = "hevc-444"
        elif "hevc-444" in curves:
            best = "hevc-444"
        choice[image] = best
    return choice


def build_curves(
    points: list[dict], codecs: Sequence[str], settings: dict[str, list[float]], n_images: int
) -> dict[str, list[dict]]:
    """Per codec, one averaged point per setting (see module docstring)."""
    pts = list(points)
    mode = pts[0]["mode"] if pts else "bpp"
    if mode == "quality" and "hevc" in codecs:
        choice = choose_hevc_chroma(pts)
        pts = [p for p in pts if p["codec"] not in ("hevc-420", "hevc-444")] + [
            {**p, "codec": "hevc", "chroma_choice": p["codec"]}
            for p in pts
            if p["codec"] in ("hevc-420", "hevc-444") and choice.get(p["image"]) == p["codec"]
        ]
    grouped: dict[tuple[str, float], list[dict]] = defaultdict(list)
    for p in pts:
        grouped[(p["codec"], p["setting"])].append(p)
    curves: dict[str, list[dict]] = {}
    for codec in codecs:
        rows = []
        for s in settings.get(codec, []):
            group = grouped.get((codec, s), [])
            if not group:
                continue
            row = {"setting": s, "n": len(group), "n_reached": sum(bool(p["reached"]) for p in group)}
            row["reached"] = row["n"] == n_images and row["n_reached"] == row["n"]
            for k in (
                "bpp",
                "psnr",
                "ms_ssim",
                "object_psnr",
                "background_psnr",
                "object_ms_ssim",
                "encode_s",
                "decode_s",
            ):
                row[k] = _mean(p.get(k) for p in group)
            row["ms_ssim_db"] = (
                None
                if row["ms_ssim"] is None
                else (math.inf if row["ms_ssim"] >= 1 else -10 * math.log10(1 - row["ms_ssim"]))
            )
            if codec == "hevc":
                row["heif_bpp"] = _mean(p.get("extra", {}).get("heif_bpp") for p in group)
                row["chroma_444"] = sum(p.get("extra", {}).get("chroma") == "4:4:4" for p in group)
            rows.append(row)
        rows.sort(key=lambda r: r["bpp"] if r["bpp"] is not None else math.inf)
        curves[codec] = rows
    if curves.get("hevc") and all(r.get("heif_bpp") is not None for r in curves["hevc"]):
        curves[HEIF_CURVE] = [{**r, "bpp": r["heif_bpp"]} for r in curves["hevc"]]
    return curves


def bd_table(curves: dict[str, list[dict]], metrics: Sequence[str], anchor: str = ANCHOR) -> dict:
    """{codec: {metric: {"bd_rate": % or None, "note": str}}} against ``anchor``."""
    table: dict[str, dict] = {}
    if anchor not in curves:
        return table

    def usable(rows: list[dict], metric: str) -> list[tuple[float, float]]:
        pts = {
            (r["bpp"], r[metric])
            for r in rows
            if r["reached"] and r["bpp"] and r.get(metric) is not None and math.isfinite(r[metric])
        }
        return sorted(pts)

    for codec, rows in curves.items():
        if codec == anchor:
            continue
        table[codec] = {}
        for metric in metrics:
            a, t = usable(curves[anchor], metric), usable(rows, metric)
            if len(t) < MIN_BD_POINTS:
                note = (
                    f"excluded: only {len(t)} of {len(rows)} points reached the target "
                    f"on every image (BD needs {MIN_BD_POINTS})"
                )
                table[codec][metric] = {"bd_rate": None, "note": note}
            elif len(a) < MIN_BD_POINTS:
                table[codec][metric] = {
                    "bd_rate": None,
                    "note": f"excluded: anchor {anchor} has only {len(a)} reached points",
                }
            else:
                value, note = _bd(a, t)
                table[codec][metric] = {"bd_rate": value, "note": note}
    return table


# ------------------------------------------------------------------------------ reports


#: right-hand panel of every RD plot: the low-rate range this project is about (0.05–0.5 bpp),
#: which the classic codecs' grid up to 2 bpp would otherwise squeeze into a corner
LOW_RATE_MAX_BPP = 0.6


def _draw_curves(ax, curves: dict[str, list[dict]], metric: str, max_bpp: float | None) -> None:
    """One panel: each codec's curve, points with ``bpp <= max_bpp`` only when a limit is given."""
    shown: list[float] = []  # values inside the panel's bpp range, for its y limits
    for codec, rows in curves.items():
        pts = [r for r in rows if r["bpp"] is not None and r.get(metric) is not None and math.isfinite(r[metric])]
        if not pts:
            continue
        color, marker = STYLE.get(codec, (None, "o"))
        dashed = codec == HEIF_CURVE
        ax.plot(
            [r["bpp"] for r in pts],
            [r[metric] for r in pts],
            color=color,
            linestyle="--" if dashed else "-",
            linewidth=1.0 if dashed else 1.6,
            label=codec,
        )
        for r in pts:
            ax.plot(
                r["bpp"],
                r[metric],
                marker=marker,
                color=color,
                markersize=5,
                markerfacecolor=color if r["reached"] else "white",
            )
        shown += [r[metric] for r in pts if max_bpp is None or r["bpp"] <= max_bpp]
    if max_bpp is not None:
        ax.set_xlim(0.0, max_bpp)
        if shown:
            pad = 0.05 * max(max(shown) - min(shown), 1e-6)
            ax.set_ylim(min(shown) - pad, max(shown) + pad)
    ax.set_xlabel("bits per pixel")
    ax.grid(True, alpha=0.3)


def plot_curves(curves: dict[str, list[dict]], metric: str, label: str, path: Path, title: str) -> None:
    """RD plot: the whole measured range, and beside it a zoom on ≤ LOW_RATE_MAX_BPP when the
    curves go further (they do whenever HEVC/JPEG points up to 2 bpp are in the run)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    top = max((r["bpp"] for rows in curves.values() for r in rows if r["bpp"] is not None), default=0.0)
    zoom = top > LOW_RATE_MAX_BPP
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(12 if zoom else 7, 5), dpi=110, squeeze=False)
    _draw_curves(axes[0][0], curves, metric, None)
    axes[0][0].set_ylabel(label)
    axes[0][0].set_title(title)
    axes[0][0].legend(fontsize=8, loc="lower right")
    if zoom:
        _draw_curves(axes[0][1], curves, metric, LOW_RATE_MAX_BPP)
        axes[0][1].set_title(f"low rates (≤ {LOW_RATE_MAX_BPP:g} bpp)")
    fig.text(0.01, 0.01, "hollow marker: not every image reached the target", fontsize=7, color="gray")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _cell(v, spec: str = ".2f") -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "∞"
    return format(v, spec)


def _bd_markdown(table: dict, anchor: str, metrics: Sequence[str], labels: dict) -> list[str]:
    """One BD-rate table with its bjontegaard warnings underneath."""
    out = [
        f"## BD-rate against {anchor} (negative = fewer bits for the same quality)",
        "",
        "| codec | " + " | ".join(labels[m] for m in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    notes = []
    for codec, row in table.items():
        if codec == anchor:
            continue
        cells = []
        for m in metrics:
            e = row.get(m, {})
            if e.get("bd_rate") is None:
                cells.append("excluded" if e.get("note", "").startswith("excluded") else "n/a")
            else:
                cells.append(f"{e['bd_rate']:+.1f} %")
            if e.get("note"):
                notes.append(f"{codec} / {labels[m]}: {e['note']}")
        out.append(f"| {codec} | " + " | ".join(cells) + " |")
    if notes:
        out += [""] + [f"- {n}" for n in sorted(set(notes))]
    return out


def markdown_report(doc: dict) -> str:
    """README.md of a results folder: settings, BD-rate table, per-point table, speed, plots."""
    cfg = doc["config"]
    metrics = [m for m in doc["metrics"]]
    labels = {k: lab for k, lab, _ in METRICS}
    out = [
        f"# Benchmark: {doc['dataset']}",
        "",
        f"{doc['images']} images · codecs: {', '.join(cfg['codecs'])} · mode: {cfg['mode']} "
        f"({', '.join(f'{s:g}' for s in cfg['bpp'])} bpp)"
        if cfg["mode"] == "bpp"
        else f"{doc['images']} images · codecs: {', '.join(cfg['codecs'])} · mode: native qualities",
        f"masks: {cfg['mask_source']} · obic qualities: object {cfg['object_quality']:g}, "
        f"background {cfg['background_quality']:g} (difference kept at a target) · "
        f"{cfg['workers']} worker(s), 1 thread each",
        "",
        "Regenerate: `" + doc["command"] + "`",
        "",
    ]
    out += _bd_markdown(doc["bd_rate"], ANCHOR, metrics, labels)
    if doc.get(f"bd_rate_vs_{SECOND_ANCHOR}"):
        out += [""] + _bd_markdown(doc[f"bd_rate_vs_{SECOND_ANCHOR}"], SECOND_ANCHOR, metrics, labels)
    out += [
        "",
        f"hevc's rate is the HEVC payload (the BPG stand-in); “{HEIF_CURVE}” is the same files "
        "counted whole, container included.",
        "",
        "## Mean over images per setting",
        "",
        "| codec | setting | bpp | PSNR | MS-SSIM | obj PSNR | bkg PSNR | obj MS-SSIM | reached |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for codec, rows in doc["curves"].items():
        if codec == HEIF_CURVE:
            continue
        for r in rows:
            out.append(
                f"| {codec} | {r['setting']:g} | {_cell(r['bpp'], '.4f')} | {_cell(r['psnr'])} | "
                f"{_cell(r['ms_ssim'], '.4f')} | {_cell(r['object_psnr'])} | "
                f"{_cell(r['background_psnr'])} | {_cell(r['object_ms_ssim'], '.4f')} | "
                f"{r['n_reached']}/{r['n']} |"
            )
    out += [
        "",
        "## Speed (seconds per image, mean over all points of this run)",
        "",
        "One encode at the chosen setting (not the rate search) and one decode, measured inside "
        f"{cfg['workers']} parallel single-threaded workers on this CPU; `bench/speed.py` "
        "measures them one at a time.",
        "",
        "| codec | encode s | decode s |",
        "|---|---|---|",
    ]
    for codec, s in doc["speed"].items():
        out.append(f"| {codec} | {_cell(s['encode_s'], '.3f')} | {_cell(s['decode_s'], '.3f')} |")
    out += ["", "## Plots", ""]
    for m in metrics:
        out.append(f"![{labels[m]}]({PLOTS[m]})")
    if doc.get("errors"):
        out += ["", f"**{len(doc['errors'])} point(s) failed** — see results.json `errors`."]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ driver


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

    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)


def _run_all(fn, jobs: list[tuple], workers: int, desc: str, on_done) -> None:
    """Run fn(*job) for each job (in-process when workers == 1), calling on_done(result)."""
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc=desc, unit="pt", file=sys.stderr, disable=not jobs)
    try:
        if workers <= 1:
            _init_worker()
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
    if limit:
        items = items[:limit]
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
        for it in items:
            mask_paths[it.key] = str(mdir / f"{_safe(it.key)}.png")
        todo = [(it.image, mask_paths[it.key]) for it in items if not Path(mask_paths[it.key]).exists()]
        _run_all(_predict_mask_task, todo, workers, "masks", lambda _: None)

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
    keys = {t["key"]: t["cache_key"] for t in tasks}
    errors: list[dict] = []
    if len(todo) < len(tasks):
        print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} points already done", file=sys.stderr)

    with open(points_path, "a") as log:

        def done(rec: dict) -> None:
            rec["cache_key"] = keys[rec["key"]]
            if "error" in rec:
                errors.append(rec)
                return
            cached[rec["cache_key"]] = rec
            log.write(json.dumps(_json_safe(rec)) + "\n")
            log.flush()

        _run_all(run_point, todo, workers, f"bench {dataset}", done)

    wanted = {t["cache_key"] for t in tasks}
    points = [cached[k] for k in sorted(wanted) if k in cached]
    curves = build_curves(points, codecs, settings, len(items))
    has_masks = mask_source != "none"
    metrics = [k for k, _, needs in METRICS if has_masks or not needs]
    table = bd_table(curves, metrics)
    table_second = bd_table(curves, metrics, anchor=SECOND_ANCHOR) if SECOND_ANCHOR in codecs else {}
    speed = {}
    for c in run_codecs:
        ps = [p for p in points if p["codec"] == c]
        speed[c] = {"encode_s": _mean(p["encode_s"] for p in ps), "decode_s": _mean(p["decode_s"] for p in ps)}
    doc = {
        "dataset": dataset,
        "source": source,
        "images": len(items),
        "image_keys": [i.key for i in items],
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
            "bd_method": "bjontegaard.bd_rate(method='akima'), reached points only",
        },
        "metrics": metrics,
        "curves": curves,
        "bd_rate": table,
        f"bd_rate_vs_{SECOND_ANCHOR}": table_second,
        "speed": speed,
        "errors": [{"key": e["key"], "error": e["error"]} for e in errors],
        "points": points,
    }
    from obic_core.imageio import write_bytes_atomic

    write_bytes_atomic(out / "results.json", (json.dumps(_json_safe(doc), indent=1) + "\n").encode())
    title = f"{dataset} ({len(items)} images)"
    for m in metrics:
        label = dict((k, lab) for k, lab, _ in METRICS)[m]
        plot_curves(curves, m, label, out / PLOTS[m], title)
    write_bytes_atomic(out / "README.md", markdown_report(_json_safe(doc)).encode())
    return doc


# ------------------------------------------------------------------------------ CLI


def _bpp_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise argparse.ArgumentTypeError("bpp values must be positive numbers")
    return values


def _quality(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("quality must be between 0 and 1")
    return v


def cmd_bench(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise ObicInputError("--workers must be at least 1")
    command = _command_line(args)
    doc = run_bench(
        args.source,
        args.out,
        parse_codecs(args.codecs),
        masks=args.masks,
        bpp=args.bpp,
        qualities=args.qualities,
        workers=args.workers,
        object_quality=args.object_quality,
        background_quality=args.background_quality,
        device=args.device,
        weights=str(args.weights) if args.weights else None,
        limit=args.limit,
        fresh=args.fresh,
        command=command,
    )
    for codec, row in doc["bd_rate"].items():
        cells = ", ".join(
            f"{m}: " + ("excluded" if e["bd_rate"] is None else f"{e['bd_rate']:+.1f} %") for m, e in row.items()
        )
        print(f"BD-rate vs {ANCHOR} — {codec}: {cells}")
    print(f"wrote {Path(args.out) / 'results.json'}, plots and README.md")
    if doc["errors"]:
        print(
            f"{len(doc['errors'])} point(s) failed, e.g. {doc['errors'][0]['key']}: "
            f"{doc['errors'][0]['error']}; rerun to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The command that regenerates these results (recorded in results.json and README.md)."""
    import shlex

    parts = ["obic", "bench", args.source]
    if args.masks:
        parts += ["--masks", args.masks]
    if args.codecs:
        parts += ["--codecs", *args.codecs]
    if args.bpp:
        parts += ["--bpp", ",".join(f"{b:g}" for b in args.bpp)]
    if args.qualities is not None:
        parts += ["--qualities", *args.qualities]
    parts += ["--out", args.out]
    if args.workers != 2:
        parts += ["--workers", str(args.workers)]
    if (args.object_quality, args.background_quality) != (0.8, 0.2):
        parts += [
            "--object-quality",
            f"{args.object_quality:g}",
            "--background-quality",
            f"{args.background_quality:g}",
        ]
    for flag, value in (
        ("--device", args.device if args.device != "cpu" else None),
        ("--weights", args.weights),
        ("--limit", args.limit),
    ):
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(shlex.quote(str(p)) for p in parts)


def register_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark a data set: all codecs, RD plots, BD-rates (resumable)",
        description="Run every codec over a data set at target bpps (or native qualities), in "
        "parallel worker processes; finished points are cached in OUT/points.jsonl so "
        "an interrupted run resumes. Writes results.json, RD plots, README.md.",
    )
    p.add_argument("source", help="image folder, folder with images/ + masks/, or 'masks-val'")
    p.add_argument(
        "--masks",
        default=None,
        help="mask folder (same stems), auto (predict; cached in OUT/masks) or none "
        "(default: the data set's masks, else auto)",
    )
    p.add_argument("--codecs", nargs="+", default=None, help=f"default all: {' '.join(ALL_CODECS)}")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--bpp", type=_bpp_list, default=None, help="target bpps, comma-separated (default 0.05,0.1,0.2,0.4)"
    )
    group.add_argument(
        "--qualities",
        nargs="*",
        default=None,
        metavar="CODEC=Q,...",
        help="sweep native quality settings instead (defaults per codec; override e.g. jpeg=5,10,20)",
    )
    p.add_argument("--out", required=True, help="results folder (resumes what it already holds)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2, 1 thread each)")
    p.add_argument("--object-quality", type=_quality, default=0.8)
    p.add_argument("--background-quality", type=_quality, default=0.2)
    p.add_argument("--device", default="cpu", help="obic device (default cpu)")
    p.add_argument("--weights", default=None, help="codec weight file (default: the shipped one)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images (smoke runs)")
    p.add_argument("--fresh", action="store_true", help="ignore and discard cached points")
    p.set_defaults(func=cmd_bench)
