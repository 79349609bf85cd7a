"""``hevc``: pillow-heif's x265 HEVC-intra, the stand-in for BPG (the same HEVC intra coder).

Both chroma 4:2:0 and 4:4:4 are tried and the one with the higher PSNR at the target kept.
The headline ``bytes`` is the HEVC payload alone (:func:`.heif_boxes.hevc_payload_bytes`:
parameter sets + slice data, what a BPG file wraps in a few header bytes), and
``extra["heif_bytes"]`` the whole .heic file.
"""

from __future__ import annotations

import io

import numpy as np

from obic_core.evaluation.codecs.base import CodecAdapter, Encoded, check_image
from obic_core.evaluation.codecs.heif_boxes import hevc_payload_bytes
from obic_core.evaluation.metrics import bpp as _bpp
from obic_core.evaluation.metrics import psnr
from obic_core.progress import Cancel


def _decode_heif(data: bytes) -> np.ndarray:
    import pillow_heif

    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    return np.asarray(heif[0].to_pillow().convert("RGB"))


class HevcCodec(CodecAdapter):
    """x265 intra through libheif at one chroma format; quality 0–100 (libheif's scale)."""

    extension = "heic"
    q_min, q_max = 0, 100
    default_qualities = (0, 10, 20, 30, 40, 50, 60, 70)

    def __init__(self, chroma: int = 420, threads: int | None = None) -> None:
        self.chroma = chroma
        self.threads = threads
        self.name = f"hevc-{chroma}"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        import pillow_heif

        h, w = image.shape[:2]
        heif = pillow_heif.from_bytes(mode="RGB", size=(w, h), data=image.tobytes())
        params = {"x265:pools": str(self.threads), "x265:frame-threads": "1"} if self.threads else {}
        buf = io.BytesIO()
        heif.save(buf, quality=int(quality), chroma=self.chroma, enc_params=params)
        return buf.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        return _decode_heif(data)

    def count_bytes(self, data: bytes) -> int:
        return hevc_payload_bytes(data)

    def describe(self, data: bytes, height: int, width: int) -> dict:
        return {
            "chroma": f"4:{str(self.chroma)[1]}:{str(self.chroma)[2]}",
            "payload_bytes": hevc_payload_bytes(data),
            "heif_bytes": len(data),
            "heif_bpp": _bpp(len(data), height, width),
        }

    def signature(self) -> str:
        import pillow_heif

        info = pillow_heif.libheif_info()
        return f"{self.name}/libheif-{info.get('libheif')}/{info.get('HEIF')}"


class BestHevcCodec(CodecAdapter):
    """``hevc``: 4:2:0 and 4:4:4 both searched at the target, the higher-PSNR one kept.

    Plain :meth:`encode` (the native-quality sweep) uses 4:2:0, BPG's default; the benchmark
    sweeps both variants and keeps the better curve per image.
    """

    name, extension = "hevc", "heic"
    q_min, q_max = 0, 100
    default_qualities = HevcCodec.default_qualities

    def __init__(self, threads: int | None = None) -> None:
        self.variants = (HevcCodec(420, threads), HevcCodec(444, threads))

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        return self.variants[0].encode(image, quality)

    def decode(self, data: bytes) -> np.ndarray:
        return _decode_heif(data)

    def count_bytes(self, data: bytes) -> int:
        return hevc_payload_bytes(data)

    def describe(self, data: bytes, height: int, width: int) -> dict:
        return self.variants[0].describe(data, height, width)

    def reencode(self, image: np.ndarray, enc: Encoded) -> bytes:
        variant = self.variants[1] if enc.extra.get("chroma") == "4:4:4" else self.variants[0]
        return variant.encode(image, enc.quality)

    def signature(self) -> str:
        return "hevc-best/" + self.variants[0].signature()

    def at_bpp(self, image: np.ndarray, target_bpp: float, cancel: Cancel | None = None) -> Encoded:
        image = check_image(image)
        scored = []
        for variant in self.variants:
            enc = variant.at_bpp(image, target_bpp, cancel)
            score = psnr(image, variant.decode(enc.data))
            scored.append((enc.reached, score, -enc.bytes, enc))
        # a variant that reaches the target beats one that does not; then higher PSNR wins
        scored.sort(key=lambda s: (s[0], s[1] if s[0] else s[2]), reverse=True)
        best = scored[0][3]
        best.extra["alternatives"] = {
            s[3].extra["chroma"]: {"bytes": s[3].bytes, "psnr": s[1], "reached": s[0]} for s in scored
        }
        return best
