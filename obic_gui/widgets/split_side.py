"""The split view and the controls of its two sides.

A split is where a user settles "is this codec really worse here?", so each side can be
changed on the spot: pick any result of the encode, or any other codec (encoded at the OBIC
file's rate), and move that side's own quality knob — only that side re-encodes, on the
worker, while the other stays as it is. Each side also exports on its own: its
reconstruction and its compressed file.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QToolButton, QWidget

from obic_gui.codec_knobs import knob, knob_value
from obic_gui.quality import codec_label
from obic_gui.widgets.image_view import ImageView

#: a quality box waits this long after its last change before the side re-encodes, so
#: holding an arrow key asks for one encode, not one per step
REENCODE_DELAY_MS = 300


class SplitView(ImageView):
    """Image A left of a draggable divider, image B right of it; both under one transform."""

    split_moved = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._b: QImage | None = None
        self.split = 0.5  # divider position as a fraction of the widget width
        self._dragging = False

    def set_pair(self, a: QImage | None, b: QImage | None) -> None:
        self._b = b
        self.set_image(a, keep_view=True)

    def pair(self) -> tuple[QImage | None, QImage | None]:
        """The (left, right) images shown (flash aside)."""
        return self.image(), self._b

    def _divider_x(self) -> float:
        return self.width() * self.split

    def paint_extras(self, p: QPainter) -> None:
        b = self._flash if self._flash is not None else self._b
        if b is None:
            return
        x = self._divider_x()
        left = self.to_image(QPointF(x, 0)).x()
        w, h = self.image_size()
        p.save()
        p.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
        p.fillRect(QRectF(x, 0, self.width() - x, self.height()), QColor(38, 40, 44))
        self.paint_image(p, b, QRectF(max(0.0, math.floor(left)), 0, w, h))
        p.restore()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(0, 0, 0, 160), 4))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        c = QPointF(x, self.height() / 2)
        p.setBrush(QColor(255, 255, 255))
        p.setPen(QPen(QColor(0, 0, 0, 160), 1.5))
        p.drawEllipse(c, 11, 11)
        p.setPen(QPen(QColor(40, 40, 40), 2))
        p.drawLine(c + QPointF(-5, 0), c + QPointF(-2, -3))
        p.drawLine(c + QPointF(-5, 0), c + QPointF(-2, 3))
        p.drawLine(c + QPointF(5, 0), c + QPointF(2, -3))
        p.drawLine(c + QPointF(5, 0), c + QPointF(2, 3))

    def _near_divider(self, pos: QPointF) -> bool:
        return abs(pos.x() - self._divider_x()) <= 10

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self.space_held:
            if self._near_divider(event.position()):
                self._dragging = True
            else:  # plain drag pans here: there is nothing to paint in this view
                self._space = True
                super().mousePressEvent(event)
                self._space = False
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self.split = max(0.0, min(1.0, event.position().x() / max(1, self.width())))
            self.split_moved.emit(self.split)
            self.update()
            return
        if not self.panning:
            hover = self._near_divider(event.position())
            self.setCursor(Qt.CursorShape.SplitHCursor if hover else Qt.CursorShape.OpenHandCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._dragging = False
            event.accept()
            return
        super().mouseReleaseEvent(event)


class SideControls(QWidget):
    """One side's result (combo), its codec's quality (a box on the codec's own scale) and Export.

    ``picked`` fires when the combo changes (the view shows that result, or asks for an encode
    of a codec the comparison did not include); ``quality_changed`` fires once the box has been
    still for :data:`REENCODE_DELAY_MS`, with the codec and the new quality.
    """

    picked = Signal(str)  # result key / codec name
    quality_changed = Signal(str, float)  # codec, native quality
    export_clicked = Signal()

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 2)
        lay.setSpacing(4)  # both sides' controls share one row: the window must still fit 1280 px
        self.combo = QComboBox()
        self.combo.setMinimumWidth(110)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        self.combo.setToolTip(f"What the {side} side shows: a result of this encode, or another codec")
        self.quality_label = QLabel("Quality")
        self.quality = QDoubleSpinBox()
        self.quality.setKeyboardTracking(False)  # typing "75" asks for one encode, at 75, not at 7
        self.quality.setMinimumWidth(64)
        self.export = QToolButton()
        self.export.setText("Export…")
        self.export.setToolTip(f"Save the {side} side: its reconstruction (PNG) and its compressed file")
        self.busy = QLabel("")
        self.busy.setObjectName("hint")
        widgets = [self.combo, self.quality_label, self.quality, self.export, self.busy]
        if side == "right":  # mirrored: the right side's result picker sits at the right edge
            lay.addStretch(1)
            widgets = [self.busy, self.export, self.quality_label, self.quality, self.combo]
        for w in widgets:
            lay.addWidget(w)
        if side == "left":
            lay.addStretch(1)
        self._codec: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REENCODE_DELAY_MS)
        self._timer.timeout.connect(self._emit_quality)
        self.combo.currentIndexChanged.connect(lambda *_: self.picked.emit(self.combo.currentData() or ""))
        self.quality.valueChanged.connect(lambda *_: self._timer.start())
        self.export.clicked.connect(self.export_clicked)

    def set_choices(self, items: list[tuple[str, str]], current: str | None) -> None:
        """``items`` = (key, text); ``current`` selected without emitting ``picked``."""
        self.combo.blockSignals(True)
        self.combo.clear()
        for key, text in items:
            self.combo.addItem(text, key)
        i = self.combo.findData(current) if current is not None else -1
        self.combo.setCurrentIndex(max(0, i) if items else -1)
        self.combo.blockSignals(False)

    def set_quality(self, codec: str | None, quality, chroma: str | None = None) -> None:
        """Show ``codec``'s knob at the quality of the result on screen (emits nothing); an
        HEVC result's ``chroma`` is named beside it, since a new quality keeps it."""
        self._timer.stop()
        self._codec = codec
        k = knob(codec) if codec and codec != "original" else None
        value = knob_value(codec, quality) if k is not None else None
        self.quality.blockSignals(True)
        if k is not None:
            self.quality.setRange(k.lo, k.hi)
            self.quality.setDecimals(k.decimals)
            self.quality.setSingleStep(k.step)
            if value is not None:
                self.quality.setValue(value)
            tip = f"{codec_label(codec)} {k.scale}: change it and only this side is encoded again"
            if codec == "obic":
                tip += (
                    " (object q; the background keeps the encode's gap; a painted quality map keeps its"
                    " shape, its best block moved to this quality)"
                )
            if chroma:
                tip += f" (in {chroma} chroma, like the result shown)"
            self.quality.setToolTip(tip)
        self.quality.blockSignals(False)
        enabled = k is not None and value is not None
        self.quality_label.setText(f"Quality ({chroma})" if chroma and enabled else "Quality")
        for w in (self.quality, self.quality_label):
            w.setEnabled(enabled)
        if not enabled:
            self.quality.setSpecialValueText("—")
            self.quality.blockSignals(True)
            self.quality.setValue(self.quality.minimum())
            self.quality.blockSignals(False)
        else:
            self.quality.setSpecialValueText("")

    def _emit_quality(self) -> None:
        if self._codec and self.quality.isEnabled():
            self.quality_changed.emit(self._codec, float(self.quality.value()))

    def set_busy(self, text: str) -> None:
        self.busy.setText(text)
