"""The bar above the canvas when a .obic file is open: which of its layers to show.

A .obic holds the object and the background as separate sub-streams; decoding only one of
them is the format's point, so the choice sits right above the picture.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QWidget

CHOICES = (
    ("both", "Both layers", ("object", "background")),
    ("object", "Object only", ("object",)),
    ("background", "Background only", ("background",)),
)


class LayersBar(QWidget):
    layers_chosen = Signal(tuple)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.info = QLabel()
        lay.addWidget(self.info)
        lay.addStretch(1)
        lay.addWidget(QLabel("Show"))
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QToolButton] = {}
        for key, label, layers in CHOICES:
            b = QToolButton()
            b.setText(label)
            b.setCheckable(True)
            b.setMinimumWidth(110)
            b.clicked.connect(lambda _=False, ls=layers: self.layers_chosen.emit(ls))
            self.group.addButton(b)
            self.buttons[key] = b
            lay.addWidget(b)
        self.buttons["both"].setChecked(True)

    def set_info(self, text: str) -> None:
        self.info.setText(text)

    def set_available(self, layers: set[str]) -> None:
        self.buttons["object"].setEnabled("object" in layers)
        self.buttons["background"].setEnabled("background" in layers)

    def select(self, key: str) -> None:
        self.buttons[key].setChecked(True)
