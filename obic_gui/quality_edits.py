"""The document's quality layer as a Qt model: edits, undo steps and change signals.

:class:`QualityModel` owns the :class:`~obic_gui.quality_layer.QualityLayer` (or none: then the
encode uses the rate panel's two qualities, a v1 file) and the optional object label image.
Every user edit is exactly one step on the document's undo stack, shared with the mask, so
Ctrl+Z walks back through mask and quality edits in the order they were made: a whole brush
stroke, a gradient, a fill, a preset, one drag of an object's slider (consecutive changes of
the same slider merge). A map that does not exist yet is created by the first edit from the
two qualities (block by block, as the codec would have coded them), and undoing that edit
removes it again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from obic_core import quality_map as qm
from obic_core.rules import coded_mask
from obic_gui import mask_ops
from obic_gui import quality_layer as ql
from obic_gui.mask_ops import Box

#: undo-merge ids of the object sliders: MERGE_LABEL + label
MERGE_LABEL = 7000


class QualityEdit(QUndoCommand):
    """One undo step: the region ``box`` of the map before and after (None: no map at all)."""

    kind = "quality-map"  # what the close prompt calls it

    def __init__(self, model: QualityModel, text: str, box: Box, before, after, merge_id: int = -1) -> None:
        super().__init__(text)
        self._model, self._box, self._merge_id = model, box, merge_id
        self._before = None if before is None else ql.pack(before)
        self._after = None if after is None else ql.pack(after)

    def id(self) -> int:  # (Qt's name)
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # (Qt's name)
        if not isinstance(other, QualityEdit) or other.id() != self.id() or other._box != self._box:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:  # the first redo re-applies what is already there: harmless
        self._model._restore(self._box, self._after)

    def undo(self) -> None:
        self._model._restore(self._box, self._before)


class LabelsEdit(QUndoCommand):
    """The object label image before and after (part of the "Import object labels" step)."""

    def __init__(self, model: QualityModel, before: np.ndarray | None, after: np.ndarray | None) -> None:
        super().__init__("Object labels")
        self._model = model
        self._before = None if before is None else ql.pack(before)
        self._after = None if after is None else ql.pack(after)

    def redo(self) -> None:
        self._model._set_labels(None if self._after is None else ql.unpack(self._after))

    def undo(self) -> None:
        self._model._set_labels(None if self._before is None else ql.unpack(self._before))


class QualityModel(QObject):
    """The quality map (and object labels) of a :class:`~obic_gui.document.Document`."""

    changed = Signal(object)  # Box that changed, or None for "all of it" (created, removed, replaced)
    labels_changed = Signal()

    def __init__(self, doc, defaults: Callable[[], tuple[float, float]] | None = None) -> None:
        super().__init__(doc)
        self.doc = doc
        #: the (object, background) qualities a new map starts from (the rate panel's sliders)
        self.defaults = defaults or (lambda: (0.75, 0.25))
        self.layer: ql.QualityLayer | None = None
        self.labels: np.ndarray | None = None
        self.label_count = 0
        self.version = 0  # bumps on every change: estimates and encodes remember theirs
        self._stroke_before: np.ndarray | None = None
        self._stroke_box: Box | None = None
        self._stroke_created = False
        self._stroking = False
        doc.quality = self
        doc.image_changed.connect(self._on_image)

    # -- state -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A map exists: it sets the qualities of the next encode."""
        return self.layer is not None

    @property
    def stroking(self) -> bool:
        return self._stroking

    def _on_image(self) -> None:
        """A new document: its own map (a v2 .obic's) or none."""
        self._stroking = False
        self._stroke_before = self._stroke_box = None
        self.layer, self.labels, self.label_count = None, None, 0
        doc = self.doc
        steps = getattr(doc.decoded, "quality_steps", None) if doc.is_obic else None
        if steps is not None and doc.image is not None:
            try:
                self.layer = ql.QualityLayer.from_block_steps(steps, doc.shape)
            except ValueError:
                self.layer = None
        self.version += 1
        self.labels_changed.emit()
        self.changed.emit(None)

    def _new_layer(self) -> ql.QualityLayer:
        q_obj, q_bkg = self.defaults()
        return ql.QualityLayer.from_layers(self.doc.mask, q_obj, q_bkg)

    def quality_at(self, x: int, y: int) -> float | None:
        """The quality the next encode gives pixel (x, y) (None outside the image)."""
        h, w = self.doc.shape
        if not (0 <= x < w and 0 <= y < h):
            return None
        if self.layer is not None:
            return self.layer.quality_at(x, y)
        q_obj, q_bkg = self.defaults()
        return q_obj if self.doc.mask is not None and self.doc.mask[y, x] else q_bkg

    def grid_steps(self) -> np.ndarray | None:
        """(rows, cols) block steps of the next encode: the map's, or the two qualities' (v1)."""
        if self.doc.mask is None:
            return None
        if self.layer is not None:
            return self.layer.block_steps()
        q_obj, q_bkg = self.defaults()
        return qm.layer_steps(coded_mask(self.doc.mask), q_obj, q_bkg)

    def encode_map(self) -> np.ndarray | None:
        """The (H, W) uint8 map for ``EncodeSettings(quality_map=...)`` (None: no map, a v1 file)."""
        return None if self.layer is None else self.layer.pixels.copy()

    # -- strokes: begin → segment* → end; live on the map, one undo step at the end ---------
    def begin_stroke(self) -> None:
        if self.doc.mask is None:
            return
        self._stroking = True
        self._stroke_box = None
        self._stroke_created = self.layer is None
        if self._stroke_created:
            self.layer = self._new_layer()
            self._stroke_before = None
            self.changed.emit(None)
        else:
            self._stroke_before = self.layer.pixels.copy()

    def stroke_segment(
        self, p0: tuple[float, float], p1: tuple[float, float], radius: float, q: float, region=None
    ) -> None:
        if not self._stroking or self.layer is None:
            return
        box = ql.paint_segment(self.layer, p0, p1, radius, q, region)
        if box is not None:
            self._stroke_box = mask_ops.union_box(self._stroke_box, box)
            self.version += 1
            self.changed.emit(box)

    def end_stroke(self, text: str = "Quality stroke") -> bool:
        if not self._stroking:
            return False
        self._stroking = False
        before, box, created = self._stroke_before, self._stroke_box, self._stroke_created
        self._stroke_before = self._stroke_box = None
        if self.layer is None:
            return False
        if created:
            if box is None:  # nothing painted: no map after all
                self.layer = None
                self.version += 1
                self.changed.emit(None)
                return False
            return self._push(text, self._full_box(), None, self.layer.pixels.copy())
        if box is None:
            return False
        x0, y0, x1, y1 = box
        old, new = before[y0:y1, x0:x1], self.layer.pixels[y0:y1, x0:x1]
        if np.array_equal(old, new):
            return False
        return self._push(text, box, old.copy(), new.copy())

    # -- whole-map edits ---------------------------------------------------------------------
    def set_levels(
        self,
        levels: np.ndarray,
        text: str,
        region: np.ndarray | None = None,
        merge_id: int = -1,
        box: Box | None = None,
    ) -> bool:
        """Replace the map (inside ``region`` when given) by ``levels`` (H, W uint8) as one undo step.

        ``box`` (holding every pixel that may change) fixes the stored region, so consecutive
        edits with the same ``merge_id`` cover the same box and merge into one step.
        """
        if self.doc.mask is None or levels.shape != self.doc.shape:
            return False
        current = None if self.layer is None else self.layer.pixels
        base = current if current is not None else self._new_layer().pixels
        new = levels if region is None else np.where(region, levels, base).astype(np.uint8)
        if current is None:
            return self._push(text, self._full_box(), None, new, merge_id)
        changed = mask_ops.changed_box(current, new)
        if changed is None:
            return False
        box = box or changed
        x0, y0, x1, y1 = box
        return self._push(text, box, current[y0:y1, x0:x1].copy(), new[y0:y1, x0:x1], merge_id)

    def gradient(
        self, a: tuple[float, float], b: tuple[float, float], qa: float, qb: float, region: np.ndarray | None = None
    ) -> bool:
        """A linear ramp from quality ``qa`` at a to ``qb`` at b (constant beyond either end)."""
        levels = ql.ramp(self.doc.shape, a, b, qa, qb)
        return levels is not None and self.set_levels(levels, "Quality gradient", region)

    def fill(self, x: int, y: int, q: float) -> bool:
        """Set the connected region under (x, y) — of the object labels, else of the mask — to ``q``."""
        if self.doc.mask is None:
            return False
        classes = self.labels if self.labels is not None else self.doc.mask.view(np.uint8)
        region = ql.connected_region(classes, x, y)
        if region is None:
            return False
        levels = np.full(self.doc.shape, ql.to_level(q), np.uint8)
        return self.set_levels(levels, "Quality fill", region)

    def fill_class(self, which: str, q: float) -> bool:
        """Set the whole object (``"object"``), background or image (``"all"``) to ``q``."""
        if self.doc.mask is None:
            return False
        region = {"object": self.doc.mask, "background": ~self.doc.mask, "all": None}[which]
        levels = np.full(self.doc.shape, ql.to_level(q), np.uint8)
        return self.set_levels(levels, f"Quality fill ({which})", region)

    def apply_preset(self, name: str, high: float, low: float) -> bool:
        if self.doc.mask is None:
            return False
        mask = self.labels > 0 if self.labels is not None else self.doc.mask
        levels = ql.preset_levels(name, self.doc.shape, high, low, mask)
        return self.set_levels(levels, f"Preset: {ql.PRESETS[name]}")

    def import_map(self, q: np.ndarray) -> bool:
        """An (H, W) float map in [0, 1] (e.g. ``obic_core.quality_map.read_quality_map``) as one step."""
        levels = np.rint(np.clip(q, 0.0, 1.0) * ql.LEVELS).astype(np.uint8)
        return self.set_levels(levels, "Import quality map")

    def remove(self) -> bool:
        """Back to the two qualities of the rate panel (undoable)."""
        if self.layer is None:
            return False
        return self._push("Remove quality map", self._full_box(), self.layer.pixels.copy(), None)

    # -- objects -----------------------------------------------------------------------------
    def import_labels(self, labels: np.ndarray, object_quality: float, background_quality: float) -> bool:
        """Labels 0 = background, 1..N = objects: the mask becomes labels > 0 and each object
        starts at ``object_quality`` (one undo step for mask, labels and map together)."""
        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        if self.doc.mask is None or labels.shape != self.doc.shape:
            return False
        n = int(labels.max(initial=0))
        levels = np.rint(qm.label_quality_map(labels, [object_quality] * max(n, 1), background_quality) * ql.LEVELS)
        stack = self.doc.undo_stack
        stack.beginMacro("Import object labels")
        try:
            self.doc.replace_mask(labels > 0, "Object labels: mask")
            stack.push(LabelsEdit(self, self.labels, labels))
            self.set_levels(levels.astype(np.uint8), "Object labels: qualities")
        finally:
            stack.endMacro()
        return True

    def set_label_quality(self, label: int, q: float) -> bool:
        """Every pixel of one label (0 = background) at quality ``q``; a slider drag is one step."""
        if self.labels is None or self.doc.mask is None:
            return False
        current = self.layer.pixels if self.layer is not None else self._new_layer().pixels
        levels = ql.label_levels(self.labels, current, label, q)
        name = "background" if label == 0 else f"object {label}"
        box = mask_ops.changed_box(np.zeros(self.labels.shape, bool), self.labels == label)
        return self.set_levels(levels, f"Quality of {name}", merge_id=MERGE_LABEL + label, box=box)

    def label_qualities(self) -> list[float | None]:
        """Mean quality of each label 0..N as the map stands (what the sliders show)."""
        if self.labels is None:
            return []
        if self.layer is not None:
            return ql.label_means(self.labels, self.layer.pixels, self.label_count)
        q_obj, q_bkg = self.defaults()
        return [q_bkg] + [q_obj] * self.label_count

    def _set_labels(self, labels: np.ndarray | None) -> None:
        self.labels = labels
        self.label_count = 0 if labels is None else int(labels.max(initial=0))
        self.labels_changed.emit()

    # -- internals ---------------------------------------------------------------------------
    def _full_box(self) -> Box:
        h, w = self.doc.shape
        return (0, 0, w, h)

    def _push(self, text: str, box: Box, before, after, merge_id: int = -1) -> bool:
        self.doc.undo_stack.push(QualityEdit(self, text, box, before, after, merge_id))
        return True

    def _restore(self, box: Box, packed) -> None:
        """Undo / redo: write a stored patch (None: remove the map)."""
        if self.doc.image is None:
            return
        if packed is None:
            self.layer = None
            box = None
        else:
            patch = ql.unpack(packed)
            if self.layer is None:  # the step that created the map: its patch is the whole map
                self.layer = ql.QualityLayer(patch)
                box = None
            else:
                self.layer.write(box, patch)
        self.version += 1
        self.changed.emit(box)
        self.doc.inputs_changed()
