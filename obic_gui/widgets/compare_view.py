"""Compare view: original, OBIC and the other codecs at the same bitrate.

Two layouts: a grid of synchronised views (zoom or pan one, all follow — for hunting
artefacts in the same spot) and a Squoosh-style split between any two reconstructions.
Captions sit in a strip *below* each view, never over the picture, so they stay readable;
in the grid they have their own layout rows, so a three-line caption next to two-line ones
lowers no picture out of line. A file whose size is more than
:data:`~obic_gui.quality.SAME_SIZE_TOLERANCE` from the OBIC file's is flagged in its caption:
a "same bitrate" comparison it is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from obic_gui.quality import (
    codec_label,
    describe_miss,
    fmt_bpp,
    fmt_bytes,
    fmt_db,
    fmt_ssim,
    is_size_miss,
    size_gap,
    tolerance_text,
)
from obic_gui.results import CodecFigures
from obic_gui.style import icon
from obic_gui.widgets.image_view import ImageView


@dataclass
class CompareEntry:
    key: str  # "original", "obic", "hevc", ...
    title: str
    image: QImage
    caption: str  # rich text, two lines (three with a size flag)
    flagged: bool = False  # not at the OBIC file's size (see size_flag)


WARN = "#ffb454"


def size_flag(fig: CodecFigures, reference_bytes: int | None) -> str | None:
    """'⚠ 31 % smaller than the OBIC file' when ``fig`` is not at OBIC's size (None: it is)."""
    if fig.codec == "obic":
        return None
    gap = size_gap(fig.bytes, reference_bytes)
    if is_size_miss(gap):
        return f"⚠ {describe_miss(gap)}"
    return None


def caption_for(fig: CodecFigures, reference_bytes: int | None = None) -> str:
    """'<b>HEVC</b> 12,345 B · 0.251 bpp' over 'PSNR … · MS-SSIM … · object PSNR …',
    and a third, orange line when the file is not at the OBIC file's size."""
    head = f"<b>{codec_label(fig.codec)}</b> &nbsp; {fmt_bytes(fig.bytes)} · {fmt_bpp(fig.bpp)}"
    flag = size_flag(fig, reference_bytes)
    if not fig.reached and flag is None:
        head += f" &nbsp;<span style='color:{WARN}'>(could not reach the target)</span>"
    body = f"PSNR {fmt_db(fig.psnr)} · MS-SSIM {fmt_ssim(fig.ms_ssim)} · object {fmt_db(fig.object_psnr)}"
    text = f"{head}<br><span style='color:#b9c0cc'>{body}</span>"
    if flag is not None:
        text += f"<br><span style='color:{WARN}'>{flag}</span>"
    return text


def reference_caption(width: int, height: int, decoded_obic: bool = False) -> str:
    """The first tile's caption: the photo, or — for an opened .obic — its decoded pixels."""
    if decoded_obic:
        return (
            f"<b>Reference: decoded .obic</b> &nbsp; {width}×{height}<br>"
            f"<span style='color:{WARN}'>no original photo: scores are measured against these pixels</span>"
        )
    return f"<b>Original</b> &nbsp; {width}×{height}<br><span style='color:#b9c0cc'>uncompressed · 24 bpp</span>"


def original_caption(width: int, height: int) -> str:
    return reference_caption(width, height)


class SyncGroup:
    """Keeps a set of ImageViews at the same zoom and centre."""

    def __init__(self) -> None:
        self.views: list[ImageView] = []
        self._busy = False

    def add(self, view: ImageView) -> None:
        self.views.append(view)
        view.view_changed.connect(lambda s, x, y, v=view: self._follow(v, s, x, y))

    def clear(self) -> None:
        self.views = []

    def _follow(self, source: ImageView, scale: float, cx: float, cy: float) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            for v in self.views:
                if v is source:
                    continue
                if source.fitted:  # stay "fitted" together, so resizing refits them all
                    v.fit(emit=False)
                else:
                    v.set_view(scale, cx, cy)
        finally:
            self._busy = False


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

    def _divider_x(self) -> float:
        return self.width() * self.split

    def paint_extras(self, p: QPainter) -> None:
        if self._b is None:
            return
        x = self._divider_x()
        left = self.to_image(QPointF(x, 0)).x()
        w, h = self.image_size()
        p.save()
        p.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
        p.fillRect(QRectF(x, 0, self.width() - x, self.height()), QColor(38, 40, 44))
        self.paint_image(p, self._b, QRectF(max(0.0, math.floor(left)), 0, w, h))
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


def _caption_label(html: str = "") -> QLabel:
    lab = QLabel(html)
    lab.setObjectName("caption")
    lab.setTextFormat(Qt.TextFormat.RichText)
    lab.setWordWrap(True)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    lab.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    lab.setMinimumHeight(lab.fontMetrics().lineSpacing() * 2 + 12)
    return lab


class CompareView(QWidget):
    """Grid of synchronised views or a split view, with a bar to switch and pick the pair."""

    zoom_changed = Signal(float)  # the shown views' scale (for the status bar)
    cursor_moved = Signal(int, int)  # image pixel under the mouse in any view (-1, -1: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[CompareEntry] = []
        self.sync = SyncGroup()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 6)
        self.grid_button = QToolButton()
        self.grid_button.setText("Grid")
        self.split_button = QToolButton()
        self.split_button.setText("Split")
        group = QButtonGroup(self)
        for b in (self.grid_button, self.split_button):
            b.setCheckable(True)
            b.setMinimumWidth(64)
            group.addButton(b)
            bar.addWidget(b)
        self.grid_button.setChecked(True)
        self.pair_label = QLabel("   Left")
        self.left_combo = QComboBox()
        self.right_label = QLabel("Right")
        self.right_combo = QComboBox()
        for w in (self.left_combo, self.right_combo):
            w.setMinimumWidth(170)
        bar.addWidget(self.pair_label)
        bar.addWidget(self.left_combo)
        bar.addWidget(self.right_label)
        bar.addWidget(self.right_combo)
        bar.addStretch(1)
        # the tolerance, said once where the flags are (each flagged caption says by how much)
        self.flag_hint = QLabel(f"⚠ = file size not within {tolerance_text()} of the OBIC file's")
        self.flag_hint.setStyleSheet(f"color: {WARN}")
        self.flag_hint.hide()
        bar.addWidget(self.flag_hint)
        self.stale = QLabel("The mask changed since this encode — press Encode to update.")
        self.stale.setObjectName("warning")
        self.stale.hide()
        bar.addWidget(self.stale)
        self.fit_button = QToolButton()
        self.fit_button.setIcon(icon("zoom-fit"))
        self.fit_button.setToolTip("Fit (F)")
        self.one_button = QToolButton()
        self.one_button.setIcon(icon("zoom-100"))
        self.one_button.setToolTip("100 % (1)")
        bar.addWidget(self.fit_button)
        bar.addWidget(self.one_button)
        lay.addLayout(bar)

        self.stack = QStackedWidget()
        self.empty = QLabel(
            "Nothing to compare yet.\nPress “Encode & compare” to code this image with "
            "OBIC and the chosen codecs at the same bitrate."
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("hint")
        self.grid_page = QWidget()
        self.grid = QGridLayout(self.grid_page)
        self.grid.setContentsMargins(4, 4, 4, 4)
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(0)  # the caption sits right under its view
        self.split_page = QWidget()
        sl = QVBoxLayout(self.split_page)
        sl.setContentsMargins(4, 4, 4, 4)
        sl.setSpacing(0)
        self.split_view = SplitView()
        self._watch(self.split_view)
        sl.addWidget(self.split_view, 1)
        caps = QHBoxLayout()
        caps.setSpacing(0)
        self.left_caption = _caption_label()
        self.right_caption = _caption_label()
        self.right_caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        caps.addWidget(self.left_caption, 1)
        caps.addWidget(self.right_caption, 1)
        sl.addLayout(caps)
        for page in (self.empty, self.grid_page, self.split_page):
            self.stack.addWidget(page)
        lay.addWidget(self.stack, 1)

        self.grid_views: list[ImageView] = []
        group.buttonToggled.connect(lambda *_: self._show_mode())
        self.left_combo.currentIndexChanged.connect(self._update_split)
        self.right_combo.currentIndexChanged.connect(self._update_split)
        self.fit_button.clicked.connect(self.fit)
        self.one_button.clicked.connect(self.actual_size)
        self._show_mode()

    # -- content ---------------------------------------------------------------------------
    def set_entries(self, entries: list[CompareEntry]) -> None:
        """Replace what is compared (keeps the chosen pair when those codecs are still there)."""
        keep = (self.left_combo.currentData(), self.right_combo.currentData())
        self.entries = entries
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self.grid_views = []
        self.sync.clear()
        n = len(entries)
        cols = 1 if n <= 1 else 2 if n in (2, 4) else 3 if n in (3, 5, 6, 9) else 4
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
            self.grid.setRowMinimumHeight(r, 0)
        for i, e in enumerate(entries):
            # a view row, its caption row and a gap row: the grid gives every caption of a
            # row the height of the tallest one, so the views above them stay in line
            row, col = 3 * (i // cols), i % cols
            if col == 0 and row > 0:
                self.grid.setRowMinimumHeight(row - 1, 6)
            view = ImageView()
            view.set_image(e.image)
            view.setToolTip(e.title)
            caption = _caption_label(e.caption)
            self.grid.addWidget(view, row, col)
            self.grid.addWidget(caption, row + 1, col)
            self.grid.setRowStretch(row, 1)
            self.grid_views.append(view)
            self.sync.add(view)
            self._watch(view)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < cols else 0)
        for combo in (self.left_combo, self.right_combo):
            combo.blockSignals(True)
            combo.clear()
            for e in entries:
                combo.addItem(e.title, e.key)
            combo.blockSignals(False)
        keys = [e.key for e in entries]

        def pick(kept, preferred, fallback):
            if kept in keys:
                return kept
            if preferred in keys:
                return preferred
            return fallback if keys else None

        left = pick(keep[0], "original", keys[0] if keys else None)
        right = pick(keep[1], "obic", keys[-1] if keys else None)
        if left is not None:
            self.left_combo.setCurrentIndex(keys.index(left))
        if right is not None:
            self.right_combo.setCurrentIndex(keys.index(right))
        self.split_view.set_image(None)
        self.flag_hint.setVisible(any(e.flagged for e in entries))
        self._update_split()
        self._show_mode()

    def _watch(self, view: ImageView) -> None:
        view.view_changed.connect(lambda s, *_: self.zoom_changed.emit(s))
        view.cursor_moved.connect(self.cursor_moved)

    def current_scale(self) -> float | None:
        """Zoom of the views on screen (grid views share one), None when there are none."""
        views = [v for v in self._views() if v.image() is not None]
        return views[0].scale if views else None

    def set_stale(self, stale: bool) -> None:
        self.stale.setVisible(stale and bool(self.entries))

    def set_split_mode(self, split: bool) -> None:
        (self.split_button if split else self.grid_button).setChecked(True)

    @property
    def split_mode(self) -> bool:
        return self.split_button.isChecked()

    def _entry(self, key) -> CompareEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def _update_split(self, *args) -> None:
        a, b = self._entry(self.left_combo.currentData()), self._entry(self.right_combo.currentData())
        self.split_view.set_pair(a.image if a else None, b.image if b else None)
        self.left_caption.setText(a.caption if a else "")
        self.right_caption.setText(b.caption if b else "")

    def _show_mode(self) -> None:
        split = self.split_button.isChecked()
        for w in (self.pair_label, self.left_combo, self.right_label, self.right_combo):
            w.setVisible(split and bool(self.entries))
        if not self.entries:
            self.stack.setCurrentWidget(self.empty)
        else:
            self.stack.setCurrentWidget(self.split_page if split else self.grid_page)
        scale = self.current_scale()
        if scale is not None:  # another layout, another zoom: the status bar follows
            self.zoom_changed.emit(scale)

    # -- zoom ------------------------------------------------------------------------------
    def _views(self) -> list[ImageView]:
        return [self.split_view] if self.split_mode else self.grid_views

    def fit(self) -> None:
        views = self._views()
        if views:
            views[0].fit()

    def actual_size(self) -> None:
        views = self._views()
        if views:
            views[0].actual_size()  # the others follow through the sync group
