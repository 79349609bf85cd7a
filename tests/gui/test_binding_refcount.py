"""The Qt binding must not corrupt reference counts of None/True/False.

PySide6-Essentials 6.12.0 on CPython < 3.12 drops one reference from ``None`` or a bool on
every Qt call that returns one; after a few thousand mouse moves over the canvas the
interpreter aborts with ``Fatal Python error: none_dealloc``. pyproject excludes that release
where it breaks, and this test turns CI red if any future binding does the same. It runs in a
child interpreter so an abort is reported as a failure, not as a dead test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication, QWidget

    from obic_gui.document import Document
    from obic_gui.widgets.canvas import MaskCanvas

    app = QApplication([])
    plain = QWidget()
    for _ in range(30_000):          # returns None
        plain.update()
    for _ in range(30_000):          # returns a bool
        plain.isVisible()

    doc = Document()
    image = np.zeros((300, 400, 3), np.uint8)
    image[100:200, 150:250] = 200
    doc.open_image(image, "/tmp/refcount.png")
    doc.set_initial_mask(np.zeros((300, 400), bool))
    canvas = MaskCanvas(doc)
    canvas.resize(800, 600)
    canvas.show()
    app.processEvents()

    def send(kind, x, y, buttons):
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        ev = QMouseEvent(kind, QPointF(x, y), QPointF(x, y), button, buttons, Qt.KeyboardModifier.NoModifier)
        canvas.event(ev)

    moves = 0
    left = Qt.MouseButton.LeftButton
    for stroke in range(50):
        send(QEvent.Type.MouseButtonPress, 100, 100 + stroke, left)
        for i in range(100):
            send(QEvent.Type.MouseMove, 100 + (i * 7) % 600, 100 + stroke + (i * 3) % 400, left)
            moves += 1
        send(QEvent.Type.MouseButtonRelease, 700, 100 + stroke, left)
        app.processEvents()
    for i in range(1_000):           # hover moves repaint the brush cursor
        send(QEvent.Type.MouseMove, (i * 5) % 800, (i * 3) % 600, Qt.MouseButton.NoButton)
        moves += 1
    app.processEvents()
    assert doc.mask.any(), "the strokes painted nothing: the events did not reach the canvas"
    print("survived", moves, "mouse moves")
    """
)


def test_binding_survives_many_none_and_bool_returns_and_mouse_moves():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, (
        f"the Qt binding crashed the interpreter (exit {proc.returncode}); a refcount bug like "
        f"PySide6 6.12.0 on CPython < 3.12?\n{proc.stderr[-2000:]}"
    )
    assert "survived 6000 mouse moves" in proc.stdout
