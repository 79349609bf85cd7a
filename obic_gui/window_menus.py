"""The main window's commands: QActions, menus, toolbar, docks, and the Help dialogs.

A mixin of :class:`obic_gui.main_window.MainWindow`: one QAction per command, so a shortcut,
a menu entry, a toolbar button and a tools-panel button are the same command with one
enabled state.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox, QScrollArea, QToolBar

from obic_gui.style import icon
from obic_gui.widgets.canvas import Tool
from obic_gui.widgets.rate_panel import RatePanel
from obic_gui.widgets.tools import ToolsPanel


class WindowMenus:
    """Builds the window's actions, docks, menus and toolbar (mixed into MainWindow)."""

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
            "export_stats",
            "Export s&tatistics…",
            self.export_statistics_dialog,
            None,
            "export",
            "Save the Statistics tab (this encode's table and the RD sweep) as CSV",
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
            (
                "tool_click",
                "Click",
                "C",
                "click",
                Tool.CLICK,
                "Click to segment: left = this is object, right = this is not, Shift+left = a new object",
            ),
            ("tool_polygon", "Polygon", "P", "polygon", Tool.POLYGON, "Click the corners, double-click to close"),
            (
                "tool_scissors",
                "Scissors",
                "S",
                "scissors",
                Tool.SCISSORS,
                "Intelligent scissors: click along the outline, the path follows edges; double-click to close",
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
        A("zoom_fit", "Fit to window", self.zoom_fit, ["F", "0"], "zoom-fit")
        A("zoom_100", "Actual pixels (100 %)", self.zoom_100, "1", "zoom-100")
        A("zoom_200", "Zoom 200 %", lambda: self.zoom_step(2.0), "2")
        A("zoom_400", "Zoom 400 %", lambda: self.zoom_step(4.0), "4")
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
        for n in ("save_obic", "export_recon", "export_stats"):
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
            "tool_click",
            "tool_polygon",
            "tool_scissors",
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
            "zoom_200",
            "zoom_400",
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

    def show_shortcuts(self) -> None:
        rows = [
            ("Open", "Ctrl+O"),
            ("Save .obic", "Ctrl+S"),
            ("Undo / Redo", "Ctrl+Z / Ctrl+Shift+Z"),
            ("Brush / Eraser / Fill / Smart box", "B / E / G / R"),
            ("Click / Polygon / Scissors", "C / P / S"),
            ("Brush size", "[ and ], Alt+wheel, Ctrl+drag"),
            ("Polygon, scissors: close / undo a point / cancel", "double-click or Enter / Backspace / Esc"),
            ("Pan", "Space+drag or middle button"),
            ("Zoom", "mouse wheel (around the cursor)"),
            ("Fit / 100 % / 200 % / 400 %", "F or 0 / 1 / 2 / 4"),
            ("Compare: flash the original in every view", "hold \\ or O"),
            ("Mask overlay on/off", "O"),
            ("Quality brush / gradient / fill", "Q / D / Shift+G"),
            ("Quality map (heat map) on/off", "H"),
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
