"""README.md of a benchmark results folder: settings, BD-rate tables, unreached targets,
per-setting means, speed, plots — everything a reader needs beside results.json."""

from __future__ import annotations

import math
from collections.abc import Sequence

from obic_core.evaluation.bd import ANCHOR, SECOND_ANCHOR
from obic_core.evaluation.curves import HEIF_CURVE, LABELS
from obic_core.evaluation.plots import PLOTS


def format_value(v: float | None, spec: str = ".2f", missing: str = "–", infinite: str = "∞") -> str:
    """A table cell: ``v`` formatted with ``spec``, or a placeholder for a value that is missing
    (a metric without a mask) or infinite (a lossless MS-SSIM in dB). Markdown symbols by
    default; `obic compare`'s terminal table passes ASCII ones."""
    if v is None:
        return missing
    if isinstance(v, float) and math.isinf(v):
        return infinite
    return format(v, spec)


def _bd_cell(entry: dict) -> str:
    """``+12.3 % · −0.45 dB``: BD-rate, then BD-quality when it was computed."""
    dq = entry.get("bd_quality")
    quality = "" if dq is None else f" · {dq:+.2f} dB"
    if entry.get("bd_rate") is None:
        return ("excluded" if entry.get("note", "").startswith("excluded") else "n/a") + quality
    return f"{entry['bd_rate']:+.1f} %{quality}"


def _bd_markdown(table: dict, anchor: str, metrics: Sequence[str]) -> list[str]:
    """One BD-rate table with its bjontegaard warnings underneath."""
    out = [
        f"## BD-rate against {anchor} (negative = fewer bits for the same quality)",
        "",
        "Each cell: BD-rate · BD-quality (mean dB gained at equal rate, integrated over log rate; "
        "positive = better). The overlap warnings below concern the BD-rate only: it integrates along "
        "the quality axis, which matched rates cannot align.",
        "",
        "| codec | " + " | ".join(LABELS[m] for m in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    notes: list[str] = []
    for codec, row in table.items():
        if codec == anchor:
            continue
        out.append(_bd_row(codec, [(f"/ {LABELS[m]}", row.get(m, {})) for m in metrics], notes))
    return out + _notes(notes)


def _bd_row(codec: str, columns: list[tuple[str, dict]], notes: list[str]) -> str:
    """One table row of BD-rate cells; each cell's bjontegaard note goes to ``notes``, named
    ``"<codec> <column>"``."""
    for column, entry in columns:
        if entry.get("note"):
            notes.append(f"{codec} {column}: {entry['note']}")
        if entry.get("quality_note"):
            notes.append(f"{codec} {column} (BD-quality): {entry['quality_note']}")
    return f"| {codec} | " + " | ".join(_bd_cell(entry) for _, entry in columns) + " |"


def _notes(notes: list[str]) -> list[str]:
    """The notes under a table, each once, sorted."""
    return [""] + [f"- {n}" for n in sorted(set(notes))] if notes else []


def _anchor_markdown(doc: dict) -> list[str]:
    """Per metric, every measured codec against each published anchor shown on that metric."""
    info, tables = doc["anchors"], doc["bd_rate_vs_anchors"]
    entries = info["anchors"]
    out = [
        "## BD-rate against published Kodak results (negative = fewer bits than the anchor)",
        "",
        f"Anchor points from `{info['file']}` (CompressAI's published Kodak JSONs; source path and "
        "commit of each are in that file and in results.json). A learned anchor is compared on the "
        "metric it was trained for, BPG and VTM on both. Each comparison is at matched rates too: the "
        "published curve is resampled (PCHIP on log-rate, no extrapolation) at the rates the codec "
        "reached here that it covers, and the codec is compared on those rates only. Cells: BD-rate · "
        "BD-quality, as above.",
    ]
    if not info["covers_all_images"]:
        out += [
            "",
            f"**This run covers {doc['images']} of the {info['images']} images** the published "
            "means were taken over, so these figures are only indicative.",
        ]
    notes: list[str] = []
    for metric in ("psnr", "ms_ssim_db"):
        if metric not in doc["metrics"]:
            continue
        keys = [k for k, t in tables.items() if any(metric in row for row in t.values())]
        if not keys:
            continue
        out += [
            "",
            f"### {LABELS[metric]}",
            "",
            "| codec | " + " | ".join(entries[k]["label"] for k in keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        codecs = [c for c in doc["curves"] if c != HEIF_CURVE]
        for codec in codecs:
            columns = [
                (f"vs {entries[k]['label']} / {LABELS[metric]}", tables[k].get(codec, {}).get(metric, {})) for k in keys
            ]
            out.append(_bd_row(codec, columns, notes))
    return out + _notes(notes)


def _at_best(row: dict) -> str:
    """' (k at best setting)' when k images of a setting stand at the codec's ceiling."""
    n = row.get("n_at_best")
    return f" ({n} at best setting)" if n else ""


def _unreached_markdown(doc: dict) -> list[str]:
    unreached = doc.get("unreached") or {}
    out = ["## Targets a codec could not reach", ""]
    if not unreached:
        return out + ["Every codec reached every target on every image."]
    out += [
        "A codec whose smallest file is above a target keeps that smallest file (hollow marker, left "
        "out of BD-rates); it is never shown at the target. A codec whose *best* setting still gives "
        "a file below a target stands at its ceiling there: the point is real (kept in BD-rates, at "
        "the rate it has), but the mean bpp of that setting falls short of the target.",
        "",
        "| codec | target bpp | images above it | images below it at the best setting | failed |",
        "|---|---|---|---|---|",
    ]
    for codec, rows in unreached.items():
        for r in rows:
            n_ceiling = len(r.get("at_best_setting", []))
            ceiling = f"{n_ceiling}/{r['images']}" if n_ceiling else ""
            out.append(
                f"| {codec} | {r['target']:g} | {len(r['not_reached'])}/{r['images']} | {ceiling} | "
                f"{len(r['missing']) or ''} |"
            )
    return out


def markdown_report(doc: dict) -> str:
    """README.md of a results folder (``doc`` is results.json's content)."""
    cfg = doc["config"]
    metrics = list(doc["metrics"])
    matched = cfg["mode"] == "bpp"
    out = [
        f"# Benchmark: {doc['dataset']}",
        "",
        f"{doc['images']} images · codecs: {', '.join(cfg['codecs'])} · mode: matched rates, every codec "
        f"searched to the largest file not above each target ({', '.join(f'{s:g}' for s in cfg['bpp'])} bpp)"
        if matched
        else f"{doc['images']} images · codecs: {', '.join(cfg['codecs'])} · mode: native qualities",
        f"masks: {cfg['mask_source']} · obic qualities: object {cfg['object_quality']:g}, "
        f"background {cfg['background_quality']:g} (difference kept at a target) · "
        f"{cfg['workers']} worker(s), 1 thread each",
        "",
        "Regenerate: `" + doc["command"] + "`",
        "",
    ]
    out += _bd_markdown(doc["bd_rate"], ANCHOR, metrics)
    if doc.get(f"bd_rate_vs_{SECOND_ANCHOR}"):
        out += [""] + _bd_markdown(doc[f"bd_rate_vs_{SECOND_ANCHOR}"], SECOND_ANCHOR, metrics)
    if doc.get("bd_rate_vs_anchors"):
        out += [""] + _anchor_markdown(doc)
    out += [
        "",
        f"hevc's rate is the HEVC payload (the BPG stand-in); “{HEIF_CURVE}” is the same files "
        "counted whole, container included.",
    ]
    if matched:
        out += [""] + _unreached_markdown(doc)
    out += [
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
                f"| {codec} | {r['setting']:g} | {format_value(r['bpp'], '.4f')} | {format_value(r['psnr'])} | "
                f"{format_value(r['ms_ssim'], '.4f')} | {format_value(r['object_psnr'])} | "
                f"{format_value(r['background_psnr'])} | {format_value(r['object_ms_ssim'], '.4f')} | "
                f"{r['n_reached']}/{r['n']}{_at_best(r)} |"
            )
    out += [
        "",
        "## Speed (seconds per image, mean over all points of this run)",
        "",
        "One encode at the chosen setting (not the rate search) and one decode, measured inside "
        f"{cfg['workers']} parallel single-threaded workers on this CPU; `bench/speed.py` "
        "measures them one at a time. CPU s per point: the whole point (rate search, decode, "
        "metrics) — what rerunning this benchmark costs.",
        "",
        "| codec | encode s | decode s | CPU s per point |",
        "|---|---|---|---|",
    ]
    for codec, s in doc["speed"].items():
        out.append(
            f"| {codec} | {format_value(s['encode_s'], '.3f')} | {format_value(s['decode_s'], '.3f')} | "
            f"{format_value(s.get('point_cpu_s'), '.2f')} |"
        )
    out += ["", "## Plots", ""]
    for m in metrics:
        out.append(f"![{LABELS[m]}]({PLOTS[m]})")
    if doc.get("errors"):
        out += ["", f"**{len(doc['errors'])} point(s) failed** — see results.json `errors`."]
    return "\n".join(out) + "\n"
