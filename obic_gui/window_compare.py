"""The window's side of the compare view: split-side re-encodes, single-side export, the PNG yardstick.

One object owned by :class:`obic_gui.main_window.MainWindow` (like the quality feature). It
turns the compare view's requests into jobs whose handlers bring the answers back:

* a split side's codec or quality change becomes one ``encode_side`` job on the codec
  worker for that side alone (the other side and the grid are not touched); while one runs,
  newer changes of the same side wait, and only the latest is sent when it ends; an HEVC
  side's quality change keeps the chroma (4:2:0 / 4:4:4) of the result it is shown with;
* "Export…" on a side or tile writes that reconstruction's PNG and its compressed file
  (atomically, on the io lane);
* the original's PNG size, the "% of PNG" captions' yardstick, is measured once per
  document on the io lane after the first encode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from obic_core.results import CompareResult
from obic_gui.job_errors import JobError

SIDE_TAG, PNG_TAG, EXPORT_TAG = "side", "png_size", "export_side"


@dataclass
class _SideRequest:
    codec: str
    quality: float | None
    token: int
    chroma: str | None = None  # HEVC: the chroma the side's result has, kept at a new quality


class CompareFeature:
    """Split-side jobs, side export and the PNG size for one window."""

    def __init__(self, window) -> None:
        self.w = window
        self._png: tuple[int, int] | None = None  # (document generation, bytes)
        self._png_asked: int | None = None  # the generation a PNG job is running for
        self._wanted: dict[str, _SideRequest] = {}  # the latest request of each side, not sent yet
        self._running: dict[str, int] = {}  # side → token of its job on the codec lane
        c = window.compare
        c.side_requested.connect(self.request_side)
        c.export_requested.connect(self.export_dialog)
        window.results_ready.connect(self._measure_png)

    # -- the PNG yardstick -----------------------------------------------------------------
    def png_bytes(self) -> int | None:
        """The open photo's PNG size, when it has been measured."""
        doc = self.w.doc
        return self._png[1] if self._png is not None and self._png[0] == doc.generation else None

    def _measure_png(self) -> None:
        doc = self.w.doc
        if not doc.is_open or self.png_bytes() is not None or self._png_asked == doc.generation:
            return
        generation = self._png_asked = doc.generation
        self.w.jobs.submit(
            "io",
            PNG_TAG,
            "original_png_bytes",
            {"image": doc.image},
            when_busy="queue",
            owner=self.w,
            on_done=lambda nbytes: self._png_measured(generation, int(nbytes)),
            on_failed=self._png_failed,
            on_cancelled=self._png_ended,
        )

    def _png_measured(self, generation: int, nbytes: int) -> None:
        self._png_ended()
        if generation == self.w.doc.generation:
            self._png = (generation, nbytes)
            self.w.compare.set_png_bytes(nbytes)
            self.w.stats.set_png_bytes(nbytes)

    def _png_ended(self) -> None:
        self._png_asked = None

    def _png_failed(self, error: JobError) -> None:
        self.w.show_error(error)
        self._png_ended()

    # -- split sides -----------------------------------------------------------------------
    def request_side(self, side: str, codec: str, quality, token: int, chroma: str | None = None) -> None:
        """Encode ``codec`` for one side (at ``quality``, or None: at the OBIC file's rate;
        HEVC at a quality in ``chroma``, the one its result on that side has)."""
        self._wanted[side] = _SideRequest(codec, None if quality is None else float(quality), token, chroma)
        if side not in self._running:
            self._send(side)

    def _send(self, side: str) -> None:
        req = self._wanted.pop(side, None)
        doc, out = self.w.doc, self.w.doc.outcome
        if req is None or out is None or not doc.is_open:
            return
        obic = out.figure("obic")
        kwargs = dict(
            image=doc.image,
            mask=None if doc.mask is None else doc.mask.copy(),
            codec=req.codec,
            quality=req.quality,
            target_bpp=obic.bpp if obic is not None else out.target_bpp,
            object_quality=out.object_quality,
            background_quality=out.background_quality,
            device=out.device,
            weights=self.w.weights,
            obic_data=out.data,  # its painted block map, if any, shapes OBIC's side too
            chroma=req.chroma,
        )
        generation, token = doc.generation, req.token
        info = self.w.jobs.submit(
            "codec",
            SIDE_TAG,
            "encode_side",
            kwargs,
            when_busy="queue",
            owner=self.w,
            on_done=lambda fig: self._side_encoded(side, token, generation, fig),
            on_failed=lambda error: self._side_ended(side, token, generation, error),
            on_cancelled=lambda: self._side_ended(side, token, generation, None),
        )
        if info is not None:
            self._running[side] = token

    def _side_done(self, side: str, token: int, generation: int) -> bool:
        """Free the side (sending its newest request, if one waits); True when the answer is
        still for the open document."""
        if self._running.get(side) == token:
            del self._running[side]
        if side in self._wanted:
            self._send(side)
        return generation == self.w.doc.generation

    def _side_encoded(self, side: str, token: int, generation: int, fig: CompareResult) -> None:
        if self._side_done(side, token, generation):
            self.w.compare.set_side_result(side, token, fig)

    def _side_ended(self, side: str, token: int, generation: int, error: JobError | None) -> None:
        """A side job failed or was cancelled: free the side and say why on it."""
        if error is not None:
            self.w.show_error(error)
        if self._side_done(side, token, generation):
            self.w.compare.set_side_failed(side, token, error.message if error is not None else "cancelled")

    # -- export ----------------------------------------------------------------------------
    def export_paths(self, fig: CompareResult, png_path: str) -> tuple[str, str | None]:
        """(reconstruction PNG, compressed file beside it, or None when there is no file)."""
        png = Path(png_path if png_path.lower().endswith(".png") else png_path + ".png")
        data = None if fig.data is None else str(png.with_suffix(f".{fig.extension}"))
        return str(png), data

    def export_dialog(self, fig: CompareResult) -> None:
        w = self.w
        name = f"{w._stem()}.{fig.codec}.{fig.bpp:.3f}bpp.png"
        start = str(Path(w.settings.last_dir("export")) / name)
        path, _ = QFileDialog.getSaveFileName(w, f"Export {fig.codec} (PNG and its file)", start, "PNG (*.png)")
        if path:
            w.settings.set_last_dir(path, "export")
            self.export(fig, path)

    def export(self, fig: CompareResult, png_path: str) -> None:
        """Write one reconstruction and its compressed file (on the io lane, each atomically)."""
        png, data_path = self.export_paths(fig, png_path)
        files = [] if data_path is None else [(data_path, fig.data)]
        self.w.jobs.submit(
            "io",
            EXPORT_TAG,
            "write_export",
            {"pngs": [(png, fig.image, None)], "files": files},
            when_busy="queue",
            owner=self.w,
            on_done=self._exported,
            on_failed=self.w.show_error,
        )

    def _exported(self, paths: list[str]) -> None:
        names = ", ".join(Path(p).name for p in paths)
        text = f"Wrote {names} to {Path(paths[0]).parent}" if paths else "Nothing written"
        self.w.statusBar().showMessage(text, 8000)
