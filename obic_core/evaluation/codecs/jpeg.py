"""``jpeg``: Pillow/libjpeg-turbo, baseline JPEG with optimised Huffman tables, 4:2:0."""

from __future__ import annotations

import io

import numpy as np

from obic_core.evaluation.codecs.base import CodecAdapter, pil_image


class JpegCodec(CodecAdapter):
    name, extension = "jpeg", "jpg"
    q_min, q_max = 1, 100
    default_qualities = (2, 4, 7, 10, 15, 25, 40, 60, 80)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        pil_image(image).save(buf, format="JPEG", quality=int(quality), optimize=True, subsampling="4:2:0")
        return buf.getvalue()
