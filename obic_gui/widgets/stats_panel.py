"""Statistics: where the bits of the .obic went, every codec's figures, and an RD plot.

The bar chart answers "what does the mask / the background cost?" (bars lie horizontally,
so each part's name has a line of its own), the sortable table holds the exact numbers
(copyable, each codec's quality setting with its scale, and a ⚠ where a file is not at the
OBIC file's size), and the RD plot appears when the user asks for a sweep — it is the
slowest thing the app does, so it never runs on its own.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from obic_core.results import CompareResult, Layout
from obic_gui.outcomes import SweepOutcome
from obic_gui.quality import (
    QUALITY_SCALES,
    codec_label,
    describe_miss,
    fmt_db,
    fmt_gap,
    fmt_quality,
    fmt_seconds,
    fmt_ssim,
    is_size_miss,
    ms_ssim_db,
    size_gap,
    tolerance_text,
)
from obic_gui.style import icon
from obic_gui.widgets.compare_captions import COUNTED_AS, file_bytes

PLOT_BG = "#1e2025"
PLOT_FG = "#d0d4db"
#: bar order and captions of the "bits per layer" chart (keys: Layout.parts_bytes)
BIT_PARTS = (
    ("object_latent", "object latent"),
    ("object_hyper", "object hyper"),
    ("background_latent", "background latent"),
    ("background_hyper", "background hyper"),
    ("mask", "mask"),
    ("header", "header"),
)
PART_COLOURS = {
    "object_latent": "#ff3070",
    "object_hyper": "#ff8fb1",
    "background_latent": "#3d7bd0",
    "background_hyper": "#8fb8ee",
    "mask": "#ffd15c",
    "header": "#9aa1ad",
}
CODEC_COLOURS = {
    "obic": "#ff3070",
    "obic-single": "#ff9a5c",
    "jpeg2000": "#b48cff",
    "hevc": "#4fc3f7",
    "avif": "#66d9a8",
    "webp": "#ffd15c",
    "jpegxl": "#80deea",
    "jpeg": "#c0c4cc",
}
METRICS = {  # combo label → (RD point attribute, axis label, transform)
    "PSNR": ("psnr", "PSNR (dB)", None),
    "MS-SSIM (dB)": ("ms_ssim", "MS-SSIM (dB)", ms_ssim_db),
    "Object PSNR": ("object_psnr", "object PSNR (dB)", None),
}
#: axes of an empty RD plot (no sweep, no encode): never the previous image's ranges
EMPTY_RD_RANGE = {"PSNR": (20.0, 45.0), "MS-SSIM (dB)": (5.0, 25.0), "Object PSNR": (20.0, 45.0)}
WARN = "#ffb454"
RD_HINT = "Press “Run RD sweep” to plot this image's rate–distortion curves."
#: the RD plot's rate axes: most of what differs between codecs happens at 0.03–0.5 bpp, which
#: a linear axis up to 1 bpp squeezes into its left third; a log axis spreads it out
RATE_AXES = {  # key → (combo text, log axis, fixed bpp range or None)
    "log": ("log rate", True, None),
    "linear": ("linear rate", False, None),
    "low": ("low rates, 0.03–0.5 bpp", True, (0.03, 0.5)),
}
#: tick labels of a log rate axis (bpp): plain numbers, not pyqtgraph's powers of ten
LOG_TICKS = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
#: the rate axis of an empty RD plot (bpp)
EMPTY_RATE_RANGE = (0.03, 1.0)
COLUMNS = (
    "Codec",
    "Bytes",
    "bpp",
    "PSNR",
    "MS-SSIM",
    "Obj. PSNR",
    "Bkg. PSNR",
    "Obj. MS-SSIM",
    "Encode",
    "Decode",
    "Size vs OBIC",
    "Quality setting",
)
QUALITY_NOTE = (
    "Quality setting is each codec's own knob, on its own scale: OBIC q per layer in [0, 1] "
    "(obj = object, bkg = background), JPEG, WebP, AVIF, JPEG XL (libjxl) and HEVC (libheif) 0–100, "
    "JPEG 2000 the rate OpenJPEG aims at, in bpp. Obj. / Bkg. PSNR: inside / outside the mask."
)


class NumItem(QTableWidgetItem):
    """A table cell shown as text but sorted by its number (None sorts first)."""

    def __init__(self, text: str, value: float | None) -> None:
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a = self.value if isinstance(self.value, (int, float)) else -math.inf
        b = other.value if isinstance(other, NumItem) and isinstance(other.value, (int, float)) else -math.inf
        return a < b


def png_share_tip(nbytes: int, png_bytes: int | None) -> str:
    """The Bytes cell's tooltip: the file as a share of the original saved as PNG ('' unknown).

    A tooltip, not a column: the table is already as wide as the tab, and a thirteenth
    column would cut off the quality settings; the compare captions show the share anyway.
    """
    if not png_bytes:
        return ""
    return f"{100.0 * nbytes / png_bytes:.2f} % of the original as PNG ({png_bytes:,} B)"


def bytes_tip(fig: CompareResult, png_bytes: int | None) -> str:
    """The Bytes cell's whole tooltip: :func:`png_share_tip`, then — where the bytes counted
    are not the whole file (HEVC's payload) — what they are and the file Export writes."""
    lines = [png_share_tip(fig.bytes, png_bytes)]
    whole = file_bytes(fig)
    if whole is not None:
        what = COUNTED_AS.get(fig.codec, "the bytes counted")
        lines.append(f"{what}; the .{fig.extension} file Export writes is {whole:,} B")
    return "\n".join(line for line in lines if line)


def _style_plot(plot: pg.PlotWidget, title: str) -> None:
    plot.setBackground(PLOT_BG)
    f = QFont()
    f.setPointSizeF(9.5)
    plot.setTitle(f"<span style='color:{PLOT_FG}; font-size:11pt; font-weight:bold'>{title}</span>")
    for side in ("left", "bottom"):
        ax = plot.getAxis(side)
        ax.setTextPen(PLOT_FG)
        ax.setPen(pg.mkPen("#5a606b"))
        ax.setTickFont(f)
        ax.enableAutoSIPrefix(False)  # "bits per pixel (x0.001)" helps nobody
    plot.showGrid(x=False, y=True, alpha=0.18)
    plot.setMenuEnabled(False)


class StatsPanel(QWidget):
    sweep_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        split = QSplitter(Qt.Orientation.Vertical)
        top = QSplitter(Qt.Orientation.Horizontal)

        bits_box = QWidget()
        bl = QVBoxLayout(bits_box)
        bl.setContentsMargins(0, 0, 0, 0)
        self.bits_plot = pg.PlotWidget()
        _style_plot(self.bits_plot, "Bits per layer")
        self.bits_plot.setLabel("bottom", "kbit", color=PLOT_FG)
        self.bits_plot.setMouseEnabled(x=False, y=False)
        self.bits_plot.hideButtons()
        self.bits_plot.showGrid(x=True, y=False, alpha=0.18)
        self.bits_plot.getViewBox().invertY(True)  # first part on top, like a table
        # one category per row, its name on a line of its own: names never touch
        self.bits_plot.getAxis("left").setTicks([[(i, label) for i, (_, label) in enumerate(BIT_PARTS)]])
        bl.addWidget(self.bits_plot, 1)
        self.bits_note = QLabel("")
        self.bits_note.setObjectName("hint")
        self.bits_note.setWordWrap(True)
        bl.addWidget(self.bits_note)
        top.addWidget(bits_box)

        rd_box = QWidget()
        rl = QVBoxLayout(rd_box)
        rl.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.sweep_button = QPushButton(icon("sweep"), " Run RD sweep")
        self.sweep_button.setToolTip(
            "Encode this image with OBIC and the chosen codecs at several "
            "bitrates and plot the rate–distortion curves (slow)"
        )
        self.metric = QComboBox()
        self.metric.addItems(list(METRICS))
        self.rate_axis = QComboBox()
        for key, (text, _, _) in RATE_AXES.items():
            self.rate_axis.addItem(text, key)
        self.rate_axis.setToolTip("Rate axis: log (default) spreads out the low rates where codecs differ most")
        bar.addWidget(self.sweep_button)
        bar.addStretch(1)
        bar.addWidget(QLabel("Axis"))
        bar.addWidget(self.rate_axis)
        bar.addWidget(QLabel("Quality metric"))
        bar.addWidget(self.metric)
        rl.addLayout(bar)
        self.rd_plot = pg.PlotWidget()
        _style_plot(self.rd_plot, "Rate–distortion (this image)")
        self.rd_plot.setLabel("bottom", "bits per pixel", color=PLOT_FG)
        self.rd_plot.setLabel("left", "PSNR (dB)", color=PLOT_FG)
        self.rd_plot.showGrid(x=True, y=True, alpha=0.18)
        self.rd_plot.getViewBox().setDefaultPadding(0.08)
        rl.addWidget(self.rd_plot, 1)
        # the legend sits under the axes (inside the plot it would hide points), one
        # unbreakable label per curve in a grid: an entry never wraps in the middle
        self.rd_legend = QWidget()
        self.rd_legend_grid = QGridLayout(self.rd_legend)
        self.rd_legend_grid.setContentsMargins(4, 2, 4, 2)
        self.rd_legend_grid.setHorizontalSpacing(14)
        self.rd_legend_grid.setVerticalSpacing(2)
        rl.addWidget(self.rd_legend)
        self.rd_note = QLabel(RD_HINT)
        self.rd_note.setObjectName("hint")
        rl.addWidget(self.rd_note)
        top.addWidget(rd_box)
        top.setSizes([500, 600])
        split.addWidget(top)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        self.flag_note = QLabel("")
        self.flag_note.setObjectName("hint")
        self.flag_note.setWordWrap(True)
        tl.addWidget(self.flag_note)
        self.notes = QLabel("")
        self.notes.setObjectName("hint")
        self.notes.setWordWrap(True)
        tl.addWidget(self.notes)
        self.table.horizontalHeaderItem(COLUMNS.index("Quality setting")).setToolTip(QUALITY_NOTE)
        self.table.horizontalHeaderItem(COLUMNS.index("Size vs OBIC")).setToolTip(
            f"File size relative to the OBIC file; ⚠ beyond {tolerance_text()}: not a same-bitrate comparison"
        )
        split.addWidget(table_box)
        split.setSizes([430, 250])
        lay.addWidget(split)

        self.sweep: SweepOutcome | None = None
        self.current: list[CompareResult] = []
        self.png_bytes: int | None = None  # the original as PNG: the Bytes cells' "% of PNG" tooltips
        self.stream_layout: Layout | None = None
        self._dirty: set[str] = {"bits", "rd"}
        self._scheduled = False
        self.sweep_button.clicked.connect(self.sweep_requested)
        self.metric.currentIndexChanged.connect(lambda *_: self._schedule("rd"))
        self.rate_axis.currentIndexChanged.connect(lambda *_: self._schedule("rd"))

    # -- lazy drawing ------------------------------------------------------------------------
    # pyqtgraph items cost tens of ms to build; they are drawn only when the panel is on
    # screen, one plot per event-loop turn, so a result never freezes the window in one go.
    def _schedule(self, what: str) -> None:
        self._dirty.add(what)
        if self.isVisible() and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._draw_next)

    def _draw_next(self) -> None:
        self._scheduled = False
        if not self.isVisible() or not self._dirty:
            return
        what = "bits" if "bits" in self._dirty else self._dirty.pop()
        self._dirty.discard(what)
        (self._draw_bits if what == "bits" else self._plot_rd)()
        if self._dirty:
            self._scheduled = True
            QTimer.singleShot(0, self._draw_next)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._draw_next)

    def flush(self) -> None:
        """Draw everything now (snapshots, tests)."""
        self._scheduled = False
        if "bits" in self._dirty:
            self._draw_bits()
        if "rd" in self._dirty:
            self._plot_rd()
        self._dirty.clear()

    # -- bits per layer ---------------------------------------------------------------------
    def set_layout(self, layout: Layout | None) -> None:
        self.stream_layout = layout
        self._schedule("bits")

    def _draw_bits(self) -> None:
        layout = self.stream_layout
        self.bits_plot.clear()
        if layout is None:
            self.bits_note.setText("Encode an image (or open a .obic file) to see where its bits go.")
            return
        parts = layout.parts_bytes()
        ys = list(range(len(BIT_PARTS)))
        kbits = [parts[key] * 8 / 1000 for key, _ in BIT_PARTS]
        brushes = [pg.mkBrush(PART_COLOURS[key]) for key, _ in BIT_PARTS]
        self.bits_plot.addItem(
            pg.BarGraphItem(x0=0, y=ys, width=kbits, height=0.66, brushes=brushes, pen=pg.mkPen(None))
        )
        top = max(kbits) if kbits else 1.0
        total = max(1, layout.file_bytes)
        for i, (key, _) in enumerate(BIT_PARTS):
            b = parts[key]
            t = pg.TextItem(f"{b:,} B · {100 * b / total:.1f} %", color=PLOT_FG, anchor=(0.0, 0.5))
            t.setPos(kbits[i] + top * 0.02, i)
            self.bits_plot.addItem(t)
        # room on the right for the longest "bytes · %" text
        self.bits_plot.setXRange(0, top * 1.6 if top > 0 else 1, padding=0)
        self.bits_plot.setYRange(-0.6, len(BIT_PARTS) - 0.4, padding=0)
        self.bits_note.setText(
            f"{layout.file_bytes:,} bytes in all = {layout.bpp:.3f} bpp for {layout.width}×{layout.height}"
            + (
                f" · qualities {layout.object_quality:.2f} / {layout.background_quality:.2f}"
                if layout.object_quality is not None and layout.background_quality is not None
                else ""
            )
        )

    # -- table -----------------------------------------------------------------------------
    def set_png_bytes(self, png_bytes: int | None) -> None:
        """The original's PNG size arrived: the Bytes cells say their share of it."""
        self.set_figures(self.current, png_bytes)

    def set_figures(self, figures: list[CompareResult], png_bytes: int | None = None) -> None:
        self.current = list(figures)
        self.png_bytes = png_bytes
        self.table.setSortingEnabled(False)
        # keep OBIC first (insertion order) until the user sorts by a column
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setRowCount(len(figures))
        obic = next((f for f in figures if f.codec == "obic"), None)
        reference = obic.bytes if obic is not None else None
        misses = 0
        for r, f in enumerate(figures):
            gap = None if f.codec == "obic" else size_gap(f.bytes, reference)
            miss = is_size_miss(gap)
            misses += miss
            name = QTableWidgetItem(
                codec_label(f.codec) + (" ⚠" if miss else "") + ("" if f.reached else " (above target)")
            )
            name.setForeground(QColor(CODEC_COLOURS.get(f.codec, PLOT_FG)))
            gap_item = NumItem(fmt_gap(gap) + (" ⚠" if miss else ""), gap)
            if miss:
                gap_item.setForeground(QColor(WARN))
                tip = f"{describe_miss(gap)}: not a same-bitrate comparison (tolerance {tolerance_text()})"
                gap_item.setToolTip(tip)
                name.setToolTip(tip)
            quality = QTableWidgetItem(fmt_quality(f.codec, f.quality))
            bytes_item = NumItem(f"{f.bytes:,}", f.bytes)
            bytes_item.setToolTip(bytes_tip(f, png_bytes))
            quality.setToolTip(QUALITY_SCALES.get(f.codec, ""))
            cells = [
                name,
                bytes_item,
                NumItem(f"{f.bpp:.4f}", f.bpp),
                NumItem(fmt_db(f.psnr).replace(" dB", ""), f.psnr),
                NumItem(fmt_ssim(f.ms_ssim), f.ms_ssim),
                NumItem(fmt_db(f.object_psnr).replace(" dB", ""), f.object_psnr),
                NumItem(fmt_db(f.background_psnr).replace(" dB", ""), f.background_psnr),
                NumItem(fmt_ssim(f.object_ms_ssim), f.object_ms_ssim),
                NumItem(fmt_seconds(f.encode_s), f.encode_s),
                NumItem(fmt_seconds(f.decode_s), f.decode_s),
                gap_item,
                quality,
            ]
            for c, item in enumerate(cells):
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        if len(figures) > 1 and reference:
            self.flag_note.setText(
                f"Same bitrate = file within {tolerance_text()} of the OBIC file; ⚠ marks "
                + (f"the {misses} that are not." if misses else "any that is not (none here).")
                + " "
                + QUALITY_NOTE
            )
        else:
            self.flag_note.setText(QUALITY_NOTE if figures else "")
        self._schedule("rd")

    def set_rd_hint(self, text: str | None) -> None:
        """Replace the RD note (None: the default invitation to run a sweep)."""
        if self.sweep is None:
            self.rd_note.setText(text or RD_HINT)

    def set_notes(self, notes: list[str]) -> None:
        self.notes.setText("\n".join(f"• {n}" for n in notes))

    # -- RD plot ---------------------------------------------------------------------------
    def set_sweep(self, sweep: SweepOutcome | None) -> None:
        self.sweep = sweep
        if sweep is None:
            self.rd_note.setText(RD_HINT)
        self._schedule("rd")

    def set_sweep_running(self, running: bool) -> None:
        self.sweep_button.setEnabled(not running)
        if running:
            self.rd_note.setText("Sweep running… (progress in the Encode panel; Esc cancels)")

    def rate_axis_mode(self) -> str:
        return self.rate_axis.currentData() or "log"

    def rd_rate_range(self) -> tuple[float, float]:
        """The bpp range the RD plot shows (in bpp whether the axis is log or linear)."""
        (x0, x1), _ = self.rd_plot.getViewBox().viewRange()
        return (10**x0, 10**x1) if RATE_AXES[self.rate_axis_mode()][1] else (x0, x1)

    def _set_rate_axis(self) -> tuple[bool, tuple[float, float] | None]:
        _, log, fixed = RATE_AXES[self.rate_axis_mode()]
        self.rd_plot.setLogMode(x=log, y=False)
        bottom = self.rd_plot.getAxis("bottom")
        bottom.setTicks([[(math.log10(v), f"{v:g}") for v in LOG_TICKS]] if log else None)
        self.rd_plot.setLabel("bottom", "bits per pixel" + (" (log scale)" if log else ""), color=PLOT_FG)
        return log, fixed

    def _plot_rd(self) -> None:
        label = self.metric.currentText() or "PSNR"
        attr, axis, tf = METRICS[label]
        self.rd_plot.clear()
        log, fixed = self._set_rate_axis()
        legend: list[str] = []
        rates: list[float] = []  # every plotted bpp, for a log axis's range
        self.rd_plot.setLabel("left", axis, color=PLOT_FG)
        drawn = False

        def val(x):
            v = tf(x) if tf else x
            return v if isinstance(v, (int, float)) and math.isfinite(v) else None

        if self.sweep is not None:
            for codec, pts in self.sweep.curves.items():
                xy = [(p.bpp, val(getattr(p, attr))) for p in pts]
                xy = [(x, y) for x, y in xy if y is not None]
                if not xy:
                    continue
                colour = CODEC_COLOURS.get(codec, PLOT_FG)
                width = 3 if codec == "obic" else 2
                self.rd_plot.plot(
                    [x for x, _ in xy],
                    [y for _, y in xy],
                    pen=pg.mkPen(colour, width=width),
                    symbol="o",
                    symbolSize=7,
                    symbolBrush=colour,
                    symbolPen=pg.mkPen(PLOT_BG),
                )
                drawn = True
                rates += [x for x, _ in xy]
                legend.append(f"<span style='color:{colour}'>●━</span>&nbsp;{codec_label(codec)}")
            self.rd_note.setText(
                f"{len(self.sweep.targets)} bitrates: " + ", ".join(f"{t:.2f}" for t in self.sweep.targets) + " bpp"
            )
        # the current encode, as stars: where this file sits on (or off) the curves
        stars = [(f, val(getattr(f, attr, None))) for f in self.current]
        for f, y in stars:
            if y is None:
                continue
            colour = CODEC_COLOURS.get(f.codec, PLOT_FG)
            self.rd_plot.plot(
                [f.bpp],
                [y],
                pen=None,
                symbol="star",
                symbolSize=16,
                symbolBrush=colour,
                symbolPen=pg.mkPen("#ffffff", width=1),
            )
            drawn = True
            rates.append(f.bpp)
            if self.sweep is None:
                legend.append(f"<span style='color:{colour}'>★</span>&nbsp;{codec_label(f.codec)}")
        if any(y is not None for _, y in stars):
            legend.append("★&nbsp;=&nbsp;this&nbsp;encode")
        self._set_legend(legend)
        vb = self.rd_plot.getViewBox()

        def to_axis(r: tuple[float, float]) -> tuple[float, float]:
            return (math.log10(r[0]), math.log10(r[1])) if log else r

        if drawn and fixed is None:
            vb.setAutoVisible(y=False)
            vb.enableAutoRange()  # fit this image's points, even after the user zoomed the plot
            if log and rates:  # at least a factor 2.5 of rate in view, so bpp tick labels show
                lo, hi = min(rates), max(rates)
                widen = max(1.25, math.sqrt(2.5 * lo / hi))
                vb.setXRange(*to_axis((lo / widen, hi * widen)), padding=0)
        elif drawn:  # the low-rate zoom: that bpp range, and the quality range of what is in it
            vb.setAutoVisible(y=True)
            vb.setXRange(*to_axis(fixed), padding=0.02)
            vb.enableAutoRange(axis=pg.ViewBox.YAxis)
        else:  # nothing to show: neutral axes, not the previous image's
            vb.setRange(
                xRange=to_axis(fixed or EMPTY_RATE_RANGE), yRange=EMPTY_RD_RANGE.get(label, (0.0, 1.0)), padding=0
            )

    def _set_legend(self, entries: list[str]) -> None:
        grid = self.rd_legend_grid
        while grid.count():
            item = grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        cols = 4
        for i, html in enumerate(entries):
            lab = QLabel(html)
            lab.setTextFormat(Qt.TextFormat.RichText)
            lab.setWordWrap(False)
            grid.addWidget(lab, i // cols, i % cols)
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        self.rd_legend.setVisible(bool(entries))

    def legend_entries(self) -> list[QLabel]:
        """The legend's labels, one per curve (tests, screenshots)."""
        grid = self.rd_legend_grid
        return [grid.itemAt(i).widget() for i in range(grid.count()) if grid.itemAt(i).widget() is not None]
