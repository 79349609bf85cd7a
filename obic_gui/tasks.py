"""The work the GUI hands to its workers, written against obic_core's public API (no Qt).

Each task is ``task(**kwargs, progress, cancel)`` where ``progress(stage, fraction)`` reports
and ``cancel()`` says whether to stop. Tasks run in the worker process (mask and codec lanes)
or a worker thread (io lane); obic_core's torch-heavy modules are imported *inside* the
functions, never at module level, and results are converted to :mod:`obic_gui.results`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from obic_core.rules import ALL_CODECS
from obic_gui.results import (
    CodecFigures,
    DecodeOutcome,
    EncodeOutcome,
    LayerBits,
    LoadedDocument,
    ProbeOutcome,
    QualityMapBits,
    RDPoint,
    SizeEstimate,
    StreamLayout,
    SweepOutcome,
)

Progress = Callable[[str, float], None]
Cancel = Callable[[], bool]


def _sub(progress: Progress, stage: str, lo: float, hi: float) -> Callable[..., None]:
    """A progress callback for one stage mapped onto [lo, hi] of the whole job.

    Accepts ``(fraction)`` (codec.encode's form) and ``(stage, fraction)`` (compare's form).
    """

    def report(*args) -> None:
        fraction = float(args[-1]) if args else 0.0
        detail = str(args[0]) if len(args) > 1 and args[0] else ""
        progress(f"{stage}: {detail}" if detail else stage, lo + (hi - lo) * max(0.0, min(1.0, fraction)))

    return report


def _check_cancel(cancel: Cancel) -> None:
    if cancel():
        from obic_core.errors import ObicCancelled

        raise ObicCancelled("cancelled")


def _layout(layout) -> StreamLayout:
    qmap = getattr(layout, "quality_map", None)
    return StreamLayout(
        width=layout.width,
        height=layout.height,
        file_bytes=layout.file_bytes,
        header_bytes=layout.header_bytes,
        mask_bytes=layout.mask_bytes,
        layers={k: LayerBits(v.bytes, v.latent_bytes, v.hyper_bytes) for k, v in layout.layers.items()},
        model_name=getattr(layout, "model_name", ""),
        object_quality=getattr(layout, "object_quality", None),
        background_quality=getattr(layout, "background_quality", None),
        quality_map=None if qmap is None else QualityMapBits(int(qmap.bytes), qmap.min, qmap.mean, qmap.max),
    )


def _figures(result) -> CodecFigures:
    """obic_core.evaluation.compare.CompareResult → CodecFigures (attribute by attribute, no pickling of it)."""
    img = getattr(result, "image", None)
    quality = getattr(result, "quality", None)
    return CodecFigures(
        codec=result.codec,
        bytes=int(result.bytes),
        bpp=float(result.bpp),
        psnr=getattr(result, "psnr", None),
        ms_ssim=getattr(result, "ms_ssim", None),
        object_psnr=getattr(result, "object_psnr", None),
        background_psnr=getattr(result, "background_psnr", None),
        object_ms_ssim=getattr(result, "object_ms_ssim", None),
        encode_s=getattr(result, "encode_s", None),
        decode_s=getattr(result, "decode_s", None),
        reached=bool(getattr(result, "reached", True)),
        quality=quality if isinstance(quality, (int, float, str)) or quality is None else str(quality),
        image=None if img is None else np.ascontiguousarray(img, dtype=np.uint8),
    )


# -- io lane -------------------------------------------------------------------------------
def load_image(path: str, progress: Progress, cancel: Cancel) -> LoadedDocument:
    from obic_core.imageio import read_image

    progress("Reading the image", 0.0)
    loaded = read_image(path)
    return LoadedDocument(str(path), loaded.pixels, list(loaded.notes))


def read_mask_file(path: str, shape: tuple[int, int], progress: Progress, cancel: Cancel) -> np.ndarray:
    from obic_core.imageio import read_mask

    return read_mask(path, tuple(shape))


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


def write_bytes(path: str, data: bytes, progress: Progress, cancel: Cancel) -> str:
    from obic_core.imageio import write_bytes_atomic

    write_bytes_atomic(path, data)
    return path


# -- mask lane -----------------------------------------------------------------------------
def _segmentation(name: str):
    """``obic_core.segmentation.<name>`` (documented), tolerating a package still being assembled."""
    import importlib

    pkg = importlib.import_module("obic_core.segmentation")
    if hasattr(pkg, name):
        return getattr(pkg, name)
    for sub in ("predict", "classic"):
        mod = importlib.import_module(f"obic_core.segmentation.{sub}")
        if hasattr(mod, name):
            return getattr(mod, name)
    raise ImportError(f"obic_core.segmentation has no {name}")


def predict_mask(image: np.ndarray, method: str, progress: Progress, cancel: Cancel) -> np.ndarray:
    progress("Predicting the mask", 0.1)
    mask = _segmentation("predict_mask")(image, method=method)
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
    refine = _segmentation("refine_mask")
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
    codecs = list(ALL_CODECS)  # until the registry says what this machine really has
    problem = None
    try:
        from obic_core.evaluation.codecs.registry import available_codecs

        codecs = list(available_codecs())
    except ImportError:
        pass
    try:
        methods = list(_segmentation("available_methods")())
    except ImportError:
        methods = ["auto"]
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
    encoder = getattr(codec, "encode_detailed", None)
    if encoder is not None:
        res = encoder(image, mask, settings, progress=_sub(progress, stage, 0.02, enc_end * 0.8), cancel=cancel)
        data, reached = res.data, bool(getattr(res, "reached", True))
        q_obj = float(getattr(res, "object_quality", object_quality))
        q_bkg = float(getattr(res, "background_quality", background_quality))
    else:
        data = codec.encode(image, mask, settings, progress=_sub(progress, stage, 0.02, enc_end * 0.8), cancel=cancel)
        reached, q_obj, q_bkg = True, object_quality, background_quality
    enc_s = time.perf_counter() - t0
    _check_cancel(cancel)
    layout = _layout(codec.inspect(data))
    progress("Decoding OBIC", enc_end * 0.8)
    t0 = time.perf_counter()
    decoded = codec.decode(data, device=device, weights=weights)
    dec_s = time.perf_counter() - t0
    _check_cancel(cancel)
    progress("Measuring OBIC", enc_end * 0.9)
    m = _metrics(image, decoded.image, mask)
    obic = CodecFigures(
        codec="obic",
        bytes=len(data),
        bpp=len(data) * 8 / (h * w),
        encode_s=enc_s,
        decode_s=dec_s,
        reached=reached,
        quality=(q_obj, q_bkg),
        image=np.ascontiguousarray(decoded.image),
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
        figures += [_figures(r) for r in report.results]
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


def decode_obic(
    data: bytes, layers: Sequence[str], device: str, progress: Progress, cancel: Cancel, weights: str | None = None
) -> DecodeOutcome:
    """Decode a .obic (validating it first, so a corrupt file fails fast and readably)."""
    from obic_core import codec

    progress("Reading the stream", 0.05)
    layout = _layout(codec.inspect(data))
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


def _quality_steps(data: bytes, layout: StreamLayout) -> np.ndarray | None:
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
) -> SweepOutcome:
    """RD points of this image: every codec at each target bitrate (reconstructions dropped)."""
    from obic_core.evaluation import compare

    curves: dict[str, list[RDPoint]] = {}
    n = len(targets)
    for i, t in enumerate(targets):
        _check_cancel(cancel)
        report = compare.compare_image(
            image,
            mask,
            float(t),
            codecs=tuple(codecs),
            object_quality=object_quality,
            background_quality=background_quality,
            device=device,
            weights=weights,
            progress=_sub(progress, f"Sweep {i + 1}/{n} at {t:.2f} bpp", i / n, (i + 1) / n),
            cancel=cancel,
        )
        for r in report.results:
            curves.setdefault(r.codec, []).append(
                RDPoint(float(r.bpp), r.psnr, r.ms_ssim, getattr(r, "object_psnr", None))
            )
    for pts in curves.values():
        pts.sort(key=lambda p: p.bpp)
    return SweepOutcome(curves, [float(t) for t in targets])


# -- estimate lane ---------------------------------------------------------------------------
#: the worker's RateEstimator: (key, estimator). One image and mask at a time: building one
#: analyses the image (≈ 0.5–1.5 s for 768×512), each estimate after that is ≈ 0.1–0.3 s
_ESTIMATOR: tuple[tuple, object] | None = None


def estimate_size(
    key: tuple,
    image: np.ndarray | None,
    mask: np.ndarray | None,
    steps: np.ndarray,
    device: str,
    progress: Progress,
    cancel: Cancel,
    weights: str | None = None,
) -> SizeEstimate:
    """Predict the .obic size of a (rows, cols) grid of quality steps (q = k / 60) from the
    entropy model, without range coding (:class:`obic_core.rate_estimate.RateEstimator`).

    ``key`` names the image and mask; the GUI sends the pixels only when the worker may not
    hold that key yet, and gets ``missing=True`` back when it does not (e.g. after a restart).
    """
    global _ESTIMATOR
    from obic_core import quality_map as qm

    full_key = (tuple(key), weights, device)
    prepare_s = 0.0
    if _ESTIMATOR is None or _ESTIMATOR[0] != full_key:
        if image is None:
            return SizeEstimate(0, {}, 0, None, missing=True)
        from obic_core.rate_estimate import RateEstimator

        _ESTIMATOR = None  # free the old image's tensors before analysing the new one
        t0 = time.perf_counter()
        _ESTIMATOR = (full_key, RateEstimator(image, mask, weights=weights, device=device))
        prepare_s = time.perf_counter() - t0
    _check_cancel(cancel)
    t0 = time.perf_counter()
    est = _ESTIMATOR[1].estimate(qm.to_quality(np.asarray(steps, dtype=np.uint8)))
    return SizeEstimate(
        total_bytes=int(est.total_bytes),
        layer_bytes={str(k): float(v) for k, v in est.layer_bytes.items()},
        side_bytes=int(est.side_bytes),
        block_bits=np.ascontiguousarray(est.block_bits, dtype=np.float32),
        seconds=time.perf_counter() - t0,
        prepare_seconds=prepare_s,
    )
