"""A 0–100 slider for a quality q ∈ [0, 1], shared by the rate panel and the quality panel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QWidget


class QSlider01(QWidget):
    """A title, a 0–100 slider for q ∈ [0, 1] and its value; ``changed`` while dragging."""

    changed = Signal(float)

    def __init__(self, title: str, q: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(1)
        self.title = QLabel(title)
        self.value = QLabel()
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setPageStep(5)
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.value, 0, 1)
        grid.addWidget(self.slider, 1, 0, 1, 2)
        self.slider.valueChanged.connect(self._on_value)
        self.set_quality(q)
        self._show(self.slider.value())

    def quality(self) -> float:
        return self.slider.value() / 100.0

    def set_quality(self, q: float, quiet: bool = False) -> None:
        self.slider.blockSignals(quiet)
        self.slider.setValue(round(max(0.0, min(1.0, q)) * 100))
        self.slider.blockSignals(False)
        self._show(self.slider.value())

    def _show(self, v: int) -> None:
        self.value.setText(f"<b>{v / 100:.2f}</b>")

    def _on_value(self, v: int) -> None:
        self._show(v)
        self.changed.emit(v / 100.0)
