"""The compare view users expect (issue 17): zoom steps and readout, flash the original,
size captions (bytes, % of PNG, gap to OBIC), live split-side re-encodes that touch one side
only (an HEVC side keeping its chroma), single-side export, HEVC's payload beside its .heic
file, and the RD plot's rate axis. Fast fake tasks, except the last test, which checks the
captions and the table against `obic info --json` and the files on disk (JPEG, and HEVC's
payload, .heic file and chroma) after a real encode with the shipped weights."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import gui_fake_tasks
import numpy as np
import pytest
from guitest import WAIT_MS
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QFileDialog

from obic_gui.main_window import TAB_COMPARE, TAB_STATS
from obic_gui.quality import RateSettings

CODECS = ("obic-single", "webp", "jpeg")


def encode(qtbot, window, codecs=CODECS) -> None:
    """Encode & compare, then wait for the PNG size (it re-captions everything when it lands)."""
    window.rate.set_settings(RateSettings(0.75, 0.25, None, "auto", codecs))
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    wait_png(qtbot, window)


def on_compare_tab(qtbot, window) -> None:
    """The Compare tab on screen and the window active (keys go where a user's would)."""
    window.tabs.setCurrentIndex(TAB_COMPARE)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    QApplication.processEvents()


def wait_png(qtbot, window) -> int:
    qtbot.waitUntil(lambda: window.compare.png_bytes is not None, timeout=WAIT_MS)
    return window.compare.png_bytes


def finished_tag(tag: str):
    return lambda info, result: info.tag == tag


def table_rows(stats) -> dict[str, dict[str, str]]:
    """Rows by codec name; each cell's text by column title, and the Bytes tooltip as "Bytes tip"."""
    t = stats.table
    header = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    rows = {}
    for r in range(t.rowCount()):
        cells = {h: t.item(r, c).text() for c, h in enumerate(header)}
        cells["Bytes tip"] = t.item(r, header.index("Bytes")).toolTip()
        rows[cells["Codec"].replace(" ⚠", "").split(" (")[0]] = cells
    return rows


# ---------------------------------------------------------------------------------------- zoom
def test_zoom_steps_by_button_and_key_with_a_readout(qtbot, window):
    encode(qtbot, window)
    on_compare_tab(qtbot, window)
    c = window.compare
    bar = c.zoom_bar
    views = c.grid_views
    views[0].setFocus()
    assert bar.readout.text().startswith("Fit · ") and bar.buttons["Fit"].isChecked()
    qtbot.mouseClick(bar.buttons["2×"], Qt.MouseButton.LeftButton)
    assert [v.scale for v in views] == [2.0] * len(views), "every grid view follows the step"
    assert bar.readout.text() == "200 %" and bar.buttons["2×"].isChecked() and not bar.buttons["Fit"].isChecked()
    for key, scale, text in ((Qt.Key.Key_4, 4.0, "400 %"), (Qt.Key.Key_1, 1.0, "100 %"), (Qt.Key.Key_2, 2.0, "200 %")):
        qtbot.keyClick(views[0], key)
        assert [v.scale for v in views] == [scale] * len(views), f"key {text}"
        assert bar.readout.text() == text and window.status_zoom.text() == f"Zoom {text}"
    views[1].zoom_by(1.25)  # a wheel zoom between the steps: the readout follows, no step is lit
    assert bar.readout.text() == "250 %" and not any(b.isChecked() for b in bar.buttons.values())
    qtbot.keyClick(views[0], Qt.Key.Key_0)
    assert all(v.fitted for v in views) and bar.readout.text() == f"Fit · {views[0].scale * 100:.0f} %"
    qtbot.keyClick(views[0], Qt.Key.Key_4)
    qtbot.keyClick(views[0], Qt.Key.Key_F)
    assert all(v.fitted for v in views) and bar.buttons["Fit"].isChecked()
    # the split view has its own zoom, and the readout speaks of the layout on screen
    c.set_split_mode(True)
    sv = c.split_view
    sv.setFocus()
    qtbot.keyClick(sv, Qt.Key.Key_4)
    assert sv.scale == 4.0 and bar.readout.text() == "400 %"
    assert all(v.fitted for v in views), "the hidden grid keeps its own zoom"
    c.set_split_mode(False)
    assert bar.readout.text().startswith("Fit · ")


def test_zoom_keys_on_the_image_tab_zoom_the_canvas(qtbot, window):
    window.tabs.setCurrentIndex(0)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    assert window.canvas.scale == 2.0
    qtbot.keyClick(window.canvas, Qt.Key.Key_0)
    assert window.canvas.fitted


# ---------------------------------------------------------------------------------------- flash
def _pixel(view, image_xy: tuple[int, int]) -> QColor:
    """The colour the view paints at an image pixel (4×: one image pixel is 4×4 screen pixels)."""
    p = view.to_widget(QPointF(image_xy[0] + 0.5, image_xy[1] + 0.5)).toPoint()
    return view.grab().toImage().pixelColor(p)


def test_holding_backslash_or_o_shows_the_original_everywhere(qtbot, window):
    encode(qtbot, window)
    on_compare_tab(qtbot, window)
    c = window.compare
    original = c.entries[0].image
    overlay = window.actions["toggle_overlay"].isChecked()
    c.grid_views[1].setFocus()
    for key in (Qt.Key.Key_Backslash, Qt.Key.Key_O):
        qtbot.keyPress(c.grid_views[1], key)
        assert c.flashing and c.flash_hint.isVisible()
        assert all(v.shown_image() is original for v in c.grid_views), "every view shows the original"
        qtbot.keyRelease(c.grid_views[1], key)
        assert not c.flashing and not c.flash_hint.isVisible()
        assert [v.shown_image() for v in c.grid_views] == [e.image for e in c.entries], "release restores"
    assert window.actions["toggle_overlay"].isChecked() == overlay, "O did not toggle the mask overlay"
    # split: both sides show the original, on screen, pixel for pixel
    c.set_split_mode(True)
    sv = c.split_view
    sv.setFocus()
    qtbot.keyClick(sv, Qt.Key.Key_4)
    h, w = window.doc.shape
    right_xy = (int(sv.to_image(QPointF(sv.width() * 0.75, 0)).x()), h // 2)
    assert 0 <= right_xy[0] < w
    obic = window.doc.outcome.figure("obic").image
    assert _pixel(sv, right_xy).getRgb()[:3] == tuple(int(v) for v in obic[right_xy[1], right_xy[0]])
    qtbot.keyPress(sv, Qt.Key.Key_Backslash)
    photo = window.doc.image
    assert _pixel(sv, right_xy).getRgb()[:3] == tuple(int(v) for v in photo[right_xy[1], right_xy[0]])
    assert sv.scale == 4.0, "the flash keeps the zoom"
    qtbot.keyRelease(sv, Qt.Key.Key_Backslash)
    assert _pixel(sv, right_xy).getRgb()[:3] == tuple(int(v) for v in obic[right_xy[1], right_xy[0]])


def test_the_flash_ends_when_the_tab_changes_mid_hold(qtbot, window):
    encode(qtbot, window)
    on_compare_tab(qtbot, window)
    c = window.compare
    c.grid_views[0].setFocus()
    qtbot.keyPress(c.grid_views[0], Qt.Key.Key_Backslash)
    assert c.flashing
    window.tabs.setCurrentIndex(0)
    assert not c.flashing and all(v.shown_image() is v.image() for v in c.grid_views)


# ---------------------------------------------------------------------------------------- captions
def test_captions_give_bytes_share_of_the_png_and_gap_to_obic(qtbot, window):
    from obic_core.imageio import encode_png

    encode(qtbot, window)
    png = wait_png(qtbot, window)
    assert png == len(encode_png(window.doc.image)), "the original's PNG, measured once by obic_core"
    out = window.doc.outcome
    obic = out.figure("obic")
    captions = dict(zip([e.key for e in window.compare.entries], window.compare.grid_captions(), strict=True))
    for f in out.figures:
        text = captions[f.codec].text()
        pct = 100 * f.bytes / png
        assert f"{f.bytes:,} B" in text and f"{f.bpp:.3f} bpp" in text
        assert f"{pct:.{2 if pct < 1 else 1 if pct < 10 else 0}f} % of PNG" in text, text
        gap = 100 * (f.bytes / obic.bytes - 1)
        if f.codec == "obic":
            assert "vs OBIC" not in text and "⚠" not in text
        elif abs(gap) > 5:  # the size flag replaces the gap: WebP is 31 % smaller in the fakes
            assert "⚠" in text and f"{abs(gap):.0f} % smaller than the OBIC file" in text and "vs OBIC" not in text
        else:
            assert f"{gap:+.1f} % vs OBIC".replace("-", "−") in text and "⚠" not in text
    assert f"PNG {png:,} B" in captions["original"].text()
    rows = table_rows(window.stats)
    for f in out.figures:
        from obic_gui.quality import codec_label

        assert rows[codec_label(f.codec)]["Bytes tip"].startswith(f"{100 * f.bytes / png:.2f} % of the original")
    # a split side's own OBIC re-encode is not "the size the others match": it is measured too
    from obic_core.results import CompareResult
    from obic_gui.widgets.compare_view import caption_for

    smaller = caption_for(CompareResult("obic", obic.bpp / 2, obic.bytes // 2), obic.bytes, png)
    assert "50 % smaller than the OBIC file" in smaller and "the size the others match" not in smaller
    # the split sides say the same
    window.compare.set_split_mode(True)
    window.compare.left_combo.setCurrentIndex(window.compare.left_combo.findData("jpeg"))
    assert window.compare.left_caption.text() == captions["jpeg"].text()
    assert window.compare.right_caption.text() == captions["obic"].text()


# ---------------------------------------------------------------------------------------- split sides
def test_a_split_sides_quality_reencodes_that_side_only(qtbot, window):
    encode(qtbot, window)
    on_compare_tab(qtbot, window)
    c = window.compare
    c.set_split_mode(True)
    left = c.side_controls["left"]
    left.combo.setCurrentIndex(left.combo.findData("jpeg"))
    assert left.quality.isEnabled() and left.quality.value() == 42, "the knob shows the quality used"
    grid_images = [e.image for e in c.entries]
    table_before = table_rows(window.stats)
    right_image, right_caption = c.split_view.pair()[1], c.right_caption.text()
    started: list[str] = []
    window.jobs.started.connect(lambda info: started.append(info.tag))
    gui_fake_tasks.SIDE_CALLS.clear()
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
        left.quality.setValue(60)  # one change of the box (arrow keys, typing + Enter)
    assert gui_fake_tasks.SIDE_CALLS == [
        {
            "codec": "jpeg",
            "quality": 60.0,
            "target_bpp": window.doc.outcome.figure("obic").bpp,
            "obic_data": window.doc.outcome.data,  # the encode's file: OBIC's side keeps its painted map
            "chroma": None,  # only an HEVC side has a chroma to keep
        }
    ]
    assert started == ["side"], "no encode & compare, nothing for the other side"
    fig = c.side_figures("left")
    assert fig.bytes == 200 + 10 * 60 and f"{fig.bytes:,} B" in c.left_caption.text()
    assert "this side only" in c.left_caption.text() and "60 / 100" in c.left_caption.text()
    assert c.split_view.pair()[1] is right_image and c.right_caption.text() == right_caption, "the right side stayed"
    assert [e.image for e in c.entries] == grid_images and table_rows(window.stats) == table_before
    # a codec the encode did not include: that side alone, at the OBIC file's rate
    right = c.side_controls["right"]
    c.set_available_codecs(["obic", "obic-single", "hevc", "webp", "jpeg"])
    left_image = c.split_view.pair()[0]
    gui_fake_tasks.SIDE_CALLS.clear()
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
        right.combo.setCurrentIndex(right.combo.findData("hevc"))
    assert [(d["codec"], d["quality"]) for d in gui_fake_tasks.SIDE_CALLS] == [("hevc", None)]
    assert c.side_figures("right").codec == "hevc" and "HEVC" in c.right_caption.text()
    assert c.split_view.pair()[0] is left_image, "the left side stayed"
    assert right.quality.isEnabled() and right.quality.value() == 50


def test_an_hevc_side_keeps_its_chroma_at_a_new_quality(qtbot, window):
    """HEVC at the target tries 4:2:0 and 4:4:4 and keeps the better; a new quality on a split
    side keeps the one chosen for this image (plain HEVC would take 4:2:0), and says which."""
    encode(qtbot, window, ("obic-single", "hevc", "jpeg"))
    c = window.compare
    c.set_split_mode(True)
    left = c.side_controls["left"]
    left.combo.setCurrentIndex(left.combo.findData("hevc"))
    grid = window.doc.outcome.figure("hevc")
    assert grid.extra["chroma"] == gui_fake_tasks.SEARCH_CHROMA == "4:4:4", "the fake search picks 4:4:4"
    assert left.quality_label.text() == "Quality (4:4:4)" and "4:4:4" in left.quality.toolTip()
    assert "chroma 4:4:4" in c.left_caption.text()
    gui_fake_tasks.SIDE_CALLS.clear()
    for q in (30, 55):  # the second change starts from the side's own re-encode
        with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
            left.quality.setValue(q)
        fig = c.side_figures("left")
        assert fig.quality == q and fig.extra["chroma"] == "4:4:4"
        assert "chroma 4:4:4" in c.left_caption.text() and f"{q} / 100" in c.left_caption.text()
        assert left.quality_label.text() == "Quality (4:4:4)"
    assert [(d["codec"], d["quality"], d["chroma"]) for d in gui_fake_tasks.SIDE_CALLS] == [
        ("hevc", 30.0, "4:4:4"),
        ("hevc", 55.0, "4:4:4"),
    ]
    # another codec on that side has no chroma to keep, and its knob says none
    gui_fake_tasks.SIDE_CALLS.clear()
    left.combo.setCurrentIndex(left.combo.findData("jpeg"))
    assert left.quality_label.text() == "Quality" and "chroma" not in c.left_caption.text()
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
        left.quality.setValue(70)
    assert [(d["codec"], d["chroma"]) for d in gui_fake_tasks.SIDE_CALLS] == [("jpeg", None)]


def test_hevc_captions_say_payload_and_the_heic_file_export_writes(qtbot, window, tmp_path, monkeypatch):
    """HEVC counts its payload (parameter sets + slice data, what BPG would store), but Export
    writes the whole .heic file: its caption gives both, so neither looks like a mismatch."""
    encode(qtbot, window, ("obic-single", "hevc", "jpeg"))
    c = window.compare
    hevc = window.doc.outcome.figure("hevc")
    whole = len(hevc.data)
    assert whole == hevc.bytes + gui_fake_tasks.HEIF_BOXES
    captions = dict(zip([e.key for e in c.entries], c.grid_captions(), strict=True))
    text = captions["hevc"].text()
    assert f"{hevc.bytes:,} B HEVC payload · {hevc.bpp:.3f} bpp" in text
    assert f".heic file {whole:,} B with its HEIF boxes · chroma 4:4:4" in text
    assert _caption_bytes(text) == hevc.bytes and _caption_file_bytes(text) == whole
    for key in ("obic", "obic-single", "jpeg"):  # their bytes are their whole file: nothing to add
        assert " file " not in captions[key].text() and "payload" not in captions[key].text()
    rows = table_rows(window.stats)
    assert rows["HEVC"]["Bytes"] == f"{hevc.bytes:,}", "the table counts the payload, like the caption"
    tip = rows["HEVC"]["Bytes tip"]
    assert tip.startswith(f"{100 * hevc.bytes / window.compare.png_bytes:.2f} % of the original")
    assert f"HEVC payload; the .heic file Export writes is {whole:,} B" in tip
    assert "Export writes" not in rows["JPEG"]["Bytes tip"]
    # the split side says the same, and its export is the size the caption gives for the file
    on_compare_tab(qtbot, window)
    c.set_split_mode(True)
    c.left_combo.setCurrentIndex(c.left_combo.findData("hevc"))
    assert c.left_caption.text() == text
    QApplication.processEvents()  # HEVC's caption has a line more than OBIC's on the right: the sides stay level
    controls, captions = c.side_controls.values(), (c.left_caption, c.right_caption)
    assert len({w.mapTo(c, QPoint(0, 0)).y() for w in controls}) == 1, "both sides' controls on one line"
    assert len({(w.mapTo(c, QPoint(0, 0)).y(), w.height()) for w in captions}) == 1, "captions of one height"
    assert all(w.height() >= w.heightForWidth(w.width()) for w in captions), "no caption clipped"
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out / "left.png"), ""))
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
        qtbot.mouseClick(c.side_controls["left"].export, Qt.MouseButton.LeftButton)
    assert (out / "left.heic").stat().st_size == _caption_file_bytes(c.left_caption.text()) == whole
    # a side's own re-encode too
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
        c.side_controls["left"].quality.setValue(20)
    side = c.side_figures("left")
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
        window.compare_feature.export(side, str(out / "side"))
    text = c.left_caption.text()
    assert _caption_bytes(text) == side.bytes == 400 and f"{side.bytes:,} B HEVC payload" in text
    assert (out / "side.heic").stat().st_size == _caption_file_bytes(text) == 400 + gui_fake_tasks.HEIF_BOXES


def test_a_side_sends_only_its_latest_change_and_shows_no_stale_answer(qtbot, window, monkeypatch):
    encode(qtbot, window)
    c = window.compare
    c.set_split_mode(True)
    c.left_combo.setCurrentIndex(c.left_combo.findData("jpeg"))
    shown: list[float] = []
    real = c.set_side_result

    def spy(side, token, fig):
        real(side, token, fig)
        shown.append(c.side_figures(side).quality)

    monkeypatch.setattr(c, "set_side_result", spy)
    gui_fake_tasks.SIDE_CALLS.clear()
    # three changes while the first encode runs: the middle one is never sent, and the
    # first one's answer (older than the latest request) is never shown
    for q in (30.0, 60.0, 90.0):
        c._request("left", "jpeg", q)
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.jobs.has_work("codec"), timeout=WAIT_MS)
    assert [d["quality"] for d in gui_fake_tasks.SIDE_CALLS] == [30.0, 90.0]
    assert shown == [42, 90.0], "the stale answer left the side as it was"
    assert c.side_figures("left").bytes == 200 + 10 * 90


# ---------------------------------------------------------------------------------------- export
def test_export_one_side_writes_its_png_and_its_file(qtbot, window, tmp_path, monkeypatch):
    from obic_core.imageio import read_image

    encode(qtbot, window)
    c = window.compare
    c.set_split_mode(True)
    c.right_combo.setCurrentIndex(c.right_combo.findData("webp"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out_dir / "right.png"), ""))
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
        qtbot.mouseClick(c.side_controls["right"].export, Qt.MouseButton.LeftButton)
    webp = window.doc.outcome.figure("webp")
    assert sorted(p.name for p in out_dir.iterdir()) == ["right.png", "right.webp"], "that side only"
    assert (out_dir / "right.webp").read_bytes() == webp.data and (out_dir / "right.webp").stat().st_size == webp.bytes
    assert np.array_equal(read_image(out_dir / "right.png").pixels, webp.image)
    # a re-encoded side exports what it shows, not the grid's result
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
        c._request("right", "webp", 20.0)
    shown = c.side_figures("right")
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
        window.compare_feature.export(shown, str(out_dir / "again"))
    assert (out_dir / "again.webp").stat().st_size == shown.bytes == 400
    assert np.array_equal(read_image(out_dir / "again.png").pixels, shown.image)
    # the original side has nothing of its own to export
    c.left_combo.setCurrentIndex(c.left_combo.findData("original"))
    assert not c.side_controls["left"].export.isEnabled()


def test_a_grid_tile_exports_from_its_menu(qtbot, window, monkeypatch):
    encode(qtbot, window)
    on_compare_tab(qtbot, window)
    c = window.compare
    got: list = []
    c.export_requested.connect(got.append)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))  # the user cancels
    view = c.grid_views[[e.key for e in c.entries].index("jpeg")]
    view.customContextMenuRequested.emit(QPoint(10, 10))
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=WAIT_MS)
    menu = QApplication.activePopupWidget()
    actions = [a for a in menu.actions() if a.text()]
    assert actions and "JPEG" in actions[0].text() and ".jpg" in actions[0].text()
    actions[0].trigger()
    menu.close()
    assert got and got[0] is window.doc.outcome.figure("jpeg")


# ---------------------------------------------------------------------------------------- RD axis
def test_rd_plot_has_a_log_rate_axis_and_a_low_rate_zoom(qtbot, window):
    window.tabs.setCurrentIndex(TAB_STATS)
    stats = window.stats
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("sweep")):
        window.run_sweep()
    stats.flush()
    stats.rd_plot.grab()
    assert stats.rate_axis_mode() == "log" and stats.rd_plot.getPlotItem().getAxis("bottom").logMode
    lo, hi = stats.rd_rate_range()
    assert lo < 0.1 and hi > 0.75, f"the sweep's 0.1–0.75 bpp in view: {lo:.3f}–{hi:.3f}"
    labels = [t[1] for t in stats.rd_plot.getAxis("bottom")._tickLevels[0]]
    assert "0.1" in labels and "0.5" in labels, "plain bpp tick labels"
    stats.rate_axis.setCurrentIndex(stats.rate_axis.findData("low"))
    stats.flush()
    stats.rd_plot.grab()
    lo, hi = stats.rd_rate_range()
    assert lo == pytest.approx(0.03, rel=0.12) and hi == pytest.approx(0.5, rel=0.12)
    stats.rate_axis.setCurrentIndex(stats.rate_axis.findData("linear"))
    stats.flush()
    stats.rd_plot.grab()
    assert not stats.rd_plot.getPlotItem().getAxis("bottom").logMode
    lo, hi = stats.rd_rate_range()
    assert lo < 0.1 and 0.75 < hi < 1.0


# ---------------------------------------------------------------------------------------- real codec
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "resources" / "weights" / "learntobic.safetensors"
SAMPLE = REPO / "resources" / "samples" / "coco_000000000074.jpg"


def _caption_bytes(text: str) -> int:
    """The byte count of a caption's first line ('<b>JPEG</b> &nbsp; 3,456 B · …')."""
    head = text.split("<br>")[0].split("&nbsp;")[-1]
    return int(head.split(" B")[0].strip().replace(",", ""))


def _caption_file_bytes(text: str) -> int | None:
    """The whole file's bytes a caption gives where they are not its counted bytes ('.heic file 5,480 B')."""
    found = re.search(r"\.\w+ file ([\d,]+) B", text)
    return None if found is None else int(found.group(1).replace(",", ""))


def _heic_chroma(data: bytes) -> str:
    """The chroma format a .heic file was coded in, as libheif reads it ('4:4:4')."""
    import io

    import pillow_heif

    code = str(pillow_heif.open_heif(io.BytesIO(data))[0].info["chroma"])
    return f"4:{code[1]}:{code[2]}"


@pytest.mark.slow
@pytest.mark.skipif(not SHIPPED.is_file() or not SAMPLE.is_file(), reason="needs the shipped weights and sample")
def test_real_captions_and_table_match_obic_info_and_the_files(qtbot, tmp_path):
    pytest.importorskip("pillow_heif")
    from obic_core.evaluation.codecs.heif_boxes import hevc_payload_bytes
    from obic_core.imageio import encode_png, read_image, write_png
    from obic_gui.main_window import MainWindow
    from obic_gui.settings import AppSettings

    photo = tmp_path / "photo.png"
    write_png(photo, np.ascontiguousarray(read_image(SAMPLE).pixels[120:312, 100:356]))
    w = MainWindow(settings=AppSettings.at(tmp_path / "s.ini"))
    w.ask_before_discard = False
    w.show_dialogs = False
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    try:
        with qtbot.waitSignal(w.mask_ready, timeout=WAIT_MS):
            assert w.open_path(str(photo), confirm=False)
        w.rate.set_settings(RateSettings(0.75, 0.25, None, "cpu", ("jpeg", "hevc")))
        with qtbot.waitSignal(w.results_ready, timeout=WAIT_MS):
            w.encode()
        png = wait_png(qtbot, w)
        assert png == photo.stat().st_size, "the caption's PNG is the photo's PNG"
        c = w.compare
        captions = dict(zip([e.key for e in c.entries], c.grid_captions(), strict=True))
        rows = table_rows(w.stats)
        out = tmp_path / "out"
        out.mkdir()
        for key, row in (("obic", "OBIC"), ("jpeg", "JPEG")):
            fig = w.doc.outcome.figure(key)
            with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
                w.compare_feature.export(fig, str(out / key))
            on_disk = (out / f"{key}.{fig.extension}").stat().st_size
            assert _caption_bytes(captions[key].text()) == on_disk == int(rows[row]["Bytes"].replace(",", ""))
            assert rows[row]["Bytes tip"].startswith(f"{100 * on_disk / photo.stat().st_size:.2f} % of the original")
            assert read_image(out / f"{key}.png").pixels.shape == w.doc.image.shape
        # HEVC counts its payload (caption, table: what BPG would store); Export writes the
        # whole .heic, whose size the caption gives too, with the chroma the search chose
        hevc = w.doc.outcome.figure("hevc")
        with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
            w.compare_feature.export(hevc, str(out / "hevc"))
        heic = (out / "hevc.heic").read_bytes()
        text = captions["hevc"].text()
        assert _caption_bytes(text) == hevc_payload_bytes(heic) == int(rows["HEVC"]["Bytes"].replace(",", ""))
        assert _caption_file_bytes(text) == len(heic) > hevc.bytes
        assert f"the .heic file Export writes is {len(heic):,} B" in rows["HEVC"]["Bytes tip"]
        chroma = hevc.extra["chroma"]
        assert f"chroma {chroma}" in text and chroma == _heic_chroma(heic)
        info = json.loads(
            subprocess.run(
                [sys.executable, "-m", "obic_core.cli", "info", "--json", str(out / "obic.obic")],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        assert info["file_bytes"] == (out / "obic.obic").stat().st_size
        assert f"{info['file_bytes']:,} B · {info['bpp']:.3f} bpp" in captions["obic"].text()
        assert rows["OBIC"]["bpp"] == f"{info['bpp']:.4f}"
        assert rows["OBIC"]["Quality setting"] == (
            f"obj {info['qualities']['object']:.2f} · bkg {info['qualities']['background']:.2f} (0–1)"
        )
        # a real side re-encode (JPEG at quality 30) on the worker: caption = its file on disk
        c.set_split_mode(True)
        c.left_combo.setCurrentIndex(c.left_combo.findData("jpeg"))
        with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
            c.side_controls["left"].quality.setValue(30)
        side = c.side_figures("left")
        assert side.quality == 30 and side.bytes != w.doc.outcome.figure("jpeg").bytes
        with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
            w.compare_feature.export(side, str(out / "side"))
        assert _caption_bytes(c.left_caption.text()) == (out / "side.jpg").stat().st_size
        # a real HEVC side at a new quality keeps the chroma the search chose, and says it
        c.left_combo.setCurrentIndex(c.left_combo.findData("hevc"))
        q = hevc.quality + 5 if hevc.quality <= 50 else hevc.quality - 5
        with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("side")):
            c.side_controls["left"].quality.setValue(q)
        side = c.side_figures("left")
        assert side.codec == "hevc" and side.quality == q and side.extra["chroma"] == chroma
        with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS, check_params_cb=finished_tag("export_side")):
            w.compare_feature.export(side, str(out / "side"))
        heic = (out / "side.heic").read_bytes()
        text = c.left_caption.text()
        assert _heic_chroma(heic) == chroma and f"chroma {chroma}" in text
        assert _caption_bytes(text) == hevc_payload_bytes(heic) and _caption_file_bytes(text) == len(heic)
        assert len(encode_png(w.doc.image)) == png
    finally:
        w.close()
