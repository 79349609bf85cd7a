"""The compare view's zoom steps and readout, and the hold-a-key "flash the original".

Artefacts are judged at fixed magnifications (100 % to see what a viewer sees, 2× and 4× to
see the blocks and ringing), so the steps are one click or one key (1, 2, 4; F or 0 fits),
and the readout says which zoom the views on screen are at. Flashing the original in place
— hold \\ or O, release to come back — is the quickest way to see what a codec changed:
the eye catches the difference in the same spot, which two tiles side by side hide.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTextEdit,
    QToolButton,
    QWidget,
)

#: the fixed steps: (button text, scale or None for fit, key hint)
ZOOM_STEPS = (("Fit", None, "F or 0"), ("100 %", 1.0, "1"), ("2×", 2.0, "2"), ("4×", 4.0, "4"))
#: held down, these show the original in every view (O is the mask-overlay key on the image tab)
FLASH_KEYS = (Qt.Key.Key_Backslash, Qt.Key.Key_O)


def zoom_text(scale: float | None, fitted: bool) -> str:
    """'Fit · 53 %' or '200 %' ('' without a picture)."""
    if scale is None:
        return ""
    pct = f"{scale * 100:.0f} %"
    return f"Fit · {pct}" if fitted else pct


class ZoomBar(QWidget):
    """Fit / 100 % / 2× / 4× buttons and the zoom readout of the views on screen."""

    fit_requested = Signal()
    step_requested = Signal(float)  # a scale: 1.0, 2.0, 4.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.readout = QLabel("")
        self.readout.setObjectName("zoomReadout")
        self.readout.setToolTip("Zoom of the views on screen (the grid's views move together)")
        self.readout.setMinimumWidth(self.readout.fontMetrics().horizontalAdvance("Fit · 100 %") + 12)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.readout)
        lay.addSpacing(6)
        self.group = QButtonGroup(self)
        self.group.setExclusive(False)  # no step is "on" at a wheel zoom in between
        self.buttons: dict[str, QToolButton] = {}
        for text, scale, key in ZOOM_STEPS:
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setMinimumWidth(44)
            b.setToolTip(f"{'Fit the image' if scale is None else text} ({key})")
            b.clicked.connect(lambda _=False, s=scale: self._clicked(s))
            self.group.addButton(b)
            self.buttons[text] = b
            lay.addWidget(b)

    def _clicked(self, scale: float | None) -> None:
        if scale is None:
            self.fit_requested.emit()
        else:
            self.step_requested.emit(scale)

    def show_zoom(self, scale: float | None, fitted: bool) -> None:
        """Readout and the step button that matches (none between steps)."""
        self.readout.setText(zoom_text(scale, fitted))
        for text, step, _ in ZOOM_STEPS:
            on = scale is not None and (fitted if step is None else not fitted and abs(scale - step) < 1e-6)
            self.buttons[text].setChecked(on)


class FlashKey(QObject):
    """Holding \\ or O while ``owner`` is on screen calls ``flash(True)``; the release ``flash(False)``.

    An application-wide filter, for two reasons: the release must be seen wherever the
    keyboard focus is (a focused combo or button would swallow a widget's own key handler),
    and O is the window's mask-overlay shortcut: on the Compare tab the key is taken before
    the shortcut can toggle an overlay nobody sees. Typing into a text or number box is left
    alone, and a window losing focus mid-hold ends the flash (its key-up never arrives).
    """

    def __init__(self, owner: QWidget, flash: Callable[[bool], None]) -> None:
        super().__init__(owner)
        self.owner = owner
        self.flash = flash
        self.held = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _applies(self) -> bool:
        owner = self.owner
        if not owner.isVisible() or QApplication.activePopupWidget() is not None:
            return False
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not owner.window():
            return False
        active = QApplication.activeWindow()
        if active is not None and active is not owner.window():
            return False
        focus = QApplication.focusWidget()
        return not isinstance(focus, (QLineEdit, QAbstractSpinBox, QTextEdit))

    def _set(self, held: bool) -> None:
        if held != self.held:
            self.held = held
            self.flash(held)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ApplicationDeactivate:
            self._set(False)
            return False
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if not isinstance(event, QKeyEvent) or event.key() not in FLASH_KEYS:
            return False
        if event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier):
            return False
        if kind == QEvent.Type.KeyRelease:
            if not self.held:
                return False
            if not event.isAutoRepeat():
                self._set(False)
            return True
        if not self.held and not self._applies():
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # "this key is ours": the overlay shortcut does not fire
            return True
        if not event.isAutoRepeat():
            self._set(True)
        return True
