"""Shared constants and helpers of the GUI tests (importable from test modules, unlike conftest)."""

from PySide6.QtCore import QPoint, QPointF, Qt

#: generous guard against a hang in waitSignal — not a performance limit
WAIT_MS = 600_000

#: how many times answer_box looks for the message box (every 20 ms) before giving up
ANSWER_TRIES = 3000


def button_text(button) -> str:
    """A button's text as the user reads it ('Encode && save' → 'Encode & save')."""
    return button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")


def answer_box(answer: str, seen: list | None = None) -> None:
    """Click the button labelled ``answer`` in the next modal message box, as a user would.

    Call it just before the action that opens the box (``exec()`` blocks the test); the box's
    text and informative text are appended to ``seen``.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    tries = [0]

    def look() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            for b in box.buttons():
                if button_text(b) == answer:
                    if seen is not None:
                        seen.append(f"{box.windowTitle()}\n{box.text()}\n{box.informativeText()}")
                    b.click()
                    return
            names = [button_text(b) for b in box.buttons()]
            box.reject()  # never leave a modal box open: the test would wait forever
            raise AssertionError(f"no button {answer!r} in {names} ({box.text()!r})")
        tries[0] += 1
        if tries[0] < ANSWER_TRIES:
            QTimer.singleShot(20, look)

    QTimer.singleShot(0, look)


def widget_point(canvas, x: float, y: float) -> QPoint:
    """The widget position of image pixel (x, y) on a canvas or view."""
    return canvas.to_widget(QPointF(x, y)).toPoint()


def drag(qtbot, canvas, points, button=Qt.MouseButton.LeftButton) -> None:
    """Press at the first image point, move through the rest, release at the last."""
    qtbot.mousePress(canvas, button, pos=widget_point(canvas, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(canvas, widget_point(canvas, *p))
    qtbot.mouseRelease(canvas, button, pos=widget_point(canvas, *points[-1]))
