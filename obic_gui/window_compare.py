"""The window's side of the compare view: split-side re-encodes, single-side export, the PNG yardstick.

One object owned by :class:`obic_gui.main_window.MainWindow` (like the quality feature). It
turns the compare view's requests into jobs and routes their answers back:

* a split side's codec or quality change becomes one ``encode_side`` job on the codec
  worker for that side alone (the other side and the grid are not touched); while one runs,
  newer changes of the same side wait, and only the latest is sent when it ends;
* "Export…" on a side or tile writes that reconstruction's PNG and its compressed file
  (atomically, on the io lane);
* the original's PNG size, the "% of PNG" captions' yardstick, is measured once per
  document on the io lane after the first encode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from obic_gui.jobs import JobInfo
from obic_gui.results import CodecFigures

SIDE_TAG, PNG_TAG, EXPORT_TAG = "side", "png_size", "export_side"


@dataclass
class _SideRequest:
    codec: str
    quality: float | None
    token: int


class CompareFeature:
    """Split-side jobs, side export and the PNG size for one window."""

    def __init__(self, window) -> None:
        self.w = window
        self._png: tuple[int, int] | None = None  # (document generation, bytes)
        self._png_asked: int | None = None  # the generation a PNG job is running for
        self._wanted: dict[str, _SideRequest] = {}  # the latest request of each side, not sent yet
        self._running: dict[str, int] = {}  # side → token of its job on the codec lane
        c, j = window.compare, window.jobs
        c.side_requested.connect(self.request_side)
        c.export_requested.connect(self.export_dialog)
        j.finished.connect(self._finished)
        j.failed.connect(self._ended)
        j.cancelled.connect(self._ended)
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
        self._png_asked = doc.generation
        self.w.jobs.submit(
            "io", PNG_TAG, "original_png_bytes", {"image": doc.image}, context=doc.generation, when_busy="queue"
        )

    # -- split sides -----------------------------------------------------------------------
    def request_side(self, side: str, codec: str, quality, token: int) -> None:
        """Encode ``codec`` for one side (at ``quality``, or None: at the OBIC file's rate)."""
        self._wanted[side] = _SideRequest(codec, None if quality is None else float(quality), token)
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
        )
        info = self.w.jobs.submit(
            "codec", SIDE_TAG, "encode_side", kwargs, context=(doc.generation, side, req.token), when_busy="queue"
        )
        if info is not None:
            self._running[side] = req.token

    def _side_done(self, info: JobInfo) -> str | None:
        generation, side, token = info.context
        if self._running.get(side) == token:
            del self._running[side]
        if side in self._wanted:
            self._send(side)
        return side if generation == self.w.doc.generation else None

    # -- export ----------------------------------------------------------------------------
    def export_paths(self, fig: CodecFigures, png_path: str) -> tuple[str, str | None]:
        """(reconstruction PNG, compressed file beside it, or None when there is no file)."""
        png = Path(png_path if png_path.lower().endswith(".png") else png_path + ".png")
        data = None if fig.data is None else str(png.with_suffix(f".{fig.extension}"))
        return str(png), data

    def export_dialog(self, fig: CodecFigures) -> None:
        w = self.w
        name = f"{w._stem()}.{fig.codec}.{fig.bpp:.3f}bpp.png"
        start = str(Path(w.settings.last_dir("export")) / name)
        path, _ = QFileDialog.getSaveFileName(w, f"Export {fig.codec} (PNG and its file)", start, "PNG (*.png)")
        if path:
            w.settings.set_last_dir(path, "export")
            self.export(fig, path)

    def export(self, fig: CodecFigures, png_path: str) -> None:
        """Write one reconstruction and its compressed file (on the io lane, each atomically)."""
        png, data_path = self.export_paths(fig, png_path)
        files = [] if data_path is None else [(data_path, fig.data)]
        self.w.jobs.submit(
            "io",
            EXPORT_TAG,
            "write_export",
            {"pngs": [(png, fig.image, None)], "files": files},
            context=fig.codec,
            when_busy="queue",
        )

    # -- job answers -----------------------------------------------------------------------
    def _finished(self, info: JobInfo, result: object) -> None:
        w = self.w
        if info.tag == SIDE_TAG:
            side = self._side_done(info)
            if side is not None and isinstance(result, CodecFigures):
                w.compare.set_side_result(side, info.context[2], result)
        elif info.tag == PNG_TAG:
            self._png_asked = None
            if info.context == w.doc.generation:
                self._png = (info.context, int(result))
                w.compare.set_png_bytes(self._png[1])
                w.stats.set_png_bytes(self._png[1])
        elif info.tag == EXPORT_TAG:
            names = ", ".join(Path(p).name for p in result)
            text = f"Wrote {names} to {Path(result[0]).parent}" if result else "Nothing written"
            w.statusBar().showMessage(text, 8000)
        elif info.tag == "probe":
            w.compare.set_available_codecs(list(getattr(result, "codecs", [])))

    def _ended(self, info: JobInfo, error=None) -> None:
        """A side job failed or was cancelled: free the side (and say why on it)."""
        if info.tag == PNG_TAG:
            self._png_asked = None
        if info.tag != SIDE_TAG:
            return
        side = self._side_done(info)
        if side is not None:
            text = getattr(error, "message", None) or "cancelled"
            self.w.compare.set_side_failed(side, info.context[2], text)
