"""The adapter interface every codec implements, and the record of one real encode."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from obic_core.errors import ObicCancelled, ObicInputError
from obic_core.evaluation.metrics import bpp as _bpp
from obic_core.evaluation.metrics import timed
from obic_core.progress import Cancel

#: ``Encoded.extra`` flag: the codec's best setting still gave a file below the target bpp, so the
#: point stands at the codec's ceiling, not at the target (real, kept in BD-rates, but listed)
AT_BEST_SETTING = "at_best_setting"


@dataclass
class Encoded:
    """One real encode: the file, the bytes that count, and the setting that made it."""

    data: bytes
    bytes: int  # counted size (HEVC: payload only; else the whole file)
    quality: float  # the codec's native setting
    height: int
    width: int
    encode_s: float  # seconds for this one encode (not the search around it)
    reached: bool = True  # False: the codec's smallest file is above the target
    extra: dict = field(default_factory=dict)

    @property
    def bpp(self) -> float:
        return _bpp(self.bytes, self.height, self.width)


def check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise ObicCancelled("cancelled")


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as a contiguous (H, W, 3) uint8 array, or a clear ObicInputError."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ObicInputError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


def pil_image(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image, "RGB")


class CodecAdapter:
    """Base adapter: subclasses set the knob's range and implement encode/decode.

    The search hooks (:meth:`guess`, :meth:`step`, :meth:`midpoint`, :meth:`lerp`) let a
    codec whose knob is not linear (JPEG 2000's rate spans decades) tell
    :func:`~obic_core.evaluation.codecs.rate_search.largest_within` how to move along it.
    """

    name = "codec"
    extension = "bin"
    q_min: float = 0.0
    q_max: float = 100.0
    integer = True
    #: qualities swept by ``obic bench --qualities`` when none are given (low to high rate)
    default_qualities: tuple[float, ...] = ()
    #: a continuous search stops once the file is within this fraction below the target
    tolerance = 0.02
    max_steps = 14

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))

    def count_bytes(self, data: bytes) -> int:
        return len(data)

    def describe(self, data: bytes, height: int, width: int) -> dict:
        """Codec-specific facts about a file, kept in results (e.g. HEIF vs payload size)."""
        return {}

    def signature(self) -> str:
        """Identifies settings + library versions, so a benchmark cache never mixes them."""
        import PIL

        return f"{self.name}/pillow-{PIL.__version__}"

    def reencode(self, image: np.ndarray, enc: Encoded) -> bytes:
        """Encode again with exactly the settings that produced ``enc`` (for timing runs)."""
        return self.encode(image, enc.quality)

    def encode_at(self, image: np.ndarray, quality: float) -> Encoded:
        """Encode at a native quality, timed."""
        image = check_image(image)
        q = int(round(quality)) if self.integer else float(quality)
        data, seconds = timed(lambda: self.encode(image, q))
        h, w = image.shape[:2]
        return Encoded(data, self.count_bytes(data), q, h, w, seconds, True, self.describe(data, h, w))

    def at_bpp(self, image: np.ndarray, target_bpp: float, cancel: Cancel | None = None) -> Encoded:
        """Largest file whose counted bpp is ≤ ``target_bpp`` (search on real encodes)."""
        from obic_core.evaluation.codecs.rate_search import largest_within

        return largest_within(self, image, target_bpp, cancel)

    # ------------------------------------------------------------------ search hooks

    def guess(self, image: np.ndarray, target_bpp: float) -> float | None:
        """A first quality to try for a target (None: start from the ends of the range)."""
        return None

    def step(self, q: float, up: bool) -> float | None:
        """Next quality when walking away from a guess (None: stop walking, bisect)."""
        return None

    def lerp(self, lo: float, hi: float, t: float) -> float:
        """The knob a fraction ``t`` of the way from lo to hi (linear unless overridden)."""
        return lo + t * (hi - lo)

    def midpoint(self, lo: float, hi: float) -> float:
        if self.integer:
            return (int(lo) + int(hi)) // 2
        return (lo + hi) / 2


def log_lerp(lo: float, hi: float, t: float) -> float:
    """Interpolation for knobs that span decades (geometric, not arithmetic)."""
    return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))
