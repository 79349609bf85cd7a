"""`--snapshot`: run open → mask → encode & compare unattended, then save screenshots.

Waits on the window's own signals (never on fixed sleeps), so a screenshot always shows
finished results; if something fails the screenshot is still taken (it then shows the
error in the status bar) and the exit status says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from obic_gui.main_window import TAB_COMPARE, TAB_EDIT, TAB_STATS, MainWindow
from obic_gui.offthread import off_thread

TABS = {"main": TAB_EDIT, "compare": TAB_COMPARE, "split": TAB_COMPARE, "stats": TAB_STATS}
#: the split screenshot: a baseline on the left, OBIC on the right (the first one this encode has)
SPLIT_LEFT = ("hevc", "webp", "jpeg", "original")


def snapshot_paths(out: str, view: str) -> dict[str, Path]:
    """OUT.png for one view; OUT-main.png, OUT-compare.png, OUT-split.png, OUT-stats.png for 'all'."""
    p = Path(out)
    if view != "all":
        return {view: p}
    return {v: p.with_name(f"{p.stem}-{v}{p.suffix or '.png'}") for v in TABS}


class SnapshotDriver(QObject):
    finished = Signal()  # screenshots written (or given up): the caller ends its event loop

    def __init__(self, window: MainWindow, out: str, view: str, timeout_s: float, sweep: bool = False) -> None:
        super().__init__(window)
        self.window = window
        self.sweep = sweep
        self.paths = snapshot_paths(out, view)
        self.exit_code = 1
        self._failed = False
        self._done = False
        window.mask_ready.connect(self._on_mask)
        window.results_ready.connect(self._on_results)
        window.doc.sweep_changed.connect(self._on_sweep)
        window.error_shown.connect(self._on_error)
        QTimer.singleShot(int(timeout_s * 1000), self._on_timeout)

    def _on_mask(self) -> None:
        w = self.window
        if w.doc.is_obic:  # a .obic has no encode to wait for
            QTimer.singleShot(300, self._capture)
        elif not w.codec_busy() and w.doc.outcome is None:
            w.encode()

    def _on_results(self) -> None:
        if self.sweep:
            self.window.run_sweep()
        else:
            QTimer.singleShot(300, self._capture)  # let the views lay out before grabbing

    def _on_sweep(self, sweep) -> None:
        if sweep is not None:  # the RD sweep is on the Statistics tab
            QTimer.singleShot(300, self._capture)

    def _on_error(self, title: str, message: str) -> None:
        self._failed = True
        QTimer.singleShot(300, self._capture)

    def _on_timeout(self) -> None:
        print("obic-gui: --snapshot: timed out waiting for results", file=sys.stderr)
        self._failed = True
        self._capture()

    def _capture(self) -> None:
        if self._done:
            return
        self._done = True
        w = self.window
        off_thread().wait()  # a big photo's overlay and coverage are built off the GUI thread
        QApplication.processEvents()
        for view, path in self.paths.items():
            w.tabs.setCurrentIndex(TABS[view])
            QApplication.processEvents()
            if view in ("compare", "split"):
                w.compare.set_split_mode(view == "split")
                if view == "split":
                    combo = w.compare.left_combo
                    combo.setCurrentIndex(next((i for k in SPLIT_LEFT if (i := combo.findData(k)) >= 0), 0))
                QApplication.processEvents()
                w.compare.fit()
            if view == "stats":
                w.stats.flush()
            QApplication.processEvents()
            path.parent.mkdir(parents=True, exist_ok=True)
            if not w.grab().save(str(path)):
                print(f"obic-gui: --snapshot: cannot write {path}", file=sys.stderr)
                self._failed = True
            else:
                print(f"wrote {path}")
        w.tabs.setCurrentIndex(TAB_EDIT)
        self.exit_code = 1 if self._failed else 0
        w.ask_before_discard = False
        w.close()
        self.finished.emit()
