"""One small adapter per codec, all with the same interface, so compare and bench treat them alike.

Every adapter has a native, monotone quality knob (more quality → more bytes) and offers

* ``encode(image, quality) -> bytes`` and ``decode(data) -> image`` (RGB uint8 in and out);
* ``count_bytes(data)`` — the bytes that count as the file size (the whole file, except for
  ``hevc``, see below);
* ``at_bpp(image, target_bpp) -> Encoded`` — the largest file not above the target, found by
  bisection on real encodes. A codec that cannot get that low returns its smallest file with
  ``reached=False`` instead of silently returning a bigger one.

Codecs (:data:`ALL_CODECS`):

``obic`` / ``obic-single``
    The learned codec through :mod:`obic_core.codec`; quality is the object-layer q in [0, 1].
    ``obic`` codes two layers; at a target its own ``target_bpp`` mode shifts both qualities
    together, keeping the object–background difference. ``obic-single`` uses the same weights
    with no mask (one layer).
``jpeg2000``
    Pillow/OpenJPEG, 9/7 irreversible wavelet, rate-controlled: the quality knob is the rate
    (bpp) handed to OpenJPEG's rate allocator. Raw codestream (``.j2k``), no JP2 boxes.
``hevc``
    pillow-heif's x265 HEVC-intra, the stand-in for BPG (same HEVC intra coder). Both chroma
    4:2:0 and 4:4:4 are tried and the one with the higher PSNR at the target kept. The file
    is a HEIF, whose ≈0.4 KB of boxes are a large share at 0.05 bpp, so two sizes are kept:
    the headline ``bytes`` is the HEVC payload alone (the Annex-B elementary stream:
    parameter sets + slice data, what a BPG file wraps in a few header bytes), and
    ``extra["heif_bytes"]`` the whole .heic file.
``avif``, ``webp``, ``jpeg``
    Pillow's encoders (whole file counted): AVIF at Pillow's default speed, WebP method 6,
    baseline JPEG with optimised Huffman tables (4:2:0).
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from obic_core.errors import ObicCancelled, ObicInputError
from obic_core.metrics import bpp as _bpp
from obic_core.metrics import psnr, timed

ALL_CODECS = ("obic", "obic-single", "jpeg2000", "hevc", "avif", "webp", "jpeg")
#: single-chroma HEVC variants (``hevc`` picks the better of the two)
EXTRA_CODECS = ("hevc-420", "hevc-444")

Cancel = Callable[[], bool] | None


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


def _check_cancel(cancel: Cancel) -> None:
    if cancel is not None and cancel():
        raise ObicCancelled("cancelled")


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ObicInputError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


class Codec:
    """Base adapter: subclasses set the knob's range and implement encode/decode.

    The generic :meth:`at_bpp` needs only that file size grows with quality (mostly; the
    best file seen at or below the target is kept, so a non-monotone step cannot push the
    answer over the target).
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

    def guess(self, image: np.ndarray, target_bpp: float) -> float | None:
        """A first quality to try for a target (None: start from the ends of the range)."""
        return None

    def reencode(self, image: np.ndarray, enc: Encoded) -> bytes:
        """Encode again with exactly the settings that produced ``enc`` (for timing runs)."""
        return self.encode(image, enc.quality)

    def encode_at(self, image: np.ndarray, quality: float) -> Encoded:
        """Encode at a native quality, timed."""
        image = _check_image(image)
        q = int(round(quality)) if self.integer else float(quality)
        data, seconds = timed(lambda: self.encode(image, q))
        h, w = image.shape[:2]
        return Encoded(data, self.count_bytes(data), q, h, w, seconds, True, self.describe(data, h, w))

    def _step(self, q: float, up: bool) -> float | None:
        """Next quality when walking away from a guess (None: stop walking, bisect)."""
        return None

    def _interpolate(self, lo: float, hi: float, lo_bytes: int, hi_bytes: int, limit: float) -> float | None:
        """Quality where log(size) interpolated between the bracket's ends meets the target.

        File size is close to exponential in these knobs, so this usually lands next to the
        answer in one or two encodes where bisection needs six or seven.
        """
        if not (0 < lo_bytes <= limit < hi_bytes):
            return None
        aim = limit if self.integer else limit * (1 - self.tolerance / 2)
        t = (math.log(aim) - math.log(lo_bytes)) / (math.log(hi_bytes) - math.log(lo_bytes))
        q = self._lerp(lo, hi, min(max(t, 0.0), 1.0))
        if self.integer:
            q = math.floor(q)
            return min(max(q, lo + 1), hi - 1)
        margin = (hi - lo) * 0.01
        return min(max(q, lo + margin), hi - margin)

    def _lerp(self, lo: float, hi: float, t: float) -> float:
        return lo + t * (hi - lo)

    def _mid(self, lo: float, hi: float) -> float:
        if self.integer:
            return (int(lo) + int(hi)) // 2
        return (lo + hi) / 2

    def at_bpp(self, image: np.ndarray, target_bpp: float, cancel: Cancel = None) -> Encoded:
        """Largest file whose counted bpp is ≤ ``target_bpp`` (bisection on real encodes)."""
        image = _check_image(image)
        if not target_bpp > 0:
            raise ObicInputError(f"target bpp must be positive, got {target_bpp}")
        h, w = image.shape[:2]
        limit = target_bpp * h * w / 8.0
        tried: list[Encoded] = []

        def trial(q: float) -> Encoded:
            _check_cancel(cancel)
            enc = self.encode_at(image, q)
            tried.append(enc)
            return enc

        def done() -> Encoded:
            ok = [e for e in tried if e.bytes <= limit]
            if ok:
                best = max(ok, key=lambda e: (e.bytes, e.quality))
            else:
                best = min(tried, key=lambda e: (e.bytes, e.quality))
                best.reached = False
            best.extra["search_encodes"] = len(tried)
            return best

        def good_enough(e: Encoded) -> bool:
            return not self.integer and limit * (1 - self.tolerance) <= e.bytes <= limit

        # invariant: the answer's quality lies in [lo, hi]; *_seen says an encode confirmed
        # that end (unconfirmed ends are the range's ends, tried last: the top of the range
        # is often the slowest encode and rarely needed)
        lo, hi = self.q_min, self.q_max
        lo_seen = hi_seen = False
        guess = self.guess(image, target_bpp)
        q = None if guess is None else min(max(guess, self.q_min), self.q_max)
        while q is not None:  # walk from the guess until the target is bracketed
            e = trial(q)
            if good_enough(e):
                return done()
            if e.bytes <= limit:
                lo, lo_seen = q, True
            else:
                hi, hi_seen = q, True
            if (lo_seen and hi_seen) or len(tried) >= self.max_steps:
                break
            q = self._step(q, up=e.bytes <= limit)
        interpolate = True
        for _ in range(self.max_steps):
            if (hi - lo <= 1) if self.integer else (hi - lo <= 1e-3 * hi):
                break  # nothing left between the ends (size moves in steps, e.g. OpenJPEG's passes)
            width = hi - lo
            mid = self._mid(lo, hi)
            if hi_seen and not lo_seen:
                # the smallest setting next: it either proves the target out of reach or
                # gives the interpolation its lower end
                mid = lo
                if trial(mid).bytes > limit:
                    break
                lo_seen = True
                continue
            if interpolate and lo_seen and hi_seen:
                sizes = {e.quality: e.bytes for e in tried}
                mid = self._interpolate(lo, hi, sizes[lo], sizes[hi], limit) or mid
            e = trial(mid)
            if e.bytes <= limit:
                lo, lo_seen = mid, True
                if good_enough(e):
                    break
            else:
                hi, hi_seen = mid, True
            # interpolation that only nibbles at one end (false position) yields to bisection
            interpolate = hi - lo <= 0.5 * width
        if not lo_seen and all(e.quality != lo for e in tried):
            lo_seen = trial(lo).bytes <= limit  # the smallest setting fits, or nothing does
        if lo_seen and not hi_seen and hi == self.q_max and all(e.quality != hi for e in tried):
            trial(hi)  # everything tried fits: maybe even the best setting does
        return done()


# ---------------------------------------------------------------- Pillow codecs


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image, "RGB")


class JpegCodec(Codec):
    name, extension = "jpeg", "jpg"
    q_min, q_max = 1, 100
    default_qualities = (2, 4, 7, 10, 15, 25, 40, 60, 80)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        _pil(image).save(buf, format="JPEG", quality=int(quality), optimize=True, subsampling="4:2:0")
        return buf.getvalue()


class WebpCodec(Codec):
    name, extension = "webp", "webp"
    q_min, q_max = 0, 100
    default_qualities = (0, 5, 12, 20, 35, 50, 70, 85)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        _pil(image).save(buf, format="WEBP", quality=int(quality), method=6)
        return buf.getvalue()


class AvifCodec(Codec):
    name, extension = "avif", "avif"
    q_min, q_max = 0, 100
    default_qualities = (0, 10, 20, 30, 40, 50, 60, 70)

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        kw = {"max_threads": self.threads} if self.threads else {}
        _pil(image).save(buf, format="AVIF", quality=int(quality), subsampling="4:2:0", **kw)
        return buf.getvalue()


class Jpeg2000Codec(Codec):
    """Quality = the rate (bpp) OpenJPEG's rate control aims at; bisection trims its error."""

    name, extension = "jpeg2000", "j2k"
    q_min, q_max = 0.002, 24.0
    integer = False
    default_qualities = (0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.45, 0.65, 0.9)

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        _pil(image).save(
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

    def _mid(self, lo: float, hi: float) -> float:
        return math.sqrt(lo * hi)  # the rate spans decades: bisect in log space

    def _lerp(self, lo: float, hi: float, t: float) -> float:
        return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))

    def _step(self, q: float, up: bool) -> float | None:
        nxt = min(self.q_max, q * 1.15) if up else max(self.q_min, q / 1.15)
        return None if nxt == q else nxt


# ---------------------------------------------------------------- HEVC (pillow-heif / x265)


def _iter_boxes(data: bytes, start: int, end: int):
    """(type, payload_start, box_end) of the ISOBMFF boxes in data[start:end]."""
    off = start
    while off + 8 <= end:
        size, kind = struct.unpack(">I4s", data[off : off + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[off + 8 : off + 16])[0]
            header = 16
        elif size == 0:
            size = end - off
        if size < header or off + size > end:
            raise ValueError("malformed HEIF box")
        yield kind.decode("latin-1"), off + header, off + size
        off += size


def _find_box(data: bytes, start: int, end: int, path: Sequence[str]) -> tuple[int, int] | None:
    for kind, payload, box_end in _iter_boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return payload, box_end
            inner = payload + 4 if kind == "meta" else payload  # meta is a FullBox
            return _find_box(data, inner, box_end, path[1:])
    return None


def hevc_payload_bytes(heif: bytes) -> int:
    """Size of the HEVC elementary stream (Annex B) inside a single-image HEIF file.

    = the slice data in ``mdat`` (NAL units with 4-byte length prefixes, the same size as
    Annex-B start codes) + the VPS/SPS/PPS stored in the ``hvcC`` box, each with a 4-byte
    start code. Everything else (ftyp, meta, item boxes, colour profile) is container.
    """
    mdat = _find_box(heif, 0, len(heif), ["mdat"])
    hvcc = _find_box(heif, 0, len(heif), ["meta", "iprp", "ipco", "hvcC"])
    if mdat is None or hvcc is None:
        raise ValueError("not a single-image HEVC HEIF file")
    total = mdat[1] - mdat[0]
    pos, end = hvcc[0] + 22, hvcc[1]
    arrays = heif[pos]
    pos += 1
    for _ in range(arrays):
        count = struct.unpack(">H", heif[pos + 1 : pos + 3])[0]
        pos += 3
        for _ in range(count):
            n = struct.unpack(">H", heif[pos : pos + 2])[0]
            total += 4 + n
            pos += 2 + n
    if pos > end:
        raise ValueError("malformed hvcC box")
    return total


class HevcCodec(Codec):
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
        import pillow_heif

        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        return np.asarray(heif[0].to_pillow().convert("RGB"))

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


class BestHevcCodec(Codec):
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

    decode = HevcCodec.decode
    count_bytes = HevcCodec.count_bytes

    def describe(self, data: bytes, height: int, width: int) -> dict:
        return self.variants[0].describe(data, height, width)

    def reencode(self, image: np.ndarray, enc: Encoded) -> bytes:
        variant = self.variants[1] if enc.extra.get("chroma") == "4:4:4" else self.variants[0]
        return variant.encode(image, enc.quality)

    def signature(self) -> str:
        return "hevc-best/" + self.variants[0].signature()

    def at_bpp(self, image: np.ndarray, target_bpp: float, cancel: Cancel = None) -> Encoded:
        image = _check_image(image)
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


# ---------------------------------------------------------------- obic (the learned codec)


class ObicCodec(Codec):
    """The learned codec. Quality = object-layer q in [0, 1]; the background layer is coded
    at q − (object_quality − background_quality), clamped to [0, 1]. With ``mask=None`` the
    file has one layer (``obic-single``)."""

    extension = "obic"
    q_min, q_max = 0.0, 1.0
    integer = False
    default_qualities = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

    def __init__(
        self,
        mask: np.ndarray | None,
        object_quality: float = 0.8,
        background_quality: float = 0.2,
        device: str = "auto",
        weights=None,
        name: str = "obic",
    ) -> None:
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.object_quality = float(object_quality)
        self.background_quality = float(background_quality)
        self.device = device
        self.weights = weights
        self.name = name

    def _settings(self, q_obj: float, q_bkg: float, target_bpp: float | None = None):
        from obic_core import codec

        return codec.EncodeSettings(
            object_quality=q_obj,
            background_quality=q_bkg,
            target_bpp=target_bpp,
            device=self.device,
            weights=self.weights,
        )

    def qualities_for(self, quality: float) -> tuple[float, float]:
        diff = self.object_quality - self.background_quality
        return float(quality), float(min(1.0, max(0.0, quality - diff)))

    def encode(self, image: np.ndarray, quality: float, cancel: Cancel = None) -> bytes:
        from obic_core import codec

        return codec.encode(image, self.mask, self._settings(*self.qualities_for(quality)), cancel=cancel)

    def _encode_qualities(self, image: np.ndarray, q_obj: float, q_bkg: float, cancel: Cancel = None) -> bytes:
        from obic_core import codec

        return codec.encode(image, self.mask, self._settings(q_obj, q_bkg), cancel=cancel)

    def reencode(self, image: np.ndarray, enc: Encoded) -> bytes:
        return self._encode_qualities(image, enc.extra["object_quality"], enc.extra["background_quality"])

    def decode(self, data: bytes) -> np.ndarray:
        from obic_core import codec

        return np.asarray(codec.decode(data, device=self.device, weights=self.weights).image)

    def describe(self, data: bytes, height: int, width: int) -> dict:
        from obic_core import codec
        from obic_core.metrics import obic_layer_bpp

        layout = codec.inspect(data)
        return {
            "object_quality": layout.object_quality,
            "background_quality": layout.background_quality,
            "layers_bpp": obic_layer_bpp(data),
            "model_id": layout.model_id,
        }

    def signature(self) -> str:
        """Names the weights by their file id (hash), without loading the model."""
        from pathlib import Path

        from obic_core.errors import ObicWeightsError
        from obic_core.weights import DEFAULT_CODEC, file_id

        path = Path(self.weights) if self.weights else DEFAULT_CODEC
        try:
            ident = file_id(path)
        except OSError:
            raise ObicWeightsError(
                f"weight file not found: {path} (the default weights ship in "
                f"resources/weights/; pass --weights to use others)"
            ) from None
        layers = "single" if self.mask is None else f"{self.object_quality:g}-{self.background_quality:g}"
        return f"{self.name}/{layers}/{ident}"

    def at_bpp(self, image: np.ndarray, target_bpp: float, cancel: Cancel = None) -> Encoded:
        """The codec's own ``target_bpp`` mode (shifts both qualities, keeps their difference),
        then one timed re-encode at the qualities it chose so ``encode_s`` is one encode."""
        from obic_core import codec

        image = _check_image(image)
        if not target_bpp > 0:
            raise ObicInputError(f"target bpp must be positive, got {target_bpp}")
        h, w = image.shape[:2]
        settings = self._settings(self.object_quality, self.background_quality, target_bpp)
        res = codec.encode_detailed(image, self.mask, settings, cancel=cancel)
        _check_cancel(cancel)
        data, seconds = timed(lambda: self._encode_qualities(image, res.object_quality, res.background_quality, cancel))
        if len(data) > len(res.data):  # the coder is deterministic; never trade up in size
            data = res.data
        reached = bool(res.reached) and _bpp(len(data), h, w) <= target_bpp
        extra = self.describe(data, h, w)
        extra["search_encodes"] = res.attempts
        return Encoded(data, len(data), float(res.object_quality), h, w, seconds, reached, extra)


# ---------------------------------------------------------------- registry


def get_codec(
    name: str,
    *,
    mask: np.ndarray | None = None,
    object_quality: float = 0.8,
    background_quality: float = 0.2,
    device: str = "auto",
    weights=None,
    threads: int | None = None,
) -> Codec:
    """The adapter for a codec name of :data:`ALL_CODECS` (or :data:`EXTRA_CODECS`).

    ``mask`` and the qualities only matter for ``obic``; ``threads`` caps the encoder threads
    of the baselines that have a switch (AVIF, x265), as the benchmark does.
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
    if name == "hevc":
        return BestHevcCodec(threads)
    if name in ("hevc-420", "hevc-444"):
        return HevcCodec(int(name[-3:]), threads)
    raise ObicInputError(f"unknown codec {name!r}; choose from {', '.join(ALL_CODECS + EXTRA_CODECS)}")


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
                    raise ObicInputError(f"unknown codec {c!r}; choose from {', '.join(ALL_CODECS + EXTRA_CODECS)}")
                if c not in names:
                    names.append(c)
    if not names:
        raise ObicInputError("no codecs given")
    return tuple(names)
