"""``jpeg2000``: Pillow/OpenJPEG, 9/7 irreversible wavelet + ICT, raw ``.j2k`` codestream.

The knob is the rate (bpp) handed to OpenJPEG's rate allocator; the search trims its error.
"""

from __future__ import annotations

import io
import math

import numpy as np

from obic_core.evaluation.codecs.base import CodecAdapter, log_lerp, pil_image


class Jpeg2000Codec(CodecAdapter):
    """Quality = the rate (bpp) OpenJPEG's rate control aims at; the search trims its error."""

    name, extension = "jpeg2000", "j2k"
    q_min, q_max = 0.002, 24.0
    integer = False
    default_qualities = (0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.45, 0.65, 0.9)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        pil_image(image).save(
            buf,
            format="JPEG2000",
            irreversible=True,
            mct=1,
            no_jp2=True,
            quality_mode="rates",
            quality_layers=[24.0 / float(quality)],
        )
        return buf.getvalue()

    def guess(self, image: np.ndarray, target_bpp: float) -> float | None:
        return target_bpp

    def midpoint(self, lo: float, hi: float) -> float:
        return math.sqrt(lo * hi)  # the rate spans decades: bisect in log space

    def lerp(self, lo: float, hi: float, t: float) -> float:
        return log_lerp(lo, hi, t)

    def step(self, q: float, up: bool) -> float | None:
        nxt = min(self.q_max, q * 1.15) if up else max(self.q_min, q / 1.15)
        return None if nxt == q else nxt
