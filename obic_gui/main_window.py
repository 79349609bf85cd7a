"""The main window: menus, toolbar, docks and the wiring between document, widgets and jobs.

Nothing slow happens here. Opening, predicting, refining, encoding, comparing and decoding
are jobs (:mod:`obic_gui.jobs`); this module starts them, keeps buttons in step with what
is running, and routes results to the document and the views. Results that arrive for an
image that is no longer open are dropped (``JobInfo.context`` holds the document generation).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from obic_gui import mask_ops
from obic_gui.document import Document
from obic_gui.job_errors import JobError
from obic_gui.jobs import JobInfo, JobManager
from obic_gui.qimage import over_checker, rgb_to_qimage
from obic_gui.quality import codec_label, fmt_bpp, fmt_bytes, fmt_db, fmt_size
from obic_gui.results import (
    CodecFigures,
    DecodeOutcome,
    EncodeOutcome,
    LoadedDocument,
    ProbeOutcome,
    SweepOutcome,
)
from obic_gui.settings import AppSettings
from obic_gui.style import icon
from obic_gui.widgets.canvas import MaskCanvas, Tool
from obic_gui.widgets.compare_view import CompareEntry, CompareView, caption_for, original_caption
from obic_gui.widgets.layers_bar import LayersBar
from obic_gui.widgets.rate_panel import RatePanel
from obic_gui.widgets.stats_panel import StatsPanel
from obic_gui.widgets.tools import ToolsPanel

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.ppm *.pgm)"
OBIC_FILTER = "OBIC files (*.obic)"
OPEN_FILTER = (
    f"Images and OBIC files (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.obic);;"
    f"{IMAGE_FILTER};;{OBIC_FILTER};;All files (*)"
)
SWEEP_TARGETS = (0.1, 0.2, 0.35, 0.5, 0.75)
MAX_OBIC_BYTES = 512 * 1024 * 1024

TAB_EDIT, TAB_COMPARE, TAB_STATS = 0, 1, 2
EMPTY_CANVAS = "Open a photo (Ctrl+O) or drop one here"
#: start the codec worker this long after launch at the latest (sooner once a mask is shown)
CODEC_WARMUP_DELAY_MS = 4000


class MainWindow(QMainWindow):
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
                "codec": ("obic_gui.tasks", "torch", "obic_core.codec", "obic_core.compare"),
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
        self._probe: ProbeOutcome | None = None
        self._sweep: SweepOutcome | None = None
        self._layer_cache: dict[tuple[str, ...], DecodeOutcome] = {}
        self._tools_wanted = True  # the user's choice; the dock hides off the edit tab
        self._probe_requested = False

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

    def _action(
        self,
        name: str,
        text: str,
        slot=None,
        shortcut=None,
        icon_name: str | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        a = QAction(text, self)
        if icon_name:
            a.setIcon(icon(icon_name))
        if shortcut:
            a.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, (list, tuple)) else [shortcut])])
        if tip or shortcut:
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            a.setToolTip(f"{tip or text.replace('&', '').rstrip('.…')}" + (f"  ({keys})" if keys else ""))
        a.setCheckable(checkable)
        if slot is not None:
            (a.toggled if checkable else a.triggered).connect(slot)
        self.actions[name] = a
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        self.actions: dict[str, QAction] = {}
        A = self._action
        A("open", "&Open…", self.open_dialog, QKeySequence.StandardKey.Open, "open", "Open a photo or a .obic file")
        A(
            "save_obic",
            "&Save .obic…",
            self.save_obic_dialog,
            QKeySequence.StandardKey.Save,
            "save",
            "Save the encoded .obic file",
        )
        A(
            "export_recon",
            "&Export reconstructions…",
            self.export_reconstructions_dialog,
            "Ctrl+E",
            "export",
            "Save every codec's reconstruction as PNG",
        )
        A(
            "import_mask",
            "Import mask…",
            self.import_mask_dialog,
            None,
            "import-mask",
            "Load a mask PNG (non-zero = object)",
        )
        A(
            "export_mask",
            "Export mask…",
            self.export_mask_dialog,
            None,
            "export-mask",
            "Save the mask as a PNG (255 = object)",
        )
        A("quit", "&Quit", self.close, QKeySequence.StandardKey.Quit)

        self.undo_action = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo_action.setIcon(icon("undo"))
        self.redo_action = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setIcon(icon("redo"))
        for name, a in (("undo", self.undo_action), ("redo", self.redo_action)):
            self.actions[name] = a
            self.addAction(a)

        tools = QActionGroup(self)
        for name, text, key, ic, tool, tip in (
            ("tool_brush", "Brush", "B", "brush", Tool.BRUSH, "Paint the object (right button erases)"),
            ("tool_eraser", "Eraser", "E", "eraser", Tool.ERASER, "Remove from the object"),
            ("tool_fill", "Fill", "G", "fill", Tool.FILL, "Fill a region: left = object, right = background"),
            (
                "tool_rect",
                "Smart box",
                "R",
                "rect-refine",
                Tool.RECT,
                "Drag a box around an object: GrabCut snaps the mask to its edges inside the box",
            ),
        ):
            a = A(name, text, None, key, ic, tip, checkable=True)
            a.toggled.connect(lambda on, t=tool: on and self.canvas.set_tool(t))
            tools.addAction(a)
        self.actions["tool_brush"].setChecked(True)
        A("brush_smaller", "Smaller brush", lambda: self.canvas.grow_brush(-1), "[")
        A("brush_larger", "Larger brush", lambda: self.canvas.grow_brush(1), "]")
        A(
            "predict",
            "Predict again",
            self.predict_again,
            "Ctrl+P",
            "predict",
            "Predict the object mask again (replaces the mask; undoable)",
        )
        A(
            "refine_all",
            "Refine edges",
            self.refine_whole,
            "Ctrl+R",
            "refine",
            "Snap the whole mask to image edges (GrabCut; undoable)",
        )
        A("invert", "Invert", self.doc.invert_mask, "Ctrl+I", "invert", "Swap object and background")
        A("clear", "Clear", self.doc.clear_mask, "Ctrl+Shift+Delete", "clear", "Empty the mask")

        A("toggle_overlay", "Show mask overlay", self.canvas.set_overlay_visible, "O", "overlay", checkable=True)
        self.actions["toggle_overlay"].setChecked(True)
        A("zoom_fit", "Fit to window", self.zoom_fit, "F", "zoom-fit")
        A("zoom_100", "Actual pixels (100 %)", self.zoom_100, "1", "zoom-100")
        A("zoom_in", "Zoom in", lambda: self._current_view_zoom(1.25), QKeySequence.StandardKey.ZoomIn)
        A("zoom_out", "Zoom out", lambda: self._current_view_zoom(0.8), QKeySequence.StandardKey.ZoomOut)
        for i, name in enumerate(("tab_edit", "tab_compare", "tab_stats")):
            A(
                name,
                self.tabs.tabText(i).replace("&&", "&"),
                lambda _=False, k=i: self.tabs.setCurrentIndex(k),
                f"Ctrl+{i + 1}",
            )

        A(
            "encode",
            "&Encode && compare",
            self.encode,
            ["Ctrl+Return", "Ctrl+Enter"],
            "encode",
            "Encode with OBIC and the chosen codecs at the same bitrate",
        )
        A("cancel", "&Cancel", self.cancel_jobs, "Esc", "cancel", "Stop the running job")
        A(
            "sweep",
            "Run RD &sweep",
            self.run_sweep,
            None,
            "sweep",
            "Encode at several bitrates and plot rate–distortion curves",
        )

    def _build_docks(self) -> None:
        self.tools = ToolsPanel(self.actions)
        self.rate = RatePanel()
        docks = (
            ("Mask tools", self.tools, Qt.DockWidgetArea.LeftDockWidgetArea, "tools"),
            ("Encode", self.rate, Qt.DockWidgetArea.RightDockWidgetArea, "rate"),
        )
        for title, widget, area, name in docks:
            scroll = QScrollArea()
            scroll.setWidget(widget)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            dock.setWidget(scroll)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.addDockWidget(area, dock)
            setattr(self, f"{name}_dock", dock)
        self.tools_dock.setMinimumWidth(260)
        self.rate_dock.setMinimumWidth(330)

    def _build_menus_and_toolbar(self) -> None:
        a = self.actions
        mb = self.menuBar()
        file = mb.addMenu("&File")
        file.addAction(a["open"])
        self.recent_menu = file.addMenu("Open &recent")
        file.addSeparator()
        for n in ("save_obic", "export_recon"):
            file.addAction(a[n])
        file.addSeparator()
        file.addAction(a["import_mask"])
        file.addAction(a["export_mask"])
        file.addSeparator()
        file.addAction(a["quit"])
        edit = mb.addMenu("&Edit")
        for n in (
            "undo",
            "redo",
            None,
            "tool_brush",
            "tool_eraser",
            "tool_fill",
            "tool_rect",
            None,
            "brush_smaller",
            "brush_larger",
            None,
            "predict",
            "refine_all",
            "invert",
            "clear",
        ):
            edit.addSeparator() if n is None else edit.addAction(a[n])
        view = mb.addMenu("&View")
        for n in (
            "toggle_overlay",
            None,
            "zoom_fit",
            "zoom_100",
            "zoom_in",
            "zoom_out",
            None,
            "tab_edit",
            "tab_compare",
            "tab_stats",
        ):
            view.addSeparator() if n is None else view.addAction(a[n])
        view.addSeparator()
        view.addAction(self.tools_dock.toggleViewAction())
        view.addAction(self.rate_dock.toggleViewAction())
        enc = mb.addMenu("E&ncode")
        for n in ("encode", "cancel", None, "sweep"):
            enc.addSeparator() if n is None else enc.addAction(a[n])
        helpm = mb.addMenu("&Help")
        helpm.addAction("&Keyboard shortcuts", self.show_shortcuts)
        helpm.addAction("&About OBIC Studio", self.show_about)

        tb = QToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setIconSize(QSize(22, 22))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setMovable(False)
        for n in (
            "open",
            "save_obic",
            "export_recon",
            None,
            "undo",
            "redo",
            None,
            "zoom_fit",
            "zoom_100",
            "toggle_overlay",
            None,
            "encode",
            "cancel",
        ):
            tb.addSeparator() if n is None else tb.addAction(a[n])
        for n in ("zoom_fit", "zoom_100", "undo", "redo", "toggle_overlay"):
            w = tb.widgetForAction(a[n])
            if w is not None:
                w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(tb)
        self.toolbar = tb

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
        j.finished.connect(self._on_job_finished)
        j.failed.connect(self._on_job_failed)
        j.cancelled.connect(self._on_job_cancelled)
        j.progress.connect(self._on_job_progress)
        j.busy_changed.connect(self._update_actions)
        j.started.connect(self._update_actions)
        j.started.connect(self._on_job_started)
        j.busy_changed.connect(self._on_lane_busy)

        d = self.doc
        d.image_changed.connect(self._on_image_changed)
        d.mask_changed.connect(self._on_mask_changed)
        d.results_changed.connect(self._on_results_changed)
        d.stale_changed.connect(self.compare.set_stale)
        d.stale_changed.connect(self._update_actions)
        d.modified_changed.connect(self._update_title)
        d.undo_stack.indexChanged.connect(self._update_actions)

        self.canvas.view_changed.connect(lambda s, *_: self.status_zoom.setText(f"Zoom {s * 100:.0f} %"))
        self.canvas.cursor_moved.connect(self._on_cursor)
        self.canvas.brush_size_changed.connect(self.tools.set_brush_size)
        self.canvas.rect_drawn.connect(self.refine_rect)
        self.canvas.edit_refused.connect(lambda m: self.statusBar().showMessage(m, 4000))
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
        self.canvas.set_brush_size(s.value("view/brush_size", 40))
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
        s.set_value("view/brush_size", self.canvas.brush_size)
        s.set_value("view/overlay_opacity", self.canvas.overlay_opacity)
        s.set_value("view/compare_split", self.compare.split_mode)
        s.set_value("view/overlay_colour", self.tools.colour_name())
        s.save_geometry(self.saveGeometry(), self.saveState())
        s.sync()

    # ===================================================================== start-up
    def start_background(self) -> None:
        """After the window is shown: start the mask worker, then the codec worker.

        The codec worker (torch + the codec model) starts once the first mask is on screen
        (or after a few seconds): both loading at once would slow down the mask, which is
        what a user waits for first.
        """
        self.jobs.warm_up("mask")
        self.mask_ready.connect(self._start_codec_worker)
        QTimer.singleShot(CODEC_WARMUP_DELAY_MS, self._start_codec_worker)

    def _start_codec_worker(self) -> None:
        if self._probe_requested:
            return
        self._probe_requested = True
        self.jobs.submit("codec", "probe", "probe", {"weights": self.weights}, when_busy="queue")

    # ===================================================================== opening files
    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo or .obic file", self.settings.last_dir(), OPEN_FILTER)
        if path:
            self.open_path(path, confirm=False)

    def open_path(self, path: str, confirm: bool = True) -> bool:
        """Open a photo or a .obic file; the work happens on the workers."""
        if confirm and not self.confirm_discard():
            return False
        p = Path(path)
        self.settings.set_last_dir(str(p))
        self._cancel_document_jobs()
        if p.suffix.lower() == ".obic":
            try:
                size = p.stat().st_size
                if size > MAX_OBIC_BYTES:
                    raise OSError(f"the file is {fmt_size(size)}, larger than any .obic this app writes")
                data = p.read_bytes()
            except OSError as exc:
                self.show_error(
                    JobError("input", "Cannot open the file", f"{p.name}: {getattr(exc, 'strerror', None) or exc}")
                )
                return False
            self.statusBar().showMessage(f"Decoding {p.name}…")
            self.jobs.submit(
                "codec",
                "open_obic",
                "decode_obic",
                {"data": data, "layers": ("object", "background"), "device": self._device(), "weights": self.weights},
                context=(str(p), data),
                when_busy="queue",
            )
        else:
            self.statusBar().showMessage(f"Opening {p.name}…")
            self.jobs.submit("io", "load", "load_image", {"path": str(p)}, context=str(p), when_busy="replace")
        return True

    def _cancel_document_jobs(self) -> None:
        """Work for the open document is pointless once another one opens: stop it."""
        self._encode_after_mask = False
        self.jobs.cancel("mask")
        self.jobs.drop_queued("mask")
        running = self.jobs.running("codec")
        if running is not None and running.tag != "probe":
            self.jobs.cancel("codec")
        self.jobs.drop_queued("codec", keep_tags=("probe",))

    def _loaded(self, info: JobInfo, loaded: LoadedDocument) -> None:
        self.doc.open_image(loaded.image, loaded.path, loaded.notes)
        self._add_recent(loaded.path)
        msg = f"Opened {self.doc.name}"
        if loaded.notes:
            msg += " — " + "; ".join(loaded.notes)
        self.statusBar().showMessage(msg, 8000)
        self.document_opened.emit()
        self._predict(initial=True)

    def _obic_opened(self, info: JobInfo, outcome: DecodeOutcome) -> None:
        path, data = info.context
        self.doc.open_decoded(outcome, data, path)
        self._layer_cache = {tuple(outcome.layers): outcome}
        self._add_recent(path)
        self.layers_bar.select("both")
        self.layers_bar.set_available(set(outcome.layout.layers))
        lo = outcome.layout
        self.layers_bar.set_info(
            f"<b>{Path(path).name}</b> — {lo.width}×{lo.height}, {fmt_bytes(lo.file_bytes)}, "
            f"{fmt_bpp(lo.bpp)}, decoded in {outcome.decode_s or 0:.2f} s"
        )
        self.statusBar().showMessage(f"Decoded {Path(path).name}", 6000)
        self.document_opened.emit()
        self.mask_ready.emit()

    def _add_recent(self, path: str) -> None:
        self.settings.add_recent(path)
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        m = self.recent_menu
        m.clear()
        files = self.settings.recent_files()
        for i, f in enumerate(files):
            act = m.addAction(f"&{i + 1}  {Path(f).name}" if i < 9 else Path(f).name)
            act.setToolTip(f)
            act.triggered.connect(lambda _=False, f=f: self.open_path(f))
        if files:
            m.addSeparator()
            m.addAction("Clear list", lambda: (self.settings.clear_recent(), self._rebuild_recent_menu()))
        m.setEnabled(bool(files))

    # ===================================================================== mask jobs
    def _predict(self, initial: bool) -> None:
        if not self.doc.is_open:
            return
        tag = "predict_initial" if initial else "predict"
        self.jobs.submit(
            "mask",
            tag,
            "predict_mask",
            {"image": self.doc.image, "method": self.tools.chosen_method()},
            context=self.doc.generation,
            when_busy="replace" if initial else "refuse",
        )
        self.statusBar().showMessage("Predicting the object mask…")

    def predict_again(self) -> None:
        if self.jobs.is_busy("mask"):
            self.statusBar().showMessage("The mask is already being updated.", 4000)
            return
        self._predict(initial=False)

    def refine_whole(self) -> None:
        if not self.doc.is_open or self.jobs.is_busy("mask"):
            return
        self.jobs.submit(
            "mask",
            "refine",
            "refine_mask",
            {"image": self.doc.image, "mask": self.doc.mask.copy(), "rect": None},
            context=self.doc.generation,
        )
        self.statusBar().showMessage("Refining the mask edges…")

    def refine_rect(self, rect: tuple[int, int, int, int]) -> None:
        if not self.doc.is_open:
            return
        if self.jobs.is_busy("mask"):
            self.statusBar().showMessage("Wait for the current mask update to finish.", 4000)
            return
        self.canvas.set_busy_rect(rect, "Refining…")
        self.jobs.submit(
            "mask",
            "refine_rect",
            "refine_mask",
            {"image": self.doc.image, "mask": self.doc.mask.copy(), "rect": tuple(rect)},
            context=self.doc.generation,
        )

    def _mask_result(self, info: JobInfo, mask: np.ndarray) -> None:
        self.canvas.set_busy_rect(None)
        if info.context != self.doc.generation or not self.doc.is_open:
            return
        if info.tag == "predict_initial" and self.doc.undo_stack.count() == 0:
            self.doc.set_initial_mask(mask)
        else:
            text = {
                "predict_initial": "Predicted mask",
                "predict": "Predict mask",
                "refine": "Refine edges",
                "refine_rect": "Smart box",
            }.get(info.tag, "Mask")
            self.doc.replace_mask(mask, text)
        self.statusBar().showMessage("Mask ready — paint to adjust it, then Encode.", 5000)
        self.mask_ready.emit()
        if self._encode_after_mask:
            self._encode_after_mask = False
            self.encode()

    # ===================================================================== codec jobs
    def _device(self) -> str:
        return self.rate.settings().device

    def encode(self) -> None:
        if not self.doc.is_open or self.doc.mask is None:
            self.statusBar().showMessage("Open a photo first.", 4000)
            return
        if self.jobs.has_work("codec", ignore_tags=("probe",)):
            return  # a second click never starts a second job
        if self.jobs.has_work("mask") and not self.doc.is_obic:
            self._encode_after_mask = True  # encode the mask that is being predicted
            self.rate.set_stage("Waiting for the mask…")
            self._update_actions()
            return
        s = self.rate.settings()
        kwargs = dict(image=self.doc.image, mask=self.doc.mask.copy(), weights=self.weights, **s.job_kwargs())
        self.jobs.submit(
            "codec",
            "encode",
            "encode_compare",
            kwargs,
            context=(self.doc.generation, self.doc.mask_version),
            when_busy="queue",
        )
        self.rate.set_progress("Starting…", 0.0)
        self._update_actions()

    def run_sweep(self) -> None:
        if not self.doc.is_open or self.jobs.has_work("codec", ignore_tags=("probe",)):
            return
        s = self.rate.settings()
        codecs = ("obic", *[c for c in s.codecs if c != "obic"])
        self.jobs.submit(
            "codec",
            "sweep",
            "sweep",
            dict(
                image=self.doc.image,
                mask=self.doc.mask.copy(),
                targets=SWEEP_TARGETS,
                codecs=codecs,
                object_quality=s.object_quality,
                background_quality=s.background_quality,
                device=s.device,
                weights=self.weights,
            ),
            context=self.doc.generation,
            when_busy="queue",
        )
        self.stats.set_sweep_running(True)
        self._update_actions()

    def show_layers(self, layers: tuple[str, ...]) -> None:
        """Show some layers of the open .obic (decoded on the worker, then cached)."""
        if not self.doc.is_obic or self.doc.obic_data is None:
            return
        layers = tuple(layers)
        if layers in self._layer_cache:
            self._show_decoded_layers(self._layer_cache[layers])
            return
        self.jobs.submit(
            "codec",
            "layers",
            "decode_obic",
            {"data": self.doc.obic_data, "layers": layers, "device": self._device(), "weights": self.weights},
            context=self.doc.generation,
            when_busy="replace",
        )

    def _show_decoded_layers(self, outcome: DecodeOutcome) -> None:
        full = len(outcome.layers) == 2 or outcome.alpha is None
        self.canvas.set_display_image(None if full else over_checker(outcome.image, outcome.alpha))
        if full:
            self.doc.set_decoded_layers(outcome)

    def cancel_jobs(self) -> None:
        """Esc / Cancel: stop whatever the user is waiting for (not the start-up probe)."""
        self._encode_after_mask = False
        for lane in ("codec", "mask", "io"):
            running = self.jobs.running(lane)
            if running is not None and running.tag != "probe":
                self.jobs.cancel(lane)
        self.jobs.drop_queued("codec", keep_tags=("probe",))
        self.status_job.setText("Cancelling…")
        self._update_actions()

    # ===================================================================== job signals
    def _on_job_finished(self, info: JobInfo, result: object) -> None:
        handler = {
            "load": self._loaded,
            "open_obic": self._obic_opened,
            "predict_initial": self._mask_result,
            "predict": self._mask_result,
            "refine": self._mask_result,
            "refine_rect": self._mask_result,
            "encode": self._encoded,
            "sweep": self._swept,
            "layers": self._layers_decoded,
            "probe": self._probed,
            "export": self._exported,
        }.get(info.tag)
        if handler is not None:
            handler(info, result)
        self._update_actions()

    def _encoded(self, info: JobInfo, outcome: EncodeOutcome) -> None:
        generation, mask_version = info.context
        if generation != self.doc.generation:
            return
        self.doc.set_outcome(outcome, mask_version)
        obic = outcome.figure("obic")
        if obic is not None:
            self.rate.set_summary(
                f"<b>OBIC</b> {fmt_bytes(obic.bytes)} · {fmt_bpp(obic.bpp)}<br>"
                f"PSNR {fmt_db(obic.psnr)} · object {fmt_db(obic.object_psnr)}<br>"
                f"<a href='compare' style='color:#7fb2f0'>Compare →</a> &nbsp; "
                f"<a href='stats' style='color:#7fb2f0'>Statistics →</a>"
                + (
                    ""
                    if obic.reached
                    else "<br><span style='color:#ffb454'>target not reachable: this is the smallest file</span>"
                )
            )
        self.rate.set_stage(f"Done — compared with {len(outcome.figures) - 1} codec(s)")
        self.stats.set_notes(outcome.notes)
        if obic is not None:
            self.statusBar().showMessage(f"Encoded: {fmt_bytes(obic.bytes)}, {fmt_bpp(obic.bpp)}", 8000)
        self.results_ready.emit()

    def _swept(self, info: JobInfo, sweep: SweepOutcome) -> None:
        self.stats.set_sweep_running(False)
        if info.context != self.doc.generation:
            return
        self._sweep = sweep
        self.stats.set_sweep(sweep)
        self.rate.set_stage("RD sweep done")

    def _layers_decoded(self, info: JobInfo, outcome: DecodeOutcome) -> None:
        if info.context != self.doc.generation:
            return
        self._layer_cache[tuple(outcome.layers)] = outcome
        self._show_decoded_layers(outcome)

    def _probed(self, info: JobInfo, probe: ProbeOutcome) -> None:
        self._probe = probe
        self.rate.set_devices(probe.devices)
        self.rate.set_settings(self.settings.rate_settings())
        self.rate.set_available_codecs(probe.codecs)
        self.tools.set_methods(probe.seg_methods)
        self.rate.set_problem(f"The codec cannot run yet: {probe.problem}" if probe.problem else None)

    def _exported(self, info: JobInfo, paths: list[str]) -> None:
        self.statusBar().showMessage(
            f"Wrote {len(paths)} PNG file(s) to {Path(paths[0]).parent}" if paths else "Nothing written", 8000
        )

    def _on_job_failed(self, info: JobInfo, error: JobError) -> None:
        if info.lane == "mask":
            self.canvas.set_busy_rect(None)
            self._encode_after_mask = False
        if info.tag == "sweep":
            self.stats.set_sweep_running(False)
        if info.tag == "probe":  # not worth a dialog: shown in the rate panel
            self.rate.set_problem(f"The worker could not start: {error.message}")
            return
        if info.tag == "predict_initial" and self.doc.is_open:
            self.mask_ready.emit()  # an empty mask is still a mask: the user can paint one
        self.rate.set_stage(f"{error.title}")
        self.show_error(error)
        self._update_actions()

    def _on_job_cancelled(self, info: JobInfo) -> None:
        if info.lane == "mask":
            self.canvas.set_busy_rect(None)
        if info.tag == "sweep":
            self.stats.set_sweep_running(False)
        if info.tag in ("encode", "sweep"):
            self.rate.set_stage("Cancelled")
        self.statusBar().showMessage(f"Cancelled ({info.tag.replace('_', ' ')})", 4000)
        self._update_actions()

    def _on_job_started(self, info: JobInfo) -> None:
        text = {
            "predict_initial": "Predicting the object mask…",
            "predict": "Predicting the object mask…",
            "refine": "Refining the mask edges…",
        }.get(info.tag)
        if text:
            self.canvas.set_banner(text)
        if info.tag == "load" and not self.doc.is_open:
            self.canvas.placeholder = f"Opening {Path(str(info.context)).name}…"
            self.canvas.update()

    def _on_lane_busy(self, lane: str, busy: bool) -> None:
        if lane == "mask" and not busy:
            self.canvas.set_banner("")
        if lane == "io" and not busy:
            self.canvas.placeholder = EMPTY_CANVAS
            self.canvas.update()

    def _on_job_progress(self, info: JobInfo, stage: str, fraction: float) -> None:
        if info.tag in ("encode", "sweep"):
            self.rate.set_progress(stage, fraction)
        self.status_job.setText(f"{stage} {fraction * 100:.0f} %")

    # ===================================================================== document signals
    def _on_image_changed(self) -> None:
        self._layer_cache = {} if not self.doc.is_obic else self._layer_cache
        self._sweep = None
        self.stats.set_sweep(None)
        self.layers_bar.setVisible(self.doc.is_obic)
        self.rate.set_summary("")
        self._update_title()
        self._on_mask_changed(None)
        self._update_actions()

    def _on_mask_changed(self, box) -> None:
        m = self.doc.mask
        if m is None or m.size == 0:
            self.tools.set_coverage(None)
            return
        if box is None or not self.doc.stroking:  # cheap enough per stroke end, not per move
            self.tools.set_coverage(float(m.mean()), float(mask_ops.coded_mask(m).mean()))

    def _on_results_changed(self) -> None:
        doc = self.doc
        self.stats.set_layout(doc.layout)
        entries: list[CompareEntry] = []
        figures = []
        if doc.is_open and doc.outcome is not None:
            h, w = doc.shape
            entries.append(CompareEntry("original", "Original", rgb_to_qimage(doc.image), original_caption(w, h)))
            figures = doc.outcome.figures
            for f in figures:
                if f.image is not None:
                    entries.append(CompareEntry(f.codec, codec_label(f.codec), rgb_to_qimage(f.image), caption_for(f)))
        elif doc.is_obic and doc.layout is not None:
            lo = doc.layout
            figures = [
                CodecFigures(
                    "obic",
                    lo.file_bytes,
                    lo.bpp,
                    decode_s=doc.decoded.decode_s,
                    quality=f"{lo.object_quality:.2f}/{lo.background_quality:.2f}"
                    if lo.object_quality is not None
                    else None,
                )
            ]
        self.stats.set_figures(figures)
        if doc.outcome is None:
            self.stats.set_notes([])
        self.stats.set_rd_hint(
            "A .obic file has no original to measure against: open the photo to compare or sweep."
            if doc.is_obic
            else None
        )
        self.compare.set_entries(entries)
        self.compare.set_stale(doc.stale)
        self._update_actions()

    # ===================================================================== saving
    def save_obic_dialog(self) -> bool:
        data = self.doc.obic_data
        if data is None:
            self.show_error(JobError("input", "Nothing to save", "Encode the image first (Ctrl+Return)."))
            return False
        if self.doc.stale and self.ask_before_discard:
            answer = QMessageBox.question(
                self,
                "Mask changed",
                "The mask changed since the last encode. Save the last encode "
                "anyway? (Choose No, then Encode, to save the current mask.)",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        stem = Path(self.doc.path).stem if self.doc.path else "image"
        start = str(Path(self.settings.last_dir("save")) / f"{stem}.obic")
        path, _ = QFileDialog.getSaveFileName(self, "Save .obic", start, OBIC_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".obic"):
            path += ".obic"
        return self.save_obic(path)

    def save_obic(self, path: str) -> bool:
        """Write the current .obic stream (atomically: temp file + rename)."""
        from obic_core.imageio import write_bytes_atomic

        if self.doc.obic_data is None:
            return False
        try:
            write_bytes_atomic(path, self.doc.obic_data)
        except OSError as exc:
            self.show_error(JobError("input", "Cannot save", f"{path}: {exc.strerror or exc}"))
            return False
        self.settings.set_last_dir(path, "save")
        self.doc.mark_saved(path)
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {Path(path).name} ({fmt_bytes(len(self.doc.obic_data))})", 6000)
        self._update_title()
        return True

    def export_reconstructions_dialog(self) -> None:
        if self.doc.outcome is None and not self.doc.is_obic:
            self.show_error(JobError("input", "Nothing to export", "Encode the image first (Ctrl+Return)."))
            return
        folder = QFileDialog.getExistingDirectory(self, "Export reconstructions to…", self.settings.last_dir("export"))
        if folder:
            self.settings.set_last_dir(folder, "export")
            self.export_reconstructions(folder)

    def export_reconstructions(self, folder: str) -> None:
        stem = Path(self.doc.path).stem if self.doc.path else "image"
        items = []
        if self.doc.outcome is not None:
            for f in self.doc.outcome.figures:
                if f.image is not None:
                    items.append((str(Path(folder) / f"{stem}.{f.codec}.{f.bpp:.3f}bpp.png"), f.image, None))
        elif self.doc.decoded is not None:
            for layers, out in self._layer_cache.items():
                items.append((str(Path(folder) / f"{stem}.{'+'.join(layers)}.png"), out.image, out.alpha))
        self.jobs.submit("io", "export", "write_pngs", {"items": items}, when_busy="queue")

    def export_mask_dialog(self) -> None:
        if self.doc.mask is None:
            return
        stem = Path(self.doc.path).stem if self.doc.path else "image"
        start = str(Path(self.settings.last_dir("mask")) / f"{stem}.mask.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export mask", start, "PNG (*.png)")
        if path:
            self.export_mask(path)

    def export_mask(self, path: str) -> bool:
        from obic_core.imageio import write_png

        try:
            write_png(path, self.doc.mask.astype(np.uint8) * 255)
        except OSError as exc:
            self.show_error(JobError("input", "Cannot save the mask", f"{path}: {exc.strerror or exc}"))
            return False
        self.settings.set_last_dir(path, "mask")
        self.doc.mark_saved()
        self.statusBar().showMessage(f"Mask saved to {Path(path).name}", 5000)
        return True

    def import_mask_dialog(self) -> None:
        if self.doc.mask is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Import mask", self.settings.last_dir("mask"), "Images (*.png *.bmp *.tif *.tiff *.jpg)"
        )
        if path:
            self.import_mask(path)

    def import_mask(self, path: str) -> bool:
        from obic_core.errors import ObicError
        from obic_core.imageio import read_mask

        try:
            mask = read_mask(path, self.doc.shape)
        except ObicError as exc:
            self.show_error(JobError("input", "Cannot use this mask", str(exc)))
            return False
        self.settings.set_last_dir(path, "mask")
        self.doc.replace_mask(mask, "Import mask")
        return True

    # ===================================================================== prompts & errors
    def confirm_discard(self) -> bool:
        """Unsaved mask edits: ask before they are thrown away (True = go ahead)."""
        if not self.doc.modified or not self.ask_before_discard:
            return True
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Unsaved changes", f"The mask of {self.doc.name} has unsaved edits.", parent=self
        )
        box.setInformativeText("Save them as a .obic file (or export the mask) first?")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            if self.doc.obic_data is not None and not self.doc.stale:
                return self.save_obic_dialog()
            self.export_mask_dialog()
            return not self.doc.modified
        return False

    def show_error(self, error: JobError) -> None:
        """A readable message; details (a traceback) only behind "Show Details"."""
        self.last_error = error
        self.statusBar().showMessage(f"{error.title}: {error.message}", 10000)
        self.error_shown.emit(error.title, error.message)
        if not self.show_dialogs:
            print(f"obic-gui: {error.title}: {error.message}", file=sys.stderr)
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

    def show_shortcuts(self) -> None:
        rows = [
            ("Open", "Ctrl+O"),
            ("Save .obic", "Ctrl+S"),
            ("Undo / Redo", "Ctrl+Z / Ctrl+Shift+Z"),
            ("Brush / Eraser / Fill / Smart box", "B / E / G / R"),
            ("Brush size", "[ and ]"),
            ("Pan", "Space+drag or middle button"),
            ("Zoom", "mouse wheel (around the cursor)"),
            ("Fit / 100 %", "F / 1"),
            ("Mask overlay on/off", "O"),
            ("Encode & compare", "Ctrl+Return"),
            ("Cancel", "Esc"),
            ("Tabs", "Ctrl+1 / Ctrl+2 / Ctrl+3"),
        ]
        body = "".join(f"<tr><td>{a}</td><td><b>{b}</b></td></tr>" for a, b in rows)
        html = f"<table cellpadding=4>{body}</table>"
        QMessageBox.information(self, "Keyboard shortcuts", html)

    def show_about(self) -> None:
        from obic_gui import __version__

        QMessageBox.about(
            self,
            "About OBIC Studio",
            f"<b>OBIC Studio</b> {__version__}<br>Object-based learned image coding: "
            "the object and the background are coded as separate layers, each at its "
            "own quality.",
        )

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

    def _on_tab_changed(self, index: int) -> None:
        """Mask tools only make sense on the image tab; elsewhere the views get the room."""
        self.tools_dock.setVisible(self._tools_wanted and index == TAB_EDIT)

    def _on_cursor(self, x: int, y: int) -> None:
        m = self.doc.mask
        if x < 0 or m is None:
            self.status_cursor.setText("")
            return
        self.status_cursor.setText(f"x {x}  y {y} · {'object' if m[y, x] else 'background'}")

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
        codec_work = j.has_work("codec", ignore_tags=("probe",))
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
        self.rate.set_running(codec_work or waiting, can_encode=open_)
        self.stats.sweep_button.setEnabled(open_ and not codec_work and not doc.is_obic)
        if not running:
            self.status_job.setText("")
        self.job_state_changed.emit()

    # ===================================================================== window events
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
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
            (j.finished, self._on_job_finished),
            (j.failed, self._on_job_failed),
            (j.cancelled, self._on_job_cancelled),
            (j.progress, self._on_job_progress),
            (j.busy_changed, self._update_actions),
            (j.started, self._update_actions),
            (j.started, self._on_job_started),
            (j.busy_changed, self._on_lane_busy),
        ):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self.doc.dispose()
        if self._owns_jobs:
            j.shutdown()
