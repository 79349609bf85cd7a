"""One benchmark point (image × codec × setting), run inside a worker process.

Points are independent tasks so a pool can run them in any order, and a crash or Ctrl-C
loses at most the points in flight. Each worker uses one thread (torch, x265, libheif's
decoder): two workers then share the two cores a training run also wants.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from obic_core.errors import ObicError
from obic_core.evaluation.codecs.registry import get_codec


def init_worker() -> None:
    """One thread per worker process: 2 workers then use the 2 cores a codec run also wants."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # torch 2.13 warns about Intel-GPU TF32 on first use; one line per worker is only noise
    warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
    import torch

    torch.set_num_threads(1)
    try:
        import pillow_heif

        pillow_heif.options.DECODE_THREADS = 1
    except ImportError:  # pragma: no cover
        pass


def predict_mask_task(image_path: str, out_path: str) -> str:
    """Predict an image's object mask once and cache it as a PNG (``--masks auto``)."""
    from obic_core.imageio import read_image, write_png
    from obic_core.segmentation import predict_mask

    pixels = read_image(image_path).pixels
    mask = np.asarray(predict_mask(pixels, "auto"), dtype=bool)
    write_png(out_path, np.repeat(np.where(mask, 255, 0).astype(np.uint8)[..., None], 3, 2))
    return out_path


def run_point(task: dict) -> dict:
    """Encode one image with one codec at one setting, decode, score.

    Returns the point's record; a failure is recorded as ``error`` (one codec library failing
    on one image must not stop a run of thousands of points).
    """
    from obic_core.evaluation.metrics import image_metrics, ms_ssim_db, timed
    from obic_core.imageio import read_image, read_mask

    record = {k: task[k] for k in ("key", "image", "codec", "mode", "setting", "signature")}
    cpu_start = time.process_time()
    try:
        pixels = read_image(task["image_path"]).pixels
        mask = read_mask(task["mask_path"], pixels.shape[:2]) if task["mask_path"] else None
        adapter = get_codec(
            task["codec"],
            mask=mask,
            object_quality=task["object_quality"],
            background_quality=task["background_quality"],
            device=task["device"],
            weights=task["weights"],
            threads=1,
        )
        if task["mode"] == "bpp":
            enc = adapter.at_bpp(pixels, task["setting"])
        else:
            enc = adapter.encode_at(pixels, task["setting"])
        decoded, decode_s = timed(lambda: adapter.decode(enc.data))
        m = image_metrics(pixels, decoded, mask)
        record.update(m)
        record.update(
            bpp=enc.bpp,
            bytes=enc.bytes,
            quality=enc.quality,
            reached=enc.reached,
            encode_s=enc.encode_s,
            decode_s=decode_s,
            ms_ssim_db=ms_ssim_db(m["ms_ssim"]),
            width=int(pixels.shape[1]),
            height=int(pixels.shape[0]),
            extra={k: v for k, v in enc.extra.items() if k != "alternatives"},
            # the whole point (search, decode, metrics) in CPU seconds of this process: what a
            # rerun of the data set costs, unlike encode_s, which times one encode
            cpu_s=time.process_time() - cpu_start,
        )
    except ObicError as exc:
        record["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 — a codec library failing on one image must not stop the run
        record["error"] = f"{type(exc).__name__}: {exc}"
    return record
