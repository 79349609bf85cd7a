"""``jpegxl``: libjxl through imagecodecs, lossy VarDCT at effort 7 (cjxl's default).

Why imagecodecs: it is a maintained binding that ships libjxl in its wheels and exposes
libjxl's own quality scale (``level`` 0–100, cjxl's ``-q``, which libjxl maps to its
Butteraugli distance: 90 → d 1, 0 → d 25, the largest distance libjxl allows). The knob is
continuous, so the rate search lands within 2 % below a target. The floor is real: at
distance 25 a Kodak image still takes ≈0.1–0.2 bpp, so the lowest targets are reported as
not reached rather than met with a bigger file.
"""

from __future__ import annotations

import numpy as np

from obic_core.errors import ObicInputError
from obic_core.evaluation.codecs.base import CodecAdapter

#: libjxl's encoder effort (1 fastest … 9 slowest; 7 is cjxl's default)
EFFORT = 7


def _imagecodecs():
    try:
        import imagecodecs
    except ImportError:
        raise ObicInputError("jpegxl needs the imagecodecs package (pip install imagecodecs)") from None
    if not imagecodecs.JPEGXL.available:
        raise ObicInputError("this imagecodecs build has no JPEG XL (libjxl) codec")
    return imagecodecs


def available() -> bool:
    """Whether this installation can encode JPEG XL."""
    try:
        _imagecodecs()
    except ObicInputError:
        return False
    return True


class JpegXlCodec(CodecAdapter):
    name, extension = "jpegxl", "jxl"
    q_min, q_max = 0.0, 100.0
    integer = False
    default_qualities = (0, 10, 20, 30, 45, 60, 75, 90)

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        codecs = _imagecodecs()
        return bytes(codecs.jpegxl_encode(image, level=float(quality), effort=EFFORT, numthreads=self.threads))

    def decode(self, data: bytes) -> np.ndarray:
        out = np.asarray(_imagecodecs().jpegxl_decode(data, numthreads=self.threads))
        if out.ndim == 2:  # a grey image comes back without a channel axis
            out = np.repeat(out[..., None], 3, axis=2)
        return np.ascontiguousarray(out[..., :3])

    def signature(self) -> str:
        codecs = _imagecodecs()
        return f"{self.name}/imagecodecs-{codecs.__version__}/{codecs.jpegxl_version()}/effort-{EFFORT}"
