"""``webp``: Pillow's WebP (libwebp), lossy, method 6 (the slowest, smallest)."""

from __future__ import annotations

import io

import numpy as np

from obic_core.evaluation.codecs.base import CodecAdapter, pil_image


class WebpCodec(CodecAdapter):
    name, extension = "webp", "webp"
    q_min, q_max = 0, 100
    default_qualities = (0, 5, 12, 20, 35, 50, 70, 85)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        pil_image(image).save(buf, format="WEBP", quality=int(quality), method=6)
        return buf.getvalue()
