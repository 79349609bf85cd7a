"""`obic-gui [IMAGE | FILE.obic]` — start OBIC Studio.

With no argument it opens the first sample photo in resources/samples/ so a new user sees
the whole flow (mask prediction, encode, compare) at once. ``--snapshot OUT.png`` runs that
flow unattended at the default settings, saves screenshots of the window and exits (used
for the README's screenshots and for checks).

Start-up stays fast because nothing here imports torch: the model work happens in worker
processes that start after the window is shown.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
VIEWS = ("main", "compare", "split", "stats")


def sample_photo() -> Path | None:
    """The first bundled sample photo (PNG or JPEG), if any."""
    if not SAMPLES.is_dir():
        return None
    photos = sorted(
        p for p in SAMPLES.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg") and ".mask." not in p.name
    )
    return photos[0] if photos else None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="obic-gui", description="OBIC Studio: object-based image coding.")
    p.add_argument("file", nargs="?", help="a photo (PNG, JPEG, …) or a .obic file to open")
    p.add_argument(
        "--snapshot",
        metavar="OUT.png",
        help="open FILE, predict the mask, encode and compare at the default settings, "
        "save a screenshot of the window and exit",
    )
    p.add_argument(
        "--snapshot-view",
        choices=(*VIEWS, "all"),
        default="main",
        help="which tab to capture ('split': the compare tab's split view); 'all' writes OUT-main.png, "
        "OUT-compare.png, OUT-split.png, OUT-stats.png",
    )
    p.add_argument("--snapshot-size", default="1600x1000", metavar="WxH", help="window size for --snapshot")
    p.add_argument(
        "--snapshot-sweep",
        action="store_true",
        help="also run an RD sweep before the screenshots (slow; fills the RD plot)",
    )
    p.add_argument(
        "--snapshot-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="give up waiting for results after S seconds (the screenshot is still taken)",
    )
    p.add_argument(
        "--weights",
        metavar="FILE.safetensors",
        default=os.environ.get("OBIC_WEIGHTS"),
        help="codec weights to use instead of the shipped ones (also $OBIC_WEIGHTS)",
    )
    p.add_argument(
        "--settings", metavar="FILE.ini", help="keep settings in this INI file instead of the user's settings"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    args = build_parser().parse_args(argv)
    if args.snapshot and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from obic_gui.main_window import MainWindow
    from obic_gui.settings import AppSettings
    from obic_gui.style import apply_theme, icon

    owns_app = QApplication.instance() is None
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("OBIC")
    app.setApplicationName("OBIC Studio")
    app.setApplicationDisplayName("OBIC Studio")
    apply_theme(app)
    app.setWindowIcon(icon("app"))

    settings = AppSettings.at(args.settings) if args.settings else None
    if args.snapshot and settings is None:
        import tempfile

        settings = AppSettings.at(Path(tempfile.mkdtemp(prefix="obic-gui-")) / "snapshot.ini")
    window = MainWindow(settings=settings, weights=args.weights)

    target = args.file
    if target is None:
        sample = sample_photo()
        target = str(sample) if sample else None
    if target is not None and not Path(target).exists():
        print(f"obic-gui: error: {target}: no such file", file=sys.stderr)
        return 2

    if args.snapshot:
        from obic_gui.snapshot import SnapshotDriver

        try:
            w, h = (int(v) for v in args.snapshot_size.lower().split("x"))
        except ValueError:
            print("obic-gui: error: --snapshot-size must look like 1600x1000", file=sys.stderr)
            return 2
        if target is None:
            print("obic-gui: error: --snapshot needs an IMAGE (no sample photo found)", file=sys.stderr)
            return 2
        window.ask_before_discard = False
        window.show_dialogs = False
        window.resize(w, h)
        driver = SnapshotDriver(window, args.snapshot, args.snapshot_view, args.snapshot_timeout, args.snapshot_sweep)
        # an app that was already running (tests, embedding) keeps running afterwards:
        # a local loop ends here instead of quitting the application
        loop = app if owns_app else QEventLoop()
        driver.finished.connect(loop.quit)
        window.show()
        window.start_background()
        window.open_path(target, confirm=False)
        loop.exec()
        return driver.exit_code

    window.show()
    report = os.environ.get("OBIC_GUI_REPORT_SHOWN")  # for bench/gui_responsiveness.py
    if report:

        def shown() -> None:  # first event-loop turn after show(): the window is on screen
            print(f"OBIC_GUI_SHOWN {time.time():.6f} {time.perf_counter() - t0:.6f}", flush=True)
            if report == "quit":
                window.ask_before_discard = False
                window.close()
                app.quit()

        QTimer.singleShot(0, shown)
        if report == "quit":
            return app.exec()
        if report == "mask":  # first mask on screen, then quit

            def masked() -> None:
                print(f"OBIC_GUI_MASK {time.time():.6f} {time.perf_counter() - t0:.6f}", flush=True)
                window.ask_before_discard = False
                window.close()
                app.quit()

            window.mask_ready.connect(lambda: QTimer.singleShot(0, masked))
    QTimer.singleShot(0, window.start_background)
    if target is not None:
        QTimer.singleShot(0, lambda: window.open_path(target, confirm=False))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
