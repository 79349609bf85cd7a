"""The app on the real obic_core: mask prediction, encode & compare, .obic save / reopen,
a corrupt .obic, and cancelling a real encode — all through the real worker processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from guitest import WAIT_MS
from PySide6.QtWidgets import QMessageBox

from obic_gui.quality import RateSettings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "resources" / "weights" / "learntobic.safetensors"
SAMPLE = REPO / "resources" / "samples" / "coco_000000000074.jpg"


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str | None:
    """The shipped codec weights, or (before they exist) a seeded untrained model's."""
    if SHIPPED.is_file():
        return None
    import torch

    from obic_core.nn.model import LearntOBIC, ModelConfig
    from obic_core.weights import save_weights

    torch.manual_seed(0)
    cfg = ModelConfig()
    path = tmp_path_factory.mktemp("weights") / "untrained.safetensors"
    save_weights(LearntOBIC(cfg).state_dict(), path, {"config": cfg.to_dict(), "kind": "codec"})
    return str(path)


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory) -> Path:
    from obic_core.imageio import read_image, write_png

    if SAMPLE.is_file():
        img = read_image(SAMPLE).pixels[120:312, 100:356]
    else:
        yy, xx = np.mgrid[:192, :256]
        img = np.stack([xx, yy, (xx + yy) // 2], axis=2).astype(np.uint8)
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    write_png(path, np.ascontiguousarray(img))
    return path


@pytest.fixture(scope="module")
def real_window(qapp, weights, tmp_path_factory):
    """One window (and its two warm worker processes) for the whole module."""
    from obic_gui.main_window import MainWindow
    from obic_gui.settings import AppSettings

    w = MainWindow(settings=AppSettings.at(tmp_path_factory.mktemp("s") / "s.ini"), weights=weights)
    w.ask_before_discard = False
    w.resize(1200, 800)
    w.show()
    w.start_background()
    yield w
    w.close()


def open_and_wait(qtbot, w, path) -> None:
    with qtbot.waitSignal(w.mask_ready, timeout=WAIT_MS):
        assert w.open_path(str(path), confirm=False)


def test_open_predicts_the_mask_on_the_worker(qtbot, real_window, photo_path):
    open_and_wait(qtbot, real_window, photo_path)
    doc = real_window.doc
    assert doc.image.shape == (192, 256, 3) and doc.mask.shape == (192, 256)
    assert doc.mask.dtype == bool and 0 < doc.mask.mean() < 1, "a real predicted mask"
    assert doc.undo_stack.count() == 0, "the first prediction is the baseline, not an edit"
    qtbot.waitUntil(lambda: real_window._probe is not None, timeout=WAIT_MS)
    assert "cpu" in real_window._probe.devices and "jpeg" in real_window._probe.codecs


def test_real_encode_and_compare(qtbot, real_window, photo_path):
    w = real_window
    if w.doc.path != str(photo_path):
        open_and_wait(qtbot, w, photo_path)
    w.rate.set_settings(RateSettings(0.75, 0.25, None, "cpu", ("jpeg",)))
    progress = []
    w.jobs.progress.connect(lambda info, stage, f: progress.append(f))
    with qtbot.waitSignal(w.results_ready, timeout=WAIT_MS):
        w.rate.encode_button.click()
    out = w.doc.outcome
    obic, jpeg = out.figure("obic"), out.figure("jpeg")
    assert out.data[:4] and len(out.data) == obic.bytes == out.layout.file_bytes
    assert obic.image.shape == (192, 256, 3) and obic.psnr is not None and obic.object_psnr is not None
    assert jpeg is not None and jpeg.image is not None
    assert sum(out.layout.parts_bytes().values()) <= out.layout.file_bytes
    assert [e.key for e in w.compare.entries] == ["original", "obic", "jpeg"]
    assert w.stats.table.rowCount() == 2
    assert progress and max(progress) == pytest.approx(1.0)


def test_save_and_reopen_obic(qtbot, real_window, photo_path, tmp_path):
    w = real_window
    if w.doc.outcome is None:
        test_real_encode_and_compare(qtbot, w, photo_path)
    data, mask = w.doc.obic_data, w.doc.mask.copy()
    obic_recon = w.doc.outcome.figure("obic").image
    path = tmp_path / "saved.obic"
    assert w.save_obic(str(path))
    assert path.read_bytes() == data and not w.doc.modified
    with qtbot.waitSignal(w.document_opened, timeout=WAIT_MS):
        w.open_path(str(path), confirm=False)
    doc = w.doc
    assert doc.is_obic and doc.name == "saved.obic" and doc.obic_data == data
    assert np.array_equal(doc.image, obic_recon), "decoding the saved file gives the shown reconstruction"
    assert w.layers_bar.isVisible()
    assert doc.mask.shape == mask.shape
    # object only: decoded from its sub-stream, the background shown as a checkerboard
    with qtbot.waitSignal(w.jobs.finished, timeout=WAIT_MS) as blocker:
        w.layers_bar.buttons["object"].click()
    assert blocker.args[0].tag == "layers" and blocker.args[1].layers == ("object",)
    assert blocker.args[1].alpha is not None
    assert w.canvas._display_override is not None
    w.layers_bar.buttons["both"].click()  # cached: no job
    assert w.canvas._display_override is None
    assert w.stats.table.rowCount() == 1


def test_corrupt_obic_shows_an_error_not_a_crash(qtbot, real_window, tmp_path):
    w = real_window
    w.show_dialogs = True
    bad = tmp_path / "corrupt.obic"
    bad.write_bytes(b"OBIC" + bytes(range(256)) * 4)
    with qtbot.waitSignal(w.error_shown, timeout=WAIT_MS) as blocker:
        w.open_path(str(bad), confirm=False)
    title, message = blocker.args
    assert title == "Cannot read this .obic file" and message and "Traceback" not in message
    assert isinstance(w._error_box, QMessageBox) and w._error_box.isVisible()
    w._error_box.close()
    truncated = tmp_path / "truncated.obic"
    if w.doc.obic_data:
        truncated.write_bytes(w.doc.obic_data[: len(w.doc.obic_data) // 2])
        with qtbot.waitSignal(w.error_shown, timeout=WAIT_MS):
            w.open_path(str(truncated), confirm=False)
        w._error_box.close()
    w.show_dialogs = False
    assert w.isVisible()


def test_cancel_a_real_encode(qtbot, real_window, photo_path):
    w = real_window
    open_and_wait(qtbot, w, photo_path)
    # several codecs at a target bitrate: many real encodes, plenty of time to cancel
    w.rate.set_settings(RateSettings(0.75, 0.25, 0.3, "cpu", ("obic-single", "webp", "jpeg", "jpeg2000")))
    with qtbot.waitSignal(w.jobs.progress, timeout=WAIT_MS):
        w.encode()
    assert not w.rate.encode_button.isEnabled()
    with qtbot.waitSignal(w.jobs.cancelled, timeout=WAIT_MS):
        w.rate.cancel_button.click()
    assert w.doc.outcome is None and w.rate.encode_button.isEnabled()
    # and the worker is still good for the next job
    w.rate.set_settings(RateSettings(0.75, 0.25, None, "cpu", ()))
    with qtbot.waitSignal(w.results_ready, timeout=WAIT_MS):
        w.encode()
    assert w.doc.outcome.figure("obic") is not None


def test_snapshot_command_line(qapp, weights, photo_path, tmp_path):
    """`obic-gui IMAGE --snapshot OUT.png --snapshot-view all` writes the three screenshots."""
    from PySide6.QtGui import QImage

    from obic_gui.app import main

    args = [
        str(photo_path),
        "--snapshot",
        str(tmp_path / "shot.png"),
        "--snapshot-view",
        "all",
        "--snapshot-size",
        "1280x800",
        "--settings",
        str(tmp_path / "s.ini"),
    ]
    if weights:
        args += ["--weights", weights]
    assert main(args) == 0
    for view in ("main", "compare", "stats"):
        img = QImage(str(tmp_path / f"shot-{view}.png"))
        assert (img.width(), img.height()) == (1280, 800)


# ------------------------------------------------------------------ issue 13: work and what is shown
def _encode_real(qtbot, w, settings: RateSettings) -> None:
    w.rate.set_settings(settings)
    with qtbot.waitSignal(w.results_ready, timeout=WAIT_MS):
        w.rate.encode_button.click()


def _paint_stroke(qtbot, w) -> None:
    """A brush stroke across the top of the photo, with the mouse (an edit after the encode)."""
    from PySide6.QtCore import QPointF, Qt

    w.tabs.setCurrentIndex(0)
    w.actions["tool_brush"].trigger()
    c = w.canvas
    c.set_brush_size(round(8 * c.scale))
    before = w.doc.mask.copy()
    pts = [c.to_widget(QPointF(x, 6)).toPoint() for x in (10, 60, 120, 200)]
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(c, p)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=pts[-1])
    assert not np.array_equal(before, w.doc.mask), "the stroke changed the mask"


def _ctrl_s(qtbot, w) -> None:
    """Press Ctrl+S in the window (after a message box, the window must be active again)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def test_an_unsaved_real_encode_asks_before_closing(qtbot, real_window, photo_path, tmp_path, monkeypatch):
    from guitest import answer_box
    from PySide6.QtWidgets import QFileDialog

    w = real_window
    open_and_wait(qtbot, w, photo_path)
    assert "*" not in w.windowTitle()
    _encode_real(qtbot, w, RateSettings(0.75, 0.25, None, "cpu", ()))
    assert w.windowTitle().startswith("photo.png*"), "an encode not saved is unsaved work"
    w.ask_before_discard = True
    try:
        seen: list[str] = []
        answer_box("Cancel", seen)
        w.close()
        assert w.isVisible() and seen, "closing asked first, and Cancel kept the window"
        assert "encode that is not saved" in seen[0]
        out = tmp_path / "kept.obic"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
        answer_box("Save", seen)
        assert w.confirm_discard(), "after saving, closing may go ahead"
    finally:
        w.ask_before_discard = False
    assert out.read_bytes() == w.doc.outcome.data
    assert not w.doc.modified and "*" not in w.windowTitle()


def test_saving_the_old_encode_keeps_the_mask_edit_unsaved(qtbot, real_window, photo_path, tmp_path, monkeypatch):
    """Mask edit after an encode, Ctrl+S, "Save old encode": the edit must stay unsaved, and
    "Encode & save" must write an encode of the current mask."""
    from guitest import answer_box
    from PySide6.QtWidgets import QFileDialog

    w = real_window
    open_and_wait(qtbot, w, photo_path)
    _encode_real(qtbot, w, RateSettings(0.75, 0.25, None, "cpu", ()))
    old = w.doc.outcome.data
    _paint_stroke(qtbot, w)
    assert w.doc.stale
    target = [tmp_path / "old.obic"]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target[0]), ""))
    w.ask_before_discard = True
    try:
        seen: list[str] = []
        answer_box("Save old encode", seen)
        _ctrl_s(qtbot, w)
        assert seen and "Mask changed" in seen[0]
        assert target[0].read_bytes() == old, "the old encode was written"
        assert w.doc.modified and w.windowTitle().startswith("photo.png*"), "the brush edit is still unsaved"
        answer_box("Cancel", seen)
        w.close()
        assert w.isVisible() and "mask edits" in seen[-1], "closing asks about the edit"
        target[0] = tmp_path / "current.obic"
        answer_box("Encode & save", seen)
        with qtbot.waitSignal(w.results_ready, timeout=WAIT_MS):
            _ctrl_s(qtbot, w)
    finally:
        w.ask_before_discard = False
    data = target[0].read_bytes()
    assert data == w.doc.outcome.data != old, "the new encode, of the edited mask, was saved"
    assert not w.doc.stale and not w.doc.modified and "*" not in w.windowTitle()


def test_encoding_an_opened_obic_names_its_reference(qtbot, real_window, photo_path, tmp_path):
    w = real_window
    open_and_wait(qtbot, w, photo_path)
    _encode_real(qtbot, w, RateSettings(0.75, 0.25, None, "cpu", ("jpeg",)))
    path = tmp_path / "again.obic"
    assert w.save_obic(str(path))
    with qtbot.waitSignal(w.document_opened, timeout=WAIT_MS):
        w.open_path(str(path), confirm=False)
    assert w.doc.is_obic and not w.rate.stage.text().startswith("Done")
    _encode_real(qtbot, w, RateSettings(0.75, 0.25, None, "cpu", ("jpeg",)))
    first = w.compare.entries[0]
    assert "uncompressed" not in first.caption and "Original" not in first.title
    assert "decoded .obic" in first.caption and "no original" in first.caption
    assert "No original photo" in w.stats.notes.text()
    assert "decoded .obic" in w.rate.summary.text()


def test_real_sizes_are_flagged_and_quality_settings_have_scales(qtbot, real_window, photo_path):
    from obic_gui.quality import SAME_SIZE_TOLERANCE, codec_label, size_gap

    w = real_window
    open_and_wait(qtbot, w, photo_path)
    qtbot.waitUntil(lambda: w._probe is not None, timeout=WAIT_MS)
    codecs = tuple(c for c in ("webp", "hevc", "jpeg2000", "jpeg") if c in w._probe.codecs)
    _encode_real(qtbot, w, RateSettings(0.9, 0.2, 0.2, "cpu", codecs))  # target mode
    out = w.doc.outcome
    obic = out.figure("obic")
    captions = {e.key: e.caption for e in w.compare.entries}
    t = w.stats.table
    header = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    cells = [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]
    rows = {row[0].replace(" ⚠", ""): row for row in cells}
    for f in out.figures[1:]:
        miss = abs(size_gap(f.bytes, obic.bytes)) > SAME_SIZE_TOLERANCE
        row = rows[codec_label(f.codec) + ("" if f.reached else " (above target)")]
        assert ("⚠" in captions[f.codec]) == miss, f"{f.codec}: {f.bytes} B vs OBIC {obic.bytes} B"
        assert ("⚠" in " ".join(row)) == miss, f"{f.codec}: {row}"
    q_col = next(i for i, h in enumerate(header) if h.startswith("Quality"))
    quality = {k: v[q_col] for k, v in rows.items()}
    assert quality["OBIC"] == f"obj {out.object_quality:.2f} · bkg {out.background_quality:.2f} (0–1)"
    for name in ("WebP", "HEVC (x265)", "JPEG"):
        if name in quality:
            assert quality[name].endswith(" / 100"), quality[name]
    if "JPEG 2000" in quality:
        assert quality["JPEG 2000"].startswith("rate ") and quality["JPEG 2000"].endswith(" bpp")
    notes = w.stats.notes.text() + w.stats.flag_note.text()
    assert "heif_bpp" not in notes
    if "hevc" in codecs:
        assert ".heic" in notes
    used = w.rate.used.text()
    assert f"{out.object_quality:.2f}" in used and f"{out.background_quality:.2f}" in used and "0.200 bpp" in used
