"""The quality tools on the mask canvas: brush, gradient and fill that paint qualities.

One :class:`QualityTools` per canvas, as an event filter on it (like
:class:`~obic_gui.widgets.smart_tools.SmartTools`), active while the canvas's tool is
``Tool.QUALITY``. The left button paints the panel's value, the right button its second value:

* **brush**: capsules between mouse positions at the brush size, live, one undo step per stroke;
* **gradient**: drag from a to b; on release the map becomes a linear ramp from the value at a
  to the second value at b (reversed with the right button), constant beyond either end;
* **fill**: the connected region under the click (an object label, else object or background
  of the mask) takes the value.

Brush and gradient can be limited to the object or the background ("Apply to"). Panning
(middle button, Space+drag) and the brush-size keys work as with the mask tools.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen

from obic_gui import quality_layer as ql
from obic_gui.widgets.canvas import Tool
from obic_gui.widgets.quality_overlay import heat_rgb

BRUSH, GRADIENT, FILL = "brush", "gradient", "fill"
MODES = (BRUSH, GRADIENT, FILL)
#: "Apply to" choices of brush and gradient
LIMITS = {"all": "Everywhere", "object": "Object only", "background": "Background only"}


class QualityTools(QObject):
    """Brush / gradient / fill on a canvas's :class:`~obic_gui.quality_edits.QualityModel`."""

    edited = Signal(str)  # undo text of an edit just finished (a whole stroke, a gradient, a fill)

    def __init__(self, canvas, model, overlay) -> None:
        super().__init__(canvas)
        self.canvas, self.model, self.overlay = canvas, model, overlay
        self.mode = BRUSH
        self.value = 0.8  # left button
        self.second = 0.2  # right button; the gradient's end
        self.limit = "all"
        self._last: tuple[float, float] | None = None  # brush: previous image point of the stroke
        self._stroke_q = self.value
        self._grad: tuple[tuple[float, float], tuple[float, float], float, float] | None = None
        self._mouse: QPointF | None = None
        canvas.installEventFilter(self)
        overlay.tool_painter = self.paint

    # -- state -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.canvas.tool == Tool.QUALITY

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown quality tool {mode!r}")
        self._cancel_drag()
        self.mode = mode
        self.overlay.update()

    def region(self):
        """The pixels brush and gradient may change (None: all of them)."""
        mask = self.canvas.doc.mask
        if mask is None or self.limit == "all":
            return None
        return mask if self.limit == "object" else ~mask

    def _cancel_drag(self) -> None:
        self._grad = None
        if self.model.stroking:
            self.model.end_stroke("Quality stroke")
        self._last = None
        self.overlay.update()

    # -- programmatic use (tests, scripts): the same edits as the mouse makes ----------------
    def stroke(self, points: list[tuple[float, float]], q: float | None = None, radius: float | None = None) -> bool:
        """One brush stroke through image points (one undo step)."""
        q = self.value if q is None else q
        r = self.canvas.brush_image_size() / 2 if radius is None else radius
        self.model.begin_stroke()
        prev = points[0]
        for pt in points:
            self.model.stroke_segment(prev, pt, r, q, self.region())
            prev = pt
        changed = self.model.end_stroke("Quality stroke")
        if changed:
            self.edited.emit("Quality stroke")
        return changed

    def gradient(self, a: tuple[float, float], b: tuple[float, float], qa: float | None = None, qb=None) -> bool:
        qa = self.value if qa is None else qa
        qb = self.second if qb is None else qb
        changed = self.model.gradient(a, b, qa, qb, self.region())
        if changed:
            self.edited.emit("Quality gradient")
        return changed

    def fill(self, x: int, y: int, q: float | None = None) -> bool:
        changed = self.model.fill(int(x), int(y), self.value if q is None else q)
        if changed:
            self.edited.emit("Quality fill")
        return changed

    # -- events ----------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # (Qt's name)
        t = event.type()
        if t == QEvent.Type.MouseButtonPress:
            return self._press(event)
        if t == QEvent.Type.MouseMove:
            return self._move(event)
        if t == QEvent.Type.MouseButtonRelease:
            return self._release(event)
        if t == QEvent.Type.Leave:
            self.clear_hover()
        elif t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and self._wants_key(event):
            event.accept()  # Esc cancels the gradient being dragged, not the window's job
            if t == QEvent.Type.KeyPress:
                self._cancel_drag()
            return True
        return False

    def _wants_key(self, event: QKeyEvent) -> bool:
        return self._grad is not None and event.key() == Qt.Key.Key_Escape

    def _image_xy(self, event: QMouseEvent) -> tuple[float, float]:
        p = self.canvas.to_image(event.position())
        return p.x(), p.y()

    def _press(self, event: QMouseEvent) -> bool:
        c = self.canvas
        if not self.active or c.is_pan_start(event) or c.panning or c.image() is None or c.doc.mask is None:
            return False
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        left = button == Qt.MouseButton.LeftButton
        x, y = self._image_xy(event)
        if self.mode == BRUSH:
            self._stroke_q = self.value if left else self.second
            self.model.begin_stroke()
            self._last = (x, y)
            self.model.stroke_segment((x, y), (x, y), c.brush_image_size() / 2, self._stroke_q, self.region())
        elif self.mode == GRADIENT:
            qa, qb = (self.value, self.second) if left else (self.second, self.value)
            self._grad = ((x, y), (x, y), qa, qb)
            self.overlay.update()
        else:
            self.fill(int(x), int(y), self.value if left else self.second)
        event.accept()
        return True

    def _move(self, event: QMouseEvent) -> bool:
        x, y = self._image_xy(event)
        self._hover(event.position())
        if self._last is not None and self.model.stroking:
            r = self.canvas.brush_image_size() / 2
            self.model.stroke_segment(self._last, (x, y), r, self._stroke_q, self.region())
            self._last = (x, y)
        if self._grad is not None:
            a, _, qa, qb = self._grad
            self._grad = (a, (x, y), qa, qb)
            self.overlay.update()
        return False  # the canvas still tracks the pointer (status bar, panning)

    def _release(self, event: QMouseEvent) -> bool:
        if self._last is not None or self.model.stroking:
            self._last = None
            if self.model.end_stroke("Quality stroke"):
                self.edited.emit("Quality stroke")
            return True
        if self._grad is not None:
            a, b, qa, qb = self._grad
            self._grad = None
            self.gradient(a, b, qa, qb)
            self.overlay.update()
            return True
        return self.active and self.mode == FILL and not self.canvas.panning

    def clear_hover(self) -> None:
        """Forget the pointer (it left the canvas): no brush circle, no quality in the legend."""
        self._hover(None)

    def _hover(self, pos: QPointF | None) -> None:
        old, self._mouse = self._mouse, pos
        q = None
        if pos is not None:
            ip = self.canvas.to_image(pos)
            q = self.model.quality_at(int(ip.x()), int(ip.y())) if ip.x() >= 0 and ip.y() >= 0 else None
        if q != self.overlay.cursor_q:
            self.overlay.cursor_q = q
            self.overlay.update(0, max(0, self.overlay.height() - 90), 420, 90)  # the legend
        if self.active and self.mode == BRUSH:
            for p in (old, pos):
                if p is not None:
                    r = self.canvas.brush_size / 2 + 4
                    self.overlay.update(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r).toAlignedRect())

    # -- drawing ---------------------------------------------------------------------------
    @staticmethod
    def _colour(q: float) -> QColor:
        r, g, b = (int(v) for v in heat_rgb(ql.to_level(q)))
        return QColor(r, g, b)

    def paint(self, p: QPainter) -> None:
        """Brush circle (in the value's colour) or the gradient being dragged, in canvas coordinates."""
        if not self.active or self.canvas.image() is None:
            return
        c = self.canvas
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self._grad is not None:
            a, b, qa, qb = self._grad
            pa, pb = c.to_widget(QPointF(*a)), c.to_widget(QPointF(*b))
            p.setPen(QPen(QColor(0, 0, 0, 200), 4))
            p.drawLine(pa, pb)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.6, Qt.PenStyle.DashLine))
            p.drawLine(pa, pb)
            for pt, q in ((pa, qa), (pb, qb)):
                p.setPen(QPen(QColor(0, 0, 0, 220), 1.5))
                p.setBrush(self._colour(q))
                p.drawEllipse(pt, 6, 6)
            return
        if self.mode == BRUSH and self._mouse is not None and not c.panning and not c.space_held:
            r = max(1.5, c.brush_size / 2)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 3))
            p.drawEllipse(self._mouse, r, r)
            p.setPen(QPen(self._colour(self.value), 1.8))
            p.drawEllipse(self._mouse, r, r)
