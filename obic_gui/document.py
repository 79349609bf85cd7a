"""The open document: photo, object mask, the latest encode and its results.

Widgets read from it and ask it for changes; every mask change goes through here so the
canvas, the stale-results hint and the undo stack stay in step. Each user edit (a whole
brush stroke, a fill, a refine, invert, ...) is exactly one QUndoStack step, stored as the
bit-packed before/after of the box it touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from obic_core.results import Layout
from obic_gui import mask_ops
from obic_gui.mask_ops import Box
from obic_gui.outcomes import DecodeOutcome, EncodeOutcome, SweepOutcome

UNDO_LIMIT = 200


class MaskEdit(QUndoCommand):
    """One undo step: the region ``box`` of the mask before and after the edit."""

    kind = "mask"  # what the close prompt calls it

    def __init__(self, doc: Document, text: str, box: Box, before: np.ndarray, after: np.ndarray) -> None:
        super().__init__(text)
        self._doc, self._box = doc, box
        self._before, self._after = mask_ops.pack(before), mask_ops.pack(after)

    def redo(self) -> None:  # the first redo re-applies what is already there: harmless
        self._doc._write_region(self._box, mask_ops.unpack(self._after))

    def undo(self) -> None:
        self._doc._write_region(self._box, mask_ops.unpack(self._before))


class Document(QObject):
    image_changed = Signal()  # a new photo (or decoded .obic) is open
    mask_changed = Signal(object)  # Box that changed, or None for "all of it"
    results_changed = Signal()  # encode outcome / decoded layers / layout changed
    stale_changed = Signal(bool)  # results no longer match the mask
    sweep_changed = Signal(object)  # the RD sweep of this image (SweepOutcome), or None: none yet
    modified_changed = Signal(bool)  # unsaved work: mask edits, an encode or a sweep not saved

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.path: str | None = None
        self.image: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.notes: list[str] = []
        self.generation = 0  # bumps on every open: late job results check it
        self.obic_data: bytes | None = None  # the opened .obic, or the latest encode
        self.obic_saved_path: str | None = None  # where obic_data is saved (None: nowhere yet)
        self.outcome: EncodeOutcome | None = None
        self.decoded: DecodeOutcome | None = None  # set when a .obic was opened
        self.sweep: SweepOutcome | None = None  # the RD sweep of this image, if one was run
        self.sweep_saved = False
        self._was_modified = False
        self.stale = False
        self.mask_version = 0  # bumps on every mask change: results remember theirs
        self._stroke_before: np.ndarray | None = None
        #: replaces mask_ops.paint_segment for strokes (same signature), e.g. the edge-snapping brush
        self.segment_painter = None
        self._stroke_box: Box | None = None
        #: the painted quality layer beside the mask (obic_gui.quality_edits.QualityModel, set by the window)
        self.quality = None

    def _on_clean_changed(self, clean: bool) -> None:
        self._emit_modified()

    def _emit_modified(self) -> None:
        """Tell the window whenever "is there unsaved work?" may have changed (title ``*``)."""
        self._was_modified = self.modified
        self.modified_changed.emit(self._was_modified)

    def dispose(self) -> None:
        """Silence the document before its window goes away (no signals into half-deleted widgets)."""
        self.undo_stack.blockSignals(True)
        self.blockSignals(True)

    # -- opening ---------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.image is not None

    @property
    def is_obic(self) -> bool:
        return self.decoded is not None

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "untitled"

    @property
    def shape(self) -> tuple[int, int]:
        return (0, 0) if self.image is None else self.image.shape[:2]

    @property
    def layout(self) -> Layout | None:
        if self.outcome is not None:
            return self.outcome.layout
        return self.decoded.layout if self.decoded is not None else None

    @property
    def mask_modified(self) -> bool:
        """Mask edits that no saved file (.obic or mask PNG) holds."""
        return self.is_open and not self.undo_stack.isClean()

    @property
    def encode_unsaved(self) -> bool:
        """An encode that was never written to a .obic file (minutes of work, lost on close)."""
        return self.is_open and self.outcome is not None and self.obic_saved_path is None

    @property
    def sweep_unsaved(self) -> bool:
        return self.is_open and self.sweep is not None and not self.sweep_saved

    @property
    def modified(self) -> bool:
        """Anything that closing the document would throw away."""
        return self.mask_modified or self.encode_unsaved or self.sweep_unsaved

    def unsaved_edit_kinds(self) -> str:
        """ "mask", "quality-map" or "mask and quality-map": what the undo steps since the last
        save changed (both kinds share one undo stack, so the prompt must say which)."""
        stack = self.undo_stack
        clean, now = stack.cleanIndex(), stack.index()
        lo, hi = (0, stack.count()) if clean < 0 else (min(clean, now), max(clean, now))
        kinds = {getattr(stack.command(i), "kind", "mask") for i in range(lo, hi)}
        order = [k for k in ("mask", "quality-map") if k in kinds] or ["mask"]
        return " and ".join(order)

    def unsaved_work(self) -> list[str]:
        """What closing would lose, in words for the prompt (empty: nothing)."""
        out = []
        if self.mask_modified:
            edits = f"{self.unsaved_edit_kinds()} edits"
            out.append(
                f"{edits} made after the last encode (not in the encoded file)"
                if self.stale and self.outcome is not None and not self.encode_unsaved
                else edits
            )
        if self.encode_unsaved:
            out.append("an encode that is not saved as a .obic file")
        if self.sweep_unsaved:
            out.append("an RD sweep that is not exported")
        return out

    def open_image(self, image: np.ndarray, path: str | None, notes: list[str] | None = None) -> None:
        """Show a new photo with an empty mask (the prediction arrives later)."""
        self._reset(path)
        self.image = np.ascontiguousarray(image, dtype=np.uint8)
        self.mask = np.zeros(self.image.shape[:2], bool)
        self.notes = list(notes or [])
        self.image_changed.emit()
        self.results_changed.emit()

    def open_decoded(self, outcome: DecodeOutcome, data: bytes, path: str | None) -> None:
        """Show a decoded .obic: its reconstruction becomes the image, its mask the mask."""
        self._reset(path)
        self.image = np.ascontiguousarray(outcome.image, dtype=np.uint8)
        h, w = self.image.shape[:2]
        self.mask = np.array(outcome.mask, dtype=bool) if outcome.mask is not None else np.zeros((h, w), bool)
        self.decoded = outcome
        self.obic_data = data
        self.obic_saved_path = path
        self.image_changed.emit()
        self.results_changed.emit()

    def close(self) -> None:
        self._reset(None)
        self.image_changed.emit()
        self.results_changed.emit()

    def _reset(self, path: str | None) -> None:
        self.generation += 1
        self.undo_stack.clear()
        self.path, self.image, self.mask, self.notes = path, None, None, []
        self.obic_data = self.obic_saved_path = None
        self.outcome = self.decoded = self.sweep = None
        self.sweep_saved = False
        self._stroke_before = self._stroke_box = None
        self._set_stale(False)
        self.sweep_changed.emit(None)
        self._emit_modified()

    # -- mask edits ------------------------------------------------------------------------
    def set_initial_mask(self, mask: np.ndarray) -> None:
        """The automatic prediction on open: the baseline, not an undo step."""
        if self.mask is None or mask.shape != self.mask.shape:
            return
        self.mask = np.ascontiguousarray(mask, dtype=bool)
        self.mask_version += 1
        self.undo_stack.clear()
        self.mask_changed.emit(None)
        self._results_now_stale()

    def replace_mask(self, new: np.ndarray, text: str) -> bool:
        """Replace the mask as one undo step (False when nothing changed)."""
        if self.mask is None or new.shape != self.mask.shape:
            return False
        new = np.asarray(new, dtype=bool)
        box = mask_ops.changed_box(self.mask, new)
        if box is None:
            return False
        x0, y0, x1, y1 = box
        self.undo_stack.push(MaskEdit(self, text, box, self.mask[y0:y1, x0:x1].copy(), new[y0:y1, x0:x1].copy()))
        return True

    def invert_mask(self) -> bool:
        return self.mask is not None and self.replace_mask(~self.mask, "Invert mask")

    def clear_mask(self) -> bool:
        return self.mask is not None and self.replace_mask(np.zeros_like(self.mask), "Clear mask")

    def fill(self, x: int, y: int, value: bool) -> bool:
        if self.mask is None:
            return False
        new = self.mask.copy()
        if mask_ops.flood_fill(new, x, y, value) is None:
            return False
        return self.replace_mask(new, "Fill" if value else "Fill background")

    # strokes: begin → segment* → end; live on the mask, one undo step at the end
    def begin_stroke(self) -> None:
        if self.mask is None:
            return
        self._stroke_before = self.mask.copy()
        self._stroke_box = None

    def stroke_segment(self, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: bool) -> None:
        if self.mask is None or self._stroke_before is None:
            return
        paint = self.segment_painter or mask_ops.paint_segment
        box = paint(self.mask, p0, p1, radius, value)
        if box is not None:
            self.mask_version += 1
            self._stroke_box = mask_ops.union_box(self._stroke_box, box)
            self.mask_changed.emit(box)

    def end_stroke(self, text: str) -> bool:
        before, box = self._stroke_before, self._stroke_box
        self._stroke_before = self._stroke_box = None
        if before is None or box is None or self.mask is None:
            return False
        x0, y0, x1, y1 = box
        old, new = before[y0:y1, x0:x1], self.mask[y0:y1, x0:x1]
        if np.array_equal(old, new):
            return False
        self.undo_stack.push(MaskEdit(self, text, box, old.copy(), new.copy()))
        return True

    @property
    def stroking(self) -> bool:
        return self._stroke_before is not None

    def _write_region(self, box: Box, region: np.ndarray) -> None:
        if self.mask is None:
            return
        x0, y0, x1, y1 = box
        self.mask[y0:y1, x0:x1] = region
        self.mask_version += 1
        self.mask_changed.emit(box)
        self._results_now_stale()

    def inputs_changed(self) -> None:
        """Something else the encode reads changed (the painted quality map): results made before
        are stale, like after a mask edit."""
        self.mask_version += 1
        self._results_now_stale()

    # -- results ---------------------------------------------------------------------------
    def set_outcome(self, outcome: EncodeOutcome, mask_version: int | None = None) -> None:
        """Results of an encode of the mask as it was at ``mask_version`` (stale if edited since)."""
        self.outcome = outcome
        self.obic_data = outcome.data
        self.obic_saved_path = None
        self._set_stale(mask_version is not None and mask_version != self.mask_version)
        self.results_changed.emit()
        self._emit_modified()

    def set_sweep(self, sweep: SweepOutcome | None) -> None:
        """The RD sweep of this image (unsaved until exported)."""
        self.sweep = sweep
        self.sweep_saved = False
        self.sweep_changed.emit(sweep)
        self._emit_modified()

    def mark_sweep_saved(self) -> None:
        self.sweep_saved = self.sweep is not None
        self._emit_modified()

    def set_decoded_layers(self, outcome: DecodeOutcome) -> None:
        """A different layer selection of the open .obic."""
        if self.decoded is not None:
            self.decoded = outcome
            self.results_changed.emit()

    def mark_obic_saved(self, path: str) -> None:
        """The current .obic stream is in ``path``.

        The mask edits count as saved only when that stream encodes the current mask: saving
        an encode made before the latest edits must leave those edits "unsaved", or closing
        would silently drop them.
        """
        self.obic_saved_path = path
        if not self.stale:
            self.undo_stack.setClean()
        self._emit_modified()

    def mark_mask_saved(self) -> None:
        """The current mask is in a PNG file (Export mask)."""
        self.undo_stack.setClean()
        self._emit_modified()

    def _results_now_stale(self) -> None:
        if self.outcome is not None:
            self._set_stale(True)

    def _set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            self.stale_changed.emit(stale)
