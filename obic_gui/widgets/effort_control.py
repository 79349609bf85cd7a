"""The encode effort control beside the rate panel's qualities: fast / default / max.

``max`` spends encode time refining the latents for the same decoder (the file format and the
meaning of a quality do not change), so it is slower to encode and never slower to decode;
the encode's progress bar and Cancel cover it like any encode.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from obic_gui.quality import EFFORTS

EFFORT_LABELS = {"fast": "Fast", "default": "Default", "max": "Max (slow, smaller file)"}
EFFORT_HINTS = {
    "fast": "Fast: the encoder does no extra work (the same speed as default in the app; the command "
    "line's fast also skips the mask refine).",
    "default": "Default: one pass of the analysis network.",
    "max": "Max: refines the latents with a few dozen gradient steps at the chosen qualities — "
    "several times the encode time, same decoder and decode time. Cancel stops it.",
}


class EffortControl(QWidget):
    """A labelled combo box; ``changed`` carries the effort name."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        grid.addWidget(QLabel("Encoder effort"), 0, 0)
        self.combo = QComboBox()
        for key in EFFORTS:
            self.combo.addItem(EFFORT_LABELS[key], key)
        self.combo.setCurrentIndex(EFFORTS.index("default"))
        self.combo.setToolTip("\n".join(EFFORT_HINTS[k] for k in EFFORTS))
        grid.addWidget(self.combo, 0, 1)
        grid.setColumnStretch(1, 1)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        grid.addWidget(self.hint, 1, 0, 1, 2)
        self.combo.currentIndexChanged.connect(self._on_index)
        self._on_index()

    def value(self) -> str:
        return self.combo.currentData() or "default"

    def set_value(self, effort: str) -> None:
        i = self.combo.findData(effort)
        self.combo.setCurrentIndex(i if i >= 0 else EFFORTS.index("default"))

    def _on_index(self, *_) -> None:
        effort = self.value()
        self.hint.setText(EFFORT_HINTS[effort] if effort != "default" else "")
        self.hint.setVisible(effort != "default")
        self.changed.emit(effort)
