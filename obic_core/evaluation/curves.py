"""From benchmark points to one curve per codec: the mean over images per setting.

Per codec and setting: mean bpp, mean PSNR (dB), mean MS-SSIM (and its dB form), region
metrics, seconds. In target-bpp mode a setting is *reached* only if every image reached it;
:func:`unreached_targets` lists, per codec, the targets some image could not get down to, and
those some image could not get up to (its best setting still below the target).
``hevc`` is searched at 4:2:0 and 4:4:4 and the better kept: per point in target mode
(inside the adapter), per image in native-quality mode (:func:`choose_hevc_chroma`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from obic_core.evaluation.codecs.base import AT_BEST_SETTING
from obic_core.evaluation.metrics import ms_ssim_db

#: the dashed companion of ``hevc``: the same files counted whole, container included
HEIF_CURVE = "hevc (whole HEIF file)"
#: metrics that get an RD plot and a BD-rate column: key, label, needs masks
METRICS = (
    ("psnr", "PSNR (dB)", False),
    ("ms_ssim_db", "MS-SSIM (dB)", False),
    ("object_psnr", "object PSNR (dB)", True),
    ("background_psnr", "background PSNR (dB)", True),
)
LABELS = {key: label for key, label, _ in METRICS}
_AVERAGED = ("bpp", "psnr", "ms_ssim", "object_psnr", "background_psnr", "object_ms_ssim", "encode_s", "decode_s")


def mean(values: Iterable) -> float | None:
    """Mean of the finite values (None when there are none)."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def choose_hevc_chroma(points: list[dict]) -> dict[str, str]:
    """Per image, the chroma (hevc-420 / hevc-444) whose native-quality PSNR curve is better."""
    from obic_core.evaluation.bd import bd_rate

    by_image: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for p in points:
        if p["codec"] in ("hevc-420", "hevc-444"):
            by_image[p["image"]][p["codec"]].append((p["bpp"], p["psnr"]))
    choice = {}
    for image, curves in by_image.items():
        best = "hevc-420"
        if "hevc-444" in curves and "hevc-420" in curves:
            value, _ = bd_rate(curves["hevc-420"], curves["hevc-444"])
            if value is not None and value < 0:
                best = "hevc-444"
        elif "hevc-444" in curves:
            best = "hevc-444"
        choice[image] = best
    return choice


def build_curves(
    points: list[dict], codecs: Sequence[str], settings: dict[str, list[float]], n_images: int
) -> dict[str, list[dict]]:
    """Per codec, one averaged point per setting, sorted by bpp (see module docstring)."""
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
            row: dict[str, float | None] = {
                "setting": s,
                "n": len(group),
                "n_reached": sum(bool(p["reached"]) for p in group),
                "n_at_best": sum(bool(p.get("extra", {}).get(AT_BEST_SETTING)) for p in group),
            }
            row["reached"] = row["n"] == n_images and row["n_reached"] == row["n"]
            for k in _AVERAGED:
                row[k] = mean(p.get(k) for p in group)
            row["ms_ssim_db"] = ms_ssim_db(row["ms_ssim"])
            if codec == "hevc":
                row["heif_bpp"] = mean(p.get("extra", {}).get("heif_bpp") for p in group)
                row["chroma_444"] = sum(p.get("extra", {}).get("chroma") == "4:4:4" for p in group)
            rows.append(row)
        rows.sort(key=lambda r: r["bpp"] if r["bpp"] is not None else math.inf)
        curves[codec] = rows
    if curves.get("hevc") and all(r.get("heif_bpp") is not None for r in curves["hevc"]):
        curves[HEIF_CURVE] = [{**r, "bpp": r["heif_bpp"]} for r in curves["hevc"]]
    return curves


def unreached_targets(
    points: list[dict], codecs: Sequence[str], targets: Sequence[float], image_keys: Sequence[str]
) -> dict[str, list[dict]]:
    """Per codec, the targets that some image did not meet: ``{"target", "not_reached":
    [keys whose smallest file is above it], "at_best_setting": [keys whose best setting is still
    below it: the point stands at the codec's ceiling], "missing": [keys with no point (failed)]}``.

    Codecs that met every target on every image are left out.
    """
    done = {(p["codec"], p["setting"], p["image"]): p for p in points}
    out: dict[str, list[dict]] = {}
    for codec in codecs:
        rows = []
        for t in targets:
            got = {k: done[(codec, t, k)] for k in image_keys if (codec, t, k) in done}
            above = [k for k, p in got.items() if not p["reached"]]
            ceiling = [k for k, p in got.items() if p["reached"] and p.get("extra", {}).get(AT_BEST_SETTING)]
            missing = [k for k in image_keys if k not in got]
            if above or ceiling or missing:
                rows.append(
                    {
                        "target": t,
                        "not_reached": above,
                        "at_best_setting": ceiling,
                        "missing": missing,
                        "images": len(image_keys),
                    }
                )
        if rows:
            out[codec] = rows
    return out
