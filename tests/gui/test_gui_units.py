"""Pure helpers of the GUI (no window): mask operations, formulas, errors, start-up rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from obic_gui import mask_ops
from obic_gui.job_errors import describe
from obic_gui.quality import RateSettings, fmt_db, rate_weight

REPO = Path(__file__).resolve().parents[2]


def test_rate_weight_values():
    assert rate_weight(1.0) == 1.0 and rate_weight(0.0) == 512.0 and rate_weight(0.5) == pytest.approx(512**0.5)


def test_paint_segment_is_a_gapless_capsule():
    m = np.zeros((50, 100), bool)
    box = mask_ops.paint_segment(m, (10.0, 25.0), (90.0, 25.0), 3.0, True)
    assert m[25, 10:90].all() and m[23:28, 50].all() and not m[20, 50] and not m[25, 95]
    assert box[0] <= 7 and box[2] >= 93
    assert mask_ops.paint_segment(m, (-50, -50), (-40, -40), 2, True) is None, "outside: no change"


def test_flood_fill_fills_one_region():
    m = np.zeros((20, 20), bool)
    m[:, 10] = True  # a wall
    box = mask_ops.flood_fill(m, 2, 2, True)
    assert m[:, :10].all() and not m[:, 11:].any() and box == (0, 0, 10, 20)
    assert mask_ops.flood_fill(m, 2, 2, True) is None, "already that value"


def test_coded_mask_follows_the_codec_rule():
    from obic_core.masking import latent_mask_numpy

    rng = np.random.default_rng(1)
    m = np.zeros((100, 150), bool)
    m[20:70, 30:120] = True
    m |= rng.random(m.shape) < 0.02
    m[80:96, 0:32] = False
    m[80:95, 0:1] = True  # 15 pixels of a 256-pixel block: background
    m[80:96, 17:18] = True  # 16 pixels: object
    ours = mask_ops.coded_mask(m)
    lat = latent_mask_numpy(m)
    ref = np.repeat(np.repeat(lat, 16, 0), 16, 1)[:100, :150]
    assert np.array_equal(ours, ref)
    assert not ours[85, 0] and ours[85, 17]
    assert 0.2 < ours.mean() < 0.95, "the random part must leave both kinds of block"


def test_pack_unpack_round_trip_and_changed_box():
    rng = np.random.default_rng(2)
    a = rng.random((37, 53)) < 0.5
    assert np.array_equal(mask_ops.unpack(mask_ops.pack(a)), a)
    b = a.copy()
    b[5:9, 40:44] = ~b[5:9, 40:44]
    assert mask_ops.changed_box(a, b) == (40, 5, 44, 9)
    assert mask_ops.changed_box(a, a) is None


def test_overlay_tints_object_and_outlines_it():
    m = np.zeros((20, 20), bool)
    m[5:15, 5:15] = True
    ov = mask_ops.overlay_bgra(m, (0, 200, 255), 0.4)
    assert ov[0, 0, 3] == 0 and ov[10, 10, 3] == round(255 * 0.4) and ov[5, 10, 3] > 200


def test_errors_are_readable():
    from obic_core.errors import ObicCancelled, ObicFormatError

    e = describe(ObicFormatError("not an .obic file (wrong magic bytes)"))
    assert e.kind == "format" and e.message == "not an .obic file (wrong magic bytes)"
    assert describe(ObicCancelled("x")).kind == "cancelled"
    oom = describe(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert oom.kind == "memory" and "CPU" in oom.message
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        bug = describe(exc, "encoding")
    assert bug.kind == "bug" and "while encoding" in bug.message and "Traceback" in bug.details


def test_formats():
    assert fmt_db(None) == "—" and fmt_db(float("inf")) == "∞ dB" and fmt_db(31.234) == "31.23 dB"
    s = RateSettings(0.7, 0.2, None, "cpu", ("jpeg", "obic"))
    assert s.job_kwargs()["codecs"] == ("obic", "jpeg")


def test_sample_photo_skips_masks():
    from obic_gui.app import sample_photo

    p = sample_photo()
    if p is None:
        pytest.skip("no sample photos bundled")
    assert p.suffix.lower() in (".png", ".jpg", ".jpeg") and ".mask" not in p.name


def test_the_window_never_imports_torch():
    """Start-up stays fast: torch and the models load in the worker processes only."""
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from obic_gui.main_window import MainWindow\n"
        "from obic_gui.settings import AppSettings\n"
        "import obic_gui.app, obic_gui.snapshot, tempfile\n"
        "w = MainWindow(settings=AppSettings.at(tempfile.mktemp(suffix='.ini')))\n"
        "w.show(); app.processEvents()\n"
        "bad = [m for m in ('torch', 'cv2', 'obic_core.codec', 'obic_core.evaluation.compare') if m in sys.modules]\n"
        "print('BAD', bad)\n"
        "w.dispose()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "BAD []" in out.stdout, out.stdout + out.stderr
