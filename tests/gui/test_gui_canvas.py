"""Mask editing on the canvas: strokes, undo, tools, overlay, zoom (fake tasks, no torch)."""

from __future__ import annotations

import numpy as np
from guitest import WAIT_MS, drag, widget_point
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication


def test_brush_stroke_changes_mask_and_undo_restores_it(qtbot, window):
    doc, canvas = window.doc, window.canvas
    before = doc.mask.copy()
    assert not before[10, 10:150].any()  # the fake mask is an ellipse in the middle
    canvas.set_brush_size(round(6 * canvas.scale))  # 6 image pixels (the size is on screen)
    steps = doc.undo_stack.count()
    drag(qtbot, canvas, [(10, 10), (60, 10), (150, 10)])
    assert doc.mask[10, 12:148].all(), "the stroke painted a continuous line"
    assert doc.undo_stack.count() == steps + 1, "a whole stroke is exactly one undo step"
    assert window.windowTitle().startswith("synthetic.png*")
    window.undo_action.trigger()
    assert np.array_equal(doc.mask, before)
    window.redo_action.trigger()
    assert doc.mask[10, 12:148].all()


def test_undo_redo_keyboard_shortcuts(qtbot, window):
    doc, canvas = window.doc, window.canvas
    before = doc.mask.copy()
    canvas.set_brush_size(round(4 * canvas.scale))  # 4 image pixels (the size is on screen)
    drag(qtbot, canvas, [(5, 100), (40, 100)])
    after = doc.mask.copy()
    assert not np.array_equal(before, after)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.mask, before)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(canvas, Qt.Key.Key_Z, ctrl_shift)
    assert np.array_equal(doc.mask, after)


def test_eraser_right_button_and_fill(qtbot, window):
    doc, canvas = window.doc, window.canvas
    assert doc.mask[60, 80]
    window.actions["tool_eraser"].trigger()
    canvas.set_brush_size(round(10 * canvas.scale))  # 10 image pixels (the size is on screen)
    drag(qtbot, canvas, [(40, 60), (120, 60)])
    assert not doc.mask[60, 50:110].any()
    window.actions["tool_brush"].trigger()
    drag(qtbot, canvas, [(80, 30), (80, 90)], button=Qt.MouseButton.RightButton)  # right = erase
    assert not doc.mask[40:80, 80].any()
    window.actions["tool_fill"].trigger()
    n = doc.undo_stack.count()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 5, 5))
    assert doc.mask[0:5, 0:5].all() and doc.undo_stack.count() == n + 1
    qtbot.mouseClick(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, 5, 5))
    assert not doc.mask[0:5, 0:5].any()


def test_invert_clear_and_predict_again_are_undoable(qtbot, window):
    doc = window.doc
    before = doc.mask.copy()
    window.actions["invert"].trigger()
    assert np.array_equal(doc.mask, ~before)
    window.actions["clear"].trigger()
    assert not doc.mask.any()
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.actions["predict"].trigger()
    assert np.array_equal(doc.mask, before)
    for expected in (np.zeros_like(before), ~before, before):
        window.undo_action.trigger()
        assert np.array_equal(doc.mask, expected)


def test_smart_box_refines_inside_the_rectangle(qtbot, window):
    doc, canvas = window.doc, window.canvas
    window.actions["clear"].trigger()
    window.actions["tool_rect"].trigger()
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        drag(qtbot, canvas, [(20, 20), (50, 40), (70, 60)])
    assert doc.mask[25:55, 25:65].all() and not doc.mask[80:, :].any()
    assert doc.undo_stack.undoText() == "Smart box"


def test_brush_size_keys_and_overlay_toggle(qtbot, window):
    canvas = window.canvas
    canvas.setFocus()
    canvas.set_brush_size(20)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_size == 24 and window.tools.size_spin.value() == 24
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_size < 20
    assert canvas.overlay_visible
    qtbot.keyClick(canvas, Qt.Key.Key_O)
    assert not canvas.overlay_visible and not window.tools.show_overlay.isChecked()
    qtbot.keyClick(canvas, Qt.Key.Key_O)
    assert canvas.overlay_visible


def test_overlay_shows_the_mask(qtbot, window):
    canvas = window.canvas
    canvas.fit()
    img = canvas.grab().toImage()
    centre = canvas.to_widget(QPointF(80, 60)).toPoint()
    corner = canvas.to_widget(QPointF(3, 3)).toPoint()
    tinted, plain = img.pixelColor(centre), img.pixelColor(corner)
    # the object (yellow disc) is tinted cyan: blue rises well above the photo's 40
    assert tinted.blue() > 100
    window.actions["toggle_overlay"].trigger()
    img2 = canvas.grab().toImage()
    assert img2.pixelColor(centre).blue() < 80
    assert abs(img2.pixelColor(corner).red() - plain.red()) <= 2


def test_wheel_zoom_keeps_the_point_under_the_cursor(qtbot, window):
    canvas = window.canvas
    canvas.fit()
    anchor = QPointF(canvas.width() * 0.3, canvas.height() * 0.4)
    before = canvas.to_image(anchor)
    ev = QWheelEvent(
        anchor,
        canvas.mapToGlobal(anchor),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, ev)
    assert canvas.scale > canvas.fit_scale() * 1.5
    after = canvas.to_image(anchor)
    assert abs(after.x() - before.x()) < 1e-6 and abs(after.y() - before.y()) < 1e-6
    window.actions["zoom_100"].trigger()
    assert canvas.scale == 1.0
    window.actions["zoom_fit"].trigger()
    assert canvas.fitted


def test_space_drag_and_middle_button_pan(qtbot, window):
    canvas = window.canvas
    canvas.setFocus()
    canvas.actual_size()
    mask_before = window.doc.mask.copy()
    c0 = canvas.to_image(QPointF(100, 100))
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    drag(qtbot, canvas, [(50, 50), (40, 45), (30, 40)])
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    c1 = canvas.to_image(QPointF(100, 100))
    assert c1.x() > c0.x() and np.array_equal(window.doc.mask, mask_before), "panned, did not paint"
    drag(qtbot, canvas, [(30, 40), (50, 50)], button=Qt.MouseButton.MiddleButton)
    c2 = canvas.to_image(QPointF(100, 100))
    assert c2.x() < c1.x() and np.array_equal(window.doc.mask, mask_before)


def test_single_key_shortcuts_do_not_steal_typing(qtbot, window):
    window.canvas.actual_size()
    window.canvas.zoom_by(2.0)
    scale = window.canvas.scale
    spin = window.tools.size_spin
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "12")
    assert spin.value() == 12 and window.canvas.scale == scale, "typing 1 in a field does not zoom"
    qtbot.keyClick(spin, Qt.Key.Key_O)
    assert window.canvas.overlay_visible
