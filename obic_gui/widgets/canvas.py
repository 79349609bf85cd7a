"""The mask canvas: the photo, the object mask as a tinted overlay, and the mask tools.

Brush and eraser paint capsules between successive mouse positions straight into the
document's mask (live), and the whole stroke becomes one undo step on release. The overlay
is a premultiplied QImage that shares memory with a numpy array, so a stroke re-tints only
the box it touched.
"""

from __future__ import annotations

import enum

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

from obic_gui import mask_ops
from obic_gui.document import Document
from obic_gui.offthread import ASYNC_PIXELS, off_thread
from obic_gui.qimage import bgra_view, rgb_to_qimage, rgb_view
from obic_gui.widgets.image_view import ImageView
from obic_gui.widgets.smart_tools import SmartTools

DEFAULT_COLOUR = (0, 200, 255)  # cyan: rare in photos' objects, visible on skin, fur and foliage
#: brush diameter in *screen* pixels: the same feel at 11 % and at 800 % zoom
MIN_BRUSH, MAX_BRUSH = 1, 800


class Tool(enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"
    RECT = "rect"
    CLICK = "click"  # these three live in smart_tools.SmartTools
    POLYGON = "polygon"
    SCISSORS = "scissors"
    QUALITY = "quality"  # quality brush / gradient / fill: widgets.quality_tools.QualityTools


class MaskCanvas(ImageView):
    """Image + mask overlay + brush / eraser / fill / rectangle tools on a :class:`Document`."""

    brush_size_changed = Signal(int)
    rect_drawn = Signal(object)  # (x0, y0, x1, y1) in image pixels: "smart refine here"
    edit_refused = Signal(str)  # e.g. painting while a refine is running

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.tool = Tool.BRUSH
        self._brush = 40  # diameter in screen pixels (image pixels: brush_image_size())
        self.overlay_visible = True
        self.overlay_opacity = 0.45
        self.show_coded = False  # show the 16×16-block mask the codec really codes
        self.colour = DEFAULT_COLOUR
        self.editable = True
        self._overlay = np.zeros((0, 0, 4), np.uint8)
        self._overlay_img: QImage | None = None
        self._overlay_key = f"canvas-overlay-{id(self)}"
        self._overlay_dirty: tuple[int, int, int, int] | None = None  # edited while it was built
        self._pixels: np.ndarray | None = None  # keeps the photo's memory alive for its QImage
        self._display_override: QImage | None = None
        self._mouse: QPointF | None = None
        self._last: tuple[float, float] | None = None
        self._stroke_value = True
        self._rect_from: QPointF | None = None
        self._rect_to: QPointF | None = None
        self._busy_rect: tuple[int, int, int, int] | None = None
        self._busy_text = ""
        self._banner = ""
        self.placeholder = "Open a photo (Ctrl+O) or drop one here"
        doc.image_changed.connect(self._on_image)
        doc.mask_changed.connect(self._on_mask)
        self.smart = SmartTools(self)  # click / polygon / scissors, Alt+wheel and Ctrl+drag brush size

    # -- settings --------------------------------------------------------------------------
    @property
    def brush_size(self) -> int:
        """Brush diameter in screen pixels."""
        return self._brush

    def brush_image_size(self) -> float:
        """The brush diameter in image pixels at the current zoom."""
        return self._brush / max(self.scale, 1e-9)

    def _radius(self) -> float:
        return self.brush_image_size() / 2

    def set_brush_size(self, size: int) -> None:
        size = int(max(MIN_BRUSH, min(MAX_BRUSH, size)))
        if size != self._brush:
            self._brush = size
            self.brush_size_changed.emit(size)
            self.update()

    def grow_brush(self, steps: int) -> None:
        """`]` / `[`: ~20 % per step so small and huge brushes are both a few presses away."""
        size = self._brush
        for _ in range(abs(steps)):
            size = max(size + 1, round(size * 1.2)) if steps > 0 else min(size - 1, round(size / 1.2))
        self.set_brush_size(size)

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self._rect_from = self._rect_to = None
        self.update_cursor()
        self.update()

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_visible = visible
        self.update()

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_opacity = float(max(0.0, min(1.0, opacity)))
        self._rebuild_overlay()

    def set_show_coded(self, on: bool) -> None:
        self.show_coded = on
        self._rebuild_overlay()

    def set_colour(self, rgb: tuple[int, int, int]) -> None:
        self.colour = tuple(int(c) for c in rgb)
        self._rebuild_overlay()

    def set_display_image(self, rgb: np.ndarray | None) -> None:
        """Show other pixels of the same size (e.g. one decoded layer) instead of the photo."""
        self._display_override = None if rgb is None else rgb_to_qimage(rgb)
        self.update()

    def set_banner(self, text: str) -> None:
        """A short status line drawn at the top of the canvas (e.g. while the mask is predicted)."""
        self._banner = text
        self.update()

    def set_busy_rect(self, rect: tuple[int, int, int, int] | None, text: str = "") -> None:
        self._busy_rect, self._busy_text = rect, text
        self.update()

    # -- document --------------------------------------------------------------------------
    def _on_image(self) -> None:
        self._display_override = None
        self._busy_rect = None
        # the photo is never edited in place: share its memory instead of copying 144 MB
        self._pixels = self.doc.image
        img = None if self._pixels is None else rgb_view(self._pixels)
        self._overlay = np.zeros((0, 0, 4), np.uint8)
        self._overlay_img = None
        self.set_image(img)
        self._rebuild_overlay()
        self.update_cursor()

    def _shown_mask(self, mask: np.ndarray) -> np.ndarray:
        return mask_ops.coded_mask(mask) if self.show_coded else mask

    def _rebuild_overlay(self) -> None:
        mask = self.doc.mask
        if mask is None:
            off_thread().forget(self._overlay_key)
            self._overlay = np.zeros((0, 0, 4), np.uint8)
            self._overlay_img = None
        elif mask.size >= ASYNC_PIXELS:  # a big photo: tint it on the helper thread
            colour, opacity, coded = self.colour, self.overlay_opacity, self.show_coded
            self._overlay_dirty = None

            def build() -> np.ndarray:
                return mask_ops.overlay_bgra(mask_ops.coded_mask(mask) if coded else mask, colour, opacity)

            off_thread().submit(self._overlay_key, build, lambda arr, m=mask: self._overlay_built(m, arr))
            return
        else:
            off_thread().forget(self._overlay_key)
            self._overlay = mask_ops.overlay_bgra(self._shown_mask(mask), self.colour, self.overlay_opacity)
            self._overlay_img = bgra_view(self._overlay)
        self.update()

    def _overlay_built(self, mask: np.ndarray, overlay: np.ndarray) -> None:
        if mask is not self.doc.mask:
            return  # another image opened meanwhile
        self._overlay, self._overlay_img = overlay, bgra_view(overlay)
        dirty, self._overlay_dirty = self._overlay_dirty, None
        if dirty is not None:  # strokes made while it was built: tint them from the mask as it is now
            self._on_mask(dirty)
        self.update()

    def _on_mask(self, box) -> None:
        mask = self.doc.mask
        if mask is None:
            return
        if box is None or self.show_coded:
            self._rebuild_overlay()
            return
        if off_thread().pending(self._overlay_key):  # tinted on arrival of the overlay being built
            self._overlay_dirty = mask_ops.union_box(self._overlay_dirty, box)
            if self._overlay.shape[:2] != mask.shape:
                return
        elif self._overlay.shape[:2] != mask.shape:
            self._rebuild_overlay()
            return
        # re-tint the box plus a margin (the 2 px outline depends on neighbours)
        outer = mask_ops.grow_box(box, 4, mask.shape)
        inner = mask_ops.grow_box(box, 2, mask.shape)
        if outer is None or inner is None:
            return
        ox0, oy0, ox1, oy1 = outer
        ix0, iy0, ix1, iy1 = inner
        patch = mask_ops.overlay_bgra(mask[oy0:oy1, ox0:ox1], self.colour, self.overlay_opacity)
        self._overlay[iy0:iy1, ix0:ix1] = patch[iy0 - oy0 : iy1 - oy0, ix0 - ox0 : ix1 - ox0]
        tl = self.to_widget(QPointF(ix0, iy0))
        br = self.to_widget(QPointF(ix1, iy1))
        self.update(QRectF(tl, br).toAlignedRect().adjusted(-2, -2, 2, 2))

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(event.rect(), self.palette().window().color().darker(260))
        shown = self._display_override or self.image()
        if shown is None:
            self.paint_placeholder(p)
            return
        self.paint_image(p, shown)
        if self.overlay_visible and self._overlay_img is not None:
            self.paint_image(p, self._overlay_img)
        self.paint_extras(p)

    @staticmethod
    def _bold_text_box(p: QPainter, text: str, pad_x: int, pad_y: int):
        """Switch the painter to bold and return the padded box ``text`` needs."""
        f = QFont(p.font())
        f.setBold(True)
        p.setFont(f)
        return p.fontMetrics().boundingRect(text).adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def paint_extras(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self._banner:
            box = self._bold_text_box(p, self._banner, 14, 7)
            box.moveCenter(self.rect().center())
            box.moveTop(14)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(20, 22, 26, 215))
            p.drawRoundedRect(box, 8, 8)
            p.setPen(QColor(235, 238, 242))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, self._banner)
        if self._busy_rect is not None:
            x0, y0, x1, y1 = self._busy_rect
            r = QRectF(self.to_widget(QPointF(x0, y0)), self.to_widget(QPointF(x1, y1)))
            self._dashed_rect(p, r)
            if self._busy_text:
                box = self._bold_text_box(p, self._busy_text, 6, 3)
                box.moveTopLeft(r.topLeft().toPoint())
                p.fillRect(box, QColor(0, 0, 0, 170))
                p.setPen(Qt.GlobalColor.white)
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, self._busy_text)
        if self._rect_from is not None and self._rect_to is not None:
            self._dashed_rect(p, QRectF(self._rect_from, self._rect_to).normalized())
        self.smart.paint(p)
        if (
            self._mouse is not None
            and self.tool in (Tool.BRUSH, Tool.ERASER)
            and not self.panning
            and not self.space_held
            and self.image() is not None
        ):
            r = max(1.5, self._brush / 2)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 3))
            p.drawEllipse(self._mouse, r, r)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.4))
            p.drawEllipse(self._mouse, r, r)
            if self.tool == Tool.ERASER:  # a bar across the circle: "removes"
                p.drawLine(self._mouse + QPointF(-r * 0.5, 0), self._mouse + QPointF(r * 0.5, 0))

    @staticmethod
    def _dashed_rect(p: QPainter, r: QRectF) -> None:
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 200), 3))
        p.drawRect(r)
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRect(r)

    # -- mouse -----------------------------------------------------------------------------
    def _image_xy(self, pos: QPointF) -> tuple[float, float]:
        ip = self.to_image(pos)
        return ip.x(), ip.y()

    def _can_edit(self) -> bool:
        if self.doc.mask is None:
            return False
        if not self.editable:
            self.edit_refused.emit("The mask is being updated — wait a moment or press Esc.")
            return False
        return True

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.is_pan_start(event):
            super().mousePressEvent(event)
            return
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) or not self._can_edit():
            super().mousePressEvent(event)
            return
        x, y = self._image_xy(event.position())
        add = button == Qt.MouseButton.LeftButton
        if self.tool in (Tool.BRUSH, Tool.ERASER):
            self._stroke_value = add if self.tool == Tool.BRUSH else not add
            self.doc.begin_stroke()
            self._last = (x, y)
            self.doc.stroke_segment((x, y), (x, y), self._radius(), self._stroke_value)
        elif self.tool == Tool.FILL:
            self.doc.fill(int(x), int(y), add)
        elif self.tool == Tool.RECT and add:
            self._rect_from = self._rect_to = event.position()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        old = self._mouse
        self._mouse = event.position()
        if self._last is not None and self.doc.stroking:
            x, y = self._image_xy(event.position())
            self.doc.stroke_segment(self._last, (x, y), self._radius(), self._stroke_value)
            self._last = (x, y)
        if self._rect_from is not None:
            self._rect_to = event.position()
            self.update()
        elif self.tool in (Tool.BRUSH, Tool.ERASER):
            self._update_cursor_area(old)
            self._update_cursor_area(self._mouse)
        super().mouseMoveEvent(event)

    def _update_cursor_area(self, pos: QPointF | None) -> None:
        if pos is None:
            return
        r = self._brush / 2 + 4
        self.update(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.panning:
            super().mouseReleaseEvent(event)
            return
        if self.doc.stroking:
            self.doc.end_stroke("Brush stroke" if self._stroke_value else "Erase stroke")
            self._last = None
        elif self._rect_from is not None:
            a, b = self._image_xy(self._rect_from), self._image_xy(event.position())
            self._rect_from = self._rect_to = None
            h, w = self.doc.shape
            box = mask_ops.clip_box(
                (int(min(a[0], b[0])), int(min(a[1], b[1])), int(max(a[0], b[0])) + 1, int(max(a[1], b[1])) + 1), (h, w)
            )
            if box is not None and box[2] - box[0] >= 8 and box[3] - box[1] >= 8:
                self.rect_drawn.emit(box)
            self.update()
        event.accept()

    def leaveEvent(self, event) -> None:
        old, self._mouse = self._mouse, None
        self._update_cursor_area(old)
        super().leaveEvent(event)

    def update_cursor(self) -> None:
        if self.panning or self.space_held:
            super().update_cursor()
        elif self.tool in (Tool.BRUSH, Tool.ERASER) and self.image() is not None:
            self.setCursor(Qt.CursorShape.BlankCursor)  # the circle is the cursor
        else:
            self.setCursor(Qt.CursorShape.CrossCursor)
