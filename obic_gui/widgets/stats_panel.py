"""Statistics: where the bits of the .obic went, every codec's figures, and an RD plot.

The bar chart answers "what does the mask / the background cost?", the sortable table holds
the exact numbers (copyable), and the RD plot appears when the user asks for a sweep — it is
the slowest thing the app does, so it never runs on its own.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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

from obic_gui.quality import codec_label, fmt_db, fmt_seconds, fmt_ssim, ms_ssim_db
from obic_gui.results import BIT_PARTS, CodecFigures, StreamLayout, SweepOutcome
from obic_gui.style import icon

PLOT_BG = "#1e2025"
PLOT_FG = "#d0d4db"
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
    "jpeg": "#c0c4cc",
}
METRICS = {  # combo label → (RD point attribute, axis label, transform)
    "PSNR": ("psnr", "PSNR (dB)", None),
    "MS-SSIM (dB)": ("ms_ssim", "MS-SSIM (dB)", ms_ssim_db),
    "Object PSNR": ("object_psnr", "object PSNR (dB)", None),
}
RD_HINT = "Press “Run RD sweep” to plot this image's rate–distortion curves."
COLUMNS = (
    "Codec",
    "Bytes",
    "bpp",
    "PSNR",
    "MS-SSIM",
    "Object PSNR",
    "Background PSNR",
    "Object MS-SSIM",
    "Encode",
    "Decode",
    "Quality",
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
        self.bits_plot.setLabel("left", "kbit", color=PLOT_FG)
        self.bits_plot.setMouseEnabled(x=False, y=False)
        self.bits_plot.hideButtons()
        self.bits_plot.getAxis("bottom").setHeight(44)  # two-line category labels
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
        bar.addWidget(self.sweep_button)
        bar.addStretch(1)
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
        # the legend is a line of text under the axes: inside the plot it would hide points
        self.rd_legend = QLabel()
        self.rd_legend.setTextFormat(Qt.TextFormat.RichText)
        self.rd_legend.setWordWrap(True)
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
        self.notes = QLabel("")
        self.notes.setObjectName("hint")
        self.notes.setWordWrap(True)
        tl.addWidget(self.notes)
        split.addWidget(table_box)
        split.setSizes([430, 250])
        lay.addWidget(split)

        self.sweep: SweepOutcome | None = None
        self.current: list[CodecFigures] = []
        self.stream_layout: StreamLayout | None = None
        self._dirty: set[str] = {"bits", "rd"}
        self._scheduled = False
        self.sweep_button.clicked.connect(self.sweep_requested)
        self.metric.currentIndexChanged.connect(lambda *_: self._schedule("rd"))

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
    def set_layout(self, layout: StreamLayout | None) -> None:
        self.stream_layout = layout
        self._schedule("bits")

    def _draw_bits(self) -> None:
        layout = self.stream_layout
        self.bits_plot.clear()
        if layout is None:
            self.bits_note.setText("Encode an image (or open a .obic file) to see where its bits go.")
            return
        parts = layout.parts_bytes()
        xs = list(range(len(BIT_PARTS)))
        kbits = [parts[key] * 8 / 1000 for key, _ in BIT_PARTS]
        brushes = [pg.mkBrush(PART_COLOURS[key]) for key, _ in BIT_PARTS]
        self.bits_plot.addItem(pg.BarGraphItem(x=xs, height=kbits, width=0.7, brushes=brushes, pen=pg.mkPen(None)))
        ax = self.bits_plot.getAxis("bottom")
        ax.setTicks([[(i, label.replace(" ", "\n")) for i, (_, label) in enumerate(BIT_PARTS)]])
        top = max(kbits) if kbits else 1.0
        total = max(1, layout.file_bytes)
        for i, (key, _) in enumerate(BIT_PARTS):
            b = parts[key]
            t = pg.TextItem(f"{b:,} B\n{100 * b / total:.1f} %", color=PLOT_FG, anchor=(0.5, 1.0))
            t.setPos(i, kbits[i] + top * 0.02)
            self.bits_plot.addItem(t)
        self.bits_plot.setYRange(0, top * 1.25 if top > 0 else 1, padding=0)
        self.bits_plot.setXRange(-0.6, len(BIT_PARTS) - 0.4, padding=0)
        self.bits_note.setText(
            f"{layout.file_bytes:,} bytes in all = {layout.bpp:.3f} bpp for {layout.width}×{layout.height}"
            + (
                f" · qualities {layout.object_quality:.2f} / {layout.background_quality:.2f}"
                if layout.object_quality is not None and layout.background_quality is not None
                else ""
            )
        )

    # -- table -----------------------------------------------------------------------------
    def set_figures(self, figures: list[CodecFigures]) -> None:
        self.current = list(figures)
        self.table.setSortingEnabled(False)
        # keep OBIC first (insertion order) until the user sorts by a column
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setRowCount(len(figures))
        for r, f in enumerate(figures):
            name = QTableWidgetItem(codec_label(f.codec) + ("" if f.reached else " (above target)"))
            name.setForeground(QColor(CODEC_COLOURS.get(f.codec, PLOT_FG)))
            q = f.quality
            cells = [
                name,
                NumItem(f"{f.bytes:,}", f.bytes),
                NumItem(f"{f.bpp:.4f}", f.bpp),
                NumItem(fmt_db(f.psnr).replace(" dB", ""), f.psnr),
                NumItem(fmt_ssim(f.ms_ssim), f.ms_ssim),
                NumItem(fmt_db(f.object_psnr).replace(" dB", ""), f.object_psnr),
                NumItem(fmt_db(f.background_psnr).replace(" dB", ""), f.background_psnr),
                NumItem(fmt_ssim(f.object_ms_ssim), f.object_ms_ssim),
                NumItem(fmt_seconds(f.encode_s), f.encode_s),
                NumItem(fmt_seconds(f.decode_s), f.decode_s),
                QTableWidgetItem("" if q is None else (f"{q:.3g}" if isinstance(q, float) else str(q))),
            ]
            for c, item in enumerate(cells):
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
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

    def _plot_rd(self) -> None:
        label = self.metric.currentText() or "PSNR"
        attr, axis, tf = METRICS[label]
        self.rd_plot.clear()
        legend: list[str] = []
        self.rd_plot.setLabel("left", axis, color=PLOT_FG)

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
                legend.append(f"<span style='color:{colour}'>●━</span> {codec_label(codec)}")
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
            if self.sweep is None:
                legend.append(f"<span style='color:{colour}'>★</span> {codec_label(f.codec)}")
        if any(y is not None for _, y in stars):
            legend.append("★ = this encode")
        self.rd_legend.setText(" &nbsp;&nbsp; ".join(legend))
