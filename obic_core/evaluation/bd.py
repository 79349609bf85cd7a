"""BD-rates: the ``bjontegaard`` package (Akima interpolation) on averaged curves.

Only *reached* points count (a codec's smallest file shown above a target says nothing about
its rate at that target), and a curve needs ≥ :data:`MIN_BD_POINTS` distinct ones; a codec
with fewer is listed as excluded, with the reason. The package's warnings (e.g. too little
overlap of the two curves along the quality axis) are kept as the entry's note.

Each entry also carries the **BD-quality** (``bjontegaard.bd_psnr`` on any metric: the mean
quality difference in dB at equal rate, integrated over log rate). BD-rate integrates along the
quality axis, so two codecs a few dB apart overlap there only partly however their rates are
matched; at matched rates BD-quality's rate intervals coincide, so it is the figure that covers
the whole curve.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

MIN_BD_POINTS = 4
#: the headline reference: HEVC-intra (x265), the stand-in for BPG
ANCHOR = "hevc"
#: the issue's second reference (milestone: ≤ −25 % against it), reported in its own table
SECOND_ANCHOR = "jpeg2000"
METHOD = "bjontegaard.bd_rate(method='akima'), reached points only"

Points = list[tuple[float, float]]


def _distinct(points: Points) -> Points:
    """Sorted by rate, repeats dropped: a codec pinned at its smallest or largest file returns
    the same file for several targets, which carries no information and breaks interpolation."""
    out: Points = []
    for r, d in sorted(points):
        if not out or (r > out[-1][0] * (1 + 1e-9) and d != out[-1][1]):
            out.append((r, d))
    return out


def bd_rate(anchor: Points, test: Points) -> tuple[float | None, str]:
    """BD-rate (%) of test vs anchor on (rate, quality) points; (None, reason) if impossible."""
    return _bd("bd_rate", anchor, test)


def bd_quality(anchor: Points, test: Points) -> tuple[float | None, str]:
    """BD-quality (the metric's units, dB here) of test vs anchor at equal rate; (None, reason)."""
    return _bd("bd_psnr", anchor, test)


def _bd(function: str, anchor: Points, test: Points) -> tuple[float | None, str]:
    import bjontegaard

    a, t = _distinct(anchor), _distinct(test)
    if len(a) < MIN_BD_POINTS or len(t) < MIN_BD_POINTS:
        return None, f"fewer than {MIN_BD_POINTS} distinct points"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = getattr(bjontegaard, function)(
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


def usable(rows: list[dict], metric: str) -> Points:
    """A curve's reached (bpp, metric) points with finite values."""
    pts = {
        (r["bpp"], r[metric])
        for r in rows
        if r["reached"] and r["bpp"] and r.get(metric) is not None and math.isfinite(r[metric])
    }
    return sorted(pts)


def bd_table(curves: dict[str, list[dict]], metrics: Sequence[str], anchor: str = ANCHOR) -> dict:
    """{codec: {metric: {"bd_rate": % or None, "note": str, "bd_quality": dB or None}}} against
    ``anchor`` (``quality_note``: bjontegaard's warning for the BD-quality, when it gave one)."""
    table: dict[str, dict] = {}
    if anchor not in curves:
        return table
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
                value, note = bd_rate(a, t)
                dq, dq_note = bd_quality(a, t)
                table[codec][metric] = {"bd_rate": value, "note": note, "bd_quality": dq}
                if dq_note:
                    table[codec][metric]["quality_note"] = dq_note
    return table
