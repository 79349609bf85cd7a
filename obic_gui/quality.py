"""Pure helpers for showing rate settings and figures (no Qt, no torch).

The rate panel shows the loss weight a(q) = 512^(1−q) that a quality slider selects; the
formula and the effort presets come from the torch-free :mod:`obic_core.rules`.
"""

from __future__ import annotations

import math

from obic_core.rules import DISTORTION_WEIGHT, EFFORTS, RATE_RATIO, effective_lambda, rate_weight  # noqa: F401


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def fmt_bytes(n: int | None) -> str:
    """'12,345 B' — exact byte counts matter to researchers; thousands separators to readers."""
    if n is None:
        return "—"
    return f"{int(n):,} B"


def fmt_size(n: int | None) -> str:
    """Human size for status lines: '12.1 kB', '3.40 MB'."""
    if n is None:
        return "—"
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.2f} MB"


def fmt_bpp(x: float | None) -> str:
    return f"{x:.3f} bpp" if _finite(x) else "— bpp"


def fmt_db(x: float | None, digits: int = 2) -> str:
    if x is not None and isinstance(x, float) and math.isinf(x):
        return "∞ dB"
    return f"{x:.{digits}f} dB" if _finite(x) else "—"


def fmt_ssim(x: float | None) -> str:
    return f"{x:.4f}" if _finite(x) else "—"


def fmt_seconds(x: float | None) -> str:
    if not _finite(x):
        return "—"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def ms_ssim_db(x: float | None) -> float | None:
    """MS-SSIM on a dB scale, −10·log10(1 − x): spreads the values near 1 apart on RD plots."""
    if not _finite(x):
        return None
    if x >= 1.0:
        return math.inf
    return -10.0 * math.log10(1.0 - x)


#: what the compare view shows next to OBIC unless the user chose otherwise
DEFAULT_COMPARE = ("obic-single", "hevc", "webp", "jpeg")

CODEC_LABELS = {
    "obic": "OBIC",
    "obic-single": "OBIC single layer",
    "jpeg2000": "JPEG 2000",
    "hevc": "HEVC (x265)",
    "avif": "AVIF",
    "webp": "WebP",
    "jpegxl": "JPEG XL",
    "jpeg": "JPEG",
    "original": "Original",
}


def codec_label(name: str) -> str:
    return CODEC_LABELS.get(name, name)


#: a compared file more than this far from the OBIC file's size is not "the same bitrate":
#: the grid, the split view and the table flag it (a codec's quality steps can be coarse)
SAME_SIZE_TOLERANCE = 0.05


def size_gap(nbytes: int, reference_bytes: int | None) -> float | None:
    """Relative size difference to the reference (OBIC) file: −0.31 = 31 % smaller."""
    if not reference_bytes or reference_bytes <= 0:
        return None
    return nbytes / reference_bytes - 1.0


def is_size_miss(gap: float | None) -> bool:
    return gap is not None and abs(gap) > SAME_SIZE_TOLERANCE


def fmt_gap(gap: float | None) -> str:
    """'+3.2 %', '−31.0 %' (a real minus sign), '—' without a reference."""
    if gap is None:
        return "—"
    return f"{gap * 100:+.1f} %".replace("-", "−")


def describe_miss(gap: float) -> str:
    """'31 % smaller than the OBIC file' — the words of a size flag."""
    side = "smaller" if gap < 0 else "larger"
    return f"{abs(gap) * 100:.0f} % {side} than the OBIC file"


def tolerance_text() -> str:
    return f"±{SAME_SIZE_TOLERANCE * 100:.0f} %"


#: each codec's own quality knob, for the Statistics table (they share no scale)
QUALITY_SCALES = {
    "obic": "q per layer, 0–1",
    "obic-single": "q, 0–1",
    "jpeg": "quality, 1–100",
    "webp": "quality, 0–100",
    "avif": "quality, 0–100",
    "hevc": "libheif quality, 0–100",
    "jpegxl": "libjxl quality, 0–100",
    "jpeg2000": "OpenJPEG target rate, bpp",
}


def _quality_pair(q) -> tuple[float, float] | None:
    """OBIC's (object, background) qualities from a tuple or an 'a/b' string."""
    if isinstance(q, (tuple, list)) and len(q) == 2:
        return float(q[0]), float(q[1])
    if isinstance(q, str) and "/" in q:
        try:
            a, b = (float(v) for v in q.split("/", 1))
        except ValueError:
            return None
        return a, b
    return None


def fmt_quality(codec: str, q) -> str:
    """A codec's quality setting with its scale: 'obj 0.72 · bkg 0.02 (0–1)', '22 / 100'."""
    if q is None:
        return "—"
    if codec == "obic":
        pair = _quality_pair(q)
        if pair is not None:
            return f"obj {pair[0]:.2f} · bkg {pair[1]:.2f} (0–1)"
        if isinstance(q, (int, float)):
            return f"obj {float(q):.2f} (0–1)"
        return str(q)
    if not isinstance(q, (int, float)):
        return str(q)
    if codec == "obic-single":
        return f"q {float(q):.2f} (0–1)"
    if codec == "jpeg2000":
        return f"rate {float(q):.3f} bpp"
    if codec in ("jpeg", "webp", "avif", "hevc"):
        return f"{float(q):.0f} / 100"
    if codec == "jpegxl":
        return f"{float(q):.1f} / 100"
    return f"{float(q):.3g}"


class RateSettings:
    """What the rate panel asks for; plain data that goes into a job's kwargs."""

    __slots__ = ("object_quality", "background_quality", "target_bpp", "device", "codecs", "effort")

    def __init__(
        self,
        object_quality: float = 0.75,
        background_quality: float = 0.25,
        target_bpp: float | None = None,
        device: str = "auto",
        codecs: tuple[str, ...] = DEFAULT_COMPARE,
        effort: str = "default",
    ) -> None:
        self.object_quality = float(object_quality)
        self.background_quality = float(background_quality)
        self.target_bpp = None if target_bpp is None else float(target_bpp)
        self.device = device
        self.codecs = tuple(codecs)
        self.effort = effort if effort in EFFORTS else "default"

    def job_kwargs(self) -> dict:
        return {
            "object_quality": self.object_quality,
            "background_quality": self.background_quality,
            "target_bpp": self.target_bpp,
            "device": self.device,
            "codecs": ("obic", *[c for c in self.codecs if c != "obic"]),
            "effort": self.effort,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RateSettings) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self) -> str:
        return "RateSettings(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"
