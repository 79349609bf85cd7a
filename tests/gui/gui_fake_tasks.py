"""Fast stand-ins for obic_gui.tasks, injected through JobManager(task_module=...).

They let the widget tests run in milliseconds without torch; tests/gui/test_gui_real.py
drives the real tasks (real mask prediction, real encode / decode) through the real worker
process. Same signatures as obic_gui.tasks.
"""

from __future__ import annotations

import time

import numpy as np

from obic_core import quality_map as qm
from obic_core.results import CompareResult, LayerInfo, Layout, QualityMapInfo, SizeEstimate
from obic_core.rules import coded_mask
from obic_gui.outcomes import DecodeOutcome, EncodeOutcome, ProbeOutcome, RDPoint, SweepOutcome
from obic_gui.tasks import load_image, original_png_bytes, write_export, write_pngs  # noqa: F401 (real io)

#: seconds the "slow" fakes take unless cancelled (a hang guard, not a timing assertion)
SLOW_S = 60.0
#: size of each fake codec's file relative to OBIC's: WebP misses "the same bitrate" by 31 %
#: (like the real WebP 0.163 bpp next to OBIC 0.236 bpp in issue 13), the others are within 5 %
SIZE_RATIO = {"webp": 0.69}
#: the fake "target bpp" search lowers both qualities by this much (keeping their gap)
TARGET_SHIFT = 0.18


def ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return ((yy - h / 2) / (h / 3)) ** 2 + ((xx - w / 2) / (w / 3)) ** 2 < 1


def predict_mask(image, method, progress, cancel):
    progress("Predicting", 0.5)
    return ellipse(*image.shape[:2])


def refine_mask(image, mask, rect, progress, cancel):
    out = np.array(mask, dtype=bool) if mask is not None else np.zeros(image.shape[:2], bool)
    if rect is not None:
        x0, y0, x1, y1 = rect
        out[y0:y1, x0:x1] = True
    return out


def probe(progress, cancel, weights=None):
    return ProbeOutcome(["cpu"], ["obic", "obic-single", "hevc", "webp", "jpeg"], ["auto", "saliency"])


#: the fake compressed files' extensions (as the real adapters name them)
FAKE_EXTENSIONS = {"obic": "obic", "obic-single": "obic", "hevc": "heic", "webp": "webp", "jpeg": "jpg", "avif": "avif"}


def _fake_file(codec: str, nbytes: int) -> bytes:
    """A stand-in compressed file of exactly ``nbytes`` bytes (what export writes)."""
    head = codec.encode()[:nbytes]
    return head + bytes(max(0, nbytes - len(head)))


#: the fake .heic's container around its HEVC payload (the real one: ftyp + meta boxes, a few
#: hundred bytes): like the real adapter, a fake HEVC result counts the payload, and its file
#: (what Export writes) is this much larger
HEIF_BOXES = 362
#: the chroma the fake HEVC search at a target picks: 4:4:4, not plain HEVC's 4:2:0, so a
#: side that lost it at a new quality would show
SEARCH_CHROMA = "4:4:4"


def _fig(codec, image, nbytes, seed, chroma=SEARCH_CHROMA):
    rng = np.random.default_rng(seed)
    noisy = np.clip(image.astype(np.int16) + rng.integers(-8, 9, image.shape), 0, 255).astype(np.uint8)
    h, w = image.shape[:2]
    data, extra = _fake_file(codec, nbytes), {}
    if codec == "hevc":  # like hevc.HevcCodec.describe
        data = _fake_file(codec, nbytes + HEIF_BOXES)
        heif_bpp = len(data) * 8 / (h * w)
        extra = {"chroma": chroma, "payload_bytes": nbytes, "heif_bytes": len(data), "heif_bpp": heif_bpp}
    return CompareResult(
        codec=codec,
        bytes=nbytes,
        bpp=nbytes * 8 / (h * w),
        psnr=30.0 + seed,
        ms_ssim=0.95 + seed / 100,
        object_psnr=31.0 + seed,
        background_psnr=29.0,
        object_ms_ssim=0.96,
        encode_s=0.01,
        decode_s=0.01,
        image=noisy,
        data=data,
        extension=FAKE_EXTENSIONS.get(codec, "bin"),
        extra=extra,
    )


def encode_compare(
    image,
    mask,
    object_quality,
    background_quality,
    target_bpp,
    device,
    codecs,
    progress,
    cancel,
    weights=None,
    delay: float = 0.0,
    quality_map=None,
    effort="default",
):
    t0 = time.monotonic()
    while time.monotonic() - t0 < delay:
        if cancel():
            raise KeyboardInterrupt
        progress("Encoding", (time.monotonic() - t0) / delay)
        time.sleep(0.01)
    h, w = image.shape[:2]
    if target_bpp is not None:  # like the real search: both qualities move, their gap stays
        object_quality = round(max(0.0, object_quality - TARGET_SHIFT), 4)
        background_quality = round(max(0.0, background_quality - TARGET_SHIFT), 4)
    layout = _layout(w, h, 1000, {"object": LayerInfo(600, 500, 100), "background": LayerInfo(340, 300, 40)})
    layout.model_name, layout.object_quality, layout.background_quality = "fake", object_quality, background_quality
    if quality_map is not None:  # like a v2 file: the block map's size and min / mean / max
        from obic_core import quality_map as qm

        steps = qm.block_steps(quality_map)
        st = qm.summary(steps)
        layout.quality_map = QualityMapInfo(int(steps.size // 8), st["min"], st["mean"], st["max"])
    figs = [_fig(c, image, round((1000 - 10 * i) * SIZE_RATIO.get(c, 1.0)), i) for i, c in enumerate(codecs)]
    figs[0].quality = (object_quality, background_quality)
    for f in figs[1:]:
        f.quality = 0.42 if f.codec in ("obic-single", "jpeg2000") else 42
    notes = ["a fake note", f"effort {effort}"]
    return EncodeOutcome(
        b"FAKE" + bytes(996), layout, figs, figs[0].bpp, object_quality, background_quality, device, notes
    )


def _layout(w: int, h: int, file_bytes: int, layers: dict[str, LayerInfo]) -> Layout:
    """A fake file's layout: a 40-byte header and a 20-byte mask stream."""
    return Layout(w, h, "", "", 0.0, 0.0, file_bytes, 40, 20, layers)


#: a fake .obic starting with this holds a quality map (like a v2 file): q 0.9 left, 0.1 right
FAKE_V2 = b"FAKEV2"


def decode_obic(data, layers, device, progress, cancel, weights=None):
    """A fake .obic: an 80×60 gradient whose left half is the object."""
    h, w = 60, 80
    yy, xx = np.mgrid[:h, :w]
    image = np.stack([xx * 3, yy * 4, np.full((h, w), 100)], axis=2).astype(np.uint8)
    mask = xx < w // 2
    layout = _layout(w, h, len(data), {"object": LayerInfo(500, 400, 100), "background": LayerInfo(300, 250, 50)})
    layout.object_quality, layout.background_quality = 0.7, 0.2
    steps = None
    if bytes(data[: len(FAKE_V2)]) == FAKE_V2:
        from obic_core.rules import grid_shape

        rows, cols = grid_shape(h, w)
        steps = np.where(np.arange(cols)[None, :] < cols // 2, 54, 6).repeat(rows, axis=0).astype(np.uint8)
        layout.quality_map = QualityMapInfo(12, 0.1, 0.5, 0.9)
    return DecodeOutcome(image, mask, tuple(layers), None, layout, 0.01, quality_steps=steps)


SWEEP_CALLS: list[dict] = []


def sweep(
    image,
    mask,
    targets,
    codecs,
    object_quality,
    background_quality,
    device,
    progress,
    cancel,
    weights=None,
    quality_map=None,
):
    """RD points that rise with the rate, higher for the first codecs."""
    SWEEP_CALLS.append({"codecs": tuple(codecs), "quality_map": quality_map})
    curves = {
        c: [RDPoint(t, 30.0 + 8 * t - i, 0.9 + 0.05 * t, 31.0 + 8 * t - i) for t in targets]
        for i, c in enumerate(codecs)
    }
    return SweepOutcome(curves, [float(t) for t in targets])


def slow_cooperative(progress, cancel):
    """Runs until cancelled (checks its cancel callback)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < SLOW_S:
        if cancel():
            from obic_core.errors import ObicCancelled

            raise ObicCancelled("stopped")
        progress("working", 0.5)
        time.sleep(0.01)
    return "finished"


def slow_stubborn(progress, cancel):
    """Ignores cancel (like a native encoder): only stopping the worker process ends it."""
    progress("working", 0.5)
    time.sleep(SLOW_S)
    return "finished"


def fails(progress, cancel):
    from obic_core.errors import ObicWeightsError

    raise ObicWeightsError("weight file not found: /nowhere/learntobic.safetensors")


def crashes(progress, cancel):
    import os

    os._exit(3)


def echo(value, progress, cancel):
    return value


def leaks_a_foreign_object(progress, cancel):
    """Returns an object whose class lives outside numpy / obic_gui (like torch.__version__)."""
    import fractions

    return fractions.Fraction(1, 3)


#: what the fake estimator holds (like the worker's cached RateEstimator) and every call it got
_ESTIMATE_KEY: tuple | None = None
ESTIMATE_CALLS: list[dict] = []
#: fake bytes per block step: a block at step k costs (1 + k) * BITS_PER_STEP bits
BITS_PER_STEP = 4.0
#: seconds each fake estimate takes (tests raise it to have requests arrive while one runs)
ESTIMATE_DELAY = 0.0


_ESTIMATE_CODED = None


def estimate_size(key, image, mask, steps, device, progress, cancel, weights=None, layer_qualities=None):
    """A size that grows with every block's quality; None when the image was never sent."""
    global _ESTIMATE_KEY
    global _ESTIMATE_CODED
    call = {"key": key, "sent_image": image is not None, "steps": None if steps is None else np.array(steps)}
    ESTIMATE_CALLS.append(call)
    if tuple(key) != _ESTIMATE_KEY:
        if image is None:
            return None
        _ESTIMATE_KEY = tuple(key)
        _ESTIMATE_CODED = coded_mask(mask)  # like the real worker: the block rule runs here
    if layer_qualities is not None:  # like the real worker: the grid from its coded mask
        steps = qm.layer_steps(_ESTIMATE_CODED, *layer_qualities)
        call["steps"] = np.array(steps)
    t0 = time.monotonic()
    while time.monotonic() - t0 < ESTIMATE_DELAY and not cancel():
        time.sleep(0.005)
    bits = (1.0 + np.asarray(steps, np.float64)) * BITS_PER_STEP
    total = int(round(bits.sum() / 8)) + 80
    layers = {"object": bits.sum() / 16, "background": bits.sum() / 16}
    return SizeEstimate(total, layers, 80, bits.astype(np.float32), coded=_ESTIMATE_CODED)


#: every fake split-side encode: codec, quality (None: at the OBIC rate), target bpp, the
#: encode's file and the HEVC chroma asked for
SIDE_CALLS: list[dict] = []


def encode_side(
    image,
    mask,
    codec,
    quality,
    target_bpp,
    object_quality,
    background_quality,
    device,
    progress,
    cancel,
    weights=None,
    obic_data=None,
    chroma=None,
):
    """One codec for one split side: a size that grows with the quality (at the OBIC rate when
    None). HEVC, like the real task: at the rate the search's chroma, at a quality the one
    asked for, else plain HEVC's 4:2:0."""
    SIDE_CALLS.append(
        {"codec": codec, "quality": quality, "target_bpp": target_bpp, "obic_data": obic_data, "chroma": chroma}
    )
    h, w = image.shape[:2]
    nbytes = round(target_bpp * h * w / 8) if quality is None else 200 + 10 * round(float(quality))
    fig = _fig(codec, image, nbytes, 7, SEARCH_CHROMA if quality is None else chroma or "4:2:0")
    fig.quality = 50 if quality is None else quality
    if codec == "obic":
        fig.quality = (float(quality or object_quality), float(background_quality))
    return fig
