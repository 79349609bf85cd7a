"""``avif``: Pillow's AVIF (libavif) at its default speed, 4:2:0; the whole file is counted."""

from __future__ import annotations

import io

import numpy as np

from obic_core.evaluation.codecs.base import CodecAdapter, pil_image


class AvifCodec(CodecAdapter):
    name, extension = "avif", "avif"
    q_min, q_max = 0, 100
    default_qualities = (0, 10, 20, 30, 40, 50, 60, 70)

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        kw = {"max_threads": self.threads} if self.threads else {}
        pil_image(image).save(buf, format="AVIF", quality=int(quality), subsampling="4:2:0", **kw)
        return buf.getvalue()
