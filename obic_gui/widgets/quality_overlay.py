"""The quality map as a heat-map overlay on the mask canvas, with its legend.

A child widget of the canvas that covers it exactly and lets every mouse event through, so
the canvas needs no hook: it paints the map in the canvas's own transform (blue = few bits,
red = many), the legend in the bottom-left corner, and whatever the quality tools preview
(the brush circle, the gradient's line). Like the mask overlay it is a premultiplied BGRA
array shared with a QImage, and a stroke re-tints only the box it touched. "As coded" shows
the 16×16-block qualities the encoder will really use.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QWidget

from obic_core.rules import LATENT_STRIDE
from obic_gui import quality_layer as ql
from obic_gui.offthread import ASYNC_PIXELS, off_thread
from obic_gui.qimage import bgra_view

#: the heat map's colour stops (q, RGB): cold and dark where few bits go, hot where many do
HEAT_STOPS = (
    (0.0, (38, 42, 140)),
    (0.25, (38, 120, 230)),
    (0.5, (40, 200, 140)),
    (0.75, (250, 205, 45)),
    (1.0, (235, 45, 35)),
)
LEGEND_W, LEGEND_H = 170, 10


def heat_rgb(levels: np.ndarray | int) -> np.ndarray:
    """Pixel levels 0..255 (q = v / 255) → RGB uint8 of the heat map."""
    q = np.asarray(levels, np.float64) / ql.LEVELS
    stops = np.array([s[0] for s in HEAT_STOPS])
    cols = np.array([s[1] for s in HEAT_STOPS], np.float64)
    rgb = np.stack([np.interp(q, stops, cols[:, c]) for c in range(3)], axis=-1)
    return np.rint(rgb).astype(np.uint8)


def heat_lut(opacity: float) -> np.ndarray:
    """(256,) uint32: premultiplied BGRA (QImage.Format_ARGB32_Premultiplied) of each level."""
    a = float(np.clip(opacity, 0.0, 1.0))
    rgb = heat_rgb(np.arange(256)).astype(np.float64)
    lut = np.empty((256, 4), np.uint8)
    lut[:, 0] = np.rint(rgb[:, 2] * a)
    lut[:, 1] = np.rint(rgb[:, 1] * a)
    lut[:, 2] = np.rint(rgb[:, 0] * a)
    lut[:, 3] = round(255 * a)
    return lut.view(np.uint32).ravel()


def heat_bgra(levels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(H, W) levels → (H, W, 4) premultiplied BGRA through ``lut`` (one gather per pixel)."""
    return np.take(lut, levels).view(np.uint8).reshape(*levels.shape, 4)


def coded_levels(layer: ql.QualityLayer, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The levels of each pixel's 16×16 block as the encoder will code it (of ``box``, or all)."""
    h, w = layer.shape
    x0, y0, x1, y1 = box or (0, 0, w, h)
    s = LATENT_STRIDE
    steps = layer.block_steps()[y0 // s : -(-y1 // s), x0 // s : -(-x1 // s)]
    blocks = ql.steps_to_levels(steps)
    full = np.repeat(np.repeat(blocks, s, axis=0), s, axis=1)
    return full[y0 - (y0 // s) * s : y1 - (y0 // s) * s, x0 - (x0 // s) * s : x1 - (x0 // s) * s]


def block_box(box: tuple[int, int, int, int], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` grown to whole 16×16 blocks (clipped to the image)."""
    s = LATENT_STRIDE
    h, w = shape
    x0, y0, x1, y1 = box
    return (x0 // s) * s, (y0 // s) * s, min(w, -(-x1 // s) * s), min(h, -(-y1 // s) * s)


class QualityOverlay(QWidget):
    """Heat map + legend over a :class:`~obic_gui.widgets.canvas.MaskCanvas`."""

    def __init__(self, canvas, model) -> None:
        super().__init__(canvas)
        self.canvas, self.model = canvas, model
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.map_visible = False
        self.opacity = 0.55
        self.coded = False
        self.cursor_q: float | None = None  # the quality under the pointer, shown in the legend
        #: the quality tools draw their preview here (brush circle, gradient line)
        self.tool_painter: Callable[[QPainter], None] | None = None
        self._bgra = np.zeros((0, 0, 4), np.uint8)
        self._img = None
        self._lut = heat_lut(self.opacity)
        self._key = f"quality-overlay-{id(self)}"
        self._preview: ql.QualityLayer | None = None  # the two qualities as a map, when none is painted
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        model.changed.connect(self._on_changed)
        canvas.doc.mask_changed.connect(self._on_mask)
        self.show()

    # -- settings ----------------------------------------------------------------------------
    def set_map_visible(self, on: bool) -> None:
        self.map_visible = bool(on)
        self.rebuild()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        self._lut = heat_lut(self.opacity)
        self.rebuild()

    def set_coded(self, on: bool) -> None:
        self.coded = bool(on)
        self.rebuild()

    def defaults_changed(self) -> None:
        """The rate panel's two qualities moved: they are what is shown while no map is painted."""
        if self.model.layer is None and self.map_visible:
            self.rebuild()

    # -- content -----------------------------------------------------------------------------
    def shown_layer(self) -> ql.QualityLayer | None:
        """The painted map, else the two qualities of the rate panel as a map (what the encode uses)."""
        if self.model.layer is not None:
            return self.model.layer
        return self._preview

    def rebuild(self) -> None:
        doc = self.canvas.doc
        self._preview = None
        if not self.map_visible or doc.mask is None:
            off_thread().forget(self._key)
            self._bgra, self._img = np.zeros((0, 0, 4), np.uint8), None
            self.update()
            return
        if self.model.layer is None:
            q_obj, q_bkg = self.model.defaults()
            self._preview = ql.QualityLayer.from_layers(doc.mask, q_obj, q_bkg)
        layer, lut, coded = self.shown_layer(), self._lut, self.coded

        def build() -> np.ndarray:
            return heat_bgra(coded_levels(layer) if coded else layer.pixels, lut)

        if layer.pixels.size >= ASYNC_PIXELS:  # a big photo: tint it on the helper thread
            off_thread().submit(self._key, build, lambda arr, lay=layer: self._built(lay, arr))
        else:
            off_thread().forget(self._key)
            self._built(layer, build())

    def _built(self, layer: ql.QualityLayer, bgra: np.ndarray) -> None:
        if layer is not self.shown_layer():
            return  # replaced meanwhile
        self._bgra, self._img = bgra, bgra_view(bgra)
        self.update()

    def _on_changed(self, box) -> None:
        layer = self.shown_layer()
        if box is None or layer is None or self._bgra.shape[:2] != layer.shape or not self.map_visible:
            self.rebuild()
            return
        if self.coded:
            box = block_box(box, layer.shape)
        x0, y0, x1, y1 = box
        levels = coded_levels(layer, box) if self.coded else layer.pixels[y0:y1, x0:x1]
        self._bgra[y0:y1, x0:x1] = heat_bgra(levels, self._lut)
        tl, br = self.canvas.to_widget(QPointF(x0, y0)), self.canvas.to_widget(QPointF(x1, y1))
        self.update(QRectF(tl, br).toAlignedRect().adjusted(-2, -2, 2, 2))

    def _on_mask(self, box) -> None:
        if self.model.layer is None and self.map_visible and not self.canvas.doc.stroking:
            self.rebuild()

    # -- events and painting -----------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # (Qt's name)
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self.map_visible and self._img is not None and self.canvas.image() is not None:
            self.canvas.paint_image(p, self._img)
            self._paint_legend(p)
        if self.tool_painter is not None:
            self.tool_painter(p)

    def _legend_title(self) -> str:
        title = "Quality  (few bits → many bits)"
        if self.cursor_q is not None:
            title += f"   here: {self.cursor_q:.2f}"
        return title

    def _paint_legend(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        f = QFont(p.font())
        f.setPointSizeF(max(8.0, f.pointSizeF() - 1))
        p.setFont(f)
        fm = p.fontMetrics()
        title = self._legend_title()
        pad = 8
        w = max(LEGEND_W, fm.horizontalAdvance(title)) + 2 * pad
        h = fm.height() * 2 + LEGEND_H + 3 * pad // 2 + 2
        box = QRectF(12, self.height() - h - 12, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 22, 26, 215))
        p.drawRoundedRect(box, 6, 6)
        p.setPen(QColor(235, 238, 242))
        p.drawText(QPointF(box.left() + pad, box.top() + pad + fm.ascent()), title)
        bar = QRectF(box.left() + pad, box.top() + pad + fm.height() + 3, w - 2 * pad, LEGEND_H)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for q, rgb in HEAT_STOPS:
            grad.setColorAt(q, QColor(*rgb))
        p.setBrush(grad)
        p.setPen(QPen(QColor(0, 0, 0, 160), 1))
        p.drawRect(bar)
        p.setPen(QColor(200, 204, 212))
        y = bar.bottom() + 2 + fm.ascent()
        for q in (0.0, 0.25, 0.5, 0.75, 1.0):
            text = f"{q:g}"
            x = bar.left() + q * bar.width() - fm.horizontalAdvance(text) / 2
            x = min(max(x, bar.left()), bar.right() - fm.horizontalAdvance(text))
            p.drawText(QPointF(x, y), text)
