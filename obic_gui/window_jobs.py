"""The main window's jobs: starting mask and codec work, and where each one's answer goes.

A mixin of :class:`obic_gui.main_window.MainWindow`. Nothing slow happens here: every job
runs on a worker (:mod:`obic_gui.jobs`). Each ``submit`` names its own handlers, which
remember the document generation the job was started for: results that arrive for an image
that is no longer open are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from obic_gui.job_errors import JobError
from obic_gui.jobs import JobInfo
from obic_gui.outcomes import DecodeOutcome, EncodeOutcome, LoadedDocument, ProbeOutcome, SweepOutcome
from obic_gui.qimage import over_checker
from obic_gui.quality import fmt_bpp, fmt_bytes, fmt_db
from obic_gui.widgets.smart_tools import clear_outside
from obic_gui.window_quality import quality_map_of

SWEEP_TARGETS = (0.1, 0.2, 0.35, 0.5, 0.75)
#: the start-up probe's tag: it loads the model, and no "Cancel" or new document stops it
PROBE = "probe"
#: the canvas banner while a mask job runs
PREDICTING, REFINING = "Predicting the object mask…", "Refining the mask edges…"
EMPTY_CANVAS = "Open a photo (Ctrl+O) or drop one here"
#: shown with every result of an encode of an opened .obic (it has no original photo)
DECODED_REFERENCE_NOTE = (
    "No original photo: the reference is this .obic's decoded image. Every codec, OBIC included, "
    "re-encodes those pixels, so the scores measure re-compression, not the file's first encode."
)


class JobActions:
    """Mask jobs, codec jobs and their answers (mixed into MainWindow)."""

    # ----------------------------------------------------------------------------- start-up
    def start_background(self) -> None:
        """After the window is shown: start the mask worker, then the codec worker.

        The codec worker (torch + the codec model) starts once the first mask is on screen
        (or after a few seconds): both loading at once would slow down the mask, which is
        what a user waits for first.
        """
        from PySide6.QtCore import QTimer

        from obic_gui.main_window import CODEC_WARMUP_DELAY_MS

        self.jobs.warm_up("mask")
        self.mask_ready.connect(self._start_codec_worker)
        QTimer.singleShot(CODEC_WARMUP_DELAY_MS, self._start_codec_worker)

    def _start_codec_worker(self) -> None:
        if self._probe_requested:
            return
        self._probe_requested = True
        self.jobs.submit(
            "codec",
            PROBE,
            "probe",
            {"weights": self.weights},
            when_busy="queue",
            owner=self,
            on_done=self._probed,
            # not worth a dialog: shown in the rate panel
            on_failed=lambda error: self.rate.set_problem(f"The worker could not start: {error.message}"),
        )

    def codec_busy(self) -> bool:
        """An encode, sweep, decode or split side is running or waiting (the probe does not count)."""
        return self.jobs.has_work("codec", ignore_tags=(PROBE,))

    def _cancel_document_jobs(self) -> None:
        """Work for the open document is pointless once another one opens: stop it."""
        self._encode_after_mask = False
        self._save_after_encode = None
        self.jobs.cancel("mask")
        self.jobs.drop_queued("mask")
        running = self.jobs.running("codec")
        if running is not None and running.tag != PROBE:
            self.jobs.cancel("codec")
        self.jobs.drop_queued("codec", keep_tags=(PROBE,))

    # ----------------------------------------------------------------------------- opened
    def _loaded(self, loaded: LoadedDocument) -> None:
        self.doc.open_image(loaded.image, loaded.path, loaded.notes)
        self._add_recent(loaded.path)
        msg = f"Opened {self.doc.name}"
        if loaded.notes:
            msg += " — " + "; ".join(loaded.notes)
        self.statusBar().showMessage(msg, 8000)
        self.document_opened.emit()
        self._predict(initial=True)

    def _obic_opened(self, outcome: DecodeOutcome, path: str, data: bytes) -> None:
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

    # ----------------------------------------------------------------------------- mask jobs
    def _submit_mask(
        self,
        tag: str,
        task: str,
        kwargs: dict,
        undo_text: str,
        *,
        banner: str | None = None,
        initial: bool = False,
        clear_box: tuple[int, int, int, int] | None = None,
        when_busy: str = "refuse",
    ) -> None:
        """One mask job whose answer replaces the mask as the undo step ``undo_text``
        (``initial``: the prediction on open, the baseline rather than a step)."""
        generation = self.doc.generation
        self.jobs.submit(
            "mask",
            tag,
            task,
            kwargs,
            when_busy=when_busy,
            owner=self,
            on_started=None if banner is None else (lambda: self.canvas.set_banner(banner)),
            on_done=lambda mask: self._mask_result(mask, generation, undo_text, initial, clear_box),
            on_failed=lambda error: self._mask_failed(error, initial),
            on_cancelled=lambda: self.canvas.set_busy_rect(None),
        )

    def _predict(self, initial: bool) -> None:
        if not self.doc.is_open:
            return
        self._submit_mask(
            "predict_initial" if initial else "predict",
            "predict_mask",
            {"image": self.doc.image, "method": self.tools.chosen_method()},
            "Predicted mask" if initial else "Predict mask",
            banner=PREDICTING,
            initial=initial,
            when_busy="replace" if initial else "refuse",
        )
        self.statusBar().showMessage(PREDICTING)

    def predict_again(self) -> None:
        if self.jobs.is_busy("mask"):
            self.statusBar().showMessage("The mask is already being updated.", 4000)
            return
        self._predict(initial=False)

    def refine_whole(self) -> None:
        if not self.doc.is_open or self.jobs.is_busy("mask"):
            return
        self._submit_mask(
            "refine",
            "refine_mask",
            {"image": self.doc.image, "mask": self.doc.mask.copy(), "rect": None},
            "Refine edges",
            banner=REFINING,
        )
        self.statusBar().showMessage(REFINING)

    def refine_rect(self, rect: tuple[int, int, int, int]) -> None:
        if not self.doc.is_open:
            return
        if self.jobs.is_busy("mask"):
            self.statusBar().showMessage("Wait for the current mask update to finish.", 4000)
            return
        self.canvas.set_busy_rect(rect, "Refining…")
        clears = self.canvas.smart.box_clears()  # decided now: "first edit" means first when drawn
        self._submit_mask(
            "refine_rect",
            "refine_mask",
            {"image": self.doc.image, "mask": self.doc.mask.copy(), "rect": tuple(rect)},
            "Smart box (clears outside)" if clears else "Smart box",
            clear_box=tuple(rect) if clears else None,
        )

    def _mask_result(
        self,
        mask: np.ndarray,
        generation: int,
        undo_text: str,
        initial: bool,
        clear_box: tuple[int, int, int, int] | None,
    ) -> None:
        self.canvas.set_busy_rect(None)
        if generation != self.doc.generation or not self.doc.is_open:
            return
        if clear_box is not None:  # the smart box also removes what is outside it
            mask = clear_outside(mask, clear_box)
        if initial and self.doc.undo_stack.count() == 0:
            self.doc.set_initial_mask(mask)
        else:
            self.doc.replace_mask(mask, undo_text)
        self.statusBar().showMessage("Mask ready — paint to adjust it, then Encode.", 5000)
        self.mask_ready.emit()
        if self._encode_after_mask:
            self._encode_after_mask = False
            self.encode()

    def _mask_failed(self, error: JobError, initial: bool) -> None:
        self.canvas.set_busy_rect(None)
        self._encode_after_mask = False
        if initial and self.doc.is_open:
            self.mask_ready.emit()  # an empty mask is still a mask: the user can paint one
        self.show_error(error)

    # ----------------------------------------------------------------------------- codec jobs
    def _device(self) -> str:
        return self.rate.settings().device

    def encode(self) -> None:
        if not self.doc.is_open or self.doc.mask is None:
            self.statusBar().showMessage("Open a photo first.", 4000)
            return
        if self.codec_busy():
            return  # a second click never starts a second job
        if self.jobs.has_work("mask") and not self.doc.is_obic:
            self._encode_after_mask = True  # encode the mask that is being predicted
            self.rate.set_stage("Waiting for the mask…")
            self._update_actions()
            return
        s = self.rate.settings()
        kwargs = dict(image=self.doc.image, mask=self.doc.mask.copy(), weights=self.weights, **s.job_kwargs())
        kwargs["quality_map"] = quality_map_of(self)  # the painted map (None: the two qualities, a v1 file)
        self.submit_encode(kwargs, s.target_bpp)

    def submit_encode(self, kwargs: dict, target_bpp: float | None = None) -> None:
        """Start an encode & compare of the open document with these task arguments (what
        :meth:`encode` builds from the panel; tests pass their own). The outcome is kept only
        while the same document is open, and is stale if the mask changed meanwhile."""
        generation, mask_version = self.doc.generation, self.doc.mask_version
        self.jobs.submit(
            "codec",
            "encode",
            "encode_compare",
            kwargs,
            when_busy="queue",
            owner=self,
            on_done=lambda outcome: self._encoded(outcome, generation, mask_version, target_bpp),
            on_failed=self._panel_job_failed,
            on_cancelled=self._panel_job_cancelled,
            on_progress=self.rate.set_progress,
        )
        self.rate.set_progress("Starting…", 0.0)
        self._update_actions()

    def run_sweep(self) -> None:
        if not self.doc.is_open or self.codec_busy():
            return
        s = self.rate.settings()
        codecs = ("obic", *[c for c in s.codecs if c != "obic"])
        generation = self.doc.generation
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
                quality_map=quality_map_of(self),  # OBIC's curve follows the painted map too
            ),
            when_busy="queue",
            owner=self,
            on_done=lambda sweep: self._swept(sweep, generation),
            on_failed=lambda error: self._panel_job_failed(error, sweep=True),
            on_cancelled=lambda: self._panel_job_cancelled(sweep=True),
            on_progress=self.rate.set_progress,
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
        generation = self.doc.generation
        self.jobs.submit(
            "codec",
            "layers",
            "decode_obic",
            {"data": self.doc.obic_data, "layers": layers, "device": self._device(), "weights": self.weights},
            when_busy="replace",
            owner=self,
            on_done=lambda outcome: self._layers_decoded(outcome, generation),
            on_failed=self.show_error,
        )

    def _show_decoded_layers(self, outcome: DecodeOutcome) -> None:
        full = len(outcome.layers) == 2 or outcome.alpha is None
        self.canvas.set_display_image(None if full else over_checker(outcome.image, outcome.alpha))
        if full:
            self.doc.set_decoded_layers(outcome)

    def cancel_jobs(self) -> None:
        """Esc / Cancel: stop whatever the user is waiting for (not the start-up probe)."""
        self._encode_after_mask = False
        self._save_after_encode = None
        for lane in ("codec", "mask", "io"):
            running = self.jobs.running(lane)
            if running is not None and running.tag != PROBE:
                self.jobs.cancel(lane)
        self.jobs.drop_queued("codec", keep_tags=(PROBE,))
        self.status_job.setText("Cancelling…")
        self._update_actions()

    # ----------------------------------------------------------------------------- codec answers
    def _encoded(self, outcome: EncodeOutcome, generation: int, mask_version: int, target_bpp: float | None) -> None:
        if generation != self.doc.generation:
            return
        save_to, self._save_after_encode = self._save_after_encode, None
        self.doc.set_outcome(outcome, mask_version)
        obic = outcome.figure("obic")
        if obic is not None:
            self.rate.set_summary(
                f"<b>OBIC</b> {fmt_bytes(obic.bytes)} · {fmt_bpp(obic.bpp)}<br>"
                f"PSNR {fmt_db(obic.psnr)} · object {fmt_db(obic.object_psnr)}"
                + (" <span style='color:#ffb454'>(vs the decoded .obic)</span>" if self.doc.is_obic else "")
                + "<br><a href='compare' style='color:#7fb2f0'>Compare →</a> &nbsp; "
                "<a href='stats' style='color:#7fb2f0'>Statistics →</a>"
                + (
                    ""
                    if obic.reached
                    else "<br><span style='color:#ffb454'>target not reachable: this is the smallest file</span>"
                )
            )
        self.rate.set_used_qualities(outcome.object_quality, outcome.background_quality, target_bpp)
        self.rate.set_stage(f"Done — compared with {len(outcome.figures) - 1} codec(s)")
        self.rate.set_stale(self.doc.stale)
        self.stats.set_notes(([DECODED_REFERENCE_NOTE] if self.doc.is_obic else []) + list(outcome.notes))
        if obic is not None:
            self.statusBar().showMessage(f"Encoded: {fmt_bytes(obic.bytes)}, {fmt_bpp(obic.bpp)}", 8000)
        if save_to is not None:
            if self.doc.stale:
                self.statusBar().showMessage("The mask changed during the encode: not saved. Encode again.", 8000)
            else:
                self.save_obic(save_to)
        self.results_ready.emit()

    def _swept(self, sweep: SweepOutcome, generation: int) -> None:
        self.stats.set_sweep_running(False)
        if generation != self.doc.generation:
            return
        self.doc.set_sweep(sweep)  # the Statistics tab follows the document
        self.rate.set_stage("RD sweep done")

    def _panel_job_failed(self, error: JobError, sweep: bool = False) -> None:
        """An encode or a sweep failed: the encode panel speaks of its own jobs."""
        if sweep:
            self.stats.set_sweep_running(False)
        self._save_after_encode = None
        self.rate.set_stage(f"{error.title}")
        self.show_error(error)

    def _panel_job_cancelled(self, sweep: bool = False) -> None:
        if sweep:
            self.stats.set_sweep_running(False)
        self._save_after_encode = None
        self.rate.set_stage("Cancelled")

    def _layers_decoded(self, outcome: DecodeOutcome, generation: int) -> None:
        if generation != self.doc.generation:
            return
        self._layer_cache[tuple(outcome.layers)] = outcome
        self._show_decoded_layers(outcome)

    def _probed(self, probe: ProbeOutcome) -> None:
        self._probe = probe
        self.rate.set_devices(probe.devices)
        self.rate.set_settings(self.settings.rate_settings())
        self.rate.set_available_codecs(probe.codecs)
        self.tools.set_methods(probe.seg_methods)
        self.rate.set_problem(f"The codec cannot run yet: {probe.problem}" if probe.problem else None)
        self.compare.set_available_codecs(list(probe.codecs))  # the split sides' codec menus

    def _exported(self, paths: list[str]) -> None:
        self.statusBar().showMessage(
            f"Wrote {len(paths)} PNG file(s) to {Path(paths[0]).parent}" if paths else "Nothing written", 8000
        )

    # ----------------------------------------------------------------------------- every job
    def _on_job_cancelled(self, info: JobInfo) -> None:
        self.statusBar().showMessage(f"Cancelled ({info.tag.replace('_', ' ')})", 4000)
        self._update_actions()

    def _on_lane_busy(self, lane: str, busy: bool) -> None:
        if lane == "mask" and not busy:
            self.canvas.set_banner("")
        if lane == "io" and not busy:
            self.canvas.placeholder = EMPTY_CANVAS
            self.canvas.update()

    def _on_job_progress(self, info: JobInfo, stage: str, fraction: float) -> None:
        self.status_job.setText(f"{stage} {fraction * 100:.0f} %")
