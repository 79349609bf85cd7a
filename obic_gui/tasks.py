"""The work the GUI hands to its workers, written against obic_core's public API (no Qt).

Each task is ``task(**kwargs, progress, cancel)`` where ``progress(stage, fraction)`` reports
and ``cancel()`` says whether to stop. Tasks run in the worker process (mask and codec lanes)
or a worker thread (io lane); obic_core's torch-heavy modules are imported *inside* the
functions, never at module level. Answers are obic_core's own result types
(:mod:`obic_core.results`, torch-free, so the GUI process can unpickle them) or, where
obic_core has none, the bundles in :mod:`obic_gui.outcomes`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from obic_core.progress import Cancel, Progress, sub_range
from obic_core.results import CompareResult, Layout, SizeEstimate
from obic_gui.outcomes import DecodeOutcome, EncodeOutcome, LoadedDocument, ProbeOutcome, RDPoint, SweepOutcome


def _sub(progress: Progress, stage: str, lo: float, hi: float) -> Progress:
    """A progress callback for one stage mapped onto [lo, hi] of the whole job (the core
    call's own stage, if any, follows the job's: "Comparing: jpeg")."""
    return sub_range(progress, lo, hi, stage)


def _check_cancel(cancel: Cancel) -> None:
    if cancel():
        from obic_core.errors import ObicCancelled

        raise ObicCancelled("cancelled")


# -- io lane -------------------------------------------------------------------------------
def load_image(path: str, progress: Progress, cancel: Cancel) -> LoadedDocument:
    from obic_core.imageio import read_image

    progress("Reading the image", 0.0)
    loaded = read_image(path)
    return LoadedDocument(str(path), loaded.pixels, list(loaded.notes))


def write_pngs(
    items: Sequence[tuple[str, np.ndarray, np.ndarray | None]], progress: Progress, cancel: Cancel
) -> list[str]:
    """Write (path, pixels, alpha) PNGs atomically; returns the paths written."""
    from obic_core.imageio import write_png

    done = []
    for i, (path, pixels, alpha) in enumerate(items):
        _check_cancel(cancel)
        progress(f"Writing {path}", i / max(1, len(items)))
        write_png(path, pixels, alpha)
        done.append(path)
    return done


def original_png_bytes(image: np.ndarray, progress: Progress, cancel: Cancel) -> int:
    """Size of the photo as a PNG (Pillow's default compression): the "% of PNG" captions'
    yardstick. Run once per document on the io lane: a big photo takes seconds to compress."""
    from obic_core.imageio import encode_png

    progress("Measuring the PNG size", 0.0)
    return len(encode_png(np.ascontiguousarray(image, dtype=np.uint8)))


def write_export(
    pngs: Sequence[tuple[str, np.ndarray, np.ndarray | None]],
    files: Sequence[tuple[str, bytes]],
    progress: Progress,
    cancel: Cancel,
) -> list[str]:
    """Write PNGs and compressed files (one split side: its reconstruction and its file),
    each atomically; returns the paths written."""
    from obic_core.imageio import write_bytes_atomic

    done = write_pngs(pngs, progress, cancel)
    for path, data in files:
        _check_cancel(cancel)
        write_bytes_atomic(path, bytes(data))
        done.append(path)
    return done


# -- mask lane -----------------------------------------------------------------------------
def predict_mask(image: np.ndarray, method: str, progress: Progress, cancel: Cancel) -> np.ndarray:
    from obic_core.segmentation import predict_mask as predict

    progress("Predicting the mask", 0.1)
    mask = predict(image, method=method)
    return np.ascontiguousarray(mask, dtype=bool)


def refine_mask(
    image: np.ndarray,
    mask: np.ndarray | None,
    rect: tuple[int, int, int, int] | None,
    progress: Progress,
    cancel: Cancel,
) -> np.ndarray:
    """GrabCut snap of the whole mask, or — with ``rect`` = (x0, y0, x1, y1) — GrabCut of the
    object inside that box, which then replaces the mask inside the box (outside is kept)."""
    from obic_core.segmentation import refine_mask as refine

    progress("Refining the mask", 0.1)
    if rect is None:
        return np.ascontiguousarray(refine(image, mask), dtype=bool)
    x0, y0, x1, y1 = rect
    refined = np.asarray(refine(image, None, rect=(x0, y0, x1 - x0, y1 - y0)), dtype=bool)
    out = np.array(mask if mask is not None else np.zeros(image.shape[:2], bool), dtype=bool)
    out[y0:y1, x0:x1] = refined[y0:y1, x0:x1]
    return out


# -- codec lane ----------------------------------------------------------------------------
def probe(progress: Progress, cancel: Cancel, weights: str | None = None) -> ProbeOutcome:
    """What this machine can do; also loads the codec so the first Encode starts at once."""
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    from obic_core.evaluation.codecs.registry import available_codecs
    from obic_core.segmentation import available_methods

    codecs = list(available_codecs())
    methods = list(available_methods())
    problem = None
    try:
        from obic_core.codec import load_codec

        load_codec(weights, device="cpu")
    except Exception as exc:  # noqa: BLE001 - shown as a hint in the rate panel
        problem = str(exc) or type(exc).__name__
    # str(): torch.__version__ is a TorchVersion, and unpickling one would import torch in the GUI
    return ProbeOutcome(devices, [str(c) for c in codecs], [str(m) for m in methods], str(torch.__version__), problem)


def _metrics(original: np.ndarray, recon: np.ndarray, mask: np.ndarray | None) -> dict:
    from obic_core.evaluation.metrics import image_metrics

    return image_metrics(original, recon, mask)


def encode_compare(
    image: np.ndarray,
    mask: np.ndarray | None,
    object_quality: float,
    background_quality: float,
    target_bpp: float | None,
    device: str,
    codecs: Sequence[str],
    progress: Progress,
    cancel: Cancel,
    weights: str | None = None,
    quality_map: np.ndarray | None = None,
    effort: str = "default",
) -> EncodeOutcome:
    """Encode with OBIC, decode, score, then run the chosen codecs at the same bitrate.

    ``quality_map`` (the painted (H, W) map, uint8 0..255 or floats in [0, 1]) replaces the two
    qualities inside the layers (a v2 file); ``effort`` is the encoder's fast / default / max.
    """
    from obic_core import codec

    h, w = image.shape[:2]
    settings = codec.EncodeSettings(
        object_quality=object_quality,
        background_quality=background_quality,
        target_bpp=target_bpp,
        device=device,
        weights=weights,
        quality_map=quality_map,
        effort=effort,
    )
    stage = "Encoding OBIC" if effort == "default" else f"Encoding OBIC ({effort} effort)"
    others = [c for c in codecs if c != "obic"]
    enc_end = 0.4 if others else 0.8
    progress("Loading the codec", 0.0)
    t0 = time.perf_counter()
    res = codec.encode_detailed(
        image, mask, settings, progress=_sub(progress, stage, 0.02, enc_end * 0.8), cancel=cancel
    )
    data, reached = res.data, res.reached
    q_obj, q_bkg = float(res.object_quality), float(res.background_quality)
    enc_s = time.perf_counter() - t0
    _check_cancel(cancel)
    layout = codec.inspect(data)
    progress("Decoding OBIC", enc_end * 0.8)
    t0 = time.perf_counter()
    decoded = codec.decode(data, device=device, weights=weights)
    dec_s = time.perf_counter() - t0
    _check_cancel(cancel)
    progress("Measuring OBIC", enc_end * 0.9)
    m = _metrics(image, decoded.image, mask)
    obic = CompareResult(
        codec="obic",
        bytes=len(data),
        bpp=len(data) * 8 / (h * w),
        encode_s=enc_s,
        decode_s=dec_s,
        reached=reached,
        quality=(q_obj, q_bkg),
        image=np.ascontiguousarray(decoded.image),
        data=data,
        extension="obic",
        **m,
    )
    figures = [obic]
    notes: list[str] = []
    if others:
        from obic_core.evaluation import compare

        report = compare.compare_image(
            image,
            mask,
            obic.bpp,
            codecs=tuple(others),
            object_quality=q_obj,
            background_quality=q_bkg,
            device=device,
            weights=weights,
            progress=_sub(progress, "Comparing", enc_end, 1.0),
            cancel=cancel,
        )
        figures += report.results
        notes += gui_notes(report)
    progress("Done", 1.0)
    return EncodeOutcome(
        data=data,
        layout=layout,
        figures=figures,
        target_bpp=obic.bpp,
        object_quality=q_obj,
        background_quality=q_bkg,
        device=device,
        notes=notes,
    )


def gui_notes(report) -> list[str]:
    """The comparison's notes in the app's words.

    obic_core's HEVC note names ``heif_bpp``, a JSON field of `obic compare` that the app
    shows nowhere; here it becomes a sentence with the .heic file's real size.
    """
    out = []
    for n in getattr(report, "notes", []) or []:
        n = str(n)
        if "heif_bpp" in n:
            continue
        out.append(n)
    for r in getattr(report, "results", []) or []:
        extra = getattr(r, "extra", None) or {}
        if r.codec == "hevc" and extra.get("heif_bytes"):
            out.append(
                f"HEVC (x265): the size shown is the HEVC payload, {int(r.bytes):,} B (what BPG would store); "
                f"the .heic file with its container is {int(extra['heif_bytes']):,} B"
            )
    return out


def encode_side(
    image: np.ndarray,
    mask: np.ndarray | None,
    codec: str,
    quality: float | None,
    target_bpp: float,
    object_quality: float,
    background_quality: float,
    device: str,
    progress: Progress,
    cancel: Cancel,
    weights: str | None = None,
    obic_data: bytes | None = None,
    chroma: str | None = None,
) -> CompareResult:
    """One codec for one side of the split view, and nothing else.

    ``quality`` None: at the OBIC file's rate (the same search as Encode & compare), for a
    codec the encode did not include; else at that native quality (the side's quality box).
    OBIC's background quality keeps the encode's object–background gap; when the encode's
    file (``obic_data``) carries a painted block map, OBIC's side keeps that map's shape
    instead, moved so its best block sits at the side's quality. HEVC at a quality keeps
    ``chroma`` ("4:2:0" / "4:4:4": what the search at the target chose for this image, its
    result's ``extra["chroma"]``); without one it is 4:2:0, BPG's default. At the rate, the
    search tries both again. The answer's ``extra`` is the adapter's account of the file
    (HEVC: ``chroma``, ``payload_bytes``, ``heif_bytes``), as Encode & compare's rows have it.
    """
    from obic_core.evaluation.compare import compare_one
    from obic_core.evaluation.metrics import timed

    common = dict(object_quality=object_quality, background_quality=background_quality, device=device, weights=weights)
    progress(f"Encoding {codec}", 0.1)
    steps = _stored_steps(obic_data) if codec == "obic" and obic_data is not None else None
    if steps is not None:
        return _mapped_side(image, mask, steps, quality, target_bpp, device, weights, progress, cancel)
    if quality is None:
        return compare_one(codec, image, mask, float(target_bpp), cancel=cancel, **common)
    adapter = _side_adapter(codec, chroma, mask, common)
    enc = adapter.encode_at(image, float(quality))
    _check_cancel(cancel)
    progress(f"Decoding {codec}", 0.7)
    decoded, decode_s = timed(lambda: adapter.decode(enc.data))
    q = adapter.qualities_for(enc.quality) if codec == "obic" else enc.quality
    return _side_result(
        codec,
        image,
        mask,
        enc.data,
        int(enc.bytes),
        enc.encode_s,
        decoded,
        decode_s,
        q,
        str(adapter.extension),
        extra=dict(enc.extra),
    )


def _side_result(
    codec: str,
    image: np.ndarray,
    mask: np.ndarray | None,
    data: bytes,
    nbytes: int,
    encode_s: float | None,
    decoded: np.ndarray,
    decode_s: float | None,
    quality,
    extension: str,
    extra: dict | None = None,
    reached: bool = True,
) -> CompareResult:
    """A split side's answer: the file, its size (``nbytes``: what the codec counts), timings,
    the reconstruction and its scores."""
    h, w = image.shape[:2]
    return CompareResult(
        codec=codec,
        bytes=int(nbytes),
        bpp=int(nbytes) * 8.0 / (h * w),
        encode_s=encode_s,
        decode_s=decode_s,
        reached=reached,
        quality=quality,
        image=np.ascontiguousarray(decoded, dtype=np.uint8),
        data=bytes(data),
        extension=extension,
        extra=dict(extra or {}),
        **_metrics(image, decoded, mask),
    )


#: HEVC's chroma formats, as its results name them, and the single-chroma codec of each
_HEVC_CHROMA = {"4:2:0": "hevc-420", "4:4:4": "hevc-444"}


def _side_adapter(codec: str, chroma: str | None, mask: np.ndarray | None, common: dict):
    """The adapter a split side encodes ``codec`` with at a native quality: for HEVC with a
    ``chroma``, that chroma's variant (``hevc`` alone would always code 4:2:0)."""
    from obic_core.errors import ObicInputError
    from obic_core.evaluation.codecs.registry import get_codec

    if codec == "hevc" and chroma is not None:
        if chroma not in _HEVC_CHROMA:
            raise ObicInputError(f"unknown HEVC chroma {chroma!r}; choose from {', '.join(_HEVC_CHROMA)}")
        codec = _HEVC_CHROMA[chroma]
    return get_codec(codec, mask=mask if codec == "obic" else None, **common)


def _stored_steps(data: bytes) -> np.ndarray | None:
    from obic_core import codec

    return _quality_steps(data, codec.inspect(data))


def _mapped_side(
    image: np.ndarray,
    mask: np.ndarray | None,
    steps: np.ndarray,
    quality: float | None,
    target_bpp: float,
    device: str,
    weights: str | None,
    progress: Progress,
    cancel: Cancel,
) -> CompareResult:
    """OBIC for a split side with the encode's block map: at ``quality`` (the map shifted so
    its maximum is there) or, with None, scaled to ``target_bpp`` like Encode does."""
    from obic_core import codec
    from obic_core import quality_map as qm
    from obic_core.evaluation.metrics import timed

    if quality is not None:
        steps = qm.shifted(steps, float(quality) - float(qm.to_quality(steps).max()))
    settings = codec.EncodeSettings(
        target_bpp=None if quality is not None else float(target_bpp),
        device=device,
        weights=weights,
        quality_map=qm.pixel_map(steps),
    )
    res, encode_s = timed(lambda: codec.encode_detailed(image, mask, settings, cancel=cancel))
    _check_cancel(cancel)
    progress("Decoding obic", 0.7)
    decoded, decode_s = timed(lambda: codec.decode(res.data, device=device, weights=weights).image)
    q = (float(res.object_quality), float(res.background_quality))
    reached = quality is not None or bool(res.reached)
    return _side_result(
        "obic", image, mask, res.data, len(res.data), encode_s, decoded, decode_s, q, "obic", reached=reached
    )


def decode_obic(
    data: bytes, layers: Sequence[str], device: str, progress: Progress, cancel: Cancel, weights: str | None = None
) -> DecodeOutcome:
    """Decode a .obic (validating it first, so a corrupt file fails fast and readably)."""
    from obic_core import codec

    progress("Reading the stream", 0.05)
    layout = codec.inspect(data)
    progress("Decoding", 0.2)
    t0 = time.perf_counter()
    dec = codec.decode(data, layers=tuple(layers), device=device, weights=weights)
    mask = None if dec.mask is None else np.ascontiguousarray(dec.mask, dtype=bool)
    alpha = None if dec.alpha is None else np.ascontiguousarray(dec.alpha, dtype=np.uint8)
    return DecodeOutcome(
        np.ascontiguousarray(dec.image),
        mask,
        tuple(dec.layers),
        alpha,
        layout,
        time.perf_counter() - t0,
        quality_steps=_quality_steps(data, layout),
    )


def _quality_steps(data: bytes, layout: Layout) -> np.ndarray | None:
    """The block quality map of a v2 file ((rows, cols) steps), None for a v1 file."""
    if layout.quality_map is None:
        return None
    from obic_core import bitstream
    from obic_core.rules import grid_shape

    streams = bitstream.parse(data).streams
    return np.ascontiguousarray(
        bitstream.unpack_quality_map(streams["quality"], grid_shape(layout.height, layout.width)), dtype=np.uint8
    )


def sweep(
    image: np.ndarray,
    mask: np.ndarray | None,
    targets: Sequence[float],
    codecs: Sequence[str],
    object_quality: float,
    background_quality: float,
    device: str,
    progress: Progress,
    cancel: Cancel,
    weights: str | None = None,
    quality_map: np.ndarray | None = None,
) -> SweepOutcome:
    """RD points of this image: every codec at each target bitrate (reconstructions dropped).

    With a painted ``quality_map`` OBIC's points are that map scaled to each target (what
    Encode would make at that size), not the two layer qualities.
    """
    from obic_core.evaluation import compare

    curves: dict[str, list[RDPoint]] = {}
    n = len(targets)
    for i, t in enumerate(targets):
        _check_cancel(cancel)
        stage = f"Sweep {i + 1}/{n} at {t:.2f} bpp"
        others = tuple(codecs)
        if quality_map is not None and "obic" in others:
            others = tuple(c for c in others if c != "obic")
            curves.setdefault("obic", []).append(
                _mapped_point(image, mask, quality_map, float(t), device, weights, cancel)
            )
            if not others:
                continue
        report = compare.compare_image(
            image,
            mask,
            float(t),
            codecs=others,
            object_quality=object_quality,
            background_quality=background_quality,
            device=device,
            weights=weights,
            progress=_sub(progress, stage, i / n, (i + 1) / n),
            cancel=cancel,
        )
        for r in report.results:
            curves.setdefault(r.codec, []).append(
                RDPoint(float(r.bpp), r.psnr, r.ms_ssim, getattr(r, "object_psnr", None))
            )
    for pts in curves.values():
        pts.sort(key=lambda p: p.bpp)
    return SweepOutcome(curves, [float(t) for t in targets])


def _mapped_point(
    image: np.ndarray,
    mask: np.ndarray | None,
    quality_map: np.ndarray,
    target_bpp: float,
    device: str,
    weights: str | None,
    cancel: Cancel,
) -> RDPoint:
    """OBIC with the painted map at one target size: encode, decode, score (as a split side would)."""
    from obic_core import quality_map as qm

    steps = qm.image_block_steps(quality_map, image)
    r = _mapped_side(image, mask, steps, None, target_bpp, device, weights, lambda stage, fraction: None, cancel)
    return RDPoint(float(r.bpp), r.psnr, r.ms_ssim, r.object_psnr)


# -- estimate lane ---------------------------------------------------------------------------
#: the worker's RateEstimator: (key, estimator). One image and mask at a time: building one
#: analyses the image (≈ 0.5–1.5 s for 768×512), each estimate after that is ≈ 0.1–0.3 s
_ESTIMATOR: tuple[tuple, object] | None = None


def estimate_size(
    key: tuple,
    image: np.ndarray | None,
    mask: np.ndarray | None,
    steps: np.ndarray | None,
    device: str,
    progress: Progress,
    cancel: Cancel,
    weights: str | None = None,
    layer_qualities: tuple[float, float] | None = None,
) -> SizeEstimate | None:
    """Predict the .obic size of a (rows, cols) grid of quality steps (q = k / 60) from the
    entropy model, without range coding (:class:`obic_core.rate_estimate.RateEstimator`).
    Without a painted map the GUI sends ``layer_qualities`` (object, background) instead, and
    the grid is made here from the coded mask: the GUI thread never runs the block rule.

    ``key`` names the image and mask; the GUI sends the pixels only when the worker may not
    hold that key yet, and gets None back when it does not (e.g. after a restart): send it again.
    The answer carries the worker's coded mask (``coded``), so the GUI thread never runs the
    block rule either.
    """
    global _ESTIMATOR
    from obic_core import quality_map as qm

    full_key = (tuple(key), weights, device)
    prepare_s = 0.0
    if _ESTIMATOR is None or _ESTIMATOR[0] != full_key:
        if image is None:
            return None
        from obic_core.rate_estimate import RateEstimator

        _ESTIMATOR = None  # free the old image's tensors before analysing the new one
        t0 = time.perf_counter()
        _ESTIMATOR = (full_key, RateEstimator(image, mask, weights=weights, device=device))
        prepare_s = time.perf_counter() - t0
    _check_cancel(cancel)
    estimator = _ESTIMATOR[1]
    if layer_qualities is not None:  # no painted map: each layer at its quality, on the worker's coded mask
        steps = qm.layer_steps(estimator.lat, *layer_qualities)
    est = estimator.estimate(qm.to_quality(np.asarray(steps, dtype=np.uint8)))
    return dataclasses.replace(est, prepare_seconds=prepare_s)
