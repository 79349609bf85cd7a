"""The main window's quality feature: "paint the bits" — wiring of model, tools, overlay, panel, estimate.

Built by :class:`obic_gui.main_window.MainWindow` with one call, so the window keeps only a
hook. It adds the quality tools to the canvas's tool group (one tool at a time, mask or
quality), a "Quality" dock tabbed with the mask tools, a Quality menu, the live size estimate
at the top of the rate panel, and the import / export of label images and quality maps.
Nothing here touches torch: the estimate and the encode run on the workers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog, QScrollArea

from obic_gui.job_errors import JobError
from obic_gui.quality_edits import QualityModel
from obic_gui.quality_estimate import SizeEstimator
from obic_gui.widgets.canvas import Tool
from obic_gui.widgets.quality_overlay import QualityOverlay
from obic_gui.widgets.quality_panel import QualityPanel, SizeEstimateView
from obic_gui.widgets.quality_tools import BRUSH, FILL, GRADIENT, QualityTools

IMAGE_FILES = "Images (*.png *.bmp *.tif *.tiff)"
#: tab index of the edit tab (main_window.TAB_EDIT; not imported: main_window imports this module)
TAB_EDIT = 0


class QualityFeature(QObject):
    """Everything "paint the bits" adds to a :class:`~obic_gui.main_window.MainWindow`."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = w = window
        self.model = QualityModel(w.doc, defaults=self._defaults)
        self.overlay = QualityOverlay(w.canvas, self.model)
        self.tools = QualityTools(w.canvas, self.model, self.overlay)
        self._build_actions()
        self.panel = QualityPanel(w.actions)
        self.estimate_view = SizeEstimateView()
        w.rate.layout().insertWidget(1, self.estimate_view)  # under the qualities, above the device
        self.estimate_view.hide()  # shown while estimates are made (quality panel on top, or a map)
        self.estimator = SizeEstimator(
            w.jobs, w.doc, self.model, device=lambda: w.rate.settings().device, weights=lambda: w.weights, parent=self
        )
        self._build_dock()
        self._build_menu()
        self._connect()
        self._dock_wanted = True
        self._dock_on_screen = False  # tabbed behind the mask tools (isVisible() says True even then)
        self._refresh_panel()

    # -- construction ------------------------------------------------------------------------
    def _defaults(self) -> tuple[float, float]:
        s = self.w.rate.settings()
        return s.object_quality, s.background_quality

    def _build_actions(self) -> None:
        w, A = self.w, self.w._action
        group = w.actions["tool_brush"].actionGroup()
        for name, text, key, ic, mode, tip in (
            (
                "quality_brush",
                "Quality brush",
                "Q",
                "quality-brush",
                BRUSH,
                "Paint qualities: left = the value, right = the second value",
            ),
            (
                "quality_gradient",
                "Quality gradient",
                "D",
                "quality-gradient",
                GRADIENT,
                "Drag a linear ramp from the value to the second value",
            ),
            (
                "quality_fill",
                "Quality fill",
                "Shift+G",
                "quality-fill",
                FILL,
                "Click an object or the background: it takes the value (right: the second value)",
            ),
        ):
            a = A(name, text, None, key, ic, tip, checkable=True)
            a.toggled.connect(lambda on, m=mode: on and self.choose_tool(m))
            if group is not None:
                group.addAction(a)
        A(
            "toggle_quality_map",
            "Show quality map",
            self.overlay.set_map_visible,
            "H",
            "heatmap",
            "Show the painted qualities as a heat map (blue = few bits, red = many)",
            checkable=True,
        )
        A(
            "quality_remove",
            "Remove quality map",
            self.model.remove,
            None,
            "clear",
            "Back to the Encode panel's two qualities (undoable)",
        )
        A(
            "import_labels",
            "Import object labels…",
            self.import_labels_dialog,
            None,
            "import-mask",
            "Load a label image (0 = background, 1…N = objects): one quality slider per object",
        )
        A(
            "import_quality_map",
            "Import quality map…",
            self.import_map_dialog,
            None,
            "import-mask",
            "Load an 8-bit gray quality map (0 = q 0, 255 = q 1), like obic encode --quality-map",
        )
        A(
            "export_quality_map",
            "Export quality map…",
            self.export_map_dialog,
            None,
            "export-mask",
            "Save the painted map as an 8-bit gray PNG (obic encode --quality-map reads it)",
        )

    def _build_dock(self) -> None:
        w = self.w
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        dock = QDockWidget("Quality", w)
        dock.setObjectName("dock_quality")
        dock.setWidget(scroll)
        dock.setFeatures(w.tools_dock.features())
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        w.tabifyDockWidget(w.tools_dock, dock)
        w.tools_dock.raise_()
        self.dock = dock

    def _build_menu(self) -> None:
        w, a = self.w, self.w.actions
        menu = w.menuBar().addMenu("&Quality")
        for n in (
            "quality_brush",
            "quality_gradient",
            "quality_fill",
            None,
            "toggle_quality_map",
            "quality_remove",
            None,
            "import_labels",
            "import_quality_map",
            "export_quality_map",
        ):
            menu.addSeparator() if n is None else menu.addAction(a[n])
        menu.addSeparator()
        menu.addAction(self.dock.toggleViewAction())
        # before Help, which stays last
        actions = w.menuBar().actions()
        help_menu = next((m for m in actions if m.text().replace("&", "") == "Help"), None)
        if help_menu is not None:
            w.menuBar().insertAction(help_menu, menu.menuAction())
        self.menu = menu

    def _connect(self) -> None:
        w, m, p = self.w, self.model, self.panel
        p.value_changed.connect(self._set_value)
        p.second_changed.connect(lambda q: setattr(self.tools, "second", q))
        p.limit_changed.connect(lambda key: setattr(self.tools, "limit", key))
        p.preset_requested.connect(self.apply_preset)
        p.fill_requested.connect(lambda which: m.fill_class(which, self.tools.value) and self._show_map())
        p.label_quality_changed.connect(m.set_label_quality)
        p.opacity_changed.connect(self.overlay.set_opacity)
        p.coded_changed.connect(self.overlay.set_coded)
        m.changed.connect(self._on_model_changed)
        m.labels_changed.connect(self._on_labels)
        w.doc.image_changed.connect(self._on_image)
        w.rate.settings_changed.connect(self._on_rate_settings)
        w.results_ready.connect(self._on_encoded)
        w.tabs.currentChanged.connect(self._on_tab)
        self.dock.toggleViewAction().triggered.connect(lambda on: setattr(self, "_dock_wanted", on))
        self.dock.visibilityChanged.connect(self._on_dock_visibility)
        self.tools.edited.connect(lambda text: w.statusBar().showMessage(text, 3000))
        e = self.estimator
        e.estimated.connect(self.estimate_view.show_estimate)
        e.busy_changed.connect(self.estimate_view.set_busy)
        e.failed.connect(self.estimate_view.set_failed)
        e.cleared.connect(self.estimate_view.clear)
        e.enabled_changed.connect(self.estimate_view.setVisible)

    def dispose(self) -> None:
        """Cut the links to the job manager before the window goes (it may outlive the window)."""
        self.estimator.dispose()

    # -- commands ----------------------------------------------------------------------------
    def choose_tool(self, mode: str) -> None:
        """Pick a quality tool: the canvas hands its mouse to the quality tools, the map shows."""
        self.w.canvas.set_tool(Tool.QUALITY)
        self.tools.set_mode(mode)
        self._show_map()
        self.dock.show()
        self.dock.raise_()

    def apply_preset(self, name: str) -> bool:
        changed = self.model.apply_preset(name, self.tools.value, self.tools.second)
        self._show_map()
        return changed

    def _set_value(self, q: float) -> None:
        self.tools.value = q
        self.overlay.update()

    def _show_map(self) -> None:
        self.w.actions["toggle_quality_map"].setChecked(True)
        self._update_estimating()

    # -- import / export ---------------------------------------------------------------------
    def import_labels_dialog(self) -> None:
        if self.w.doc.mask is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Import object labels", self.w.settings.last_dir("mask"), IMAGE_FILES
        )
        if path:
            self.import_labels(path)

    def import_labels(self, path: str) -> bool:
        """A label image (0 = background, 1..N = objects): mask = labels > 0, one slider per object."""
        from obic_core.errors import ObicError
        from obic_core.quality_map import read_labels

        doc = self.w.doc
        try:
            labels = read_labels(path, doc.shape)
        except ObicError as exc:
            self.w.show_error(JobError("input", "Cannot use these labels", str(exc)))
            return False
        if not labels.any():
            self.w.show_error(JobError("input", "Cannot use these labels", f"{Path(path).name} has no object (all 0)"))
            return False
        self.w.settings.set_last_dir(path, "mask")
        q_obj, q_bkg = self._defaults()
        self.model.import_labels(labels, q_obj, q_bkg)
        self._show_map()
        n = int(labels.max())
        self.w.statusBar().showMessage(
            f"{n} object(s) from {Path(path).name}: one slider each in the Quality panel", 6000
        )
        self.dock.show()
        self.dock.raise_()
        return True

    def import_map_dialog(self) -> None:
        if self.w.doc.mask is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Import quality map", self.w.settings.last_dir("mask"), IMAGE_FILES
        )
        if path:
            self.import_map(path)

    def import_map(self, path: str) -> bool:
        from obic_core.errors import ObicError
        from obic_core.quality_map import read_quality_map

        try:
            q = read_quality_map(path, self.w.doc.shape)
        except ObicError as exc:
            self.w.show_error(JobError("input", "Cannot use this quality map", str(exc)))
            return False
        self.w.settings.set_last_dir(path, "mask")
        self.model.import_map(q)
        self._show_map()
        return True

    def export_map_dialog(self) -> None:
        if self.model.layer is None:
            self.w.show_error(JobError("input", "No quality map", "Paint a map or pick a preset first."))
            return
        stem = Path(self.w.doc.path).stem if self.w.doc.path else "image"
        start = str(Path(self.w.settings.last_dir("mask")) / f"{stem}.quality.png")
        path, _ = QFileDialog.getSaveFileName(self.w, "Export quality map", start, "PNG (*.png)")
        if path:
            self.export_map(path)

    def export_map(self, path: str) -> bool:
        from obic_core.imageio import write_png

        if self.model.layer is None:
            return False
        try:
            write_png(path, self.model.layer.pixels)
        except OSError as exc:
            self.w.show_error(JobError("input", "Cannot save the quality map", f"{path}: {exc.strerror or exc}"))
            return False
        self.w.settings.set_last_dir(path, "mask")
        self.w.statusBar().showMessage(f"Quality map saved to {Path(path).name}", 5000)
        return True

    # -- signals -----------------------------------------------------------------------------
    def _on_image(self) -> None:
        self.overlay.rebuild()
        self._refresh_panel()
        if self.model.active and self.w.doc.is_obic:  # a v2 file: its map is part of what it is
            self._show_map()
            self.w.statusBar().showMessage("This .obic holds a quality map: shown as a heat map (H)", 6000)
        self._update_estimating()

    def _on_model_changed(self, box) -> None:
        if self.model.stroking:
            return
        self._refresh_panel()
        self._update_estimating()

    def _on_labels(self) -> None:
        m = self.model
        self.panel.set_labels(m.label_count if m.labels is not None else None)
        self.panel.show_label_qualities(m.label_qualities())

    def _refresh_panel(self) -> None:
        m = self.model
        self.panel.set_summary(m.layer.summary() if m.layer is not None else None)
        if m.labels is not None:
            self.panel.show_label_qualities(m.label_qualities())

    def _on_rate_settings(self) -> None:
        self.overlay.defaults_changed()
        if self.model.layer is None:
            self.estimator.request()

    def _on_encoded(self) -> None:
        out = self.w.doc.outcome
        qmap = getattr(getattr(out, "layout", None), "quality_map", None)
        if qmap is not None:  # said beside the window's own "Done — compared with …"
            done = self.w.rate.stage.text()
            span = f"q {qmap.min:.2f}–{qmap.max:.2f}"
            self.w.rate.set_stage(f"{done} · .obic v2 with a {qmap.bytes:,} B quality map ({span})")

    def _on_tab(self, index: int) -> None:
        self.dock.setVisible(self._dock_wanted and index == TAB_EDIT)

    def _on_dock_visibility(self, on: bool) -> None:
        """Qt says when the dock's tab comes to the front or goes behind the mask tools."""
        self._dock_on_screen = on
        self._update_estimating()

    def _update_estimating(self) -> None:
        """Estimate while the quality panel is on screen or a map is painted."""
        self.estimator.set_enabled(self.w.doc.is_open and (self.model.active or self._dock_on_screen))


def quality_map_of(window) -> np.ndarray | None:
    """The map the next encode uses ((H, W) uint8), None when none is painted."""
    model = getattr(window.doc, "quality", None)
    return None if model is None else model.encode_map()
