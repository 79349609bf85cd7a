"""The mask tools panel: tool choice, brush size, overlay settings and whole-mask commands.

Buttons are bound to the main window's QActions (``setDefaultAction``), so a shortcut, a
menu entry and a button are one and the same command with one enabled state.
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
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from obic_gui.widgets.canvas import MAX_BRUSH, MIN_BRUSH
from obic_gui.widgets.smart_tools import SmartOptions

#: overlay colours offered (name → RGB); no single tint reads well on every photo
OVERLAY_COLOURS = {
    "Cyan": (0, 200, 255),
    "Magenta": (255, 48, 160),
    "Yellow": (255, 214, 0),
    "Green": (60, 230, 90),
    "Red": (255, 40, 40),
}

#: segmentation methods as shown → as passed to predict_mask
METHOD_LABELS = {"auto": "Auto (best measured)", "net": "Network (DeepLab)", "saliency": "Saliency + GrabCut"}


def _tool_button(action: QAction, text_beside: bool = True) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(
        Qt.ToolButtonStyle.ToolButtonTextBesideIcon if text_beside else Qt.ToolButtonStyle.ToolButtonIconOnly
    )
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    b.setAutoRaise(False)
    return b


class ToolsPanel(QWidget):
    brush_size_changed = Signal(int)
    opacity_changed = Signal(float)
    coded_view_changed = Signal(bool)
    colour_changed = Signal(tuple)

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(10)

        tools = QGroupBox("Tools")
        grid = QGridLayout(tools)
        names = ("tool_brush", "tool_eraser", "tool_fill", "tool_rect", "tool_click", "tool_polygon", "tool_scissors")
        for i, name in enumerate(names):
            grid.addWidget(_tool_button(actions[name]), i // 2, i % 2)
        self.smart_options = SmartOptions()  # the smart box's "outside the box" choice
        grid.addWidget(self.smart_options, 4, 0, 1, 2)
        hint = QLabel(
            "Left click adds, right click removes (Click: Shift+left = a new object).\n"
            "Space+drag or middle button pans."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        grid.addWidget(hint, 5, 0, 1, 2)
        lay.addWidget(tools)

        brush = QGroupBox("Brush size  ([ and ], Alt+wheel, Ctrl+drag)")
        bg = QGridLayout(brush)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_BRUSH, 200)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_BRUSH, MAX_BRUSH)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush diameter on screen: the brush feels the same at every zoom")
        bg.addWidget(self.size_slider, 0, 0)
        bg.addWidget(self.size_spin, 0, 1)
        self.size_image = QLabel("")  # the same brush in image pixels at the current zoom
        self.size_image.setObjectName("hint")
        bg.addWidget(self.size_image, 1, 0, 1, 2)
        self.size_slider.valueChanged.connect(self._size_from_slider)
        self.size_spin.valueChanged.connect(self._size_from_spin)
        lay.addWidget(brush)
        self._brush_screen, self._view_scale = 40, 1.0

        overlay = QGroupBox("Overlay")
        og = QGridLayout(overlay)
        self.show_overlay = QCheckBox("Show mask (O)")
        actions["toggle_overlay"].toggled.connect(self.show_overlay.setChecked)
        self.show_overlay.setChecked(actions["toggle_overlay"].isChecked())
        self.show_overlay.toggled.connect(actions["toggle_overlay"].setChecked)
        og.addWidget(self.show_overlay, 0, 0, 1, 2)
        og.addWidget(QLabel("Opacity"), 1, 0)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        og.addWidget(self.opacity, 1, 1)
        og.addWidget(QLabel("Colour"), 2, 0)
        self.colour = QComboBox()
        for name, rgb in OVERLAY_COLOURS.items():
            self.colour.addItem(name, rgb)
        self.colour.currentIndexChanged.connect(self._emit_colour)
        og.addWidget(self.colour, 2, 1)
        self.coded = QCheckBox("Show as coded (16 px blocks)")
        self.coded.setToolTip(
            "The codec decides object / background per 16×16 block "
            "(a block is object when at least 16 of its 256 pixels are). This shows "
            "what the encoder will really use."
        )
        self.coded.toggled.connect(self.coded_view_changed)
        og.addWidget(self.coded, 3, 0, 1, 2)
        lay.addWidget(overlay)

        mask = QGroupBox("Mask")
        mg = QGridLayout(mask)
        names = ("predict", "refine_all", "invert", "clear", "import_mask", "export_mask")
        for i, name in enumerate(names):
            mg.addWidget(_tool_button(actions[name]), i // 2, i % 2)
        mg.addWidget(QLabel("Predict with"), 3, 0)
        self.method = QComboBox()
        for key, label in METHOD_LABELS.items():
            self.method.addItem(label, key)
        mg.addWidget(self.method, 3, 1)
        lay.addWidget(mask)

        self.coverage = QLabel("")
        self.coverage.setObjectName("hint")
        self.coverage.setWordWrap(True)
        lay.addWidget(self.coverage)
        lay.addStretch(1)

    # -- brush size, kept in sync both ways -----------------------------------------------
    def set_brush_size(self, size: int) -> None:
        """Show the brush diameter (screen pixels)."""
        for w, v in ((self.size_spin, size), (self.size_slider, min(size, self.size_slider.maximum()))):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self._brush_screen = size
        self._show_image_size()

    def set_view_scale(self, scale: float) -> None:
        """The canvas zoom changed: the brush covers a different number of image pixels."""
        self._view_scale = max(scale, 1e-9)
        self._show_image_size()

    def _show_image_size(self) -> None:
        px = self._brush_screen / self._view_scale
        self.size_image.setText(
            f"on screen · {px:.0f} px in the image at {self._view_scale * 100:.0f} %"
            if px >= 10
            else f"on screen · {px:.1f} px in the image at {self._view_scale * 100:.0f} %"
        )

    def _size_from_slider(self, v: int) -> None:
        self.set_brush_size(v)
        self.brush_size_changed.emit(v)

    def _size_from_spin(self, v: int) -> None:
        self.set_brush_size(v)
        self.brush_size_changed.emit(v)

    def _emit_colour(self, *_) -> None:
        self.colour_changed.emit(tuple(self.colour.currentData()))

    def set_colour_name(self, name: str) -> None:
        i = self.colour.findText(name)
        if i >= 0:
            self.colour.setCurrentIndex(i)

    def colour_name(self) -> str:
        return self.colour.currentText()

    def set_opacity(self, opacity: float) -> None:
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(opacity * 100))
        self.opacity.blockSignals(False)

    # -- segmentation methods -------------------------------------------------------------
    def set_methods(self, methods: list[str]) -> None:
        current = self.method.currentData()
        self.method.clear()
        for key in methods:
            self.method.addItem(METHOD_LABELS.get(key, key), key)
        i = self.method.findData(current)
        self.method.setCurrentIndex(max(0, i))

    def chosen_method(self) -> str:
        return self.method.currentData() or "auto"

    def set_coverage(self, fraction: float | None, coded: float | None = None) -> None:
        if fraction is None:
            self.coverage.setText("")
            return
        text = f"Object: {fraction * 100:.1f} % of the image"
        if coded is not None:
            text += f"\nAs coded (16 px blocks): {coded * 100:.1f} %"
        self.coverage.setText(text)
