"""The live size estimate: after every quality (or mask) edit, ask the worker what the file would weigh.

The estimate runs on the ``estimate`` lane's worker process (``obic_gui.tasks.estimate_size``,
the entropy model without range coding, ≈ 0.1–0.4 s for 768×512), never in the GUI process.
Requests are coalesced: at most one is in flight, and edits made meanwhile are folded into a
single follow-up request for the state as it is then — only the latest matters. The image and
mask travel to the worker only when it may not hold them yet (a new image or mask edit); a
quality edit sends just the (rows, cols) grid of steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from obic_core.results import SizeEstimate
from obic_gui import quality_layer as ql

LANE, TAG, TASK = "estimate", "estimate", "estimate_size"


@dataclass
class LiveEstimate:
    """An estimate as shown: the worker's figures, the share of bits per region, and how fresh it is."""

    estimate: SizeEstimate
    pixels: int
    shares: dict[str, float] = field(default_factory=dict)  # region name → share of the layers' bits
    latency_s: float = 0.0  # from the edit (the request) to this result
    current: bool = True  # False: the map or mask changed since; a newer estimate is on its way
    state: tuple = ()  # SizeEstimator.state() of the request it answers

    @property
    def bpp(self) -> float:
        return self.estimate.total_bytes * 8.0 / max(1, self.pixels)


@dataclass(frozen=True, eq=False)
class _Request:
    """One estimate request: what it asked about, so its answer can be judged when it comes."""

    key: tuple  # the image + mask the worker is asked to hold
    state: tuple  # SizeEstimator.state() when it was sent
    since: float  # when the oldest edit it answers was made (perf_counter)
    pixels: int


def region_grids(coded: np.ndarray, owner: np.ndarray | None, label_count: int) -> dict[str, np.ndarray]:
    """The block regions whose share of the bits is shown: each object label, else object and background.

    Both inputs are block grids (``coded``: the worker's coded mask; ``owner``: the label of
    each block), so this stays cheap on the GUI thread for a photo of any size.
    """
    if owner is not None and label_count > 0:
        out = {f"Object {k}": owner == k for k in range(1, label_count + 1)}
        out["Background"] = owner == 0
        return out
    return {"Object": coded, "Background": ~coded}


def shares_of(block_bits: np.ndarray | None, regions: dict[str, np.ndarray]) -> dict[str, float]:
    if block_bits is None:
        return {}
    total = float(block_bits.sum())
    if total <= 0:
        return {name: 0.0 for name in regions}
    return {name: float(block_bits[r].sum()) / total for name, r in regions.items()}


class SizeEstimator(QObject):
    """Keeps the shown estimate in step with the document's map, mask and qualities."""

    estimated = Signal(object)  # LiveEstimate
    busy_changed = Signal(bool)
    enabled_changed = Signal(bool)
    failed = Signal(str)
    cleared = Signal()  # a new document: nothing estimated yet

    def __init__(
        self,
        jobs,
        doc,
        model,
        device: Callable[[], str] = lambda: "auto",
        weights: Callable[[], str | None] = lambda: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs, self.doc, self.model = jobs, doc, model
        self._device, self._weights = device, weights
        self.enabled = False
        self.last: LiveEstimate | None = None
        self._in_flight: _Request | None = None  # the request being estimated
        self._dirty = False  # something changed after that request was sent
        self._pending_since: float | None = None  # when the oldest unanswered edit was made
        self._mask_token = 0  # bumps on every finished mask change (the worker rebuilds then)
        self._worker_key: tuple | None = None  # the image + mask the worker holds
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # edits of one event-loop turn make one request
        self._timer.timeout.connect(self._submit)
        doc.image_changed.connect(self._on_image)
        doc.mask_changed.connect(self._on_mask)
        model.changed.connect(self._on_quality)
        model.labels_changed.connect(self._on_labels)
        self._owner: tuple[int, np.ndarray] | None = None  # (labels token, block owner grid)
        self._labels_token = 0

    # -- public ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    @property
    def up_to_date(self) -> bool:
        """The shown estimate answers the document as it is now (nothing pending)."""
        return (
            self.last is not None
            and self.last.state == self.state()
            and self._in_flight is None
            and not self._dirty
            and not self._timer.isActive()
        )

    def dispose(self) -> None:
        """Forget the answers still on their way (the window is closing; the jobs may outlive it)."""
        self.jobs.forget(self)

    def set_enabled(self, on: bool) -> None:
        """Estimates are made only while someone looks (the quality panel, or a painted map)."""
        if on == self.enabled:
            return
        self.enabled = on
        self.enabled_changed.emit(on)
        if on:
            self.request()

    def request(self) -> None:
        """Something the size depends on changed: estimate again (coalesced)."""
        if not self.enabled or self.doc.mask is None or self.doc.image is None:
            return
        if self._pending_since is None:
            self._pending_since = time.perf_counter()
        if self._in_flight is not None:
            self._dirty = True
            return
        self._timer.start()

    def state(self) -> tuple:
        """What an estimate depends on, besides the image: it is current while this is unchanged."""
        return (self.doc.generation, self._mask_token, self.model.version, tuple(self.model.defaults()))

    def _block_owner(self) -> np.ndarray | None:
        """The label of each block, recomputed only when the labels change (a pixel-level vote)."""
        if self.model.labels is None or self.model.label_count == 0:
            return None
        if self._owner is None or self._owner[0] != self._labels_token:
            self._owner = (self._labels_token, ql.block_labels(self.model.labels, self.model.label_count))
        return self._owner[1]

    # -- signals in --------------------------------------------------------------------------
    def _on_labels(self) -> None:
        self._labels_token += 1
        self.request()

    def _on_image(self) -> None:
        self._mask_token += 1
        self._dirty = False
        self._pending_since = None
        self.last = None
        self.cleared.emit()
        self.request()

    def _on_mask(self, box) -> None:
        if self.doc.stroking:
            return  # a mask stroke in progress: estimate its end
        self._mask_token += 1
        self.request()

    def _on_quality(self, box) -> None:
        if not self.model.stroking:
            self.request()

    # -- jobs --------------------------------------------------------------------------------
    def _submit(self) -> None:
        doc = self.doc
        if not self.enabled or doc.mask is None or doc.image is None or self._in_flight is not None:
            return
        painted = self.model.layer is not None
        steps = self.model.layer.block_steps() if painted else None
        key = (id(self), doc.generation, self._mask_token)
        send = key != self._worker_key
        kwargs = dict(
            key=key,
            image=doc.image if send else None,
            mask=doc.mask.copy() if send else None,
            steps=steps,
            layer_qualities=None if painted else tuple(self.model.defaults()),
            device=self._device(),
            weights=self._weights(),
        )
        since = self._pending_since if self._pending_since is not None else time.perf_counter()
        self._pending_since = None
        self._dirty = False
        state, pixels = self.state(), doc.shape[0] * doc.shape[1]
        request = _Request(key, state, since, pixels)
        info = self.jobs.submit(
            LANE,
            TAG,
            TASK,
            kwargs,
            when_busy="queue",
            owner=self,
            on_done=lambda result: self._on_finished(request, result),
            on_failed=lambda error: self._on_failed(request, error),
            on_cancelled=lambda: self._on_cancelled(request),
        )
        if info is None:
            return
        self._in_flight = request
        self.busy_changed.emit(True)

    def _finish(self, request: _Request) -> bool:
        """The in-flight request ended; True when ``request`` was it."""
        if self._in_flight is not request:
            return False
        self._in_flight = None
        self.busy_changed.emit(False)
        return True

    def _again(self) -> None:
        if self._dirty:
            self._dirty = False
            self._timer.start()

    def _on_finished(self, request: _Request, result: SizeEstimate | None) -> None:
        if not self._finish(request):
            return
        if request.state[0] != self.doc.generation:  # another document opened meanwhile
            self._again()
            return
        if result is None:  # the worker lost the image (restarted): send it
            self._worker_key = None
            if self._pending_since is None:
                self._pending_since = request.since
            self._dirty = True
            self._again()
            return
        self._worker_key = request.key
        regions = region_grids(result.coded, self._block_owner(), self.model.label_count)
        live = LiveEstimate(
            estimate=result,
            pixels=request.pixels,
            shares=shares_of(result.block_bits, regions),
            latency_s=time.perf_counter() - request.since,
            current=request.state == self.state() and not self._dirty,
            state=request.state,
        )
        self.last = live
        self.estimated.emit(live)
        self._again()

    def _on_failed(self, request: _Request, error) -> None:
        if not self._finish(request):
            return
        self._worker_key = None
        self._dirty = False  # no retry loop on a lasting problem: the next edit tries again
        self.failed.emit(getattr(error, "message", str(error)))

    def _on_cancelled(self, request: _Request) -> None:
        if self._finish(request):
            self._worker_key = None
            self._again()
