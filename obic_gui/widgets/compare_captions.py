"""Compare captions: what each tile and split side says under its picture.

Each says what a file costs three ways: its bytes and bpp, its share of the original as a PNG
(what "small" means to someone who would otherwise keep the PNG) and its gap to the OBIC
file. A gap beyond :data:`~obic_gui.quality.SAME_SIZE_TOLERANCE` replaces the gap with an
orange flag: a "same bitrate" comparison it is not. Where the bytes that count are not the
whole file (HEVC: the payload, what BPG would store, inside a larger .heic), a last line gives
the file Export writes, and HEVC's chroma. Rich text, no Qt objects: the strings are tested
as they are.
"""

from __future__ import annotations

from obic_core.results import CompareResult
from obic_gui.quality import (
    codec_label,
    describe_miss,
    fmt_bpp,
    fmt_bytes,
    fmt_db,
    fmt_gap,
    fmt_ssim,
    is_size_miss,
    size_gap,
)

WARN = "#ffb454"
GREY = "#b9c0cc"
NOTE = "#7fb2f0"

#: what a caption's bytes are, for a codec whose counted bytes are not its whole file
COUNTED_AS = {"hevc": "HEVC payload"}
#: what the whole file holds besides the counted bytes
FILE_HOLDS = {"hevc": "with its HEIF boxes"}


def file_bytes(fig: CompareResult) -> int | None:
    """The size of the file Export writes for ``fig`` when it is not ``fig.bytes`` (HEVC: the
    .heic file around the payload); None when the caption's bytes are the whole file."""
    whole = len(fig.data) if fig.data is not None else (fig.extra or {}).get("heif_bytes")
    return None if whole is None or int(whole) == int(fig.bytes) else int(whole)


def hevc_chroma(fig: CompareResult | None) -> str | None:
    """'4:2:0' / '4:4:4' for an HEVC result that says which (its adapter's ``describe``), else None."""
    if fig is None or fig.codec != "hevc":
        return None
    chroma = (fig.extra or {}).get("chroma")
    return str(chroma) if chroma else None


def file_line(fig: CompareResult) -> str:
    """'.heic file 5,480 B with its HEIF boxes · chroma 4:4:4' ('' when there is nothing to add)."""
    parts = []
    whole = file_bytes(fig)
    if whole is not None:
        holds = FILE_HOLDS.get(fig.codec)
        parts.append(f".{fig.extension} file {fmt_bytes(whole)}" + (f" {holds}" if holds else ""))
    chroma = hevc_chroma(fig)
    if chroma:
        parts.append(f"chroma {chroma}")
    return f"<span style='color:{GREY}'>{' · '.join(parts)}</span>" if parts else ""


def size_flag(fig: CompareResult, reference_bytes: int | None) -> str | None:
    """'⚠ 31 % smaller than the OBIC file' when ``fig`` is not at OBIC's size (None: it is)."""
    if fig.codec == "obic" and fig.bytes == reference_bytes:
        return None  # the OBIC file itself (a split side's OBIC re-encode is measured like the rest)
    gap = size_gap(fig.bytes, reference_bytes)
    if is_size_miss(gap):
        return f"⚠ {describe_miss(gap)}"
    return None


def png_share(nbytes: int, png_bytes: int | None) -> str | None:
    """'4.1 % of PNG' (two decimals under 1 %, none from 10 %); None without the PNG size."""
    if not png_bytes or png_bytes <= 0:
        return None
    pct = 100.0 * nbytes / png_bytes
    digits = 2 if pct < 1 else 1 if pct < 10 else 0
    return f"{pct:.{digits}f} % of PNG"


def size_line(fig: CompareResult, reference_bytes: int | None, png_bytes: int | None = None) -> str:
    """The caption's second line: share of the PNG, and the gap to OBIC (or its size flag)."""
    parts = [p for p in (png_share(fig.bytes, png_bytes),) if p]
    flag = size_flag(fig, reference_bytes)
    if fig.codec == "obic" and fig.bytes == reference_bytes:
        parts.append("the size the others match")
    elif flag is None:
        gap = size_gap(fig.bytes, reference_bytes)
        if gap is not None:
            parts.append(f"{fmt_gap(gap)} vs OBIC")
    text = f"<span style='color:{GREY}'>{' · '.join(parts)}</span>" if parts else ""
    if flag is not None:
        text += (" · " if parts else "") + f"<span style='color:{WARN}'>{flag}</span>"
    return text


def caption_for(
    fig: CompareResult, reference_bytes: int | None = None, png_bytes: int | None = None, note: str | None = None
) -> str:
    """'<b>JPEG</b> 12,345 B · 0.251 bpp' over '4.1 % of PNG · −3.0 % vs OBIC' (or the orange
    size flag) over 'PSNR … · MS-SSIM … · object PSNR …', then — where the bytes counted are
    not the whole file — :func:`file_line` ('12,345 B HEVC payload' above, '.heic file
    12,700 B … · chroma 4:2:0' here), and ``note`` (e.g. "this side only")."""
    counted = f" {COUNTED_AS.get(fig.codec, 'counted')}" if file_bytes(fig) is not None else ""
    head = f"<b>{codec_label(fig.codec)}</b> &nbsp; {fmt_bytes(fig.bytes)}{counted} · {fmt_bpp(fig.bpp)}"
    if not fig.reached and size_flag(fig, reference_bytes) is None:
        head += f" &nbsp;<span style='color:{WARN}'>(could not reach the target)</span>"
    body = f"PSNR {fmt_db(fig.psnr)} · MS-SSIM {fmt_ssim(fig.ms_ssim)} · object {fmt_db(fig.object_psnr)}"
    lines = [head, size_line(fig, reference_bytes, png_bytes), f"<span style='color:{GREY}'>{body}</span>"]
    lines.append(file_line(fig))  # last: the tiles of a grid row keep their first three lines in line
    if note:
        lines.append(f"<span style='color:{NOTE}'>{note}</span>")
    return "<br>".join(line for line in lines if line)


def reference_caption(width: int, height: int, decoded_obic: bool = False, png_bytes: int | None = None) -> str:
    """The first tile's caption: the photo (and its PNG size), or — for an opened .obic — its decoded pixels."""
    png = ""
    if png_bytes:
        png = f" · PNG {fmt_bytes(png_bytes)} = {png_bytes * 8 / max(1, width * height):.2f} bpp"
    if decoded_obic:
        return (
            f"<b>Reference: decoded .obic</b> &nbsp; {width}×{height}<br>"
            f"<span style='color:{WARN}'>no original photo: scores are measured against these pixels</span>"
            + (f"<br><span style='color:{GREY}'>{png[3:]}</span>" if png else "")
        )
    return f"<b>Original</b> &nbsp; {width}×{height}<br><span style='color:{GREY}'>raw 24 bpp{png}</span>"


def original_caption(width: int, height: int) -> str:
    return reference_caption(width, height)
