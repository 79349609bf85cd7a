"""The Statistics tab as a CSV file: every codec's figures and the RD sweep (no Qt).

An RD sweep is minutes of work that no .obic file holds; exporting it is how it is saved,
and what the "unsaved work" prompt offers before the window closes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from obic_core.results import CompareResult
from obic_gui.outcomes import SweepOutcome
from obic_gui.quality import fmt_quality, size_gap

FIGURE_FIELDS = (
    "codec",
    "bytes",
    "bpp",
    "size_vs_obic",
    "psnr",
    "ms_ssim",
    "object_psnr",
    "background_psnr",
    "object_ms_ssim",
    "encode_s",
    "decode_s",
    "reached",
    "quality_setting",
)
SWEEP_FIELDS = ("codec", "bpp", "psnr", "ms_ssim", "object_psnr")


def _num(x) -> str:
    return "" if x is None else f"{x:.6g}" if isinstance(x, float) else str(x)


def statistics_csv(image_name: str, figures: Sequence[CompareResult], sweep: SweepOutcome | None) -> str:
    """Two tables in one CSV: this encode's figures, then the sweep's points (if any)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    obic = next((f for f in figures if f.codec == "obic"), None)
    if figures:
        w.writerow([f"# {image_name}: this encode"])
        w.writerow(FIGURE_FIELDS)
        for f in figures:
            gap = None if f.codec == "obic" or obic is None else size_gap(f.bytes, obic.bytes)
            w.writerow(
                [
                    f.codec,
                    f.bytes,
                    _num(f.bpp),
                    _num(gap),
                    _num(f.psnr),
                    _num(f.ms_ssim),
                    _num(f.object_psnr),
                    _num(f.background_psnr),
                    _num(f.object_ms_ssim),
                    _num(f.encode_s),
                    _num(f.decode_s),
                    "yes" if f.reached else "no",
                    fmt_quality(f.codec, f.quality),
                ]
            )
    if sweep is not None:
        if figures:
            w.writerow([])
        w.writerow([f"# {image_name}: RD sweep at " + ", ".join(f"{t:g}" for t in sweep.targets) + " bpp"])
        w.writerow(SWEEP_FIELDS)
        for codec, pts in sweep.curves.items():
            for p in pts:
                w.writerow([codec, _num(p.bpp), _num(p.psnr), _num(p.ms_ssim), _num(p.object_psnr)])
    return out.getvalue()
