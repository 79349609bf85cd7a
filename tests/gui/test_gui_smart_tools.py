"""Click to segment, polygon, scissors, the outside-clearing smart box and brush resizing, driven
with the mouse on the real canvas of the real window (fake worker tasks; the tools themselves are
the real obic_core ones, run in the GUI process)."""

from __future__ import annotations

import numpy as np
from guitest import WAIT_MS
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from obic_gui.widgets.canvas import Tool

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE = Qt.KeyboardModifier.NoModifier


def at(canvas, x: float, y: float) -> QPoint:
    return canvas.to_widget(QPointF(x, y)).toPoint()


def click(qtbot, canvas, x, y, button=LEFT, modifier=NONE) -> None:
    qtbot.mouseClick(canvas, button, modifier, at(canvas, x, y))


def disc_of(photo: np.ndarray) -> np.ndarray:
    """The photo fixture's bright disc (radius 30 at (80, 60))."""
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    return (yy - 60) ** 2 + (xx - 80) ** 2 < 30**2


def iou(a, b) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_click_to_segment_left_right_and_shift_each_one_undo_step(qtbot, window, photo):
    doc, canvas = window.doc, window.canvas
    window.actions["tool_click"].trigger()
    assert canvas.tool == Tool.CLICK
    disc = disc_of(photo)
    start = doc.mask.copy()  # the fake prediction: an ellipse larger than the disc
    steps = doc.undo_stack.count()

    click(qtbot, canvas, 36, 60, RIGHT)  # "this is not object": the band left of the disc
    after = doc.mask.copy()
    assert not after[60, 36] and (after <= start).all(), "a right click only removes"
    assert iou(after, disc) > iou(start, disc) + 0.05
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Click: not object"

    click(qtbot, canvas, 80, 60, LEFT)  # already object: nothing to do, and no empty undo step
    assert doc.undo_stack.count() == steps + 1

    click(qtbot, canvas, 8, 110, LEFT, Qt.KeyboardModifier.ShiftModifier)  # a new object region
    assert doc.mask[110, 8] and not start[110, 8]
    assert doc.undo_stack.count() == steps + 2 and doc.undo_stack.undoText() == "Click: new object"

    window.undo_action.trigger()
    assert np.array_equal(doc.mask, after)
    window.undo_action.trigger()
    assert np.array_equal(doc.mask, start)
    click(qtbot, canvas, 36, 60, RIGHT)  # after undo the old seeds are gone; the click works again
    assert np.array_equal(doc.mask, after)


def test_polygon_double_click_closes_esc_cancels_backspace_takes_back(qtbot, window):
    doc, canvas = window.doc, window.canvas
    window.actions["tool_polygon"].trigger()
    canvas.setFocus()
    start = doc.mask.copy()
    steps = doc.undo_stack.count()
    for x, y in ((4, 4), (40, 4), (40, 18)):
        click(qtbot, canvas, x, y)
    assert canvas.smart.in_progress and np.array_equal(doc.mask, start), "nothing is filled before closing"
    qtbot.mouseDClick(canvas, LEFT, NONE, at(canvas, 4, 18))
    assert not canvas.smart.in_progress
    assert doc.mask[5:17, 5:39].all() and not start[5:17, 5:39].any()
    assert np.array_equal(doc.mask[30:], start[30:]), "nothing outside the polygon changed"
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Polygon"
    filled = doc.mask.copy()

    # Esc cancels the polygon being drawn (and not a job: the window's Esc shortcut stays out of it)
    click(qtbot, canvas, 100, 100)
    click(qtbot, canvas, 150, 100)
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert not canvas.smart.in_progress and np.array_equal(doc.mask, filled)

    # right button: the polygon removes; Backspace took back the stray last corner
    for x, y in ((60, 50), (100, 50), (100, 70), (150, 115)):
        click(qtbot, canvas, x, y, RIGHT)
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    qtbot.mouseDClick(canvas, RIGHT, NONE, at(canvas, 60, 70))
    assert not doc.mask[52:68, 62:98].any(), "the rectangle was cut out of the object"
    assert doc.mask[80, 80] == filled[80, 80] and doc.mask[110, 140] == filled[110, 140]
    assert doc.undo_stack.undoText() == "Polygon (remove)" and doc.undo_stack.count() == steps + 2
    window.undo_action.trigger()
    assert np.array_equal(doc.mask, filled)


def test_scissors_outline_follows_the_edge_and_is_one_undo_step(qtbot, window, photo):
    doc, canvas = window.doc, window.canvas
    window.actions["clear"].trigger()
    window.actions["tool_scissors"].trigger()
    steps = doc.undo_stack.count()
    # four clicks roughly on the disc's rim; the live wire bends along it in between
    for x, y in ((80, 31), (109, 60), (80, 89), (51, 60)):
        click(qtbot, canvas, x, y)
    assert canvas.smart.in_progress and not doc.mask.any()
    click(qtbot, canvas, 80, 31)  # back on the first point: closes
    assert not canvas.smart.in_progress
    disc = disc_of(photo)
    assert iou(doc.mask, disc) > 0.9, "the outline followed the disc's edge (a 4-point polygon would be ~0.64)"
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Scissors"
    window.undo_action.trigger()
    assert not doc.mask.any()


def test_smart_box_clears_outside_when_it_is_the_first_edit(qtbot, window):
    doc, canvas = window.doc, window.canvas
    start = doc.mask.copy()
    assert doc.undo_stack.index() == 0 and start[60, 30], "the prediction reaches left of the box"
    window.actions["tool_rect"].trigger()

    def box(p0, p1):
        with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
            qtbot.mousePress(canvas, LEFT, NONE, at(canvas, *p0))
            qtbot.mouseMove(canvas, at(canvas, (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2))
            qtbot.mouseMove(canvas, at(canvas, *p1))
            qtbot.mouseRelease(canvas, LEFT, NONE, at(canvas, *p1))

    box((60, 40), (100, 80))  # the first edit: the box says where the object is
    outside = np.ones_like(start)
    outside[38:82, 58:102] = False  # the box, give or take the pointer's rounding
    assert doc.mask[41:79, 61:99].all() and not doc.mask[outside].any()
    assert not doc.mask[60, 30], "the predicted pixels outside the box are gone"
    assert doc.undo_stack.undoText() == "Smart box (clears outside)" and doc.undo_stack.count() == 1
    first = doc.mask.copy()

    box((10, 90), (40, 115))  # not the first edit any more: the outside is kept
    assert doc.mask[60, 80] and doc.mask[100, 25]
    assert doc.undo_stack.undoText() == "Smart box" and doc.undo_stack.count() == 2
    window.undo_action.trigger()
    assert np.array_equal(doc.mask, first)
    window.undo_action.trigger()
    assert np.array_equal(doc.mask, start)

    options = window.tools.smart_options.box_mode  # "Always clear": even after other edits
    options.setCurrentIndex(options.findData("clear"))
    window.actions["invert"].trigger()
    box((10, 90), (40, 115))
    assert doc.mask[100, 25] and not doc.mask[20, 150] and not doc.mask[60, 80]


def test_alt_wheel_and_ctrl_drag_resize_the_brush_without_painting(qtbot, window):
    doc, canvas = window.doc, window.canvas
    window.actions["tool_brush"].trigger()
    canvas.set_brush_size(20)
    before, steps = doc.mask.copy(), doc.undo_stack.count()
    scale = canvas.scale
    pos = QPointF(at(canvas, 20, 100))

    def wheel(delta: int, modifiers) -> None:
        QApplication.sendEvent(
            canvas,
            QWheelEvent(
                pos,
                canvas.mapToGlobal(pos),
                QPoint(0, 0),
                QPoint(0, delta),
                Qt.MouseButton.NoButton,
                modifiers,
                Qt.ScrollPhase.NoScrollPhase,
                False,
            ),
        )

    wheel(240, Qt.KeyboardModifier.AltModifier)
    assert canvas.brush_size == 29 and window.tools.size_spin.value() == 29  # 20 → 24 → 29
    wheel(-120, Qt.KeyboardModifier.AltModifier)
    assert canvas.brush_size == 24
    assert canvas.scale == scale, "Alt+wheel resizes the brush instead of zooming"

    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.mousePress(canvas, LEFT, ctrl, pos.toPoint())
    qtbot.mouseMove(canvas, pos.toPoint() + QPoint(35, 0))
    qtbot.mouseRelease(canvas, LEFT, ctrl, pos.toPoint() + QPoint(35, 0))
    assert canvas.brush_size == 42  # 35 px right = 3 steps of 20 %: 24 → 29 → 35 → 42
    qtbot.mousePress(canvas, LEFT, ctrl, pos.toPoint())
    qtbot.mouseMove(canvas, pos.toPoint() - QPoint(25, 0))
    qtbot.mouseRelease(canvas, LEFT, ctrl, pos.toPoint() - QPoint(25, 0))
    assert canvas.brush_size == 29  # 25 px left = 2 steps down: 42 → 35 → 29
    assert np.array_equal(doc.mask, before) and doc.undo_stack.count() == steps, "resizing painted nothing"
    wheel(120, NONE)
    assert canvas.scale > scale, "the plain wheel still zooms"


def test_edge_snapping_brush_stops_at_the_object_edge(qtbot, window, photo):
    doc, canvas = window.doc, window.canvas
    window.actions["clear"].trigger()
    window.actions["tool_brush"].trigger()
    window.tools.smart_options.edge_brush.setChecked(True)
    canvas.set_brush_size(round(30 * canvas.scale))  # 30 image px across
    steps = doc.undo_stack.count()
    qtbot.mousePress(canvas, LEFT, NONE, at(canvas, 70, 80))
    qtbot.mouseMove(canvas, at(canvas, 80, 80))
    qtbot.mouseMove(canvas, at(canvas, 90, 80))
    qtbot.mouseRelease(canvas, LEFT, NONE, at(canvas, 90, 80))
    disc = disc_of(photo)
    yy, xx = np.mgrid[: disc.shape[0], : disc.shape[1]] + 0.5
    capsule = (yy - 80) ** 2 + (xx - np.clip(xx, 70, 90)) ** 2 <= 15**2  # what a plain stroke covers
    assert (capsule & ~disc).sum() > 150, "a plain stroke this wide would spill below the disc"
    assert (doc.mask & ~disc).sum() < 15, "the edge brush stopped at the disc's edge"
    assert (doc.mask & disc).sum() > 0.85 * (capsule & disc).sum()
    assert doc.undo_stack.count() == steps + 1, "still one undo step per stroke"

    window.tools.smart_options.edge_brush.setChecked(False)  # the plain brush again
    qtbot.mousePress(canvas, LEFT, NONE, at(canvas, 80, 100))
    qtbot.mouseRelease(canvas, LEFT, NONE, at(canvas, 80, 100))
    assert doc.mask[100, 80] and doc.mask[100, 72] and not disc[100, 80]
