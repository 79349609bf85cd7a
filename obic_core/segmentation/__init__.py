"""Object/background segmentation: the DeepLab network, saliency + GrabCut, and refine.

Importing this package is cheap on purpose (no torch, no OpenCV): the app imports it at
start-up, and the network is loaded on the first :func:`predict_mask` call — on the caller's
(worker) thread — then cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Click",
    "ClickSession",
    "EdgeBrush",
    "Scissors",
    "available_methods",
    "click_segment",
    "parse_clicks",
    "polygon_fill",
    "predict_mask",
    "refine_mask",
    "scissors_path",
    "smart_box",
]

#: interactive correction tools (obic_core.segmentation.interactive, OpenCV): imported on first use
_INTERACTIVE = {
    "Click",
    "ClickSession",
    "EdgeBrush",
    "Scissors",
    "click_segment",
    "parse_clicks",
    "polygon_fill",
    "scissors_path",
    "smart_box",
}


def __getattr__(name: str):
    if name in _INTERACTIVE:
        from obic_core.segmentation import interactive

        return getattr(interactive, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def predict_mask(image: np.ndarray, method: str = "auto", weights=None) -> np.ndarray:
    """(H, W) bool object mask. ``method``: "auto" (best measured), "net" or "saliency"."""
    from obic_core.segmentation.predict import predict_mask as _predict

    return _predict(image, method, weights)


def refine_mask(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    rect: tuple[int, int, int, int] | None = None,
    iterations: int = 5,
) -> np.ndarray:
    """Snap a rough mask, or a rectangle (x, y, w, h), to the object's edges (GrabCut)."""
    from obic_core.segmentation.classic import refine_mask as _refine

    return _refine(image, mask=mask, rect=rect, iterations=iterations)


def available_methods(weights=None) -> list[str]:
    """Methods usable here; "net" is listed only when its weight file exists."""
    from obic_core.segmentation.predict import available_methods as _available

    return _available(weights)
