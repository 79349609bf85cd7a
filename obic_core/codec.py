"""The public codec API: image + mask -> .obic bytes -> image, and inspection.

Flow: pad image & mask to a multiple of 64 (edge replicate) -> latent-grid mask (the
rule in :mod:`obic_core.masking`) -> y = g_a(x) -> per-layer gain -> each layer coded on
its own (:mod:`obic_core.engine`) -> container (:mod:`obic_core.bitstream`).
Decoding reverses it; a layer that is absent from the file (or not requested) is left out
of the latent tensor and its region is painted mid-gray (and transparent in ``alpha``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from obic_core import bitstream
from obic_core import quality_map as quality_map_rules
from obic_core.errors import (
    ObicCancelled,
    ObicDeviceError,
    ObicError,
    ObicFormatError,
    ObicInputError,
    is_out_of_memory,
)
from obic_core.imageio import check_dimensions
from obic_core.progress import Cancel, Progress, ignore_progress, sub_range
from obic_core.results import LayerInfo, Layout, QualityMapInfo
from obic_core.rules import QUALITY_STEPS

LAYER_NAMES = ("object", "background")
GRAY = 128
#: the progress stage of the range-coding passes (one encode, or the target-bpp bisection)
_CODING_STAGE = "coding"


@dataclass(frozen=True)
class EncodeSettings:
    object_quality: float = 0.75
    background_quality: float = 0.25
    target_bpp: float | None = None
    device: str = "auto"
    weights: str | None = None
    store_full_mask: bool = False
    #: (H, W) per-pixel quality in [0, 1] (or uint8 0..255); block-averaged to one quality per
    #: 16×16 block, it replaces the two layer qualities (the mask still splits the layers)
    quality_map: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: "fast" / "default" / "max": max refines the latents at encode time (same decoder)
    effort: str = "default"


@dataclass
class EncodeResult:
    data: bytes
    object_quality: float
    background_quality: float
    reached: bool = True  # False when a target bpp was below the smallest file
    attempts: int = 1  # real encodes made (rate search)
    seconds: float = 0.0


@dataclass
class Decoded:
    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool: object region
    layers: tuple[str, ...]  # layers that were decoded
    alpha: np.ndarray | None = None  # (H, W) uint8 when only part of the image was decoded


def load_codec(weights: str | None = None, device: str = "auto"):
    """The cached :class:`~obic_core.engine.Engine` (loads torch and the weights on first use)."""
    from obic_core.engine import get_engine

    return get_engine(weights, device)


# -- encoding ----------------------------------------------------------------------------
def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ObicInputError(f"expected an (H, W, 3) uint8 RGB image, got shape {arr.shape} {arr.dtype}")
    check_dimensions(arr.shape[1], arr.shape[0])
    return arr


def _check_mask(mask: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = np.asarray(mask)
    if m.shape != shape:
        raise ObicInputError(
            f"mask is {m.shape[1] if m.ndim > 1 else '?'}×{m.shape[0]} but the image is "
            f"{shape[1]}×{shape[0]}; they must match"
        )
    return m > 0


def _q(v: float) -> float:
    return bitstream.u16_to_quality(bitstream.quality_to_u16(v))


class _Prepared:
    """What stays the same across the rate search: y and the masks."""

    def __init__(self, engine, image: np.ndarray, mask: np.ndarray, quality_map: np.ndarray | None = None) -> None:
        import torch

        from obic_core.masking import latent_mask_from_pixels, pad_replicate

        self.height, self.width = image.shape[:2]
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1).unsqueeze(0).float().div_(255)
        self.x = pad_replicate(x)
        self.y = engine.analyse(self.x)
        m = torch.from_numpy(mask.astype(np.float32))[None, None]
        self.lat = latent_mask_from_pixels(m)[0, 0].numpy() > 0.5
        self.pixel_mask = mask
        self.map_steps = None if quality_map is None else quality_map_rules.image_block_steps(quality_map, image)


def _encode_prepared(
    engine,
    prep: _Prepared,
    q_obj: float,
    q_bkg: float,
    full_mask: bool,
    cancel: Cancel | None,
    map_steps: np.ndarray | None = None,
) -> EncodeResult:
    """One real encode. ``map_steps`` (a block quality grid) replaces the two layer qualities;
    the header then carries each layer's mean quality, for display only."""
    from obic_core import range_coder as coding

    t0 = time.perf_counter()
    if map_steps is None:
        q_grid = np.where(prep.lat, q_obj, q_bkg)
    else:
        q_grid = quality_map_rules.to_quality(map_steps)
        stats = quality_map_rules.summary(map_steps, prep.lat)
        q_obj = _q(stats["object_mean"] if stats["object_mean"] is not None else stats["mean"])
        q_bkg = _q(stats["background_mean"] if stats["background_mean"] is not None else stats["mean"])
    gain, _ = engine.gain_maps(q_grid)
    y_s = prep.y * gain
    streams: dict[str, bytes] = {}
    if prep.lat.all():
        mode, grid = bitstream.MASK_ALL_OBJECT, b""
    elif not prep.lat.any():
        mode, grid = bitstream.MASK_ALL_BACKGROUND, b""
    else:
        mode, grid = bitstream.MASK_CODED, coding.encode_mask_grid(prep.lat)
    streams["mask"] = bitstream.pack_mask(mode, grid, prep.pixel_mask if full_mask else None)
    if map_steps is not None:
        streams["quality"] = bitstream.pack_quality_map(map_steps)
    for name, m in (("object", prep.lat), ("background", ~prep.lat)):
        if cancel is not None and cancel():
            raise ObicCancelled("encoding cancelled")
        if not m.any():
            continue
        code = engine.encode_layer(name, y_s, m)
        streams[name] = bitstream.pack_layer(code.hyper, code.latent)
    container = bitstream.Container(
        prep.width,
        prep.height,
        q_obj,
        q_bkg,
        bytes.fromhex(engine.model_id),
        engine.model_name,
        streams,
        full_mask=full_mask,
    )
    return EncodeResult(bitstream.serialize(container), q_obj, q_bkg, seconds=time.perf_counter() - t0)


def _lat_tensor(lat: np.ndarray, like):
    import torch

    return torch.from_numpy(lat.astype(np.float64)).view(1, 1, *lat.shape).to(like.device)


def _guard_device(fn):
    """Turn CUDA out-of-memory into a readable error (the user's inputs are untouched)."""

    def wrapped(*args, **kwargs):
        import torch

        try:
            return fn(*args, **kwargs)
        except torch.cuda.OutOfMemoryError:
            raise ObicDeviceError("the GPU ran out of memory; try a smaller image or --device cpu") from None
        except (MemoryError, RuntimeError) as exc:  # torch's CPU allocator raises RuntimeError
            if not is_out_of_memory(exc):
                raise
            raise ObicDeviceError("not enough memory for this image (try a smaller one)") from None

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


@_guard_device
def encode_detailed(
    image: np.ndarray,
    mask: np.ndarray | None,
    settings: EncodeSettings = EncodeSettings(),
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> EncodeResult:
    """Encode, searching the qualities when ``settings.target_bpp`` is set.

    Target mode keeps d = q_obj − q_bkg (or the shape of the quality map) and bisects a
    common shift s (q = clip(q + s)), on real encodes, for the largest file not above the
    target; y = g_a(x) is computed once. Effort ``max`` then refines y at the qualities found
    (:mod:`obic_core.latent_refinement`) and searches again with the refined latents.
    ``progress(stage, fraction)`` and ``cancel()`` follow :mod:`obic_core.progress`.
    """
    from obic_core.latent_refinement import EFFORT_STEPS, refine_latents

    image = _check_image(image)
    mask = _check_mask(mask, image.shape[:2])
    if settings.effort not in EFFORT_STEPS:
        raise ObicInputError(f"unknown effort {settings.effort!r} (one of {', '.join(EFFORT_STEPS)})")
    target = settings.target_bpp
    if target is not None and not (isinstance(target, (int, float)) and math.isfinite(target) and target > 0):
        raise ObicInputError(f"target bpp must be a positive finite number, got {target!r}")
    engine = load_codec(settings.weights, settings.device)
    report = progress or ignore_progress
    refine_steps = EFFORT_STEPS[settings.effort]
    search_share = 0.3 if refine_steps else 1.0  # of the progress bar after analysis
    with engine.lock:
        t0 = time.perf_counter()
        report("analysing the image", 0.05)
        prep = _Prepared(engine, image, mask, settings.quality_map)
        search_end = 0.15 + 0.85 * search_share
        report(_CODING_STAGE, 0.15)
        res = _search(engine, prep, settings, cancel, sub_range(report, 0.15, search_end))
        if refine_steps and res.reached:
            q_grid = _quality_grid(bitstream.parse(res.data), prep.lat)
            prep.y = refine_latents(
                engine.model,
                prep.x,
                prep.y,
                prep.lat,
                q_grid,
                (prep.height, prep.width),
                refine_steps,
                progress=sub_range(report, search_end, 0.95),
                cancel=cancel,
            )
            attempts = res.attempts
            res = _search(engine, prep, settings, cancel, ignore_progress)
            res.attempts += attempts
        report("done", 1.0)
        res.seconds = time.perf_counter() - t0
        return res


def _search(engine, prep: _Prepared, settings: EncodeSettings, cancel: Cancel | None, report: Progress) -> EncodeResult:
    """One encode at the settings' qualities, or the bisection for ``target_bpp``."""
    qo, qb = _q(settings.object_quality), _q(settings.background_quality)
    steps = prep.map_steps
    full = settings.store_full_mask

    def at(shift: float) -> EncodeResult:
        if steps is not None:
            return _encode_prepared(engine, prep, qo, qb, full, cancel, quality_map_rules.shifted(steps, shift))
        return _encode_prepared(engine, prep, _q(qo + shift), _q(qb + shift), full, cancel)

    if settings.target_bpp is None:
        return at(0.0)
    budget = settings.target_bpp * prep.height * prep.width / 8
    if steps is not None:
        q_hi, q_lo = float(steps.max()) / QUALITY_STEPS, float(steps.min()) / QUALITY_STEPS
    else:
        q_hi, q_lo = max(qo, qb), min(qo, qb)
    lo_s, hi_s = -q_hi, 1 - q_lo  # below lo_s every quality is 0, above hi_s every one is 1
    best = at(lo_s)
    attempts = 1
    if len(best.data) > budget:
        best.reached, best.attempts = False, attempts
        return best
    top = at(hi_s)
    attempts += 1
    if len(top.data) <= budget:
        best = top
    else:
        for i in range(12):
            if hi_s - lo_s < 1 / 512:
                break
            mid = (lo_s + hi_s) / 2
            r = at(mid)
            attempts += 1
            if len(r.data) <= budget:
                best, lo_s = r, mid
            else:
                hi_s = mid
            report(_CODING_STAGE, (i + 1) / 12)
    best.attempts = attempts
    return best


def encode(
    image: np.ndarray,
    mask: np.ndarray | None,
    settings: EncodeSettings = EncodeSettings(),
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> bytes:
    """Encode an RGB uint8 image with an object mask (None: single layer) to .obic bytes."""
    return encode_detailed(image, mask, settings, progress, cancel).data


# -- decoding ----------------------------------------------------------------------------
def _latent_grid(c: bitstream.Container) -> np.ndarray:
    from obic_core import range_coder as coding
    from obic_core.masking import LATENT_STRIDE, padded_size

    ph, pw = padded_size(c.height, c.width)
    shape = (ph // LATENT_STRIDE, pw // LATENT_STRIDE)
    mode, grid, _ = bitstream.unpack_mask(c.streams["mask"], False, (c.height, c.width))
    if mode == bitstream.MASK_ALL_OBJECT:
        return np.ones(shape, dtype=bool)
    if mode == bitstream.MASK_ALL_BACKGROUND:
        return np.zeros(shape, dtype=bool)
    return coding.decode_mask_grid(grid, shape)


def _parse_checked(data: bytes) -> bitstream.Container:
    """parse() plus every check that needs no model: the pixel budget and the mask, layer
    and quality-map payload headers. decode(), inspect() and extract() all start here, so
    `obic info` accepts exactly the files `obic decode` gets past its first step."""
    from obic_core.rules import grid_shape

    c = bitstream.parse(data)
    check_dimensions(c.width, c.height, what="the encoded image")
    bitstream.unpack_mask(c.streams["mask"], c.full_mask, (c.height, c.width))
    for name in LAYER_NAMES:
        if name in c.streams:
            bitstream.unpack_layer(c.streams[name], name)
    if "quality" in c.streams:
        bitstream.unpack_quality_map(c.streams["quality"], grid_shape(c.height, c.width))
    return c


#: slack for the range coder's final state and word rounding when comparing a hyper stream's
#: length with the least its positions can cost (bits)
_CODER_SLACK_BITS = 64
_HYPER_FLOOR: dict[tuple[str, str], float] = {}


def _hyper_floor_bits(engine, name: str) -> float:
    """The least a hyper-latent position of this layer can cost, in bits: every channel's
    symbol costs at least −log2 of that channel's most likely value (with a margin for the
    coder's quantized probabilities). Fixed per model, so a rigorous lower bound."""
    key = (engine.model_id, name)
    if key not in _HYPER_FLOOR:
        lows, highs, probs = engine.coders[name].z_density.probability_tables()
        p_max = np.array([np.max(probs[c, : int(highs[c] - lows[c]) + 1]) for c in range(len(lows))])
        _HYPER_FLOOR[key] = float(-np.log2(np.minimum(p_max + 1e-4, 1.0)).sum())
    return _HYPER_FLOOR[key]


def _check_declared_work(engine, name: str, hyper: bytes, m: np.ndarray) -> None:
    """Refuse a layer whose hyper stream is too short to describe the positions its mask
    declares (a 73-byte file claiming 4000×4000 would otherwise decode for a minute)."""
    from obic_core.masking import HYPER_STRIDE

    h, w = m.shape
    n_z = int(m.reshape(h // HYPER_STRIDE, HYPER_STRIDE, w // HYPER_STRIDE, HYPER_STRIDE).any(axis=(1, 3)).sum())
    need = n_z * _hyper_floor_bits(engine, name) - _CODER_SLACK_BITS
    if 8 * len(hyper) < need:
        raise ObicFormatError(
            f"'{name}' sub-stream is too short for the image it declares: {n_z:,} hyper-latent positions need "
            f"at least {math.ceil(need / 8):,} bytes, it has {len(hyper):,} (the file is damaged or forged)"
        )


#: a big canvas of which only some tiles hold a decoded layer is synthesised tile by tile
#: (32 latent positions = 512 px a side, plus the halo), so the work follows what the file's
#: bytes describe rather than its declared size
_SYNTH_TILE = 32


def _render(engine, y, covered: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8 pixels of the latents ``y`` where ``covered`` (latent grid); the rest
    is left mid-gray. Small canvases and mostly covered ones take the whole-image path."""
    from obic_core.masking import LATENT_STRIDE as s

    def to_u8(x):
        return x[0].mul(255).round_().byte().permute(1, 2, 0).cpu().numpy()

    h, w = covered.shape
    T, halo = _SYNTH_TILE, engine.halo_synthesis
    tiles = [(i, j) for i in range(0, h, T) for j in range(0, w, T) if covered[i : i + T, j : j + T].any()]
    if h * w * s * s <= engine.strip_pixels or 2 * len(tiles) * (T + 2 * halo) ** 2 > h * w:
        return to_u8(engine.synthesise(y)[:, :, :height, :width])
    img = np.full((height, width, 3), GRAY, dtype=np.uint8)
    for i, j in tiles:
        a, b, c0, d = max(0, i - halo), min(h, i + T + halo), max(0, j - halo), min(w, j + T + halo)
        r1, q1 = min(height, (i + T) * s), min(width, (j + T) * s)
        if i * s >= height or j * s >= width:
            continue
        x = engine.synthesise(y[:, :, a:b, c0:d])
        img[i * s : r1, j * s : q1] = to_u8(x[:, :, (i - a) * s : r1 - a * s, (j - c0) * s : q1 - c0 * s])
    return img


def _quality_grid(c: bitstream.Container, lat: np.ndarray) -> np.ndarray:
    """Each block's quality: the file's quality map (v2) or its layer's header quality."""
    if "quality" in c.streams:
        return quality_map_rules.to_quality(bitstream.unpack_quality_map(c.streams["quality"], lat.shape))
    return np.where(lat, c.object_quality, c.background_quality)


@_guard_device
def decode(
    data: bytes, layers: Sequence[str] = LAYER_NAMES, device: str = "auto", weights: str | None = None
) -> Decoded:
    """Decode the requested layers that the file holds."""
    import torch

    from obic_core.masking import LATENT_STRIDE

    for name in layers:
        if name not in LAYER_NAMES:
            raise ObicInputError(f"unknown layer '{name}' (object or background)")
    c = _parse_checked(data)
    engine = load_codec(weights, device)
    if bytes.fromhex(engine.model_id) != c.model_id:
        raise ObicFormatError(
            f"this file was encoded with model {c.model_name} ({c.model_id.hex()}), but the loaded "
            f"weights are {engine.model_name} ({engine.model_id}); decode it with those weights (--weights)"
        )
    lat = _latent_grid(c)
    q_grid = _quality_grid(c, lat)
    todo = [
        (name, m)
        for name, m in (("object", lat), ("background", ~lat))
        if m.any() and name in c.streams and name in layers
    ]
    for name, m in todo:  # before any decoding work
        _check_declared_work(engine, name, bitstream.unpack_layer(c.streams[name], name)[0], m)
    with engine.lock, torch.no_grad():
        y_dec = torch.zeros(1, engine.config.M, *lat.shape, dtype=torch.float64, device=engine.device)
        present = []
        cov_lat = np.zeros(lat.shape, dtype=bool)
        for name, m in todo:
            hyper, latent = bitstream.unpack_layer(c.streams[name], name)
            y_hat = engine.decode_layer(name, hyper, latent, m)
            y_dec += y_hat * _lat_tensor(m, y_hat)
            present.append(name)
            cov_lat |= m
        if present:
            _, inv = engine.gain_maps(q_grid)
            img = _render(engine, y_dec * inv, cov_lat, c.height, c.width)
        else:  # nothing to synthesise: every pixel is a missing region
            img = np.full((c.height, c.width, 3), GRAY, dtype=np.uint8)
    px_lat = np.repeat(np.repeat(lat, LATENT_STRIDE, 0), LATENT_STRIDE, 1)[: c.height, : c.width]
    covered = np.zeros_like(px_lat)
    if "object" in present:
        covered |= px_lat
    if "background" in present:
        covered |= ~px_lat
    alpha = None
    if not covered.all():
        img = img.copy()
        img[~covered] = GRAY
        alpha = np.where(covered, 255, 0).astype(np.uint8)
    mask = px_lat
    if c.full_mask:
        _, _, full = bitstream.unpack_mask(c.streams["mask"], True, (c.height, c.width))
        mask = full
    return Decoded(np.ascontiguousarray(img), mask, tuple(present), alpha)


# -- inspection and editing -------------------------------------------------------------------
def inspect(data: bytes) -> Layout:
    """Describe a .obic file (validates it as far as decode() does before loading a model)."""
    c = _parse_checked(data)
    layers = {}
    for name in LAYER_NAMES:
        if name in c.streams:
            hyper, latent = bitstream.unpack_layer(c.streams[name], name)
            layers[name] = LayerInfo(len(c.streams[name]), len(latent), len(hyper) + 4)
    qmap = None
    if "quality" in c.streams:
        from obic_core.rules import grid_shape

        steps = bitstream.unpack_quality_map(c.streams["quality"], grid_shape(c.height, c.width))
        st = quality_map_rules.summary(steps)
        qmap = QualityMapInfo(len(c.streams["quality"]), st["min"], st["mean"], st["max"])
    return Layout(
        c.width,
        c.height,
        c.model_name,
        c.model_id.hex(),
        c.object_quality,
        c.background_quality,
        len(data),
        c.header_bytes,
        len(c.streams["mask"]),
        layers,
        c.full_mask,
        c.version,
        qmap,
    )


def extract(data: bytes, layer: str) -> bytes:
    """A valid .obic holding only ``layer`` (plus the mask)."""
    if layer not in LAYER_NAMES:
        raise ObicInputError(f"unknown layer '{layer}' (object or background)")
    c = _parse_checked(data)
    if layer not in c.streams:
        raise ObicInputError(f"the file has no {layer} layer")
    c.streams = {k: v for k, v in c.streams.items() if k in ("mask", "quality", layer)}
    return bitstream.serialize(c)


__all__ = [
    "Decoded",
    "EncodeResult",
    "EncodeSettings",
    "LAYER_NAMES",
    "LayerInfo",
    "Layout",
    "QualityMapInfo",
    "ObicError",
    "decode",
    "encode",
    "encode_detailed",
    "extract",
    "inspect",
    "load_codec",
]
