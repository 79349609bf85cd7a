"""The quality panel (paint where the bits go) and the live size estimate shown in the rate panel.

:class:`QualityPanel` holds the quality tools' buttons (bound to the window's QActions), the
two values they paint, where brush and gradient apply, the presets, one slider per object when
an object label image is loaded, and the heat map's settings. :class:`SizeEstimateView` shows
the worker's estimate: predicted file size, bpp and each region's share of the bits.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from obic_gui.quality import fmt_bpp, fmt_bytes, fmt_seconds
from obic_gui.quality_layer import PRESETS
from obic_gui.widgets.quality_tools import LIMITS
from obic_gui.widgets.sliders import QSlider01


def _tool_button(action: QAction) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return b


class QualityPanel(QWidget):
    value_changed = Signal(float)
    second_changed = Signal(float)
    limit_changed = Signal(str)
    preset_requested = Signal(str)
    fill_requested = Signal(str)  # "object" / "background" / "all"
    label_quality_changed = Signal(int, float)  # label (0 = background), quality
    opacity_changed = Signal(float)
    coded_changed = Signal(bool)

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(10)

        tools = QGroupBox("Paint qualities")
        tg = QGridLayout(tools)
        for i, name in enumerate(("quality_brush", "quality_gradient", "quality_fill")):
            tg.addWidget(_tool_button(actions[name]), i // 2, i % 2)
        self.value = QSlider01("Value (left button)", 0.8)
        self.second = QSlider01("Second value (right button, gradient end)", 0.2)
        tg.addWidget(self.value, 2, 0, 1, 2)
        tg.addWidget(self.second, 3, 0, 1, 2)
        tg.addWidget(QLabel("Brush and gradient apply to"), 4, 0)
        self.limit = QComboBox()
        for key, text in LIMITS.items():
            self.limit.addItem(text, key)
        tg.addWidget(self.limit, 4, 1)
        hint = QLabel(
            "Gradient: drag from where the value goes to where the second value goes. "
            "Fill: click a region (an object or the background). Brush size: [ and ]."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        tg.addWidget(hint, 5, 0, 1, 2)
        lay.addWidget(tools)

        presets = QGroupBox("Presets and fills (value / second value)")
        pg = QGridLayout(presets)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, (key, text) in enumerate(PRESETS.items()):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=key: self.preset_requested.emit(k))
            self.preset_buttons[key] = b
            pg.addWidget(b, i, 0, 1, 3)
        row = len(PRESETS)
        self.fill_buttons: dict[str, QPushButton] = {}
        for j, (key, text) in enumerate((("object", "Object"), ("background", "Background"), ("all", "All"))):
            b = QPushButton(text)
            b.setToolTip(f"Set the whole {key if key != 'all' else 'image'} to the value")
            b.clicked.connect(lambda _=False, k=key: self.fill_requested.emit(k))
            self.fill_buttons[key] = b
            pg.addWidget(b, row, j)
        pg.addWidget(_tool_button(actions["quality_remove"]), row + 1, 0, 1, 3)
        lay.addWidget(presets)

        self.objects = QGroupBox("Objects")
        self._objects_grid = QVBoxLayout(self.objects)
        self.object_sliders: list[QSlider01] = []  # index = label (0 = background)
        self._objects_hint = QLabel("Import a label image (0 = background, 1…N = objects) for one slider per object.")
        self._objects_hint.setObjectName("hint")
        self._objects_hint.setWordWrap(True)
        self._objects_grid.addWidget(self._objects_hint)
        self._objects_grid.addWidget(_tool_button(actions["import_labels"]))
        lay.addWidget(self.objects)

        view = QGroupBox("Heat map")
        vg = QGridLayout(view)
        self.show_map = QCheckBox("Show the quality map (H)")
        act = actions["toggle_quality_map"]
        act.toggled.connect(self.show_map.setChecked)
        self.show_map.setChecked(act.isChecked())
        self.show_map.toggled.connect(act.setChecked)
        vg.addWidget(self.show_map, 0, 0, 1, 2)
        vg.addWidget(QLabel("Opacity"), 1, 0)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        vg.addWidget(self.opacity, 1, 1)
        self.coded = QCheckBox("Show as coded (16 px blocks)")
        self.coded.setToolTip("The encoder takes one quality per 16×16 block: the mean of the block's painted pixels.")
        self.coded.toggled.connect(self.coded_changed)
        vg.addWidget(self.coded, 2, 0, 1, 2)
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        vg.addWidget(self.summary, 3, 0, 1, 2)
        lay.addWidget(view)
        lay.addStretch(1)

        self.value.changed.connect(self.value_changed)
        self.second.changed.connect(self.second_changed)
        self.limit.currentIndexChanged.connect(lambda _i: self.limit_changed.emit(self.limit.currentData()))
        self.set_summary(None)

    # -- objects -----------------------------------------------------------------------------
    def set_labels(self, count: int | None) -> None:
        """One slider per object label 1..count and one for the background (None: no labels)."""
        for s in self.object_sliders:
            self._objects_grid.removeWidget(s)
            s.deleteLater()
        self.object_sliders = []
        self._objects_hint.setVisible(count is None)
        if count is None:
            return
        for label in range(count + 1):
            s = QSlider01("Background" if label == 0 else f"Object {label}", 0.2 if label == 0 else 0.8)
            s.changed.connect(lambda q, k=label: self.label_quality_changed.emit(k, q))
            self._objects_grid.insertWidget(len(self.object_sliders), s)
            self.object_sliders.append(s)

    def show_label_qualities(self, qualities: list[float | None]) -> None:
        """Put each slider where its object's map now stands (after undo, painting, a preset)."""
        for s, q in zip(self.object_sliders, qualities, strict=False):
            if q is not None:
                s.set_quality(q, quiet=True)

    def set_summary(self, summary: dict | None) -> None:
        if summary is None:
            self.summary.setText(
                "No map painted: the encode uses the Encode panel's object and background qualities. "
                "Paint, fill or pick a preset to start a map (the encode then writes a .obic v2)."
            )
        else:
            self.summary.setText(
                f"Map as coded: q {summary['min']:.2f} – {summary['max']:.2f}, mean {summary['mean']:.2f}. "
                "It replaces the Encode panel's two qualities (target mode shifts the whole map)."
            )


class SizeEstimateView(QGroupBox):
    """Predicted size and the share of the bits per region, from the worker's entropy model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Predicted size (no encode)", parent)
        self._grid = QGridLayout(self)
        self.size = QLabel("—")
        self.size.setTextFormat(Qt.TextFormat.RichText)
        self.state = QLabel("")
        self.state.setObjectName("hint")
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._grid.addWidget(self.size, 0, 0)
        self._grid.addWidget(self.state, 0, 1)
        self.detail = QLabel("")
        self.detail.setObjectName("hint")
        self.detail.setWordWrap(True)
        self._grid.addWidget(self.detail, 100, 0, 1, 2)
        self._bars: dict[str, tuple[QLabel, QProgressBar]] = {}
        self.setToolTip(
            "The entropy model's bits for these qualities, without range coding (within a few per cent of "
            "a real encode). The shares say where the bits go: each region's part of the two layers' bits."
        )
        self.clear()

    def clear(self, text: str = "Paint qualities to see the file size they make.") -> None:
        self.size.setText("—")
        self.state.setText("")
        self.detail.setText(text)
        self._set_bars({})

    def set_busy(self, busy: bool) -> None:
        self.state.setText("updating…" if busy else "")

    def set_failed(self, message: str) -> None:
        self.state.setText("")
        self.detail.setText(f"No estimate: {message}")

    def show_estimate(self, live) -> None:
        est = live.estimate
        self.size.setText(f"<b>≈ {fmt_bytes(est.total_bytes)}</b> · {fmt_bpp(live.bpp)}")
        timing = f"estimated in {fmt_seconds(est.seconds)}"
        if est.prepare_seconds:
            timing += f" (the image was analysed first: {fmt_seconds(est.prepare_seconds)})"
        self.detail.setText(timing + ("" if live.current else " — updating for the latest edit"))
        self._set_bars(live.shares)

    def shares(self) -> dict[str, int]:
        """The shown shares in per mille (tests read the screen through this)."""
        return {name: bar.value() for name, (_, bar) in self._bars.items()}

    def _set_bars(self, shares: dict[str, float]) -> None:
        if list(shares) != list(self._bars):
            for label, bar in self._bars.values():
                self._grid.removeWidget(label)
                self._grid.removeWidget(bar)
                label.deleteLater()
                bar.deleteLater()
            self._bars = {}
            for i, name in enumerate(shares):
                label, bar = QLabel(name), QProgressBar()
                bar.setRange(0, 1000)
                bar.setTextVisible(True)
                self._grid.addWidget(label, 1 + i, 0)
                self._grid.addWidget(bar, 1 + i, 1)
                self._bars[name] = (label, bar)
        for name, share in shares.items():
            bar = self._bars[name][1]
            bar.setValue(round(share * 1000))
            bar.setFormat(f"{share * 100:.0f} % of the bits")
