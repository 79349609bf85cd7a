"""RD plots of a benchmark: one PNG per metric, measured curves solid, published anchors dashed.

The x range is the measured one (the anchors' points up to 4.7 bpp are clipped, not allowed
to squeeze the 0.05–0.65 bpp range this project is about into a corner); a run whose
curves go past 1 bpp (native-quality sweeps) gets a second panel zoomed on the low rates.
"""

from __future__ import annotations

import math
from pathlib import Path

from obic_core.evaluation.curves import HEIF_CURVE

PLOTS = {
    "psnr": "rd_psnr.png",
    "ms_ssim_db": "rd_ms_ssim.png",
    "object_psnr": "rd_object_psnr.png",
    "background_psnr": "rd_background_psnr.png",
}
STYLE = {
    "obic": ("tab:red", "o"),
    "obic-single": ("tab:orange", "s"),
    "hevc": ("black", "D"),
    HEIF_CURVE: ("gray", "d"),
    "jpeg2000": ("tab:blue", "^"),
    "avif": ("tab:green", "v"),
    "webp": ("tab:purple", "P"),
    "jpegxl": ("tab:cyan", "*"),
    "jpeg": ("tab:brown", "X"),
    "hevc-420": ("dimgray", "<"),
    "hevc-444": ("silver", ">"),
}
#: published reference curves, in order of appearance
REFERENCE_STYLE = (
    ("#8c6d31", "x"),
    ("#1b9e77", "+"),
    ("#7570b3", "1"),
    ("#d95f02", "2"),
    ("#e7298a", "3"),
    ("#66a61e", "4"),
)
#: a run with points above this gets a second, low-rate panel
ZOOM_ABOVE_BPP = 1.0
#: the low-rate panel's right edge
LOW_RATE_MAX_BPP = 0.7


def _finite_points(rows: list[dict], metric: str) -> list[dict]:
    return [r for r in rows if r["bpp"] is not None and r.get(metric) is not None and math.isfinite(r[metric])]


def _draw(ax, curves: dict, references: dict, metric: str, max_bpp: float) -> None:
    """One panel up to ``max_bpp``: measured curves (hollow marker: not every image reached
    the target), then the references; y limits from what is visible."""
    shown: list[float] = []
    for codec, rows in curves.items():
        pts = _finite_points(rows, metric)
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
        shown += [r[metric] for r in pts if r["bpp"] <= max_bpp]
    for i, (label, rows) in enumerate(references.items()):
        pts = _finite_points(rows, metric)
        if not pts:
            continue
        color, marker = REFERENCE_STYLE[i % len(REFERENCE_STYLE)]
        ax.plot(
            [r["bpp"] for r in pts],
            [r[metric] for r in pts],
            color=color,
            linestyle=(0, (4, 2)),
            linewidth=1.0,
            marker=marker,
            markersize=6,
            label=f"{label} (published)",
        )
        shown += [r[metric] for r in pts if r["bpp"] <= max_bpp]
    ax.set_xlim(0.0, max_bpp)
    if shown:
        pad = 0.05 * max(max(shown) - min(shown), 1e-6)
        ax.set_ylim(min(shown) - pad, max(shown) + pad)
    ax.set_xlabel("bits per pixel")
    ax.grid(True, alpha=0.3)


def plot_curves(
    curves: dict[str, list[dict]],
    metric: str,
    label: str,
    path: Path,
    title: str,
    references: dict[str, list[dict]] | None = None,
) -> None:
    """Write the RD plot of ``metric``: every measured curve, and ``references`` (label → rows)
    as dashed published curves."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    references = references or {}
    top = max((r["bpp"] for rows in curves.values() for r in _finite_points(rows, metric)), default=0.0)
    top = top or max((r["bpp"] for rows in references.values() for r in rows), default=1.0)
    zoom = top > ZOOM_ABOVE_BPP
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(14 if zoom else 9, 5), dpi=110, squeeze=False)
    _draw(axes[0][0], curves, references, metric, top * 1.04)
    axes[0][0].set_ylabel(label)
    axes[0][0].set_title(title)
    if zoom:
        _draw(axes[0][1], curves, references, metric, LOW_RATE_MAX_BPP)
        axes[0][1].set_title(f"low rates (≤ {LOW_RATE_MAX_BPP:g} bpp)")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.text(0.01, 0.01, "hollow marker: not every image reached the target", fontsize=7, color="gray")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
