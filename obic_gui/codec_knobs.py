"""Each codec's quality knob as a split side's quality box shows it (no Qt, no torch).

The range and whether the knob is whole numbers come from the codec's own adapter in
obic_core (its ``q_min``, ``q_max`` and ``integer``), so the box can never offer a value the
codec refuses; only the number of decimals and the arrow step are the app's choice.
Building an adapter imports its module but no codec library and no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from obic_gui.quality import QUALITY_SCALES


@dataclass(frozen=True)
class Knob:
    """A codec's native quality setting: [lo, hi], shown with ``decimals``, arrows move ``step``."""

    lo: float
    hi: float
    decimals: int
    step: float
    scale: str  # in words, for the tooltip: "quality, 0–100"


#: decimals and arrow step of the knobs that are not whole numbers
_FINE = {"jpeg2000": (3, 0.01), "jpegxl": (1, 1.0), "obic": (2, 0.05), "obic-single": (2, 0.05)}


@cache
def knob(codec: str) -> Knob | None:
    """The knob of ``codec`` (None: not a codec, e.g. the original)."""
    from obic_core.errors import ObicInputError
    from obic_core.evaluation.codecs.registry import get_codec

    try:
        adapter = get_codec(codec)
    except ObicInputError:
        return None
    decimals, step = (0, 1.0) if adapter.integer else _FINE.get(codec, (2, 0.01))
    return Knob(float(adapter.q_min), float(adapter.q_max), decimals, step, QUALITY_SCALES.get(codec, ""))


def knob_value(codec: str, quality) -> float | None:
    """The box's value for a result's quality setting (OBIC's (object, background): the object q)."""
    if isinstance(quality, (tuple, list)) and quality:
        quality = quality[0]
    if isinstance(quality, str) and codec == "obic" and "/" in quality:
        quality = quality.split("/", 1)[0]
    try:
        return float(quality)
    except (TypeError, ValueError):
        return None
