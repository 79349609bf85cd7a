"""Compare view: original, OBIC and the other codecs at the same bitrate.

Two layouts: a grid of synchronised views (zoom or pan one, all follow — for hunting
artefacts in the same spot) and a Squoosh-style split between any two reconstructions, each
side with its own codec, quality and export (:mod:`obic_gui.widgets.split_side`). Zoom steps
and the hold-to-flash original live in :mod:`obic_gui.widgets.zoom_bar`.

Captions sit in a strip *below* each view, never over the picture, so they stay readable;
in the grid they have their own layout rows, so a taller caption next to shorter ones lowers
no picture out of line. What they say (size, % of the PNG, gap to OBIC, the ±5 % flag) is
:mod:`obic_gui.widgets.compare_captions`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from obic_core.results import CompareResult
from obic_gui.qimage import rgb_to_qimage
from obic_gui.quality import codec_label, fmt_quality, tolerance_text
from obic_gui.widgets.compare_captions import (  # noqa: F401 (re-exported: the caption helpers)
    GREY,
    NOTE,
    WARN,
    caption_for,
    hevc_chroma,
    original_caption,
    png_share,
    reference_caption,
    size_flag,
    size_line,
)
from obic_gui.widgets.image_view import ImageView
from obic_gui.widgets.split_side import SideControls, SplitView
from obic_gui.widgets.zoom_bar import FlashKey, ZoomBar

SIDES = ("left", "right")


@dataclass
class CompareEntry:
    key: str  # "original", "obic", "hevc", ...
    title: str
    image: QImage
    caption: str  # rich text, three lines (four with a note)
    flagged: bool = False  # not at the OBIC file's size (see size_flag)
    figures: CompareResult | None = None  # None: the original (nothing to re-encode or export)


@dataclass
class SideState:
    """What one split side shows: a result of the encode, or its own re-encode (``custom``)."""

    key: str | None = None
    figures: CompareResult | None = None
    image: QImage | None = None
    caption: str = ""
    token: int = 0  # the latest request for this side; older answers are dropped
    custom: bool = False


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


def _caption_label(html: str = "") -> QLabel:
    lab = QLabel(html)
    lab.setObjectName("caption")
    lab.setTextFormat(Qt.TextFormat.RichText)
    lab.setWordWrap(True)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    lab.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    lab.setMinimumHeight(lab.fontMetrics().lineSpacing() * 3 + 12)
    return lab


class CompareView(QWidget):
    """Grid of synchronised views or a split view, with zoom steps, flash and per-side controls."""

    zoom_changed = Signal(float)  # the shown views' scale (for the status bar)
    cursor_moved = Signal(int, int)  # image pixel under the mouse in any view (-1, -1: none)
    #: a split side wants an encode: side, codec, native quality (None: at the OBIC file's rate),
    #: token, and the HEVC chroma to keep at that quality (None: the codec's own choice)
    side_requested = Signal(str, str, object, int, object)
    export_requested = Signal(object)  # the CompareResult of a tile or side to write

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[CompareEntry] = []
        self.sync = SyncGroup()
        self.reference_bytes: int | None = None
        self.png_bytes: int | None = None
        self._decoded_reference = False
        self._shape: tuple[int, int] = (0, 0)  # (h, w) of the reference
        self._available: list[str] = []
        self._tokens = itertools.count(1)
        self.side_state = {s: SideState() for s in SIDES}
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
        bar.addStretch(1)
        self.flash_hint = QLabel("Showing the original — release \\ or O to return")
        self.flash_hint.setStyleSheet(f"color: {NOTE}; font-weight: bold")
        self.flash_hint.hide()
        bar.addWidget(self.flash_hint)
        # the tolerance, said once where the flags are (each flagged caption says by how much)
        self.flag_hint = QLabel(f"⚠ = file size not within {tolerance_text()} of the OBIC file's")
        self.flag_hint.setStyleSheet(f"color: {WARN}")
        self.flag_hint.hide()
        bar.addWidget(self.flag_hint)
        self.stale = QLabel("The mask changed since this encode — press Encode to update.")
        self.stale.setObjectName("warning")
        self.stale.hide()
        bar.addWidget(self.stale)
        bar.addSpacing(10)
        self.zoom_bar = ZoomBar()
        self.zoom_bar.setToolTip("Hold \\ or O to flash the original in every view")
        bar.addWidget(self.zoom_bar)
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
        self.side_controls = {s: SideControls(s) for s in SIDES}
        self.left_caption = _caption_label()
        self.right_caption = _caption_label()
        self.right_caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        # controls over captions in one grid: the two captions share a row, so a side with a
        # longer caption (HEVC's .heic line, a re-encode's note) moves neither side's controls
        under = QGridLayout()
        under.setHorizontalSpacing(12)
        under.setVerticalSpacing(0)
        for col, (side, caption) in enumerate((("left", self.left_caption), ("right", self.right_caption))):
            under.addWidget(self.side_controls[side], 0, col)
            under.addWidget(caption, 1, col)
            under.setColumnStretch(col, 1)
        sl.addLayout(under)
        self.left_combo = self.side_controls["left"].combo
        self.right_combo = self.side_controls["right"].combo
        for page in (self.empty, self.grid_page, self.split_page):
            self.stack.addWidget(page)
        lay.addWidget(self.stack, 1)

        self.grid_views: list[ImageView] = []
        self._captions: list[QLabel] = []
        self._flashing = False
        self.flash_key = FlashKey(self, self.set_flash)
        group.buttonToggled.connect(lambda *_: self._show_mode())
        for side, controls in self.side_controls.items():
            controls.picked.connect(lambda key, s=side: self._side_picked(s, key))
            controls.quality_changed.connect(lambda codec, q, s=side: self._request(s, codec, q))
            controls.export_clicked.connect(lambda s=side: self.export_side(s))
        self.zoom_bar.fit_requested.connect(self.fit)
        self.zoom_bar.step_requested.connect(self.zoom_step)
        self._show_mode()

    # -- content ---------------------------------------------------------------------------
    def set_results(
        self,
        reference: np.ndarray | None,
        figures: Sequence[CompareResult],
        decoded_reference: bool = False,
        png_bytes: int | None = None,
    ) -> None:
        """Show an encode: the reference photo, then every figure that has a reconstruction."""
        if reference is None:
            self.reference_bytes = self.png_bytes = None
            self.set_entries([])
            return
        h, w = reference.shape[:2]
        self._shape, self._decoded_reference, self.png_bytes = (h, w), decoded_reference, png_bytes
        obic = next((f for f in figures if f.codec == "obic"), None)
        self.reference_bytes = obic.bytes if obic is not None else None
        # an opened .obic has no original: its decoded pixels are the reference, and say so
        title = "Decoded .obic (reference)" if decoded_reference else "Original"
        entries = [CompareEntry("original", title, rgb_to_qimage(reference), self._reference_caption())]
        for f in figures:
            if f.image is not None:
                flagged = size_flag(f, self.reference_bytes) is not None
                caption = caption_for(f, self.reference_bytes, png_bytes)
                entries.append(CompareEntry(f.codec, codec_label(f.codec), rgb_to_qimage(f.image), caption, flagged, f))
        self.set_entries(entries)

    def _reference_caption(self) -> str:
        h, w = self._shape
        return reference_caption(w, h, self._decoded_reference, self.png_bytes)

    def set_png_bytes(self, png_bytes: int | None) -> None:
        """The original's PNG size arrived (it is measured once per photo, on a worker): re-caption."""
        self.png_bytes = png_bytes
        labels = self._captions
        for i, e in enumerate(self.entries):
            e.caption = (
                self._reference_caption()
                if e.figures is None
                else caption_for(e.figures, self.reference_bytes, png_bytes)
            )
            if i < len(labels):
                labels[i].setText(e.caption)
        for st in self.side_state.values():
            if st.figures is not None and st.custom:
                st.caption = self._side_caption(st.figures)
            elif st.key is not None and self._entry(st.key) is not None:
                st.caption = self._entry(st.key).caption
        self._update_split()

    def _cols(self) -> int:
        n = len(self.entries)
        return 1 if n <= 1 else 2 if n in (2, 4) else 3 if n in (3, 5, 6, 9) else 4

    def set_available_codecs(self, codecs: Sequence[str]) -> None:
        """Codecs a split side may switch to beyond this encode's (what the worker can run)."""
        self._available = [c for c in codecs if c != "original"]
        self._fill_side_choices()

    def set_entries(self, entries: list[CompareEntry]) -> None:
        """Replace what is compared (keeps each side's choice when that result is still there)."""
        keep = {s: self.side_state[s].key for s in SIDES}
        self.set_flash(False)
        self.entries = entries
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self.grid_views = []
        self._captions = []
        self.sync.clear()
        cols = self._cols()
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
            view.setToolTip(e.title + ("" if e.figures is None else " — right-click to export"))
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(lambda pos, v=view, k=e.key: self._tile_menu(v, k, pos))
            caption = _caption_label(e.caption)
            self.grid.addWidget(view, row, col)
            self.grid.addWidget(caption, row + 1, col)
            self.grid.setRowStretch(row, 1)
            self.grid_views.append(view)
            self._captions.append(caption)
            self.sync.add(view)
            self._watch(view)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < cols else 0)
        keys = [e.key for e in entries]
        defaults = {"left": "original", "right": "obic"}
        for side in SIDES:
            key = keep[side] if keep[side] in keys else defaults[side] if defaults[side] in keys else None
            if key is None and keys:
                key = keys[0] if side == "left" else keys[-1]
            self._show_entry(side, key)
        self._fill_side_choices()
        self.split_view.set_image(None)
        self.flag_hint.setVisible(any(e.flagged for e in entries))
        self._update_split()
        self._show_mode()

    def grid_captions(self) -> list[QLabel]:
        """The grid's caption labels, one per tile in entry order (tests, screenshots)."""
        return list(self._captions)

    def _fill_side_choices(self) -> None:
        items = [(e.key, e.title) for e in self.entries]
        if self.reference_bytes is not None:  # other codecs: encoded at the OBIC file's rate on demand
            have = {e.key for e in self.entries}
            items += [(c, f"{codec_label(c)} (encode at this size)") for c in self._available if c not in have]
        for side, controls in self.side_controls.items():
            controls.set_choices(items, self.side_state[side].key)

    def _watch(self, view: ImageView) -> None:
        view.view_changed.connect(lambda s, *_: self._zoom_moved(s))
        view.cursor_moved.connect(self.cursor_moved)

    def _zoom_moved(self, scale: float) -> None:
        self._show_zoom()
        self.zoom_changed.emit(scale)

    def _show_zoom(self) -> None:
        views = [v for v in self._views() if v.image() is not None]
        self.zoom_bar.show_zoom(views[0].scale if views else None, bool(views) and views[0].fitted)

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

    # -- split sides -----------------------------------------------------------------------
    def _show_entry(self, side: str, key: str | None) -> None:
        """Show a result of the encode on ``side`` (any re-encode in flight for it is dropped)."""
        st, controls = self.side_state[side], self.side_controls[side]
        entry = self._entry(key)
        st.key, st.token, st.custom = key, next(self._tokens), False
        st.figures = entry.figures if entry else None
        st.image = entry.image if entry else None
        st.caption = entry.caption if entry else ""
        controls.set_quality(key, st.figures.quality if st.figures else None, hevc_chroma(st.figures))
        controls.export.setEnabled(st.figures is not None)
        controls.set_busy("")

    def _side_picked(self, side: str, key: str) -> None:
        if self._entry(key) is not None:
            self._show_entry(side, key)
            self._update_split()
        elif key:  # a codec this encode did not include: at the OBIC file's rate
            self._request(side, key, None)

    def _request(self, side: str, codec: str, quality: float | None) -> None:
        if self.reference_bytes is None:
            return
        st = self.side_state[side]
        # a new quality for the result on screen keeps its chroma: HEVC's 4:2:0 or 4:4:4 was
        # chosen for this image at the target, and a plain HEVC encode would always take 4:2:0
        shown = st.figures if st.figures is not None and st.figures.codec == codec else None
        chroma = hevc_chroma(shown) if quality is not None else None
        st.key, st.token = codec, next(self._tokens)
        what = "at the OBIC file's size" if quality is None else f"at {fmt_quality(codec, quality)}"
        if chroma:
            what += f", {chroma}"
        self.side_controls[side].set_busy(f"Encoding {codec_label(codec)} {what}…")
        self.side_requested.emit(side, codec, quality, st.token, chroma)

    def _side_caption(self, fig: CompareResult) -> str:
        note = f"this side only: {codec_label(fig.codec)} at {fmt_quality(fig.codec, fig.quality)}"
        return caption_for(fig, self.reference_bytes, self.png_bytes, note)

    def set_side_result(self, side: str, token: int, fig: CompareResult) -> bool:
        """A side's re-encode is done: show it on that side only (False: a newer request won)."""
        st = self.side_state.get(side)
        if st is None or token != st.token or fig.image is None:
            return False
        st.key, st.figures, st.custom = fig.codec, fig, True
        st.image, st.caption = rgb_to_qimage(fig.image), self._side_caption(fig)
        controls = self.side_controls[side]
        controls.combo.blockSignals(True)
        controls.combo.setCurrentIndex(max(0, controls.combo.findData(fig.codec)))
        controls.combo.blockSignals(False)
        controls.set_quality(fig.codec, fig.quality, hevc_chroma(fig))
        controls.export.setEnabled(True)
        controls.set_busy("")
        self._update_split()
        return True

    def set_side_failed(self, side: str, token: int, message: str) -> None:
        st = self.side_state.get(side)
        if st is not None and token == st.token:
            self.side_controls[side].set_busy(f"⚠ {message}")

    def side_figures(self, side: str) -> CompareResult | None:
        return self.side_state[side].figures

    def export_side(self, side: str) -> None:
        fig = self.side_state[side].figures
        if fig is not None:
            self.export_requested.emit(fig)

    def _tile_menu(self, view: ImageView, key: str, pos: QPoint) -> None:
        entry = self._entry(key)
        if entry is None or entry.figures is None:
            return
        menu = QMenu(view)
        ext = entry.figures.extension if entry.figures.data is not None else None
        menu.addAction(
            f"Export {entry.title} (PNG" + (f" + .{ext})…" if ext else ")…"),
            lambda: self.export_requested.emit(entry.figures),
        )
        menu.popup(view.mapToGlobal(pos))

    def _update_split(self, *args) -> None:
        left, right = self.side_state["left"], self.side_state["right"]
        self.split_view.set_pair(left.image, right.image)
        self.left_caption.setText(left.caption)
        self.right_caption.setText(right.caption)
        self._show_zoom()

    def _show_mode(self) -> None:
        split = self.split_button.isChecked()
        if not self.entries:
            self.stack.setCurrentWidget(self.empty)
        else:
            self.stack.setCurrentWidget(self.split_page if split else self.grid_page)
        self.zoom_bar.setVisible(bool(self.entries))
        self._show_zoom()
        scale = self.current_scale()
        if scale is not None:  # another layout, another zoom: the status bar follows
            self.zoom_changed.emit(scale)

    # -- flash the original ------------------------------------------------------------------
    @property
    def flashing(self) -> bool:
        return self._flashing

    def set_flash(self, on: bool) -> None:
        """Show the original in every view and on both sides (``on``), or each view's own again."""
        original = self._entry("original")
        image = original.image if (on and original is not None) else None
        self._flashing = image is not None
        for v in self.grid_views:
            v.set_flash(image)
        self.split_view.set_flash(image)
        self.flash_hint.setVisible(image is not None)

    def hideEvent(self, event) -> None:
        self.set_flash(False)  # another tab: the key-up may never reach us
        self.flash_key.held = False
        super().hideEvent(event)

    # -- zoom ------------------------------------------------------------------------------
    def _views(self) -> list[ImageView]:
        return [self.split_view] if self.split_mode else self.grid_views

    def fit(self) -> None:
        views = self._views()
        if views:
            views[0].fit()

    def actual_size(self) -> None:
        self.zoom_step(1.0)

    def zoom_step(self, scale: float) -> None:
        """100 %, 2× or 4× in the views on screen (the others follow through the sync group)."""
        views = self._views()
        if views:
            views[0].zoom_to(scale)
