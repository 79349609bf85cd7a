"""The main window: the wiring between document, widgets and jobs.

Nothing slow happens here. Opening, predicting, refining, encoding, comparing and decoding
are jobs (:mod:`obic_gui.jobs`); the window starts them (:mod:`obic_gui.window_jobs`), each
with the handlers its answer goes to, and keeps buttons in step with what is running.
Its commands are built in :mod:`obic_gui.window_menus` and its file commands and unsaved-work
prompts live in :mod:`obic_gui.window_files`. Results that arrive for an image that is no
longer open are dropped (each handler remembers the document generation it was started for).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from obic_core.results import CompareResult
from obic_gui import mask_ops
from obic_gui.document import Document
from obic_gui.job_errors import JobError
from obic_gui.jobs import JobManager
from obic_gui.offthread import ASYNC_PIXELS, off_thread
from obic_gui.outcomes import DecodeOutcome, ProbeOutcome
from obic_gui.settings import AppSettings
from obic_gui.style import icon
from obic_gui.widgets.canvas import MaskCanvas
from obic_gui.widgets.compare_view import CompareView
from obic_gui.widgets.layers_bar import LayersBar
from obic_gui.widgets.stats_panel import StatsPanel
from obic_gui.window_compare import CompareFeature
from obic_gui.window_files import (  # noqa: F401 (re-exported: the file filters and limits)
    IMAGE_FILTER,
    MAX_OBIC_BYTES,
    OBIC_FILTER,
    OPEN_FILTER,
    FileActions,
    dropped_files,
)
from obic_gui.window_jobs import EMPTY_CANVAS, SWEEP_TARGETS, JobActions  # noqa: F401
from obic_gui.window_menus import WindowMenus
from obic_gui.window_quality import QualityFeature

TAB_EDIT, TAB_COMPARE, TAB_STATS = 0, 1, 2
#: start the codec worker this long after launch at the latest (sooner once a mask is shown)
CODEC_WARMUP_DELAY_MS = 4000
#: the brush diameter is kept in screen pixels under this key (it was image pixels before)
BRUSH_KEY = "view/brush_screen_px"


class MainWindow(WindowMenus, FileActions, JobActions, QMainWindow):
    """OBIC Studio's window. ``jobs`` and ``settings`` are injectable for tests."""

    document_opened = Signal()
    mask_ready = Signal()  # the predicted (or refined) mask is on screen
    results_ready = Signal()  # an encode & compare finished and is shown
    error_shown = Signal(str, str)  # title, message
    job_state_changed = Signal()

    def __init__(
        self,
        jobs: JobManager | None = None,
        settings: AppSettings | None = None,
        weights: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        #: codec weight file (None: the shipped default); --weights or $OBIC_WEIGHTS
        self.weights = weights
        self.settings = settings or AppSettings()
        self.jobs = jobs or JobManager(
            self,
            preload={
                "mask": ("obic_gui.tasks", "obic_core.segmentation.predict", "obic_core.segmentation.classic"),
                "codec": ("obic_gui.tasks", "torch", "obic_core.codec", "obic_core.evaluation.compare"),
                "estimate": ("obic_gui.tasks", "torch", "obic_core.codec", "obic_core.rate_estimate"),
            },
        )
        self._owns_jobs = jobs is None
        if self._owns_jobs:
            self.jobs.setParent(self)
        self.doc = Document(self)
        self.ask_before_discard = True  # tests and --snapshot turn the prompts off
        self.show_dialogs = True  # False: errors go to stderr and the status bar only
        self.last_error: JobError | None = None
        self._error_box: QMessageBox | None = None
        self._encode_after_mask = False
        self._save_after_encode: str | None = None  # "Encode & save": the path to write
        self._probe: ProbeOutcome | None = None
        self._layer_cache: dict[tuple[str, ...], DecodeOutcome] = {}
        self._tools_wanted = True  # the user's choice; the dock hides off the edit tab
        self._probe_requested = False
        self._coverage_key = f"coverage-{id(self)}"

        self.setWindowTitle("OBIC Studio")
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self._build_central()
        self._build_actions()
        self._build_docks()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self.quality = QualityFeature(self)  # quality brush, heat map, live size estimate (window_quality)
        self.compare_feature = CompareFeature(self)  # split-side re-encodes, side export, PNG size
        self._restore()
        self._update_actions()

    # ===================================================================== construction
    def _build_central(self) -> None:
        self.canvas = MaskCanvas(self.doc)
        self.layers_bar = LayersBar()
        self.layers_bar.hide()
        edit = QWidget()
        el = QVBoxLayout(edit)
        el.setContentsMargins(0, 0, 0, 0)
        el.setSpacing(0)
        el.addWidget(self.layers_bar)
        el.addWidget(self.canvas, 1)
        self.compare = CompareView()
        self.stats = StatsPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(edit, "Image && mask")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.stats, "Statistics")
        self.setCentralWidget(self.tabs)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_file = QLabel()
        self.status_zoom = QLabel()
        self.status_cursor = QLabel()
        self.status_job = QLabel()
        for w in (self.status_cursor, self.status_zoom, self.status_file, self.status_job):
            w.setContentsMargins(6, 0, 6, 0)
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        j = self.jobs
        # each job's answer goes where its submit says (window_jobs); these concern every job
        j.finished.connect(self._update_actions)
        j.failed.connect(self._update_actions)
        j.cancelled.connect(self._on_job_cancelled)
        j.progress.connect(self._on_job_progress)
        j.busy_changed.connect(self._update_actions)
        j.started.connect(self._update_actions)
        j.busy_changed.connect(self._on_lane_busy)

        d = self.doc
        d.image_changed.connect(self._on_image_changed)
        d.mask_changed.connect(self._on_mask_changed)
        d.results_changed.connect(self._on_results_changed)
        d.sweep_changed.connect(self.stats.set_sweep)
        d.stale_changed.connect(self.compare.set_stale)
        d.stale_changed.connect(self._on_stale_changed)
        d.stale_changed.connect(self._update_actions)
        d.modified_changed.connect(self._update_title)
        d.undo_stack.indexChanged.connect(self._update_actions)

        # the status bar speaks of the view on screen: the canvas or the compare views
        self.canvas.view_changed.connect(lambda *_: self._show_view_status(TAB_EDIT))
        self.canvas.view_changed.connect(lambda s, *_: self.tools.set_view_scale(s))
        self.canvas.cursor_moved.connect(self._on_cursor)
        self.compare.zoom_changed.connect(lambda *_: self._show_view_status(TAB_COMPARE))
        self.compare.cursor_moved.connect(self._on_compare_cursor)
        self.canvas.brush_size_changed.connect(self.tools.set_brush_size)
        self.canvas.rect_drawn.connect(self.refine_rect)
        self.canvas.edit_refused.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.tools.smart_options.bind(self.canvas.smart)
        self.canvas.smart.edited.connect(self._on_smart_edit)
        self.tools.brush_size_changed.connect(self.canvas.set_brush_size)
        self.tools.opacity_changed.connect(self.canvas.set_overlay_opacity)
        self.tools.coded_view_changed.connect(self.canvas.set_show_coded)
        self.tools.colour_changed.connect(self.canvas.set_colour)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tools_dock.toggleViewAction().triggered.connect(lambda on: setattr(self, "_tools_wanted", on))
        self.layers_bar.layers_chosen.connect(self.show_layers)
        self.rate.encode_requested.connect(self.encode)
        self.rate.cancel_requested.connect(self.cancel_jobs)
        self.rate.settings_changed.connect(lambda: self.settings.save_rate_settings(self.rate.settings()))
        self.stats.sweep_requested.connect(self.run_sweep)
        self.rate.summary.linkActivated.connect(
            lambda link: self.tabs.setCurrentIndex(TAB_COMPARE if link == "compare" else TAB_STATS)
        )
        self.tabs.currentChanged.connect(lambda *_: self._update_actions())

    def _restore(self) -> None:
        s = self.settings
        self.rate.set_settings(s.rate_settings())
        self.canvas.set_brush_size(s.value(BRUSH_KEY, 40))
        self.tools.set_brush_size(self.canvas.brush_size)
        opacity = s.value("view/overlay_opacity", 0.45)
        self.canvas.set_overlay_opacity(opacity)
        self.tools.set_opacity(opacity)
        self.compare.set_split_mode(s.value("view/compare_split", False))
        self.tools.set_colour_name(s.value("view/overlay_colour", "Cyan"))
        self.canvas.set_colour(tuple(self.tools.colour.currentData()))
        geometry, state = s.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 940)
        if state is not None:
            self.restoreState(state)
        self._rebuild_recent_menu()

    def save_settings(self) -> None:
        s = self.settings
        s.save_rate_settings(self.rate.settings())
        s.set_value(BRUSH_KEY, self.canvas.brush_size)
        s.set_value("view/overlay_opacity", self.canvas.overlay_opacity)
        s.set_value("view/compare_split", self.compare.split_mode)
        s.set_value("view/overlay_colour", self.tools.colour_name())
        s.save_geometry(self.saveGeometry(), self.saveState())
        s.sync()

    # ===================================================================== document signals
    def _on_image_changed(self) -> None:
        """A new document: nothing of the previous one may stay on screen."""
        self._layer_cache = {} if not self.doc.is_obic else self._layer_cache
        self.stats.set_notes([])
        self.layers_bar.setVisible(self.doc.is_obic)
        self.rate.reset()
        self._update_title()
        self._on_mask_changed(None)
        self._show_view_status()
        self._update_actions()

    def _on_mask_changed(self, box) -> None:
        m = self.doc.mask
        if m is None or m.size == 0:
            off_thread().forget(self._coverage_key)
            self.tools.set_coverage(None)
            return
        if box is not None and self.doc.stroking:  # cheap enough per stroke end, not per move
            return
        if m.size >= ASYNC_PIXELS:  # a big photo: measure on the helper thread
            off_thread().submit(self._coverage_key, lambda: mask_ops.coverage(m), self._show_coverage)
        else:
            self._show_coverage(mask_ops.coverage(m))

    def _show_coverage(self, fractions: tuple[float, float]) -> None:
        self.tools.set_coverage(*fractions)

    def _on_smart_edit(self, text: str) -> None:
        s = self.canvas.smart.last_click_s if text.startswith("Click") else None
        self.statusBar().showMessage(text + (f" ({s:.2f} s)" if s is not None else ""), 4000)

    def _on_stale_changed(self, stale: bool) -> None:
        """Said on every tab: the encode panel is beside the mask as well as the results."""
        self.rate.set_stale(stale)
        if stale and self.doc.outcome is not None:
            self.rate.set_stage("Mask changed since this encode — Encode again to update the results")

    def _on_results_changed(self) -> None:
        doc = self.doc
        self.stats.set_layout(doc.layout)
        figures = []
        png = self.compare_feature.png_bytes()  # the "% of PNG" yardstick, once it is measured
        if doc.is_open and doc.outcome is not None:
            figures = doc.outcome.figures
            self.compare.set_results(doc.image, figures, decoded_reference=doc.is_obic, png_bytes=png)
        else:
            self.compare.set_results(None, [])
        if doc.outcome is None and doc.is_obic and doc.layout is not None:
            lo = doc.layout
            quality = (lo.object_quality, lo.background_quality) if lo.object_quality is not None else None
            figures = [CompareResult("obic", lo.bpp, lo.file_bytes, decode_s=doc.decoded.decode_s, quality=quality)]
        self.stats.set_figures(figures, png)
        if doc.outcome is None:
            self.stats.set_notes([])
        self.stats.set_rd_hint(
            "A .obic file has no original to measure against: open the photo to compare or sweep."
            if doc.is_obic
            else None
        )
        self.compare.set_stale(doc.stale)
        self._update_title()
        self._update_actions()

    # ===================================================================== errors
    def show_error(self, error: JobError) -> None:
        """A readable message; details (a traceback) only behind "Show Details"."""
        self.last_error = error
        self.statusBar().showMessage(f"{error.title}: {error.message}", 10000)
        self.error_shown.emit(error.title, error.message)
        if not self.show_dialogs:
            print(f"obic-gui: {error.title}: {error.message}", file=sys.stderr)  # noqa: T201 — no dialogs: stderr
            return
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, error.title, error.message, parent=self)
        if error.details and error.kind in ("bug", "crash", "memory"):
            box.setDetailedText(error.details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda *_: setattr(self, "_error_box", None))
        self._error_box = box
        box.open()

    # ===================================================================== view helpers
    def _current_view_zoom(self, factor: float) -> None:
        if self.tabs.currentIndex() == TAB_EDIT:
            self.canvas.zoom_by(factor)
        elif self.tabs.currentIndex() == TAB_COMPARE:
            views = self.compare._views()
            if views:
                views[0].zoom_by(factor)

    def zoom_fit(self) -> None:
        (self.compare.fit if self.tabs.currentIndex() == TAB_COMPARE else self.canvas.fit)()

    def zoom_100(self) -> None:
        (self.compare.actual_size if self.tabs.currentIndex() == TAB_COMPARE else self.canvas.actual_size)()

    def zoom_step(self, scale: float) -> None:
        """A fixed zoom (keys 2 and 4: 200 %, 400 %) in the view on screen."""
        (self.compare.zoom_step if self.tabs.currentIndex() == TAB_COMPARE else self.canvas.zoom_to)(scale)

    def _on_tab_changed(self, index: int) -> None:
        """Mask tools only make sense on the image tab; elsewhere the views get the room."""
        self.tools_dock.setVisible(self._tools_wanted and index == TAB_EDIT)
        self.status_cursor.setText("")
        self._show_view_status()

    def _show_view_status(self, source: int | None = None) -> None:
        """Zoom of the view on screen; ``source`` = the tab whose view changed (others are ignored)."""
        tab = self.tabs.currentIndex()
        if source is not None and source != tab:
            return  # e.g. the hidden canvas refitting itself while the Compare tab is shown
        scale = None
        if tab == TAB_EDIT and self.doc.is_open:
            scale = self.canvas.scale
        elif tab == TAB_COMPARE:
            scale = self.compare.current_scale()
        self.status_zoom.setText("" if scale is None else f"Zoom {scale * 100:.0f} %")

    def _on_cursor(self, x: int, y: int) -> None:
        m = self.doc.mask
        if x < 0 or m is None or self.tabs.currentIndex() != TAB_EDIT:
            self.status_cursor.setText("")
            return
        self.status_cursor.setText(f"x {x}  y {y} · {'object' if m[y, x] else 'background'}")

    def _on_compare_cursor(self, x: int, y: int) -> None:
        if self.tabs.currentIndex() != TAB_COMPARE:
            return
        self.status_cursor.setText("" if x < 0 else f"x {x}  y {y}")

    def _update_title(self, *_) -> None:
        name = self.doc.name if self.doc.is_open else ""
        star = "*" if self.doc.modified else ""
        self.setWindowTitle(f"{name}{star} — OBIC Studio" if name else "OBIC Studio")
        if self.doc.is_open:
            h, w = self.doc.shape
            self.status_file.setText(f"{name} · {w}×{h}")
        else:
            self.status_file.setText("")

    def _update_actions(self, *_) -> None:
        a, j, doc = self.actions, self.jobs, self.doc
        open_ = doc.is_open
        mask_busy = j.is_busy("mask")
        codec_work = self.codec_busy()
        waiting = self._encode_after_mask
        for n in ("predict", "refine_all"):
            a[n].setEnabled(open_ and not mask_busy)
        for n in ("invert", "clear", "import_mask", "export_mask"):
            a[n].setEnabled(open_)
        self.canvas.editable = not mask_busy  # a mask job's result would overwrite the edit
        a["encode"].setEnabled(open_ and not codec_work and not waiting)
        a["sweep"].setEnabled(open_ and not codec_work and not doc.is_obic)
        running = codec_work or waiting or mask_busy or j.is_busy("io")
        a["cancel"].setEnabled(running)
        a["save_obic"].setEnabled(doc.obic_data is not None)
        a["export_recon"].setEnabled(doc.outcome is not None or doc.is_obic)
        a["export_stats"].setEnabled(doc.outcome is not None or doc.sweep is not None)
        self.rate.set_running(codec_work or waiting, can_encode=open_)
        self.stats.sweep_button.setEnabled(open_ and not codec_work and not doc.is_obic)
        if not running:
            self.status_job.setText("")
        self.job_state_changed.emit()

    # ===================================================================== window events
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept only files the app can open, so the cursor says so before the drop."""
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        QTimer.singleShot(0, lambda: self.open_path(files[0]))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.save_settings()
        self.dispose()
        event.accept()

    def dispose(self) -> None:
        """Stop the workers and cut the wiring before the widgets are deleted."""
        if getattr(self, "_disposed", False):
            return
        self._disposed = True
        j = self.jobs
        for signal, slot in (
            (j.finished, self._update_actions),
            (j.failed, self._update_actions),
            (j.cancelled, self._on_job_cancelled),
            (j.progress, self._on_job_progress),
            (j.busy_changed, self._update_actions),
            (j.started, self._update_actions),
            (j.busy_changed, self._on_lane_busy),
        ):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        j.forget(self)  # the handlers of this window's jobs (its features' too)
        off_thread().forget(self._coverage_key)
        off_thread().forget(self.canvas._overlay_key)
        self.quality.dispose()
        self.doc.dispose()
        if self._owns_jobs:
            j.shutdown()
