"""Work is never lost without a prompt, and Space+drag over the canvas only ever pans
(issue 13, section 2). The encode-and-save prompts run on the real codec in test_gui_real.py;
these use the fast fake tasks."""

from __future__ import annotations

import numpy as np
from guitest import WAIT_MS, answer_box
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QFileDialog


def _point_at(qtbot, widget, pos: QPoint) -> None:
    """Move the pointer over ``widget`` (the window at the screen's corner: offscreen screens are small)."""
    widget.window().move(0, 0)
    QApplication.processEvents()
    assert widget.isVisible(), f"{widget} is not on screen"
    QCursor.setPos(widget.mapToGlobal(pos))
    qtbot.mouseMove(widget, pos)
    under = QApplication.widgetAt(QCursor.pos())
    assert under is widget or widget.isAncestorOf(under), f"the pointer is over {under}, not {widget}"


def _pan_drag(qtbot, canvas, start: QPoint, steps: int = 4) -> None:
    """Press the left button at ``start`` and drag 80 px to the left, as a user does."""
    qtbot.mouseMove(canvas, start)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(canvas, start - QPoint(20 * i, 10 * i))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=start - QPoint(20 * steps, 10 * steps))


def test_space_drag_pans_even_when_a_checkbox_has_the_focus(qtbot, window):
    canvas, doc = window.canvas, window.doc
    canvas.actual_size()
    box = window.rate.codec_boxes["jpeg"]
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # tick it: it takes focus
    assert QApplication.focusWidget() is box
    ticked, mask = box.isChecked(), doc.mask.copy()
    start = canvas.to_widget(QPointF(140, 50)).toPoint()  # background: a drag that paints changes the mask
    assert not doc.mask[50, 140]
    _point_at(qtbot, canvas, start)  # the pointer is over the canvas, the focus still on the box
    centre = canvas.to_image(QPointF(start))
    focused = QApplication.focusWidget()
    qtbot.keyPress(focused, Qt.Key.Key_Space)
    _pan_drag(qtbot, canvas, start)
    qtbot.keyRelease(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert box.isChecked() == ticked, "Space toggled the checkbox"
    assert np.array_equal(doc.mask, mask), f"the drag painted {int((doc.mask != mask).sum())} px"
    moved = canvas.to_image(QPointF(start))
    assert moved.x() > centre.x() + 10 and moved.y() > centre.y() + 5, "the drag panned the view"
    assert not canvas.space_held


def test_space_over_the_canvas_never_toggles_the_focused_checkbox(qtbot, window):
    box = window.rate.codec_boxes["webp"]
    box.setFocus()
    canvas = window.canvas
    _point_at(qtbot, canvas, QPoint(canvas.width() // 3, canvas.height() // 3))
    before = box.isChecked()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)  # tap Space (no drag)
    assert box.isChecked() == before, "Space toggled the checkbox"
    assert not canvas.space_held


def test_space_over_the_canvas_never_presses_the_focused_encode_button(qtbot, window):
    started = []
    window.jobs.started.connect(lambda info: started.append(info.tag))
    button = window.rate.encode_button
    button.setFocus()
    assert QApplication.focusWidget() is button
    canvas = window.canvas
    _point_at(qtbot, canvas, QPoint(canvas.width() // 3, canvas.height() // 3))
    qtbot.keyPress(button, Qt.Key.Key_Space)
    held = canvas.space_held
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    qtbot.wait(50)
    assert "encode" not in started and window.doc.outcome is None, "Space started an encode"
    assert held, "Space over the canvas means pan"


def test_space_elsewhere_keeps_its_meaning(qtbot, window):
    """Away from the canvas Space still ticks the focused checkbox (keyboard users need it)."""
    box = window.tools.show_overlay  # in the left dock: on the small offscreen screen
    box.setFocus()
    _point_at(qtbot, box, QPoint(4, 4))
    before = box.isChecked()
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert box.isChecked() != before and not window.canvas.space_held


def test_an_rd_sweep_is_unsaved_work(qtbot, window, tmp_path, monkeypatch):
    window.ask_before_discard = True
    assert not window.doc.modified and "*" not in window.windowTitle()
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=lambda i, r: i.tag == "sweep"):
        window.stats.sweep_button.click()
    assert window.windowTitle().startswith("synthetic.png*"), "a sweep not exported is unsaved work"
    seen: list[str] = []
    answer_box("Cancel", seen)
    window.close()
    assert window.isVisible(), "Cancel keeps the window open"
    assert "RD sweep" in seen[0]
    out = tmp_path / "stats.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)"))
    answer_box("Save", seen)
    assert window.confirm_discard(), "saving the sweep lets the window close"
    text = out.read_text()
    assert "RD sweep" in text and "obic," in text
    assert not window.doc.modified and "*" not in window.windowTitle()


def test_export_mask_after_a_stale_encode_saves_the_edits_only(qtbot, window, tmp_path):
    """Exporting the mask saves the mask edits; an encode that was never saved stays unsaved."""
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    window.actions["invert"].trigger()
    assert window.export_mask(str(tmp_path / "m.png"))
    assert window.windowTitle().startswith("synthetic.png*"), "the encode is still unsaved"
    assert window.doc.unsaved_work() == ["an encode that is not saved as a .obic file"]
