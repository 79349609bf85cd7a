"""The canvas's edge-aware tools: click to segment, polygon, intelligent scissors, the edge-snapping
brush, and brush resizing.

One :class:`SmartTools` per :class:`~obic_gui.widgets.canvas.MaskCanvas`, as an event filter on
it, so the canvas keeps only hooks: the tools see the canvas's mouse, wheel and key events first
and take the ones that are theirs. The work is ``obic_core.segmentation.interactive`` (OpenCV and
numpy, no torch): a click costs ~0.02–0.1 s and a scissors anchor ~0.1–0.3 s on a 768×512 photo
on one busy core (bench/noc.md), so both run here in the GUI thread instead of on a worker, which
keeps every click's answer on screen before the next click.

Each finished edit — one click, one closed polygon, one closed scissors outline — is one undo step
(``Document.replace_mask``). The smart box's "clear outside" choice lives here too
(:meth:`SmartTools.box_clears`), applied by the window to the worker's box result.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QPolygonF, QWheelEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QWidget

CLICK, POLYGON, SCISSORS = "click", "polygon", "scissors"  # canvas Tool values handled here
BRUSHES = ("brush", "eraser")
CLOSE_PX = 8  # a click this close (screen px) to the first point closes a polygon / outline
RESIZE_PX_PER_STEP = 10  # Ctrl+drag: screen px of horizontal drag per brush-size step

#: smart box, what happens outside the box: "auto" = clear when the box is the first edit
BOX_MODES = {
    "auto": "Clear if it is the first edit",
    "clear": "Always clear",
    "keep": "Keep",
}


def clear_outside(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """A copy of ``mask`` with nothing left outside ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    out = np.zeros_like(mask, dtype=bool)
    out[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
    return out


class SmartTools(QObject):
    """Click-to-segment, polygon and scissors on a canvas; Alt+wheel / Ctrl+drag resize the brush."""

    edited = Signal(str)  # undo text of an edit just made (for the status bar)

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.box_mode = "auto"
        self.edge_brush = False
        self.last_click_s: float | None = None  # seconds the last click took (shown in the status bar)
        self._session = None  # ClickSession of the open image
        self._scissors = None  # Scissors of the open image
        self._points: list[tuple[float, float]] = []  # polygon vertices / committed outline points
        self._live: np.ndarray | None = None  # scissors: path from the last anchor to the pointer
        self._hover: tuple[float, float] | None = None
        self._value = True  # the outline adds (left button) or removes (right button)
        self._tool: str | None = None  # the tool the points belong to
        self._stretches: list[int] = []  # scissors: where each traced stretch starts in _points
        self._resize: tuple[float, int] | None = None  # Ctrl+drag: (start x, start size)
        canvas.installEventFilter(self)
        canvas.doc.image_changed.connect(self._on_image)

    # -- state -----------------------------------------------------------------------------
    @property
    def tool(self) -> str:
        return self.canvas.tool.value

    @property
    def in_progress(self) -> bool:
        """A polygon or scissors outline is being drawn (Esc cancels, Enter or double-click closes)."""
        return bool(self._points) and self._tool == self.tool

    def cancel(self) -> None:
        self._points, self._live, self._tool = [], None, None
        self.canvas.update()

    def _on_image(self) -> None:
        self._session = self._scissors = None
        self.cancel()
        self.set_edge_brush(self.edge_brush)  # a new photo: new superpixels

    def set_edge_brush(self, on: bool) -> None:
        """Brush and eraser paint only the superpixels of the colour under the stroke's centre,
        so a stroke stops at object edges (``obic_core.segmentation.interactive.EdgeBrush``)."""
        self.edge_brush = bool(on)
        doc = self.canvas.doc
        if not on or doc.image is None:
            doc.segment_painter = None
            return
        from obic_core.segmentation.interactive import EdgeBrush

        doc.segment_painter = EdgeBrush(doc.image).paint  # superpixels are made as strokes reach them

    def box_clears(self) -> bool:
        """Whether a smart box drawn now also clears outside itself."""
        if self.box_mode == "auto":
            return self.canvas.doc.undo_stack.index() == 0  # nothing edited since the prediction
        return self.box_mode == "clear"

    # -- events ----------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # (Qt's name)
        t = event.type()
        if t == QEvent.Type.Wheel:
            return self._wheel(event)
        if t in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            return self._press(event, t == QEvent.Type.MouseButtonDblClick)
        if t == QEvent.Type.MouseMove:
            return self._move(event)
        if t == QEvent.Type.MouseButtonRelease:
            return self._release(event)
        if t == QEvent.Type.ShortcutOverride and self._wants_key(event):
            event.accept()  # Esc is the window's "cancel job" shortcut: while drawing it is ours
            return True
        if t == QEvent.Type.KeyPress and self._wants_key(event):
            self._key(event)
            return True
        return False

    def _image_xy(self, event) -> tuple[float, float]:
        p = self.canvas.to_image(event.position())
        return p.x(), p.y()

    def _can_edit(self) -> bool:
        c = self.canvas
        if c.doc.mask is None:
            return False
        if not c.editable:
            c.edit_refused.emit("The mask is being updated — wait a moment or press Esc.")
            return False
        return True

    def _wheel(self, event: QWheelEvent) -> bool:
        if not event.modifiers() & Qt.KeyboardModifier.AltModifier:
            return False
        d = event.angleDelta()
        delta = d.y() or d.x()  # Alt turns the wheel horizontal on some platforms
        steps = round(delta / 120) or (1 if delta > 0 else -1 if delta < 0 else 0)
        if steps:
            self.canvas.grow_brush(steps)
        event.accept()
        return True

    def _press(self, event: QMouseEvent, double: bool) -> bool:
        c = self.canvas
        if c.is_pan_start(event) or c.panning or c.image() is None:
            return False
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        tool = self.tool
        if tool in BRUSHES and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if button == Qt.MouseButton.LeftButton and not double:
                self._resize = (event.position().x(), c.brush_size)
            return True
        if tool not in (CLICK, POLYGON, SCISSORS):
            return False
        if not self._can_edit():
            return True
        x, y = self._image_xy(event)
        left = button == Qt.MouseButton.LeftButton
        if tool == CLICK:
            if not double:  # a double click's second press is a click of its own already
                shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.click(x, y, positive=left, new_object=shift and left)
        elif double:  # closes; its point counts unless its first press already placed it
            if self.in_progress and not self._near(self._points[-1], event.position()):
                (self._vertex if tool == POLYGON else self._anchor)(x, y, left, event.position())
            self.close()
        elif tool == POLYGON:
            self._vertex(x, y, left, event.position())
        else:
            self._anchor(x, y, left, event.position())
        event.accept()
        return True

    def _move(self, event: QMouseEvent) -> bool:
        if self._resize is not None:
            x0, size0 = self._resize
            steps = int((event.position().x() - x0) / RESIZE_PX_PER_STEP)
            self.canvas.set_brush_size(size0)
            self.canvas.grow_brush(steps)
            return True
        if self.in_progress:
            self._hover = self._image_xy(event)
            if self._tool == SCISSORS and self._scissors is not None:
                self._live = self._scissors.path_to(*self._hover)
            self.canvas.update()
        return False  # the canvas still tracks the pointer (status bar, brush cursor)

    def _release(self, event: QMouseEvent) -> bool:
        if self._resize is not None:
            self._resize = None
            return True
        return self.tool in (CLICK, POLYGON, SCISSORS) and not self.canvas.panning

    def _wants_key(self, event: QKeyEvent) -> bool:
        keys = (Qt.Key.Key_Escape, Qt.Key.Key_Backspace, Qt.Key.Key_Return, Qt.Key.Key_Enter)
        return self.in_progress and event.key() in keys

    def _key(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
        elif event.key() == Qt.Key.Key_Backspace:  # take back the last vertex / traced stretch
            if self._tool == SCISSORS and self._stretches:
                del self._points[self._stretches.pop() :]
                self._scissors.set_anchor(*self._points[-1])
                self._live = None
            elif self._tool == POLYGON and len(self._points) > 1:
                self._points.pop()
            else:
                self.cancel()
            self.canvas.update()
        else:
            self.close()

    # -- click to segment ------------------------------------------------------------------
    def click(self, x: float, y: float, positive: bool = True, new_object: bool = False) -> bool:
        """Apply one click at image point (x, y); one undo step. False when nothing changed."""
        from obic_core.errors import ObicInputError
        from obic_core.segmentation.interactive import ClickSession

        doc = self.canvas.doc
        h, w = doc.shape
        if doc.mask is None or not (0 <= x < w and 0 <= y < h):
            return False
        if self._session is None or self._session.image is not doc.image:
            self._session = ClickSession(doc.image, doc.mask)
        t = time.perf_counter()
        try:
            box = self._session.add(x, y, positive, new_object, mask=doc.mask)
        except ObicInputError:
            return False
        self.last_click_s = time.perf_counter() - t
        if box is None:
            return False
        text = "Click: new object" if new_object else ("Click: object" if positive else "Click: not object")
        changed = doc.replace_mask(self._session.mask, text)
        if changed:
            self.edited.emit(text)
        return changed

    # -- polygon and scissors --------------------------------------------------------------
    def _near(self, point: tuple[float, float], pos: QPointF) -> bool:
        s = self.canvas.to_widget(QPointF(*point))
        return math.hypot(s.x() - pos.x(), s.y() - pos.y()) <= CLOSE_PX

    def _near_start(self, pos: QPointF) -> bool:
        return len(self._points) >= 3 and self._near(self._points[0], pos)

    def _start(self, tool: str, value: bool) -> None:
        self._points, self._live, self._tool, self._value = [], None, tool, value
        self._stretches = []

    def _vertex(self, x: float, y: float, left: bool, pos: QPointF) -> None:
        if not self.in_progress:
            self._start(POLYGON, left)
        elif self._near_start(pos):
            self.close()
            return
        self._points.append((x, y))
        self._hover = (x, y)
        self.canvas.update()

    def _anchor(self, x: float, y: float, left: bool, pos: QPointF) -> None:
        from obic_core.segmentation.interactive import Scissors

        doc = self.canvas.doc
        if self._scissors is None:
            self._scissors = Scissors(doc.image)
        if not self.in_progress:
            self._start(SCISSORS, left)
            self._points = [(x, y)]
        elif self._near_start(pos):
            self.close()
            return
        else:
            self._stretches.append(len(self._points))
            path = self._scissors.path_to(x, y)
            self._points.extend(map(tuple, path[1:]))
        self._scissors.set_anchor(x, y)
        self._live = None
        self._hover = (x, y)
        self.canvas.update()

    def close(self) -> bool:
        """Close the polygon / outline being drawn and fill it (one undo step)."""
        from obic_core.segmentation.interactive import polygon_fill

        if not self.in_progress or not self._can_edit():  # (refused: the outline stays, to close later)
            return False
        points, tool, value = list(self._points), self._tool, self._value
        if tool == SCISSORS and self._scissors is not None and len(points) > 1:
            back = self._scissors.path_to(*points[0])  # trace the last stretch back to the start
            points.extend(map(tuple, back[1:]))
        self.cancel()
        doc = self.canvas.doc
        if len(points) < 3 or doc.mask is None:
            return False
        new = polygon_fill(doc.mask, points, value)
        text = ("Polygon" if tool == POLYGON else "Scissors") + ("" if value else " (remove)")
        changed = doc.replace_mask(new, text)
        if changed:
            self.edited.emit(text)
        return changed

    # -- drawing ---------------------------------------------------------------------------
    def paint(self, p: QPainter) -> None:
        """The outline being drawn, in the canvas's transform (called from its paint_extras)."""
        if not self.in_progress:
            return
        c = self.canvas
        pts = list(self._points)
        if self._tool == SCISSORS and self._live is not None:
            pts += [tuple(q) for q in self._live[1:]]
        elif self._hover is not None:
            pts.append(self._hover)
        poly = QPolygonF([c.to_widget(QPointF(x, y)) for x, y in pts])
        colour = QColor(255, 214, 0) if self._value else QColor(255, 80, 80)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 200), 3))
        p.drawPolyline(poly)
        p.setPen(QPen(colour, 1.5))
        p.drawPolyline(poly)
        first = c.to_widget(QPointF(*self._points[0]))
        p.setPen(QPen(QColor(0, 0, 0, 200), 1))
        p.setBrush(colour)
        p.drawEllipse(first, CLOSE_PX / 2, CLOSE_PX / 2)  # click here to close
        if self._tool == POLYGON:
            for x, y in self._points[1:]:
                q = c.to_widget(QPointF(x, y))
                p.drawRect(int(q.x()) - 2, int(q.y()) - 2, 5, 5)


class SmartOptions(QWidget):
    """The tools panel's options for these tools: what the smart box does outside itself, and
    whether the brush snaps to edges."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Outside the box"), 0, 0)
        self.box_mode = QComboBox()
        for key, text in BOX_MODES.items():
            self.box_mode.addItem(text, key)
        self.box_mode.setToolTip(
            "Smart box: remove the object pixels outside the box too. By default only when the box is the "
            "first edit after the prediction (the box then says where the object is)."
        )
        grid.addWidget(self.box_mode, 0, 1)
        self.edge_brush = QCheckBox("Brush and eraser stop at edges")
        self.edge_brush.setToolTip(
            "Paint only the superpixels of the colour under the brush's centre: a wide stroke along an "
            "object's outline does not spill over it."
        )
        grid.addWidget(self.edge_brush, 1, 0, 1, 2)
        grid.setColumnStretch(1, 1)

    def bind(self, tools: SmartTools) -> None:
        self.box_mode.setCurrentIndex(max(0, self.box_mode.findData(tools.box_mode)))
        self.box_mode.currentIndexChanged.connect(lambda _i: setattr(tools, "box_mode", self.box_mode.currentData()))
        self.edge_brush.setChecked(tools.edge_brush)
        self.edge_brush.toggled.connect(tools.set_edge_brush)
