"""What is on screen is right and current (issue 13, section 3), on the fast fake tasks.

The items that depend on the real codec (the reference of an opened .obic, real sizes and
quality settings, HEVC's note) are checked in test_gui_real.py.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from guitest import WAIT_MS
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QFontMetrics, QImage
from PySide6.QtWidgets import QApplication, QLabel

from obic_gui.main_window import TAB_COMPARE, TAB_EDIT, TAB_STATS
from obic_gui.quality import SAME_SIZE_TOLERANCE, RateSettings


def encode(qtbot, window, settings: RateSettings | None = None) -> None:
    if settings is not None:
        window.rate.set_settings(settings)
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        qtbot.mouseClick(window.rate.encode_button, Qt.MouseButton.LeftButton)


def visible_texts(widget) -> list[str]:
    return [lab.text() for lab in widget.findChildren(QLabel) if lab.isVisibleTo(widget) and lab.text()]


def table_row(stats, codec_text: str) -> dict[str, str]:
    """One row of the Statistics table by column title ("Quality…" columns also as "Quality")."""
    t = stats.table
    header = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    header = ["Quality" if h.startswith("Quality") else h for h in header]
    for r in range(t.rowCount()):
        if t.item(r, 0).text().startswith(codec_text):
            return {h: t.item(r, c).text() for c, h in enumerate(header)}
    raise AssertionError(f"no row {codec_text!r}")


# ---------------------------------------------------------------------------------------- status bar
def test_status_bar_shows_the_compare_views_zoom_on_the_compare_tab(qtbot, window):
    encode(qtbot, window)
    window.canvas.zoom_by(1.03)  # the canvas at some zoom of its own
    canvas_text = window.status_zoom.text()
    window.tabs.setCurrentIndex(TAB_COMPARE)
    qtbot.wait(10)
    view = window.compare.grid_views[1]
    view.zoom_by(3.5 / view.scale)  # the compare views at 350 %
    assert window.status_zoom.text() == "Zoom 350 %"
    window.resize(window.width() - 40, window.height())  # the hidden canvas refits itself...
    QApplication.processEvents()
    assert window.status_zoom.text() == "Zoom 350 %", "...and must not overwrite the compare zoom"
    qtbot.mouseMove(view, QPoint(view.width() // 2, view.height() // 2))
    assert "object" not in window.status_cursor.text(), "no canvas cursor text on the Compare tab"
    window.compare.set_split_mode(True)
    qtbot.wait(10)
    assert window.status_zoom.text() == f"Zoom {window.compare.split_view.scale * 100:.0f} %"
    window.tabs.setCurrentIndex(TAB_EDIT)
    assert window.status_zoom.text() == f"Zoom {window.canvas.scale * 100:.0f} %" != ""
    assert canvas_text.startswith("Zoom")


# ---------------------------------------------------------------------------------------- leaks
def test_a_failed_open_leaves_no_error_text_after_a_good_one(qtbot, window, tmp_path, photo):
    from obic_core.imageio import write_png

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    with qtbot.waitSignal(window.error_shown, timeout=WAIT_MS) as blocker:
        window.open_path(str(bad))
    title = blocker.args[0]
    good = tmp_path / "good.png"
    write_png(good, photo)
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.open_path(str(good))
    shown = visible_texts(window.rate) + [window.statusBar().currentMessage()]
    assert not any(title in t for t in shown), f"{title!r} still shown: {shown}"


def test_opening_an_obic_clears_the_previous_encode(qtbot, window, tmp_path):
    encode(qtbot, window)
    assert window.rate.stage.text().startswith("Done")
    path = tmp_path / "fake.obic"
    path.write_bytes(window.doc.obic_data)
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(str(path))
    assert window.doc.is_obic
    texts = visible_texts(window.rate)
    assert not any(t.startswith("Done") for t in texts), texts
    assert not window.rate.summary.text() and not window.rate.used.isVisible()
    assert window.stats.table.rowCount() == 1, "only the opened file's own row"


def test_the_rd_plot_forgets_the_previous_images_axes(qtbot, window, tmp_path, photo):
    from obic_core.imageio import write_png

    window.tabs.setCurrentIndex(TAB_STATS)
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=lambda i, r: i.tag == "sweep"):
        window.run_sweep()
    window.stats.flush()
    window.stats.rd_plot.grab()  # pyqtgraph fits its range when it paints
    (x0, x1), (y0, y1) = window.stats.rd_rate_range(), window.stats.rd_plot.getViewBox().viewRange()[1]
    assert x1 > 0.7 and y1 > 34, "the sweep's points are in view"
    other = tmp_path / "other.png"
    write_png(other, photo[::-1].copy())
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.open_path(str(other))
    window.stats.flush()
    window.stats.rd_plot.grab()
    (a0, a1), (b0, b1) = window.stats.rd_rate_range(), window.stats.rd_plot.getViewBox().viewRange()[1]
    assert (a0, a1, b0, b1) != pytest.approx((x0, x1, y0, y1), rel=0.02), "the previous image's axes stayed"
    assert not window.stats.rd_plot.getPlotItem().listDataItems()
    assert not window.stats.legend_entries()


# ---------------------------------------------------------------------------------------- same bitrate
def test_size_misses_are_flagged_in_grid_split_and_table(qtbot, window):
    encode(qtbot, window, RateSettings(0.75, 0.25, None, "auto", ("obic-single", "webp", "jpeg")))
    out = window.doc.outcome
    obic, webp, jpeg = out.figure("obic"), out.figure("webp"), out.figure("jpeg")
    gap = webp.bytes / obic.bytes - 1
    assert gap < -SAME_SIZE_TOLERANCE < jpeg.bytes / obic.bytes - 1, "the fakes: WebP misses, JPEG does not"
    captions = {e.key: e.caption for e in window.compare.entries}
    assert "⚠" in captions["webp"] and f"{abs(gap) * 100:.0f} % smaller" in captions["webp"]
    assert "⚠" not in captions["jpeg"] and "⚠" not in captions["obic"] and "⚠" not in captions["obic-single"]
    window.tabs.setCurrentIndex(TAB_COMPARE)
    hint = window.compare.flag_hint
    assert hint.isVisible() and f"±{SAME_SIZE_TOLERANCE * 100:.0f} %" in hint.text(), "the grid states the tolerance"
    window.compare.set_split_mode(True)
    window.compare.right_combo.setCurrentIndex(window.compare.right_combo.findData("webp"))
    assert "⚠" in window.compare.right_caption.text()
    row = table_row(window.stats, "WebP")
    assert "⚠" in row["Codec"] and "⚠" in row["Size vs OBIC"]
    assert row["Size vs OBIC"].startswith(f"−{abs(gap) * 100:.1f} %")
    assert "⚠" not in table_row(window.stats, "JPEG")["Size vs OBIC"]
    assert f"±{SAME_SIZE_TOLERANCE * 100:.0f} %" in window.stats.flag_note.text(), "the tolerance is stated"


# ---------------------------------------------------------------------------------------- qualities
def test_target_mode_shows_the_qualities_actually_used(qtbot, window):
    from gui_fake_tasks import TARGET_SHIFT

    encode(qtbot, window, RateSettings(0.9, 0.2, 0.25, "auto", ("obic-single", "jpeg")))
    used_obj, used_bkg = 0.9 - TARGET_SHIFT, 0.2 - TARGET_SHIFT
    assert window.rate.object_q.quality() == 0.9, "the sliders keep the user's setting"
    shown = [t for t in visible_texts(window.rate) if f"{used_obj:.2f}" in t and f"{used_bkg:.2f}" in t]
    assert shown, "the Encode panel shows the qualities the target search chose"
    assert "0.250 bpp" in shown[0]
    row = table_row(window.stats, "OBIC")
    assert row["Quality"] == f"obj {used_obj:.2f} · bkg {used_bkg:.2f} (0–1)"


def test_quality_column_gives_every_scale(qtbot, window):
    encode(qtbot, window, RateSettings(0.75, 0.25, None, "auto", ("obic-single", "jpeg")))
    assert table_row(window.stats, "JPEG")["Quality"] == "42 / 100"
    assert table_row(window.stats, "OBIC single layer")["Quality"] == "q 0.42 (0–1)"
    assert "0–100" in window.stats.flag_note.text() and "[0, 1]" in window.stats.flag_note.text()
    assert "heif_bpp" not in window.stats.notes.text() + window.stats.flag_note.text()


# ---------------------------------------------------------------------------------------- stale
def test_a_mask_edit_says_stale_on_the_image_tab_too(qtbot, window):
    encode(qtbot, window)
    window.tabs.setCurrentIndex(TAB_EDIT)
    canvas = window.canvas
    a, b = canvas.to_widget(QPointF(10, 10)).toPoint(), canvas.to_widget(QPointF(60, 12)).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    assert window.doc.stale
    assert not window.rate.stage.text().startswith("Done"), "the Image & mask tab still says Done"
    assert window.rate.stale.isVisible(), "the Encode panel beside the mask says the results are old"
    encode(qtbot, window)
    assert not window.rate.stale.isVisible() and window.rate.stage.text().startswith("Done")


# ---------------------------------------------------------------------------------------- big photos
def test_opening_a_big_photo_does_no_pixel_work_on_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    """48 MP froze the window for 1.7 s: the overlay, the coverage and a copy of the photo ran
    on the GUI thread. Every per-pixel pass over a big image must run elsewhere."""
    from obic_core.imageio import write_png
    from obic_gui import mask_ops
    from obic_gui.widgets import canvas as canvas_module

    h, w = 2000, 3000  # 6 MP: above the size where the work leaves the GUI thread
    yy, xx = np.mgrid[:h, :w]
    path = tmp_path / "big.png"
    write_png(path, np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8))
    on_gui: list[str] = []
    calls: list[str] = []

    def watch(module, name):
        real = getattr(module, name)

        def wrapper(arr, *args, **kwargs):
            calls.append(name)
            if threading.current_thread() is threading.main_thread() and np.asarray(arr).size >= 1_000_000:
                on_gui.append(name)
            return real(arr, *args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for name in ("overlay_bgra", "coded_mask", "edges", "coverage"):
        if hasattr(mask_ops, name):
            watch(mask_ops, name)
    watch(canvas_module, "rgb_to_qimage")
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.open_path(str(path))
    doc, canvas = window.doc, window.canvas
    assert doc.image.shape == (h, w, 3)
    assert on_gui == [], f"on the GUI thread: {sorted(set(on_gui))}"
    overlay_ready = lambda: canvas._overlay.shape[:2] == (h, w) and canvas._overlay[h // 2, w // 2, 3] > 0  # noqa: E731
    qtbot.waitUntil(overlay_ready, timeout=WAIT_MS)
    expected = f"Object: {float(doc.mask.mean()) * 100:.1f} %"
    qtbot.waitUntil(lambda: expected in window.tools.coverage.text(), timeout=WAIT_MS)
    assert on_gui == [], f"on the GUI thread: {sorted(set(on_gui))}"
    assert "overlay_bgra" in calls
    assert isinstance(canvas.image(), QImage) and canvas.image().size().width() == w


def test_the_live_size_estimate_of_a_big_photo_runs_no_block_rule_on_the_gui_thread(
    qtbot, window, tmp_path, monkeypatch
):
    """With the Quality panel open, every estimate needs the coded mask: for a big photo the
    block rule must come from the worker (or a per-mask cache), not run on the GUI thread."""
    import obic_core.rules
    from obic_core.imageio import write_png

    h, w = 2000, 3000
    yy, xx = np.mgrid[:h, :w]
    path = tmp_path / "big.png"
    write_png(path, np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8))
    on_gui: list[tuple] = []
    real = obic_core.rules.coded_mask

    def watched(mask, *args, **kwargs):
        if threading.current_thread() is threading.main_thread() and np.asarray(mask).size >= 1_000_000:
            on_gui.append(np.asarray(mask).shape)
        return real(mask, *args, **kwargs)

    monkeypatch.setattr(obic_core.rules, "coded_mask", watched)
    for name, module in list(sys.modules.items()):  # and every GUI module that imported it by name
        if name.startswith("obic_gui") and getattr(module, "coded_mask", None) is real:
            monkeypatch.setattr(module, "coded_mask", watched)
    window.quality.dock.show()
    window.quality.dock.raise_()
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.open_path(str(path))
    est = window.quality.estimator
    qtbot.waitUntil(lambda: est.enabled and est.up_to_date, timeout=WAIT_MS)
    assert est.last is not None and est.last.shares
    for s in (RateSettings(0.6, 0.3, None, "cpu", ()), RateSettings(0.7, 0.2, None, "cpu", ())):
        window.rate.set_settings(s)
        qtbot.waitUntil(lambda: est.up_to_date, timeout=WAIT_MS)
    assert on_gui == [], f"the block rule ran on the GUI thread for {on_gui}"


def test_the_brush_is_sized_in_screen_pixels(qtbot, window):
    canvas, doc = window.canvas, window.doc
    window.actions["clear"].trigger()
    canvas.set_brush_size(40)
    for zoom in (0.5, 2.0):
        canvas.actual_size()
        canvas.zoom_by(zoom)
        window.actions["clear"].trigger()
        centre = canvas.to_widget(QPointF(80, 60)).toPoint()
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)
        cols = np.flatnonzero(doc.mask[60])
        width_screen = (cols[-1] - cols[0] + 1) * canvas.scale
        assert abs(width_screen - 40) <= 2 * canvas.scale + 1, f"{width_screen:.1f} screen px at {canvas.scale}"
        assert f"{40 / canvas.scale:.0f} px in the image" in window.tools.size_image.text(), "both sizes shown"


# ---------------------------------------------------------------------------------------- layout
def test_compare_tiles_line_up_when_captions_differ_in_height(qtbot):
    from obic_gui.widgets.compare_view import CompareEntry, CompareView

    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    img = QImage(64, 48, QImage.Format.Format_RGB888)
    img.fill(Qt.GlobalColor.gray)
    entries = [
        CompareEntry("original", "Original", img, "<b>Original</b><br>uncompressed"),
        CompareEntry("obic", "OBIC", img, "<b>OBIC</b><br>PSNR …"),
        CompareEntry("webp", "WebP", img, "<b>WebP</b><br>PSNR …<br>⚠ 31 % smaller than the OBIC file"),
        CompareEntry("jpeg", "JPEG", img, "<b>JPEG</b><br>PSNR …"),
        CompareEntry("hevc", "HEVC", img, "<b>HEVC</b><br>PSNR …"),
        CompareEntry("avif", "AVIF", img, "<b>AVIF</b><br>PSNR …<br>⚠ 12 % larger than the OBIC file"),
    ]
    view.set_entries(entries)
    view.show()
    qtbot.waitExposed(view)
    QApplication.processEvents()
    views = view.grid_views
    rows = [views[:3], views[3:]]
    for row in rows:
        tops = {v.mapTo(view, QPoint(0, 0)).y() for v in row}
        heights = {v.height() for v in row}
        assert len(tops) == 1 and len(heights) == 1, f"tops {tops}, heights {heights}"


def test_bits_per_layer_labels_do_not_touch(qtbot, window):
    encode(qtbot, window)
    window.tabs.setCurrentIndex(TAB_STATS)
    window.stats.flush()
    QApplication.processEvents()
    plot = window.stats.bits_plot
    vb = plot.getViewBox()
    for side in ("left", "bottom"):
        ax = plot.getAxis(side)
        levels = getattr(ax, "_tickLevels", None)
        if not levels:
            continue
        ticks = sorted(levels[0])
        fm = QFontMetrics(ax.style.get("tickFont") or ax.font())
        rects = []
        for value, label in ticks:
            lines = label.split("\n")
            p = vb.mapViewToScene(QPointF(value, value))
            if side == "bottom":
                half = max(fm.horizontalAdvance(s) for s in lines) / 2
                rects.append((p.x() - half, p.x() + half))
            else:
                half = len(lines) * fm.lineSpacing() / 2
                rects.append((p.y() - half, p.y() + half))
        rects.sort()
        gaps = [b[0] - a[1] for a, b in zip(rects, rects[1:], strict=False)]
        assert min(gaps) >= 4, f"{side} axis labels {[t[1] for t in ticks]} touch: gaps {gaps}"


def test_rd_legend_entries_never_wrap(qtbot, window):
    window.rate.set_settings(RateSettings(0.75, 0.25, None, "auto", ("obic-single", "hevc", "webp", "jpeg")))
    encode(qtbot, window)
    window.tabs.setCurrentIndex(TAB_STATS)
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=lambda i, r: i.tag == "sweep"):
        window.run_sweep()
    window.stats.flush()
    QApplication.processEvents()
    labels = [lab for lab in window.stats.rd_legend.findChildren(QLabel) if lab.isVisible()] or [window.stats.rd_legend]
    names = " ".join(lab.text() for lab in labels)
    for codec in ("OBIC", "HEVC (x265)", "WebP", "JPEG", "this"):
        assert codec in names
    for lab in labels:
        one_line = lab.fontMetrics().lineSpacing() * 1.5
        assert not lab.wordWrap() or lab.heightForWidth(lab.width()) < one_line, f"wraps: {lab.text()}"
        assert lab.sizeHint().width() <= lab.width() + 1, f"clipped: {lab.text()}"


# ---------------------------------------------------------------------------------------- drag & drop
def test_drag_enter_rejects_files_the_app_cannot_open(qtbot, window, tmp_path):
    def drag_enter(name: str) -> bool:
        path = tmp_path / name
        path.write_bytes(b"x")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        ev = QDragEnterEvent(
            QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        ev.setAccepted(False)
        window.dragEnterEvent(ev)
        return ev.isAccepted()

    for name in ("notes.txt", "clip.mp4", "archive.zip", "no_suffix"):
        assert not drag_enter(name), f"{name} accepted before the drop"
    for name in ("photo.PNG", "photo.jpg", "scan.tiff", "file.obic"):
        assert drag_enter(name), f"{name} refused"
