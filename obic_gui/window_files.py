"""The main window's file commands and the prompts that keep work from being lost.

A mixin of :class:`obic_gui.main_window.MainWindow` (it uses the window's document, jobs,
settings and widgets). What counts as unsaved work is the document's business
(:meth:`Document.unsaved_work`: mask edits, an encode not written to a .obic, an RD sweep
not exported); this module asks before any of it is thrown away, and never marks work as
saved that the written file does not hold — saving an encode made before the latest mask
edits leaves those edits unsaved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QFileDialog, QMessageBox

from obic_gui.job_errors import JobError
from obic_gui.quality import fmt_bytes, fmt_size

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".ppm", ".pgm")
OPENABLE_SUFFIXES = (*IMAGE_SUFFIXES, ".obic")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")"
OBIC_FILTER = "OBIC files (*.obic)"
OPEN_FILTER = (
    f"Images and OBIC files (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.obic);;"
    f"{IMAGE_FILTER};;{OBIC_FILTER};;All files (*)"
)
MAX_OBIC_BYTES = 512 * 1024 * 1024

#: answers of the "mask changed since the last encode" question
ENCODE_AND_SAVE, SAVE_OLD, CANCEL = "encode", "old", "cancel"


def openable(path: str) -> bool:
    """A file the app can open, judged by its name (what a drag can tell before the drop)."""
    return Path(path).suffix.lower() in OPENABLE_SUFFIXES


def dropped_files(mime: QMimeData) -> list[str]:
    """The local files of a drag that the app can open."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and openable(u.toLocalFile())]


class FileActions:
    """Open, save, export, import, and the prompts (mixed into MainWindow)."""

    # ----------------------------------------------------------------------------- opening
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
                when_busy="queue",
                owner=self,
                on_done=lambda outcome: self._obic_opened(outcome, str(p), data),
                on_failed=self.show_error,
            )
        else:
            self.statusBar().showMessage(f"Opening {p.name}…")
            self.jobs.submit(
                "io",
                "load",
                "load_image",
                {"path": str(p)},
                when_busy="replace",
                owner=self,
                on_started=lambda: self._show_opening(p),
                on_done=self._loaded,
                on_failed=self.show_error,
            )
        return True

    def _show_opening(self, path: Path) -> None:
        """An empty window says which file it is reading (a big photo takes a while)."""
        if not self.doc.is_open:
            self.canvas.placeholder = f"Opening {path.name}…"
            self.canvas.update()

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

    # ----------------------------------------------------------------------------- .obic
    def _stem(self) -> str:
        return Path(self.doc.path).stem if self.doc.path else "image"

    def _ask_obic_path(self) -> str | None:
        start = str(Path(self.settings.last_dir("save")) / f"{self._stem()}.obic")
        path, _ = QFileDialog.getSaveFileName(self, "Save .obic", start, OBIC_FILTER)
        if not path:
            return None
        return path if path.lower().endswith(".obic") else path + ".obic"

    def _ask_stale_save(self) -> str:
        """The mask changed after the last encode: encode it and save, save the old encode, or stop."""
        if not self.ask_before_discard:
            return SAVE_OLD
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Mask changed since the last encode",
            "The mask was edited after the last encode, so that encode does not hold your latest edits.",
            parent=self,
        )
        box.setInformativeText(
            "Encode & save codes the current mask and saves that file. Save old encode writes the "
            "earlier encode; your mask edits then stay unsaved."
        )
        encode = box.addButton("Encode && save", QMessageBox.ButtonRole.AcceptRole)
        old = box.addButton("Save old encode", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(encode)
        box.exec()
        clicked = box.clickedButton()
        return ENCODE_AND_SAVE if clicked is encode else SAVE_OLD if clicked is old else CANCEL

    def save_obic_dialog(self) -> bool:
        """Ctrl+S. True when the file was written now (False: cancelled, or saved after an encode)."""
        if self.doc.obic_data is None:
            self.show_error(JobError("input", "Nothing to save", "Encode the image first (Ctrl+Return)."))
            return False
        if self.doc.stale and self.doc.outcome is not None:
            choice = self._ask_stale_save()
            if choice == CANCEL:
                return False
            if choice == ENCODE_AND_SAVE:
                path = self._ask_obic_path()
                if path:
                    self.encode_and_save(path)
                return False
        path = self._ask_obic_path()
        return self.save_obic(path) if path else False

    def encode_and_save(self, path: str) -> None:
        """Encode the current mask, then write the result to ``path`` (when it still matches)."""
        self._save_after_encode = path
        self.encode()
        self.statusBar().showMessage(f"Encoding the current mask; it is saved to {Path(path).name} when done", 8000)

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
        self.doc.mark_obic_saved(path)
        self._add_recent(path)
        msg = f"Saved {Path(path).name} ({fmt_bytes(len(self.doc.obic_data))})"
        if self.doc.mask_modified:
            msg += " — it holds the encode before your latest mask edits; those are still unsaved"
        self.statusBar().showMessage(msg, 8000)
        self._update_title()
        return True

    # ----------------------------------------------------------------------------- exports
    def export_reconstructions_dialog(self) -> None:
        if self.doc.outcome is None and not self.doc.is_obic:
            self.show_error(JobError("input", "Nothing to export", "Encode the image first (Ctrl+Return)."))
            return
        folder = QFileDialog.getExistingDirectory(self, "Export reconstructions to…", self.settings.last_dir("export"))
        if folder:
            self.settings.set_last_dir(folder, "export")
            self.export_reconstructions(folder)

    def export_reconstructions(self, folder: str) -> None:
        stem = self._stem()
        items = []
        if self.doc.outcome is not None:
            for f in self.doc.outcome.figures:
                if f.image is not None:
                    items.append((str(Path(folder) / f"{stem}.{f.codec}.{f.bpp:.3f}bpp.png"), f.image, None))
        elif self.doc.decoded is not None:
            for layers, out in self._layer_cache.items():
                items.append((str(Path(folder) / f"{stem}.{'+'.join(layers)}.png"), out.image, out.alpha))
        self.jobs.submit(
            "io",
            "export",
            "write_pngs",
            {"items": items},
            when_busy="queue",
            owner=self,
            on_done=self._exported,
            on_failed=self.show_error,
        )

    def export_statistics_dialog(self) -> bool:
        doc = self.doc
        if doc.outcome is None and doc.sweep is None:
            self.show_error(JobError("input", "Nothing to export", "Encode the image or run an RD sweep first."))
            return False
        start = str(Path(self.settings.last_dir("export")) / f"{self._stem()}.statistics.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export statistics", start, "CSV (*.csv)")
        return self.export_statistics(path) if path else False

    def export_statistics(self, path: str) -> bool:
        """The Statistics tab (this encode's table and the RD sweep) as CSV."""
        from obic_core.imageio import write_bytes_atomic
        from obic_gui.stats_export import statistics_csv

        doc = self.doc
        figures = doc.outcome.figures if doc.outcome is not None else []
        text = statistics_csv(doc.name, figures, doc.sweep)
        try:
            write_bytes_atomic(path, text.encode())
        except OSError as exc:
            self.show_error(JobError("input", "Cannot save the statistics", f"{path}: {exc.strerror or exc}"))
            return False
        self.settings.set_last_dir(path, "export")
        doc.mark_sweep_saved()
        self.statusBar().showMessage(f"Statistics saved to {Path(path).name}", 6000)
        return True

    def export_mask_dialog(self) -> None:
        if self.doc.mask is None:
            return
        start = str(Path(self.settings.last_dir("mask")) / f"{self._stem()}.mask.png")
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
        self.doc.mark_mask_saved()
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

    # ----------------------------------------------------------------------------- prompts
    def confirm_discard(self) -> bool:
        """Unsaved work (mask edits, an encode, a sweep): ask before it is thrown away (True = go ahead)."""
        doc = self.doc
        if not doc.modified or not self.ask_before_discard:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved work", f"{doc.name} has unsaved work:", parent=self)
        box.setInformativeText("".join(f"• {w}\n" for w in doc.unsaved_work()) + "\nSave it first?")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            return self._save_all()
        return False

    def _save_all(self) -> bool:
        """Save each kind of unsaved work in turn; False as soon as one is not saved."""
        doc = self.doc
        if doc.encode_unsaved and not self.save_obic_dialog():
            return False
        if doc.mask_modified:
            self.export_mask_dialog()
            if doc.mask_modified:
                return False
        if doc.sweep_unsaved and not self.export_statistics_dialog():
            return False
        return not doc.modified
