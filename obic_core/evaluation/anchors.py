"""Published reference curves (e.g. CompressAI's Kodak results), drawn beside a benchmark's own.

The numbers live in ``resources/anchors/<dataset>.json`` with their source (repository, path,
commit): they are facts from someone else's measurements, kept as data, so a reader can
check them against the original and nothing of the other project's code is involved. They
are means over that data set's whole image list; a run over part of it is told so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from obic_core.evaluation.curves import HEIF_CURVE
from obic_core.evaluation.metrics import ms_ssim_db

ANCHORS_DIR = Path(__file__).resolve().parent.parent.parent / "resources" / "anchors"
#: what an anchor curve is drawn and BD-rated on; a learned model only on the metric it was
#: trained for (``trained_for``), a classic codec on both
METRIC_OF_TRAINING = {"mse": "psnr", "ms_ssim": "ms_ssim_db"}
ANCHOR_METRICS = ("psnr", "ms_ssim_db")


def load_anchors(dataset: str, image_keys: list[str], folder: Path = ANCHORS_DIR) -> dict | None:
    """The anchor document for ``dataset`` when every benchmarked image belongs to it, else None.

    Adds ``covers_all`` (the run has every image the published means were taken over) and,
    per anchor, ``rows``: curve rows in the format of :func:`.curves.build_curves`.
    """
    path = folder / f"{dataset}.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    images = set(doc.get("images", []))
    if not image_keys or not set(image_keys) <= images:
        return None
    doc["covers_all"] = set(image_keys) == images
    doc["file"] = path.name
    for entry in doc["anchors"].values():
        entry["rows"] = [
            {"setting": None, "bpp": b, "psnr": p, "ms_ssim": m, "ms_ssim_db": ms_ssim_db(m), "reached": True}
            for b, p, m in zip(entry["bpp"], entry["psnr"], entry["ms_ssim"], strict=True)
        ]
    return doc


def shown_on(entry: dict, metric: str) -> bool:
    """Whether an anchor's curve belongs on ``metric``'s plot and BD table."""
    if metric not in ANCHOR_METRICS:
        return False
    trained = entry.get("trained_for")
    return trained is None or METRIC_OF_TRAINING.get(trained) == metric


def curves_for(doc: dict | None, metric: str) -> dict[str, list[dict]]:
    """{label: rows} of the anchors drawn on ``metric``'s plot."""
    if not doc:
        return {}
    return {e["label"]: e["rows"] for e in doc["anchors"].values() if shown_on(e, metric)}


def at_rates(rows: list[dict], rates: list[float]) -> list[dict]:
    """The anchor's curve at ``rates`` (those inside its published range; no extrapolation).

    PCHIP on log-rate (monotone, no overshoot), per metric. Why resample: the published curves
    run to 4.7 bpp on their own grids, the matched-rate ones to 0.65 bpp on ours. Compared at
    the same rates, an anchor is treated exactly like a measured codec, and the BD integral
    covers the rates measured here rather than the published curve's far end.
    """
    from scipy.interpolate import PchipInterpolator

    lo, hi = rows[0]["bpp"], rows[-1]["bpp"]
    inside = [r for r in rates if lo <= r <= hi]
    if not inside:
        return []
    logs = np.log([r["bpp"] for r in rows])
    out = [{"setting": None, "bpp": r, "reached": True} for r in inside]
    for metric in ANCHOR_METRICS:
        f = PchipInterpolator(logs, [r[metric] for r in rows])
        for row, r in zip(out, inside, strict=True):
            row[metric] = float(f(np.log(r)))
    return out


def bd_vs_anchors(doc: dict, curves: dict[str, list[dict]], metrics: list[str]) -> dict:
    """{anchor key: {codec: {metric: {"bd_rate", "note"}}}}: each measured curve against each
    anchor on the metrics that anchor is shown on, both curves at the same rates (the codec's
    reached ones that the published curve covers, :func:`at_rates`); BD-rate < 0: fewer bits
    than the anchor for the same quality."""
    from obic_core.evaluation.bd import MIN_BD_POINTS, bd_table

    out: dict[str, dict] = {}
    for key, entry in doc["anchors"].items():
        wanted = [m for m in metrics if shown_on(entry, m)]
        lo, hi = entry["rows"][0]["bpp"], entry["rows"][-1]["bpp"]
        out[key] = {}
        for codec, rows in curves.items():
            if codec == HEIF_CURVE:
                continue
            reached = [r for r in rows if r["reached"] and r["bpp"]]
            common = [r for r in reached if lo <= r["bpp"] <= hi]
            if len(common) < MIN_BD_POINTS and len(reached) >= MIN_BD_POINTS:
                note = (
                    f"excluded: the published curve ({lo:.3g}–{hi:.3g} bpp) covers only {len(common)} "
                    f"of the {len(reached)} rates reached here (BD needs {MIN_BD_POINTS})"
                )
                out[key][codec] = {m: {"bd_rate": None, "note": note} for m in wanted}
                continue
            anchor_rows = at_rates(entry["rows"], [r["bpp"] for r in common])
            table = bd_table({key: anchor_rows, codec: common if common else rows}, wanted, anchor=key)
            out[key][codec] = table[codec]
    return out


def summary(doc: dict) -> dict:
    """What results.json records about the anchors (their points and sources, no rows)."""
    return {
        "file": f"resources/anchors/{doc['file']}",
        "covers_all_images": doc["covers_all"],
        "images": len(doc["images"]),
        "anchors": {key: {k: v for k, v in e.items() if k != "rows"} for key, e in doc["anchors"].items()},
    }
