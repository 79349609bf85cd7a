"""Mask prediction with the DeepLab network, and the choice behind ``method="auto"``.

The network is loaded on first use and cached (one per weight path), so importing this module
or opening the app costs nothing; the GUI calls :func:`predict_mask` on its worker thread.
"auto" follows the measurements that ``bench/seg_eval.py --update-card`` records in the
model card (``evaluation.methods[m].iou``, the IoU on a source the network was not trained
on): the network (optionally followed by GrabCut refine) is used only when it beat
saliency + GrabCut; missing, unreadable or unmeasured weights fall back
to the weight-free predictor, so a mask is always proposed.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np

from obic_core.errors import ObicInputError, ObicWeightsError

log = logging.getLogger(__name__)
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2] / "resources" / "weights" / "deeplab_r34.safetensors"
METHODS = ("auto", "net", "saliency")
_cache: dict[str, object] = {}
_lock = threading.Lock()


def weights_path(weights: str | Path | None = None) -> Path:
    return Path(weights) if weights else DEFAULT_WEIGHTS


def read_card(weights: str | Path | None = None) -> dict:
    """The model card beside the weights ({} when missing or unreadable)."""
    card = weights_path(weights).with_suffix(".json")
    try:
        return json.loads(card.read_text())
    except (OSError, ValueError):
        return {}


def load_segmenter(weights: str | Path | None = None):
    """The DeepLab model for ``weights`` (cached; safetensors only, never pickle)."""
    path = weights_path(weights).resolve()
    key = str(path)
    with _lock:
        if key not in _cache:
            from obic_core.nn.memory_layout import channels_last
            from obic_core.segmentation.deeplab import DeepLabConfig, DeepLabV3
            from obic_core.weights import load_weights

            loaded = load_weights(path)
            if loaded.card.get("kind", "segmentation") != "segmentation":
                raise ObicWeightsError(f"{path} holds {loaded.card.get('kind')} weights, not a segmenter")
            model = DeepLabV3(DeepLabConfig.from_dict(loaded.card.get("config", {})))
            try:
                model.load_state_dict(loaded.state)
            except RuntimeError as exc:
                raise ObicWeightsError(
                    f"{path} does not match the DeepLab configuration in its card: {str(exc).splitlines()[0]}"
                ) from None
            channels_last(model.eval())
            _cache[key] = model
        return _cache[key]


def net_available(weights: str | Path | None = None) -> bool:
    return weights_path(weights).is_file()


def predict_net_prob(image: np.ndarray, weights: str | Path | None = None) -> np.ndarray:
    """Object probability (H, W) float32 from the network at its trained input scale."""
    import cv2
    import torch

    from obic_core.nn.precision import fast_bf16
    from obic_core.segmentation.deeplab import NET_LONG_SIDE

    model = load_segmenter(weights)
    h, w = image.shape[:2]
    s = NET_LONG_SIDE / max(h, w)
    small = cv2.resize(
        image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    )
    x = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].float().div_(255)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16("cpu")):
        logits = model(x.contiguous(memory_format=torch.channels_last))[0, 0].float()
        flipped = model(x.flip(-1).contiguous(memory_format=torch.channels_last))[0, 0].float().flip(-1)
    prob = torch.sigmoid((logits + flipped) / 2).numpy()  # flip averaging: cheap, steadier edges
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


def predict_net(image: np.ndarray, weights: str | Path | None = None) -> np.ndarray:
    return predict_net_prob(image, weights) >= 0.5


def auto_choice(weights: str | Path | None = None) -> tuple[str, bool]:
    """(method, refine) that "auto" uses, from the measurements in the model card."""
    if not net_available(weights):
        return "saliency", False
    ev = read_card(weights).get("evaluation", {}).get("methods", {})
    iou: dict[str, float] = {k: v["iou"] for k, v in ev.items() if isinstance(v, dict) and v.get("iou") is not None}
    if not iou:
        return "saliency", False
    best = max(iou, key=iou.__getitem__)
    if best == "net+refine":
        return "net", True
    return ("net", False) if best == "net" else ("saliency", False)


def predict_mask(image: np.ndarray, method: str = "auto", weights: str | Path | None = None) -> np.ndarray:
    """An (H, W) bool object mask for an (H, W, 3) uint8 RGB image."""
    from obic_core.segmentation.classic import _check_image, refine_mask, saliency_mask

    image = _check_image(image)
    if method not in METHODS:
        raise ObicInputError(f"unknown segmentation method {method!r}; choose from {', '.join(METHODS)}")
    if method == "saliency":
        return saliency_mask(image)
    if method == "net":
        return predict_net(image, weights)
    choice, refine = auto_choice(weights)
    if choice == "net":
        try:
            mask = predict_net(image, weights)
        except ObicWeightsError as exc:
            log.warning("segmentation network unusable (%s); using saliency + GrabCut", exc)
            return saliency_mask(image)
        return refine_mask(image, mask) if refine else mask
    return saliency_mask(image)


def available_methods(weights: str | Path | None = None) -> list[str]:
    """Methods that can run here ("net" only when its weight file exists)."""
    return ["auto", "net", "saliency"] if net_available(weights) else ["auto", "saliency"]
