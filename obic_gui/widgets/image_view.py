"""A zoomable, pannable image view — the base of the mask canvas and of every compare view.

Hand-written (QPainter) rather than QGraphicsView: it keeps the view state to three numbers
(scale and the image point at the centre), which is exactly what synchronised compare views
exchange, and lets the canvas draw its overlay and brush cursor in the same transform.
Zoomed in to 200 % and more it switches to nearest-neighbour so compression artefacts are
seen pixel by pixel instead of being smoothed away.
"""

from __future__ import annotations

import math
import weakref

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

MIN_SCALE, MAX_SCALE = 0.02, 64.0
WHEEL_STEP = 1.25
BACKGROUND = QColor(38, 40, 44)


_FILTERED = frozenset((QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ApplicationDeactivate))


class SpacePan(QObject):
    """Space held while the pointer is over an image view pans it, wherever the keyboard focus is.

    Without this, Space goes to the focused widget: after ticking a checkbox Space toggles
    it (and the drag that was meant to pan paints the mask), with the Encode button focused
    it starts an encode. One application-wide filter serves every view: it takes Space
    *only* while the pointer is over a view of an active, unblocked window, so elsewhere
    Space keeps its usual meaning.
    """

    _instance: SpacePan | None = None

    def __init__(self) -> None:
        super().__init__()
        self.views: weakref.WeakSet[ImageView] = weakref.WeakSet()

    @classmethod
    def register(cls, view: ImageView) -> None:
        app = QApplication.instance()
        if app is None:
            return
        if cls._instance is None:
            cls._instance = SpacePan()
            app.installEventFilter(cls._instance)
        cls._instance.views.add(view)

    def _view_under_pointer(self) -> ImageView | None:
        if QApplication.activePopupWidget() is not None:
            return None  # an open menu or combo list owns the keyboard
        # the topmost widget under the pointer: a view hidden behind another window is not it
        w = QApplication.widgetAt(QCursor.pos())
        while w is not None and not (isinstance(w, ImageView) and w in self.views):
            w = w.parentWidget()
        if w is None or not w.isVisible():
            return None
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not w.window():
            return None  # a dialog is open: Space is its business
        return w

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in _FILTERED:  # every event of the app passes here: leave the rest at once
            return False
        if kind == QEvent.Type.ApplicationDeactivate:  # the key-up would never arrive
            for v in list(self.views):
                v.set_space_held(False)
            return False
        if event.key() != Qt.Key.Key_Space or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if kind == QEvent.Type.KeyPress:
            view = self._view_under_pointer()
            if view is None:
                return False
            if not event.isAutoRepeat():
                view.set_space_held(True)
            return True  # never reaches the focused checkbox or button
        held = [v for v in list(self.views) if v.space_held]
        if not held:
            return False
        if not event.isAutoRepeat():
            for v in held:
                v.set_space_held(False)
        return True


class ImageView(QWidget):
    """Shows one QImage; wheel zooms around the cursor, middle-drag or Space+drag pans."""

    view_changed = Signal(float, float, float)  # scale, centre x, centre y (image pixels)
    cursor_moved = Signal(int, int)  # image pixel under the mouse (-1, -1 outside)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._flash: QImage | None = None  # shown instead of _image while a key is held
        self._scale = 1.0
        self._cx = self._cy = 0.0  # image point shown at the widget centre
        self._fit = True  # refit on resize until the user zooms
        self._panning = False
        self._space = False
        self._pan_from = QPointF()
        self.placeholder = ""
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        SpacePan.register(self)

    # -- content ---------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def set_image(self, image: QImage | None, keep_view: bool = False) -> None:
        """Show ``image``; the view is refitted unless ``keep_view`` (same-size content)."""
        same = image is not None and self._image is not None and image.size() == self._image.size()
        self._image = image
        if not (keep_view and same):
            self.fit()
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def set_flash(self, image: QImage | None) -> None:
        """Show ``image`` in place of this view's own, same transform, until called with None.

        The compare view flashes the original this way while a key is held: swapping the
        picture, not the view, keeps the zoom and the spot being inspected exactly where they are.
        """
        if image is not self._flash:
            self._flash = image
            self.update()

    def shown_image(self) -> QImage | None:
        """What is painted now: the flashed image while one is held, else the view's own."""
        return self._flash if self._flash is not None and self._image is not None else self._image

    def image_size(self) -> tuple[int, int]:
        return (0, 0) if self._image is None else (self._image.width(), self._image.height())

    # -- view state ------------------------------------------------------------------------
    @property
    def scale(self) -> float:
        return self._scale

    @property
    def fitted(self) -> bool:
        return self._fit

    def fit_scale(self) -> float:
        w, h = self.image_size()
        if not w or not h:
            return 1.0
        return max(MIN_SCALE, min(self.width() / w, self.height() / h))

    def fit(self, emit: bool = True) -> None:
        """Whole image visible, centred; stays fitted when the window is resized."""
        w, h = self.image_size()
        self._fit = True
        if emit:
            self._apply(self.fit_scale(), w / 2, h / 2)
        else:
            self._scale, self._cx, self._cy = self.fit_scale(), w / 2, h / 2
            self.update()

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel, keeping the centre."""
        self.zoom_to(1.0)

    def zoom_to(self, scale: float) -> None:
        """A fixed zoom step (100 %, 2×, 4×) around the image point at the centre of the view."""
        self._fit = False
        self._apply(min(MAX_SCALE, max(MIN_SCALE, float(scale))), self._cx, self._cy)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coords) where it is."""
        if self._image is None:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self.to_image(anchor)
        scale = min(MAX_SCALE, max(MIN_SCALE, self._scale * factor))
        # choose the centre so that `before` maps back to `anchor` at the new scale
        cx = before.x() - (anchor.x() - self.width() / 2) / scale
        cy = before.y() - (anchor.y() - self.height() / 2) / scale
        self._fit = False
        self._apply(scale, cx, cy)

    def set_view(self, scale: float, cx: float, cy: float) -> None:
        """Adopt another view's state (synchronised compare views); emits nothing back."""
        if abs(scale - self._scale) < 1e-9 and abs(cx - self._cx) < 1e-6 and abs(cy - self._cy) < 1e-6:
            return
        self._fit = False
        self._scale, self._cx, self._cy = scale, cx, cy
        self.update()

    def _apply(self, scale: float, cx: float, cy: float) -> None:
        self._scale, self._cx, self._cy = scale, cx, cy
        self.update()
        self.view_changed.emit(scale, cx, cy)

    # -- coordinates -----------------------------------------------------------------------
    def to_image(self, p: QPointF) -> QPointF:
        return QPointF(
            (p.x() - self.width() / 2) / self._scale + self._cx, (p.y() - self.height() / 2) / self._scale + self._cy
        )

    def to_widget(self, p: QPointF) -> QPointF:
        return QPointF(
            (p.x() - self._cx) * self._scale + self.width() / 2, (p.y() - self._cy) * self._scale + self.height() / 2
        )

    def image_rect_in_widget(self) -> QRectF:
        w, h = self.image_size()
        tl = self.to_widget(QPointF(0, 0))
        return QRectF(tl.x(), tl.y(), w * self._scale, h * self._scale)

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        if self._image is None:
            self.paint_placeholder(p)
            return
        self.paint_image(p, self.shown_image())
        self.paint_extras(p)

    def paint_placeholder(self, p: QPainter) -> None:
        if self.placeholder:
            p.setPen(QColor(170, 174, 182))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)

    def visible_source(self) -> QRectF:
        """The part of the image that is on screen (drawing only that keeps big photos fast)."""
        w, h = self.image_size()
        tl = self.to_image(QPointF(0, 0))
        br = self.to_image(QPointF(self.width(), self.height()))
        x0, y0 = max(0.0, math.floor(tl.x())), max(0.0, math.floor(tl.y()))
        x1, y1 = min(float(w), math.ceil(br.x()) + 1.0), min(float(h), math.ceil(br.y()) + 1.0)
        return QRectF(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))

    def paint_image(self, p: QPainter, image: QImage, clip_source: QRectF | None = None) -> None:
        src = self.visible_source()
        if clip_source is not None:
            src = src.intersected(clip_source)
        if src.isEmpty():
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale < 2.0)
        tl = self.to_widget(src.topLeft())
        dst = QRectF(tl.x(), tl.y(), src.width() * self._scale, src.height() * self._scale)
        p.drawImage(dst, image, src)

    def paint_extras(self, p: QPainter) -> None:
        """Subclasses draw overlays here, in widget coordinates."""

    # -- interaction -----------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        if self._fit:
            w, h = self.image_size()
            self._apply(self.fit_scale(), w / 2, h / 2)
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(WHEEL_STEP**steps, event.position())
        event.accept()

    def is_pan_start(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.is_pan_start(event):
            self._panning = True
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._panning:
            d = pos - self._pan_from
            self._pan_from = pos
            self._fit = False
            self._apply(self._scale, self._cx - d.x() / self._scale, self._cy - d.y() / self._scale)
        ip = self.to_image(pos)
        w, h = self.image_size()
        inside = 0 <= ip.x() < w and 0 <= ip.y() < h
        self.cursor_moved.emit(int(ip.x()) if inside else -1, int(ip.y()) if inside else -1)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._panning = False
            self.update_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def set_space_held(self, held: bool) -> None:
        """Space down / up (from :class:`SpacePan`, or a key event while this view has focus)."""
        if held != self._space:
            self._space = held
            self.update_cursor()
            self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.set_space_held(True)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.set_space_held(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self.cursor_moved.emit(-1, -1)
        super().leaveEvent(event)

    @property
    def panning(self) -> bool:
        return self._panning

    @property
    def space_held(self) -> bool:
        return self._space

    def update_cursor(self) -> None:
        if self._panning:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.unsetCursor()
