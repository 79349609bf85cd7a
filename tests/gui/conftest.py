"""Fixtures for the GUI tests (pytest-qt, offscreen, settings in a temp INI file)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OBIC_GUI_THREADS", "1")  # worker processes share the CPU with training
sys.path.insert(0, str(Path(__file__).resolve().parent))  # gui_fake_tasks, also for workers

from guitest import WAIT_MS  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _theme(qapp):
    from obic_gui.style import apply_theme

    apply_theme(qapp)


@pytest.fixture
def settings(tmp_path):
    from obic_gui.settings import AppSettings

    return AppSettings.at(tmp_path / "settings.ini")


@pytest.fixture
def photo() -> np.ndarray:
    """A small synthetic 'photo': gradient background and a bright disc."""
    h, w = 120, 160
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([xx * 255 // w, yy * 255 // h, np.full((h, w), 90)], axis=2).astype(np.uint8)
    disc = (yy - 60) ** 2 + (xx - 80) ** 2 < 30**2
    img[disc] = (230, 200, 40)
    return img


@pytest.fixture
def fake_jobs():
    from obic_gui.jobs import JobManager

    jobs = JobManager(task_module="gui_fake_tasks", process_lanes=())
    yield jobs
    jobs.shutdown()


@pytest.fixture
def window(qtbot, fake_jobs, settings, photo):
    """A main window on fake tasks, with ``photo`` open and its (fake) mask predicted."""
    from obic_gui.main_window import MainWindow

    w = MainWindow(jobs=fake_jobs, settings=settings)
    w.ask_before_discard = False
    w.show_dialogs = False
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.mask_ready, timeout=WAIT_MS):
        w.doc.open_image(photo, "/tmp/synthetic.png")
        w._predict(initial=True)
    return w
