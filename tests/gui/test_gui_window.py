"""The main window on fake tasks: encode flow, cancel, errors, files, settings, views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from guitest import WAIT_MS
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from obic_gui.main_window import TAB_COMPARE, TAB_STATS, MainWindow
from obic_gui.quality import RateSettings, rate_weight


def test_encode_through_the_worker_fills_compare_and_stats(qtbot, window):
    window.rate.set_settings(RateSettings(0.8, 0.3, None, "auto", ("hevc", "jpeg")))
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        qtbot.mouseClick(window.rate.encode_button, Qt.MouseButton.LeftButton)
    out = window.doc.outcome
    assert [f.codec for f in out.figures] == ["obic", "hevc", "jpeg"]
    assert [e.key for e in window.compare.entries] == ["original", "obic", "hevc", "jpeg"]
    assert len(window.compare.grid_views) == 4
    assert window.stats.table.rowCount() == 3
    assert window.actions["save_obic"].isEnabled()
    assert "a fake note" in window.stats.notes.text()


def test_second_click_does_not_start_a_second_job(qtbot, window):
    started = []
    window.jobs.started.connect(lambda info: started.append(info.tag))
    window.rate.encode_button.click()
    assert not window.rate.encode_button.isEnabled() and window.rate.cancel_button.isEnabled()
    window.encode()  # e.g. Ctrl+Return while the button is disabled
    window.rate.encode_button.click()
    qtbot.waitUntil(lambda: not window.jobs.is_busy("codec"), timeout=WAIT_MS)
    assert started.count("encode") == 1


def slow_encode_kwargs(window) -> dict:
    """A fake encode that runs for a minute unless cancelled (it checks cancel cooperatively)."""
    return dict(
        image=window.doc.image,
        mask=window.doc.mask,
        object_quality=0.5,
        background_quality=0.2,
        target_bpp=None,
        device="cpu",
        codecs=("obic",),
        delay=60.0,
    )


def test_cancel_button_stops_a_running_encode(qtbot, window, monkeypatch):
    kwargs = slow_encode_kwargs(window)  # a slow fake encode (cooperative) started the normal way
    with qtbot.waitSignal(window.jobs.progress, timeout=WAIT_MS):
        window.submit_encode(kwargs)
    window._update_actions()
    assert window.rate.cancel_button.isEnabled()
    with qtbot.waitSignal(window.jobs.cancelled, timeout=WAIT_MS):
        qtbot.mouseClick(window.rate.cancel_button, Qt.MouseButton.LeftButton)
    assert window.rate.stage.text() == "Cancelled"
    assert window.rate.encode_button.isEnabled() and window.doc.outcome is None


def test_escape_cancels(qtbot, window):
    kwargs = slow_encode_kwargs(window)
    with qtbot.waitSignal(window.jobs.progress, timeout=WAIT_MS):
        window.submit_encode(kwargs)
    with qtbot.waitSignal(window.jobs.cancelled, timeout=WAIT_MS):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)


def test_unreadable_image_shows_a_message_not_a_crash(qtbot, window, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    window.show_dialogs = True
    with qtbot.waitSignal(window.error_shown, timeout=WAIT_MS) as blocker:
        window.open_path(str(bad))
    title, message = blocker.args
    assert "broken.png" in message and "Traceback" not in message
    box = window._error_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "broken.png" in box.text()
    box.close()
    assert window.doc.name == "synthetic.png", "the open image is untouched"


def test_quality_sliders_show_the_rate_weight(window):
    window.rate.object_q.set_quality(0.5)
    assert f"{rate_weight(0.5):.2f}" in window.rate.object_q.weight.text()
    window.rate.by_target.setChecked(True)
    assert window.rate.target.isVisible()
    assert window.rate.settings().target_bpp == window.rate.target.value()


def test_settings_are_remembered(qtbot, fake_jobs, settings, window):
    window.rate.set_settings(RateSettings(0.9, 0.1, 0.3, "cpu", ("webp",)))
    window.canvas.set_brush_size(77)
    window.save_settings()
    again = MainWindow(jobs=fake_jobs, settings=settings)
    qtbot.addWidget(again)
    s = again.rate.settings()
    assert (s.object_quality, s.background_quality, s.target_bpp, s.codecs) == (0.9, 0.1, 0.3, ("webp",))
    assert again.canvas.brush_size == 77


def test_recent_files_and_drag_and_drop(qtbot, window, tmp_path, photo):
    from obic_core.imageio import write_png

    path = tmp_path / "dropped.png"
    write_png(path, photo[::-1].copy())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.dropEvent(ev)
    assert window.doc.name == "dropped.png"
    assert window.settings.recent_files()[0] == str(path.resolve())
    assert window.recent_menu.actions()[0].text().endswith("dropped.png")


def test_unsaved_changes_prompt(qtbot, window, monkeypatch, tmp_path):
    window.ask_before_discard = True
    window.actions["invert"].trigger()
    assert window.doc.modified
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Cancel)
    assert window.open_path(str(tmp_path / "other.png")) is False, "Cancel keeps the document"
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Discard)
    assert window.confirm_discard() is True
    window.export_mask(str(tmp_path / "m.png"))
    assert not window.doc.modified, "exporting the mask saves the edits"


def test_mask_export_and_import_round_trip(qtbot, window, tmp_path):
    path = tmp_path / "mask.png"
    original = window.doc.mask.copy()
    assert window.export_mask(str(path))
    window.actions["clear"].trigger()
    assert window.import_mask(str(path))
    assert np.array_equal(window.doc.mask, original)
    assert window.doc.undo_stack.undoText() == "Import mask"
    wrong = tmp_path / "small.png"
    from obic_core.imageio import write_png

    write_png(wrong, np.zeros((5, 5), np.uint8))
    with qtbot.waitSignal(window.error_shown, timeout=WAIT_MS):
        assert not window.import_mask(str(wrong))


def test_compare_views_follow_each_other_and_split(qtbot, window):
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    window.tabs.setCurrentIndex(TAB_COMPARE)
    qtbot.wait(10)
    views = window.compare.grid_views
    views[1].zoom_by(3.0, QPointF(20, 20))

    def centre(v):  # views are kept at the same zoom and centre (cells may differ by a pixel)
        return v.to_image(QPointF(v.width() / 2, v.height() / 2))

    for v in views:
        assert abs(v.scale - views[1].scale) < 1e-9
        assert abs(centre(v).x() - centre(views[1]).x()) < 1e-6
        assert abs(centre(v).y() - centre(views[1]).y()) < 1e-6
    window.compare.set_split_mode(True)
    assert window.compare.stack.currentWidget() is window.compare.split_page
    assert window.compare.left_combo.currentData() == "original"
    assert window.compare.right_combo.currentData() == "obic"
    assert "OBIC" in window.compare.right_caption.text()
    sv = window.compare.split_view
    x = int(sv.width() * sv.split)
    qtbot.mousePress(sv, Qt.MouseButton.LeftButton, pos=QPoint(x, sv.height() // 2))
    qtbot.mouseMove(sv, QPoint(x - 40, sv.height() // 2))
    qtbot.mouseRelease(sv, Qt.MouseButton.LeftButton, pos=QPoint(x - 40, sv.height() // 2))
    assert sv.split < 0.5


def test_tools_dock_gives_way_off_the_image_tab(window):
    assert window.tools_dock.isVisible()
    window.tabs.setCurrentIndex(TAB_STATS)
    assert not window.tools_dock.isVisible()
    window.tabs.setCurrentIndex(0)
    assert window.tools_dock.isVisible()


def test_stats_table_sorts_by_number(qtbot, window):
    from obic_core.results import CompareResult

    figs = [
        CompareResult("a", bpp=0.9, bytes=900, psnr=9.5),
        CompareResult("b", bpp=0.1, bytes=10000, psnr=30.0),
        CompareResult("c", bpp=0.5, bytes=50, psnr=None),
    ]
    window.stats.set_figures(figs)
    t = window.stats.table
    assert [t.item(r, 0).text() for r in range(3)] == ["a", "b", "c"], "insertion order first"
    t.sortItems(1, Qt.SortOrder.AscendingOrder)
    assert [t.item(r, 1).text() for r in range(3)] == ["50", "900", "10,000"]
    t.sortItems(3, Qt.SortOrder.DescendingOrder)
    assert t.item(0, 0).text() == "b"


def test_window_paints_every_tab(qtbot, window):
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        QApplication.processEvents()
        assert not window.grab().isNull()


def test_opening_replaces_the_image_and_drops_old_results(qtbot, window, tmp_path, photo):
    from obic_core.imageio import write_png

    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    p = tmp_path / "second.png"
    write_png(p, np.ascontiguousarray(photo[:, ::-1]))
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.open_path(str(p))
    assert window.doc.outcome is None and window.compare.entries == []
    assert Path(window.doc.path).name == "second.png"


def test_export_reconstructions_writes_pngs(qtbot, window, tmp_path):
    from obic_core.imageio import read_image

    window.rate.set_settings(RateSettings(0.8, 0.3, None, "auto", ("jpeg",)))
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    is_export = lambda info, result: info.tag == "export"  # noqa: E731 (not the PNG-size job)
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=is_export) as blocker:
        window.export_reconstructions(str(tmp_path))
    paths = sorted(Path(p).name for p in blocker.args[1])
    assert len(paths) == 2 and paths[0].startswith("synthetic.jpeg.") and paths[1].startswith("synthetic.obic.")
    for p in blocker.args[1]:
        assert read_image(p).pixels.shape == window.doc.image.shape


def test_stats_plots_are_drawn_when_the_tab_is_shown(qtbot, window):
    import pyqtgraph as pg

    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    bars = lambda: [i for i in window.stats.bits_plot.getPlotItem().items if isinstance(i, pg.BarGraphItem)]  # noqa: E731
    assert not bars(), "not drawn while hidden"
    window.tabs.setCurrentIndex(TAB_STATS)
    qtbot.waitUntil(lambda: bool(bars()), timeout=WAIT_MS)
    lengths = bars()[0].opts["width"]  # horizontal bars: a bar's length is its width
    assert len(lengths) == 6 and lengths[0] == 500 * 8 / 1000  # object latent of the fake layout
    qtbot.waitUntil(lambda: len(window.stats.rd_plot.getPlotItem().listDataItems()) >= 1, timeout=WAIT_MS)


def test_editing_the_mask_during_an_encode_marks_the_results_stale(qtbot, window):
    kwargs = dict(
        image=window.doc.image,
        mask=window.doc.mask.copy(),
        object_quality=0.5,
        background_quality=0.2,
        target_bpp=None,
        device="cpu",
        codecs=("obic", "jpeg"),
        delay=0.5,
    )
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.submit_encode(kwargs)
        window.actions["invert"].trigger()  # while the worker encodes the old mask
    assert window.doc.stale and window.compare.stale.isVisibleTo(window.compare)
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    assert not window.doc.stale and not window.compare.stale.isVisibleTo(window.compare)
