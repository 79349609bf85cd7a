"""``obic`` / ``obic-single``: the learned codec through :mod:`obic_core.codec`.

Quality is the object-layer q in [0, 1]. ``obic`` codes two layers; at a target its own
``target_bpp`` mode shifts both qualities together, keeping the object–background
difference. ``obic-single`` uses the same weights with no mask (one layer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from obic_core.errors import ObicInputError, ObicWeightsError
from obic_core.evaluation.codecs.base import AT_BEST_SETTING, CodecAdapter, Encoded, check_cancel, check_image
from obic_core.evaluation.metrics import bpp as _bpp
from obic_core.evaluation.metrics import obic_layer_bpp, timed
from obic_core.progress import Cancel


class ObicCodec(CodecAdapter):
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

    def encode(self, image: np.ndarray, quality: float, cancel: Cancel | None = None) -> bytes:
        from obic_core import codec

        return codec.encode(image, self.mask, self._settings(*self.qualities_for(quality)), cancel=cancel)

    def _encode_qualities(self, image: np.ndarray, q_obj: float, q_bkg: float, cancel: Cancel | None = None) -> bytes:
        from obic_core import codec

        return codec.encode(image, self.mask, self._settings(q_obj, q_bkg), cancel=cancel)

    def reencode(self, image: np.ndarray, enc: Encoded) -> bytes:
        return self._encode_qualities(image, enc.extra["object_quality"], enc.extra["background_quality"])

    def decode(self, data: bytes) -> np.ndarray:
        from obic_core import codec

        return np.asarray(codec.decode(data, device=self.device, weights=self.weights).image)

    def describe(self, data: bytes, height: int, width: int) -> dict:
        from obic_core import codec

        layout = codec.inspect(data)
        return {
            "object_quality": layout.object_quality,
            "background_quality": layout.background_quality,
            "layers_bpp": obic_layer_bpp(data),
            "model_id": layout.model_id,
        }

    def signature(self) -> str:
        """Names the weights by their file id (hash), without loading the model."""
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

    def at_bpp(self, image: np.ndarray, target_bpp: float, cancel: Cancel | None = None) -> Encoded:
        """The codec's own ``target_bpp`` mode (shifts both qualities, keeps their difference),
        then one timed re-encode at the qualities it chose so ``encode_s`` is one encode."""
        from obic_core import codec

        image = check_image(image)
        if not target_bpp > 0:
            raise ObicInputError(f"target bpp must be positive, got {target_bpp}")
        h, w = image.shape[:2]
        settings = self._settings(self.object_quality, self.background_quality, target_bpp)
        res = codec.encode_detailed(image, self.mask, settings, cancel=cancel)
        check_cancel(cancel)
        data, seconds = timed(lambda: self._encode_qualities(image, res.object_quality, res.background_quality, cancel))
        if len(data) > len(res.data):  # the coder is deterministic; never trade up in size
            data = res.data
        reached = bool(res.reached) and _bpp(len(data), h, w) <= target_bpp
        extra = self.describe(data, h, w)
        extra["search_encodes"] = res.attempts
        if reached and res.object_quality >= 1.0 and (self.mask is None or res.background_quality >= 1.0):
            extra[AT_BEST_SETTING] = True
        return Encoded(data, len(data), float(res.object_quality), h, w, seconds, reached, extra)
