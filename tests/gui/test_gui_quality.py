"""Paint the bits: the quality brush, gradient, fill, presets, object sliders, heat map, the live
size estimate and the encode effort (fake tasks; the last test drives the real worker)."""

from __future__ import annotations

from pathlib import Path

import gui_fake_tasks as fakes
import numpy as np
import pytest
from guitest import WAIT_MS, drag, widget_point
from PySide6.QtCore import QPoint, QPointF, Qt

from obic_core import quality_map as qm
from obic_core.rules import coded_mask
from obic_gui import quality_layer as ql
from obic_gui.quality import RateSettings
from obic_gui.widgets.quality_overlay import heat_rgb


def level(q: float) -> int:
    return ql.to_level(q)


@pytest.fixture
def quality(window):
    """The window's quality feature with the brush picked, values 0.9 / 0.1 and a 10 px brush."""
    f = window.quality
    window.actions["quality_brush"].trigger()
    f.panel.value.set_quality(0.9)
    f.panel.second.set_quality(0.1)
    window.canvas.set_brush_size(round(10 * window.canvas.scale))
    return f


@pytest.fixture(autouse=True)
def _fresh_fake_estimator():
    fakes._ESTIMATE_KEY = None
    fakes.ESTIMATE_CALLS.clear()
    fakes.ESTIMATE_DELAY = 0.0
    yield
    fakes.ESTIMATE_DELAY = 0.0


# -- the quality brush ---------------------------------------------------------------------------
def test_quality_brush_paints_and_each_stroke_is_one_undo_step(qtbot, window, quality):
    doc, model = window.doc, quality.model
    assert model.layer is None, "no map until the first quality edit"
    assert window.canvas.tool.value == "quality" and window.actions["toggle_quality_map"].isChecked()
    steps = doc.undo_stack.count()
    mask_before = doc.mask.copy()
    drag(qtbot, window.canvas, [(10, 10), (80, 10), (150, 10)])
    assert model.layer is not None
    px = model.layer.pixels
    assert (px[10, 14:146] == level(0.9)).all(), "a continuous painted line at the value"
    # everywhere else the map starts as the two qualities of the rate panel, block by block
    s = window.rate.settings()
    start = ql.QualityLayer.from_layers(doc.mask, s.object_quality, s.background_quality).pixels
    assert (px[40:] == start[40:]).all()
    assert np.array_equal(doc.mask, mask_before), "quality strokes leave the mask alone"
    assert doc.undo_stack.count() == steps + 1, "one stroke, one undo step"

    drag(qtbot, window.canvas, [(10, 100), (150, 100)], button=Qt.MouseButton.RightButton)
    assert (model.layer.pixels[100, 14:146] == level(0.1)).all(), "right button paints the second value"
    assert doc.undo_stack.count() == steps + 2
    after_first = None
    window.undo_action.trigger()
    after_first = model.layer.pixels
    assert (after_first[100, 14:146] == start[100, 14:146]).all() and (after_first[10, 14:146] == level(0.9)).all()
    window.undo_action.trigger()
    assert model.layer is None, "undoing the stroke that started the map removes the map"
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert (model.layer.pixels[100, 14:146] == level(0.1)).all()


def test_brush_limited_to_the_object(qtbot, window, quality):
    doc, model = window.doc, quality.model
    quality.panel.limit.setCurrentIndex(quality.panel.limit.findData("object"))
    assert quality.tools.limit == "object"
    drag(qtbot, window.canvas, [(5, 60), (155, 60)])
    row = model.layer.pixels[60]
    inside, outside = doc.mask[60], ~doc.mask[60]
    assert (row[inside] == level(0.9)).all()
    assert not (row[outside] == level(0.9)).any(), "nothing painted outside the object"


def test_block_grid_follows_strokes_like_the_encoder_computes_it(qtbot, window, quality):
    drag(qtbot, window.canvas, [(3, 3), (150, 110)])
    drag(qtbot, window.canvas, [(150, 5), (40, 115)], button=Qt.MouseButton.RightButton)
    layer = quality.model.layer
    assert np.array_equal(layer.block_steps(), qm.block_steps(layer.pixels)), "incremental grid == encoder's"
    assert np.array_equal(quality.model.grid_steps(), qm.block_steps(layer.pixels))


# -- gradient and fill ---------------------------------------------------------------------------
def test_gradient_tool_drags_a_linear_ramp(qtbot, window, quality):
    window.actions["quality_gradient"].trigger()
    quality.panel.value.set_quality(1.0)
    quality.panel.second.set_quality(0.0)
    steps = window.doc.undo_stack.count()
    drag(qtbot, window.canvas, [(20, 50), (80, 52), (140, 50)])
    px = quality.model.layer.pixels.astype(int)
    assert window.doc.undo_stack.count() == steps + 1, "a gradient is one undo step"
    a, b = widget_point(window.canvas, 20, 50), widget_point(window.canvas, 140, 50)
    xa, xb = window.canvas.to_image(QPointF(a)).x(), window.canvas.to_image(QPointF(b)).x()
    assert px[60, int(xa) - 3] >= 250 and px[60, int(xb) + 3] <= 5, "the value before a, the second after b"
    row = px[60, int(xa) : int(xb)]
    assert (np.diff(row) <= 0).all() and row[0] - row[-1] > 200, "falls steadily from a to b"
    assert (px[:, 80] == px[0, 80]).all(), "a horizontal drag makes vertical iso-lines"
    mid = (xa + xb) / 2
    assert abs(px[30, int(mid)] - 127.5) < 6

    drag(qtbot, window.canvas, [(20, 50), (140, 50)], button=Qt.MouseButton.RightButton)
    px = quality.model.layer.pixels
    assert px[60, int(xa) - 3] <= 5 and px[60, int(xb) + 3] >= 250, "right button runs from the second value"


def test_quality_fill_sets_the_object_or_the_background(qtbot, window, quality):
    doc, model = window.doc, quality.model
    window.actions["quality_fill"].trigger()
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=widget_point(window.canvas, 80, 60))
    assert (model.layer.pixels[doc.mask] == level(0.9)).all(), "the object (the region clicked) takes the value"
    assert not (model.layer.pixels[~doc.mask] == level(0.9)).any()
    qtbot.mouseClick(window.canvas, Qt.MouseButton.RightButton, pos=widget_point(window.canvas, 3, 3))
    assert (model.layer.pixels[~doc.mask] == level(0.1)).all(), "right click: the second value"
    quality.panel.fill_buttons["all"].click()
    assert (model.layer.pixels == level(0.9)).all()


# -- presets -------------------------------------------------------------------------------------
def test_presets_and_removing_the_map(qtbot, window, quality):
    doc, model, panel = window.doc, quality.model, quality.panel
    panel.preset_buttons["object"].click()
    assert (model.layer.pixels[doc.mask] == level(0.9)).all() and (model.layer.pixels[~doc.mask] == level(0.1)).all()
    panel.preset_buttons["centre"].click()
    px = model.layer.pixels.astype(int)
    h, w = px.shape
    assert px[h // 2, w // 2] >= level(0.9) - 2 and px[0, 0] <= level(0.1) + 2
    assert abs(px[0, 0] - px[-1, -1]) <= 1 and abs(px[h // 2, 5] - px[h // 2, -6]) <= 1, "symmetric"
    panel.preset_buttons["uniform"].click()
    assert (model.layer.pixels == level(0.9)).all()
    assert "0.90" in panel.summary.text()
    window.actions["quality_remove"].trigger()
    assert model.layer is None and "No map" in panel.summary.text()
    window.undo_action.trigger()
    assert (model.layer.pixels == level(0.9)).all()
    window.undo_action.trigger()
    assert int(model.layer.pixels[h // 2, w // 2]) >= level(0.9) - 2, "back to the centre-weighted map"


# -- heat map ------------------------------------------------------------------------------------
def test_heat_map_overlay_shows_the_qualities_and_a_legend(qtbot, window, quality):
    canvas, overlay = window.canvas, quality.overlay
    quality.panel.opacity.setValue(100)
    quality.panel.preset_buttons["object"].click()
    canvas.fit()
    window.actions["toggle_overlay"].setChecked(False)  # the mask tint would mix in

    def colour_at(x, y):
        img = canvas.grab().toImage()
        c = img.pixelColor(widget_point(canvas, x, y))
        return np.array([c.red(), c.green(), c.blue()])

    shown_obj, shown_bkg = colour_at(80, 60), colour_at(150, 8)
    assert np.abs(shown_obj - heat_rgb(level(0.9))).max() <= 3, "object painted in the high colour"
    assert np.abs(shown_bkg - heat_rgb(level(0.1))).max() <= 3, "background in the low colour"
    window.actions["toggle_quality_map"].setChecked(False)
    plain = colour_at(150, 8)
    assert np.abs(plain - shown_bkg).max() > 20, "the heat map toggles off"
    # the legend: a strip in the bottom-left corner, only while the map is shown
    legend_at = QPoint(40, canvas.height() - 25)
    without = canvas.grab().toImage().pixelColor(legend_at)
    window.actions["toggle_quality_map"].setChecked(True)
    with_legend = canvas.grab().toImage().pixelColor(legend_at)
    assert without != with_legend
    assert "Quality" in overlay._legend_title()


def test_coded_view_shows_the_block_qualities(qtbot, window, quality):
    quality.panel.opacity.setValue(100)
    drag(qtbot, window.canvas, [(20, 20), (21, 20)])  # a dot: its blocks are only partly painted
    quality.panel.coded.setChecked(True)
    layer = quality.model.layer
    blocks = ql.steps_to_levels(layer.block_steps())
    y, x = 20, 20
    assert quality.overlay._bgra.shape[:2] == layer.shape
    shown = quality.overlay._bgra[y, x, 2::-1]  # BGRA → RGB (opacity 1: not darkened)
    assert np.array_equal(shown, heat_rgb(blocks[y // 16, x // 16])), "the block's mean, not the pixel's value"
    assert blocks[y // 16, x // 16] != layer.pixels[y, x]


# -- objects -------------------------------------------------------------------------------------
@pytest.fixture
def labels_png(tmp_path, photo):
    from obic_core.imageio import write_png

    h, w = photo.shape[:2]
    labels = np.zeros((h, w), np.uint8)
    labels[10:50, 10:60] = 1
    labels[60:110, 20:70] = 2
    labels[30:100, 100:150] = 3
    path = tmp_path / "labels.png"
    write_png(path, labels)
    return path, labels


def test_object_labels_get_one_slider_each(qtbot, window, quality, labels_png):
    path, labels = labels_png
    doc, model, panel = window.doc, quality.model, quality.panel
    steps = doc.undo_stack.count()
    assert quality.import_labels(str(path))
    assert doc.undo_stack.count() == steps + 1, "mask, labels and map: one undo step"
    assert np.array_equal(doc.mask, labels > 0), "the objects are the object layer"
    assert [s.title.text() for s in panel.object_sliders] == ["Background", "Object 1", "Object 2", "Object 3"]

    quality.tools.stroke([(5, 61.5), (85, 61.5)], q=0.5, radius=1.5)  # object 2's top rows at 0.5
    assert doc.undo_stack.count() == steps + 2
    before = model.layer.pixels.copy()
    for v in (0.5, 0.4, 0.3):  # one drag of object 2's slider (its first step leaves the line alone)
        panel.object_sliders[2].slider.setValue(round(v * 100))
    px = model.layer.pixels
    assert (px[labels == 2] == level(0.3)).all()
    assert np.array_equal(px[labels != 2], before[labels != 2]), "the other objects keep their quality"
    assert doc.undo_stack.count() == steps + 3, "a slider drag merges into one undo step"
    panel.object_sliders[0].slider.setValue(5)
    assert (model.layer.pixels[labels == 0] == level(0.05)).all()
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert np.array_equal(model.layer.pixels, before)
    shown = panel.object_sliders[2].quality()
    assert abs(shown - float(before[labels == 2].mean()) / 255) < 0.011, "the slider follows undo"
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert model.labels is None and panel.object_sliders == [], "undoing the import removes the sliders"


def test_label_image_of_the_wrong_kind_is_refused(qtbot, window, quality, tmp_path):
    from obic_core.imageio import write_png

    path = tmp_path / "rgb.png"
    write_png(path, np.zeros((20, 20, 3), np.uint8))
    assert not quality.import_labels(str(path))
    assert window.last_error is not None and "label" in window.last_error.message
    assert quality.model.labels is None


# -- the live size estimate ----------------------------------------------------------------------
def show_quality_panel(qtbot, window):
    window.quality.dock.show()
    window.quality.dock.raise_()
    qtbot.waitUntil(lambda: window.quality.estimator.enabled, timeout=WAIT_MS)


def wait_current_estimate(qtbot, window):
    est = window.quality.estimator
    qtbot.waitUntil(lambda: est.up_to_date, timeout=WAIT_MS)
    return est.last


def test_live_size_estimate_follows_strokes(qtbot, window, quality):
    show_quality_panel(qtbot, window)
    first = wait_current_estimate(qtbot, window)
    steps = quality.model.grid_steps()
    assert first.estimate.total_bytes == int(round(((1 + steps.astype(float)) * fakes.BITS_PER_STEP).sum() / 8)) + 80
    view = quality.estimate_view
    assert f"{first.estimate.total_bytes:,} B" in view.size.text()
    assert set(view.shares()) == {"Object", "Background"} and abs(sum(view.shares().values()) - 1000) <= 2

    drag(qtbot, window.canvas, [(5, 5), (155, 115)])  # paint high quality across the background
    second = wait_current_estimate(qtbot, window)
    assert second.estimate.total_bytes > first.estimate.total_bytes, "more quality, more bytes"
    assert second.shares["Background"] > first.shares["Background"]
    assert view.shares()["Background"] == round(second.shares["Background"] * 1000)
    sent = [c["sent_image"] for c in fakes.ESTIMATE_CALLS]
    assert sent[0] and not any(sent[1:]), "the image travels once; a quality edit sends only the grid"

    window.actions["tool_brush"].trigger()  # a mask edit: the worker needs the new mask
    drag(qtbot, window.canvas, [(5, 60), (30, 60)])
    wait_current_estimate(qtbot, window)
    assert fakes.ESTIMATE_CALLS[-1]["sent_image"]


def test_estimates_do_not_rerun_the_block_rule_on_the_gui_thread(qtbot, window, monkeypatch):
    """The block rule over a big mask costs ≈0.16 s per 48 MP: changing qualities must reuse the
    coded mask of the current mask (once per mask edit), never recompute it per estimate."""
    import obic_core.rules

    calls = []
    real = obic_core.rules.coded_mask
    monkeypatch.setattr(obic_core.rules, "coded_mask", lambda m: calls.append(m.shape) or real(m))
    show_quality_panel(qtbot, window)
    wait_current_estimate(qtbot, window)
    before = len(calls)
    for q in (0.5, 0.6, 0.7, 0.8):  # four slider changes, no painted map: four estimates
        window.rate.set_settings(RateSettings(q, 0.25, None, "cpu", ()))
        wait_current_estimate(qtbot, window)
    assert len(calls) - before <= 1, f"the block rule ran {len(calls) - before} times for 4 quality changes"


def test_estimate_requests_are_coalesced(qtbot, window, quality):
    show_quality_panel(qtbot, window)
    wait_current_estimate(qtbot, window)
    fakes.ESTIMATE_DELAY = 0.3  # each estimate takes a while: strokes arrive while one runs
    calls = len(fakes.ESTIMATE_CALLS)
    for i in range(8):
        drag(qtbot, window.canvas, [(5 + 15 * i, 5), (5 + 15 * i, 115)])
        qtbot.wait(20)
    last = wait_current_estimate(qtbot, window)
    made = len(fakes.ESTIMATE_CALLS) - calls
    assert 1 <= made < 8, f"{made} estimates for 8 strokes"
    assert np.array_equal(fakes.ESTIMATE_CALLS[-1]["steps"], quality.model.grid_steps()), "the last one is current"
    assert last.current


def test_estimate_resends_the_image_to_a_restarted_worker(qtbot, window, quality):
    show_quality_panel(qtbot, window)
    wait_current_estimate(qtbot, window)
    fakes._ESTIMATE_KEY = None  # the worker process restarted: it holds no image
    drag(qtbot, window.canvas, [(5, 5), (60, 5)])
    wait_current_estimate(qtbot, window)
    tail = fakes.ESTIMATE_CALLS[-2:]
    assert not tail[0]["sent_image"] and tail[1]["sent_image"], "missing → sent again"


def test_estimate_failure_is_shown_quietly(qtbot, window, monkeypatch):
    def broken(**kwargs):
        from obic_core.errors import ObicWeightsError

        raise ObicWeightsError("weight file not found: /nowhere")

    monkeypatch.setattr(fakes, "estimate_size", broken)
    show_quality_panel(qtbot, window)
    view = window.quality.estimate_view
    qtbot.waitUntil(lambda: "No estimate" in view.detail.text(), timeout=WAIT_MS)
    assert "weight file not found" in view.detail.text()
    assert window.last_error is None, "no dialog for a background estimate"


def test_estimates_only_while_someone_looks(qtbot, window):
    f = window.quality
    assert not f.estimator.enabled, "the mask tools are on top and no map is painted"
    qtbot.wait(50)
    assert fakes.ESTIMATE_CALLS == [] and not f.estimate_view.isVisible()
    show_quality_panel(qtbot, window)
    wait_current_estimate(qtbot, window)
    assert f.estimate_view.isVisible() and len(fakes.ESTIMATE_CALLS) == 1
    window.tools_dock.raise_()  # back to the mask tools: no map painted, so no more estimates
    qtbot.waitUntil(lambda: not f.estimator.enabled, timeout=WAIT_MS)
    assert not f.estimate_view.isVisible()
    f.apply_preset("uniform")  # a painted map keeps the estimate going wherever the panel is
    wait_current_estimate(qtbot, window)
    assert f.estimator.enabled and len(fakes.ESTIMATE_CALLS) == 2


# -- encode and .obic ----------------------------------------------------------------------------
def encode(qtbot, window):
    with qtbot.waitSignal(window.results_ready, timeout=WAIT_MS):
        window.encode()
    return window.doc.outcome


def test_encode_passes_the_map_and_the_effort(qtbot, window, quality, settings):
    window.rate.set_settings(RateSettings(0.75, 0.25, None, "cpu", ("jpeg",), effort="max"))
    out = encode(qtbot, window)
    assert out.layout.quality_map is None, "no map painted: the two qualities (v1)"
    assert "effort max" in out.notes
    quality.panel.preset_buttons["object"].click()
    assert window.doc.stale, "a quality edit makes the results stale"
    out = encode(qtbot, window)
    qmap = out.layout.quality_map
    assert qmap is not None and abs(qmap.max - 0.9) < 0.01 and abs(qmap.min - 0.1) < 0.01
    assert "quality map" in window.rate.stage.text()
    window.save_settings()
    assert window.settings.rate_settings().effort == "max", "the effort is remembered"


def test_effort_control_sits_with_the_qualities(qtbot, window):
    rate = window.rate
    assert rate.settings().effort == "default"
    rate.effort.set_value("max")
    assert rate.settings().effort == "max" and rate.settings().job_kwargs()["effort"] == "max"
    assert rate.effort.hint.isVisible()
    rate.effort.set_value("bogus")
    assert rate.settings().effort == "default"


def test_a_v2_obic_reopens_with_its_quality_map(qtbot, window, tmp_path):
    path = tmp_path / "mapped.obic"
    path.write_bytes(fakes.FAKE_V2 + bytes(200))
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        assert window.open_path(str(path), confirm=False)
    model = window.quality.model
    assert model.active and window.actions["toggle_quality_map"].isChecked()
    px = model.layer.pixels
    assert px[:, :40].min() == level(0.9) and px[:, 64:].max() == level(0.1)
    assert window.doc.undo_stack.count() == 0, "the file's map is the baseline, not an edit"


def test_a_new_image_starts_without_a_map(qtbot, window, quality, photo):
    quality.panel.preset_buttons["uniform"].click()
    assert quality.model.active
    with qtbot.waitSignal(window.mask_ready, timeout=WAIT_MS):
        window.doc.open_image(photo, "/tmp/other.png")
        window._predict(initial=True)
    assert not quality.model.active and quality.model.labels is None


# -- the real worker -----------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "samples" / "coco_000000000074.jpg"


@pytest.fixture(scope="module")
def real_window(qapp, tmp_path_factory):
    """One real window (real worker processes, the shipped weights) with a photo open."""
    from obic_core.imageio import read_image, write_png
    from obic_gui.main_window import MainWindow
    from obic_gui.settings import AppSettings

    if not (REPO / "resources" / "weights" / "learntobic.safetensors").is_file():
        pytest.skip("needs the shipped codec weights")
    tmp = tmp_path_factory.mktemp("quality-real")
    if SAMPLE.is_file():
        img = read_image(SAMPLE).pixels[120:312, 100:356]
    else:
        yy, xx = np.mgrid[:192, :256]
        img = np.stack([xx, yy, (xx + yy) // 2], axis=2).astype(np.uint8)
    photo = tmp / "photo.png"
    write_png(photo, np.ascontiguousarray(img))
    w = MainWindow(settings=AppSettings.at(tmp / "s.ini"))
    w.ask_before_discard = False
    w.show_dialogs = False
    w.resize(1200, 800)
    w.show()
    w.start_background()
    w.photo_path = photo
    yield w
    w.close()


def open_real_photo(qtbot, w) -> None:
    with qtbot.waitSignal(w.mask_ready, timeout=WAIT_MS):
        assert w.open_path(str(w.photo_path), confirm=False)


@pytest.mark.slow
def test_real_estimate_matches_a_real_encode_and_the_map_survives_the_file(qtbot, real_window, tmp_path):
    """The live estimate from the real entropy model on the estimate worker is within a few per
    cent of the real encode's size; the v2 file reopens with the same block map."""
    w = real_window
    open_real_photo(qtbot, w)
    w.rate.set_settings(RateSettings(0.75, 0.25, None, "cpu", ()))
    f = w.quality
    f.panel.value.set_quality(0.85)
    f.panel.second.set_quality(0.15)
    f.apply_preset("centre")
    show_quality_panel(qtbot, w)
    est = wait_current_estimate(qtbot, w).estimate
    out = encode(qtbot, w)
    real = out.figure("obic").bytes
    assert abs(est.total_bytes - real) / real < 0.05, (est.total_bytes, real)
    assert out.layout.quality_map is not None
    encoded_steps = f.model.layer.block_steps()

    f.panel.value.set_quality(1.0)
    f.apply_preset("uniform")
    higher = wait_current_estimate(qtbot, w).estimate
    assert higher.total_bytes > est.total_bytes

    saved = tmp_path / "mapped.obic"
    assert w.save_obic(str(saved))
    with qtbot.waitSignal(w.document_opened, timeout=WAIT_MS):
        assert w.open_path(str(saved), confirm=False)
    assert f.model.active, "the v2 file reopens with its map"
    reopened = f.model.layer.block_steps()
    h, wd = w.doc.shape
    rows, cols = -(-h // 16), -(-wd // 16)  # the blocks that cover the image
    assert np.array_equal(reopened[:rows, :cols], encoded_steps[:rows, :cols])
    assert w.actions["toggle_quality_map"].isChecked()


@pytest.mark.slow
def test_real_max_effort_encode_shows_its_progress_and_cancels(qtbot, real_window):
    w = real_window
    open_real_photo(qtbot, w)
    w.rate.set_settings(RateSettings(0.75, 0.25, None, "cpu", (), effort="max"))
    stages: list[tuple[str, float]] = []
    w.jobs.progress.connect(lambda info, stage, fraction: stages.append((stage, fraction)))
    w.encode()
    # the latent refinement (from ≈ 27 % of the job) reports each step: wait until it runs, then Cancel
    qtbot.waitUntil(lambda: any("max effort" in s and f > 0.3 for s, f in stages), timeout=WAIT_MS)
    assert "max effort" in w.rate.stage.text() and w.rate.cancel_button.isEnabled()
    with qtbot.waitSignal(w.jobs.cancelled, timeout=WAIT_MS):
        w.rate.cancel_button.click()
    assert w.doc.outcome is None and w.rate.stage.text() == "Cancelled"
    qtbot.waitUntil(lambda: w.rate.encode_button.isEnabled(), timeout=WAIT_MS)


def test_fake_estimate_matches_core_grid_for_the_two_qualities(window):
    """Without a map the estimate prices the two qualities block by block (what a v1 encode codes)."""
    s = window.rate.settings()
    steps = window.quality.model.grid_steps()
    expected = qm.layer_steps(coded_mask(window.doc.mask), s.object_quality, s.background_quality)
    assert np.array_equal(steps, expected)


def test_painting_qualities_never_imports_torch_in_the_gui(tmp_path):
    """Brush, gradient, fill, presets, labels, the heat map and the estimate's GUI side stay torch-free."""
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    code = f"""
import os, sys, time
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
sys.path.insert(0, {str(here)!r})
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication([])
from obic_gui.jobs import JobManager
from obic_gui.main_window import MainWindow
from obic_gui.settings import AppSettings
from obic_core.imageio import write_png
jobs = JobManager(task_module='gui_fake_tasks', process_lanes=())
w = MainWindow(jobs=jobs, settings=AppSettings.at({str(tmp_path / "s.ini")!r}))
w.show(); app.processEvents()
img = np.zeros((96, 128, 3), np.uint8); img[20:70, 30:90] = 200
w.doc.open_image(img, '/tmp/x.png'); w.doc.set_initial_mask(img[..., 0] > 0)
f = w.quality
w.actions['quality_brush'].trigger()
f.tools.stroke([(5, 5), (120, 90)], q=0.9, radius=6)
f.tools.gradient((0, 0), (127, 95), 1.0, 0.0)
f.tools.fill(50, 40, 0.7)
f.apply_preset('centre'); f.panel.coded.setChecked(True)
labels = np.zeros((96, 128), np.uint8); labels[20:70, 30:60] = 1; labels[20:70, 60:90] = 2
write_png({str(tmp_path / "labels.png")!r}, labels); f.import_labels({str(tmp_path / "labels.png")!r})
f.panel.object_sliders[1].set_quality(0.3)
t0 = time.time()
while not f.estimator.up_to_date and time.time() - t0 < 120:
    app.processEvents(); time.sleep(0.01)
print('ESTIMATED', f.estimator.up_to_date)
bad = [m for m in ('torch', 'obic_core.codec', 'obic_core.rate_estimate', 'obic_core.engine') if m in sys.modules]
print('BAD', bad)
w.dispose(); jobs.shutdown()
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert "ESTIMATED True" in out.stdout, out.stdout + out.stderr
    assert "BAD []" in out.stdout, out.stdout + out.stderr


def test_the_close_prompt_names_quality_map_edits(qtbot, window, quality):
    """A quality stroke is unsaved work, and the prompt says it is the map, not the mask."""
    doc = window.doc
    assert doc.unsaved_work() == []
    drag(qtbot, window.canvas, [(5, 5), (60, 40)])
    assert doc.modified
    assert doc.unsaved_work() == ["quality-map edits"]
    window.actions["tool_brush"].trigger()
    drag(qtbot, window.canvas, [(5, 60), (30, 60)])
    assert doc.unsaved_work() == ["mask and quality-map edits"]
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.unsaved_work() == []


def test_the_rd_sweep_uses_the_painted_map(qtbot, window, quality):
    fakes.SWEEP_CALLS.clear()
    drag(qtbot, window.canvas, [(5, 5), (60, 40)])
    with qtbot.waitSignal(window.jobs.finished, timeout=WAIT_MS, check_params_cb=lambda i, r: i.tag == "sweep"):
        window.stats.sweep_button.click()
    sent = fakes.SWEEP_CALLS[-1]["quality_map"]
    assert sent is not None and np.array_equal(sent, quality.model.encode_map())


def test_real_sweep_scales_the_map_to_each_target(small_image, small_mask):
    """OBIC's RD points with a map: the map's encode at each target size, sharper where painted."""
    from obic_gui import tasks

    h, w = small_image.shape[:2]
    qmap = np.zeros((h, w), np.uint8)
    qmap[:, : w // 2] = 255
    targets = (0.3, 0.8)
    out = tasks.sweep(
        small_image, small_mask, targets, ("obic",), 0.5, 0.5, "cpu", lambda *a: None, lambda: False, quality_map=qmap
    )
    plain = tasks.sweep(
        small_image, small_mask, targets[:1], ("obic",), 0.5, 0.5, "cpu", lambda *a: None, lambda: False
    )
    pts = out.curves["obic"]
    for p, t in zip(pts, targets, strict=True):
        assert abs(p.bpp - t) <= 0.1 * t, (p.bpp, t)
    assert pts[0].psnr < pts[1].psnr
    assert pts[0].psnr != plain.curves["obic"][0].psnr, "the map changed the point"
