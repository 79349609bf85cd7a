"""Codec names → adapters, the CLI's codec lists, and what this installation can run.

The names themselves are :data:`obic_core.rules.ALL_CODECS` (torch-free, so the GUI process
reads the same list without importing any codec library).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from obic_core.errors import ObicInputError
from obic_core.evaluation.codecs.avif import AvifCodec
from obic_core.evaluation.codecs.base import CodecAdapter
from obic_core.evaluation.codecs.hevc import BestHevcCodec, HevcCodec
from obic_core.evaluation.codecs.jpeg import JpegCodec
from obic_core.evaluation.codecs.jpeg2000 import Jpeg2000Codec
from obic_core.evaluation.codecs.jpegxl import JpegXlCodec
from obic_core.evaluation.codecs.obic import ObicCodec
from obic_core.evaluation.codecs.webp import WebpCodec
from obic_core.rules import ALL_CODECS

#: single-chroma HEVC variants (``hevc`` picks the better of the two)
EXTRA_CODECS = ("hevc-420", "hevc-444")

__all__ = ["ALL_CODECS", "EXTRA_CODECS", "available_codecs", "get_codec", "parse_codecs"]


def _unknown(name: str) -> ObicInputError:
    return ObicInputError(f"unknown codec {name!r}; choose from {', '.join(ALL_CODECS + EXTRA_CODECS)}")


def get_codec(
    name: str,
    *,
    mask: np.ndarray | None = None,
    object_quality: float = 0.8,
    background_quality: float = 0.2,
    device: str = "auto",
    weights=None,
    threads: int | None = None,
) -> CodecAdapter:
    """The adapter for a codec name of :data:`ALL_CODECS` (or :data:`EXTRA_CODECS`).

    ``mask`` and the qualities only matter for ``obic``; ``threads`` caps the encoder threads
    of the baselines that have a switch (AVIF, x265, libjxl), as the benchmark does.
    """
    if name == "obic":
        return ObicCodec(mask, object_quality, background_quality, device, weights, "obic")
    if name == "obic-single":
        return ObicCodec(None, object_quality, background_quality, device, weights, "obic-single")
    simple = {"jpeg": JpegCodec, "webp": WebpCodec, "jpeg2000": Jpeg2000Codec}
    if name in simple:
        return simple[name]()
    if name == "avif":
        return AvifCodec(threads)
    if name == "jpegxl":
        return JpegXlCodec(threads)
    if name == "hevc":
        return BestHevcCodec(threads)
    if name in EXTRA_CODECS:
        return HevcCodec(int(name[-3:]), threads)
    raise _unknown(name)


def parse_codecs(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Codec names from a CLI value ("all", "jpeg,webp" or a list), validated and de-duplicated."""
    if spec is None:
        return ALL_CODECS
    items = [spec] if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        for n in str(item).split(","):
            n = n.strip().lower()
            if not n:
                continue
            chosen = ALL_CODECS if n == "all" else (n,)
            for c in chosen:
                if c not in ALL_CODECS + EXTRA_CODECS:
                    raise _unknown(c)
                if c not in names:
                    names.append(c)
    if not names:
        raise ObicInputError("no codecs given")
    return tuple(names)


def available_codecs() -> tuple[str, ...]:
    """The codecs of :data:`ALL_CODECS` whose libraries this installation has.

    Pillow builds differ (AVIF and JPEG 2000 are optional plugins, pillow-heif may lack x265,
    imagecodecs may be missing), so the GUI offers only what will run instead of failing
    mid-comparison.
    """
    from PIL import features

    from obic_core.evaluation.codecs import jpegxl

    have = {
        "obic": True,
        "obic-single": True,
        "jpeg": True,
        "jpeg2000": bool(features.check("jpg_2000")),
        "avif": bool(features.check("avif")),
        "webp": bool(features.check("webp")),
        "jpegxl": jpegxl.available(),
    }
    try:
        import pillow_heif

        have["hevc"] = bool(pillow_heif.libheif_info().get("HEIF"))
    except (ImportError, AttributeError):
        have["hevc"] = False
    return tuple(c for c in ALL_CODECS if have.get(c))
