"""How responsive is obic-gui? Launch time, open → mask time, and event-loop stalls.

Measures, on real photos (Kodak from ../shared/data, else resources/samples):

* **launch → shown window**: ``python -m obic_gui.app IMAGE`` in a fresh process, from just
  before it is started to the first event-loop turn after ``show()`` (median of N runs);
* **open → mask shown**: ``open_path(kodim)`` until the predicted mask is on the canvas, cold
  (first image: the worker process is still starting) and warm (the next images);
* **event-loop stalls**: a 5 ms QTimer probe records the gaps between its ticks while an
  encode & compare runs (and while the mask is predicted, and for 10 s while the workers
  start); the longest gap minus 5 ms is the longest time the UI could not react. Target:
  < 50 ms. For the worst gaps it also records how much CPU the GUI thread (and the whole GUI
  process) used inside them: a long gap with little CPU is the OS scheduling other work.

``--mode thread`` runs the same jobs in worker *threads* of the GUI process instead of the
worker processes, to show what the process isolation buys (torch import, GIL-holding coders).

    python bench/gui_responsiveness.py                    # writes bench/results/gui/*.json
    python bench/gui_responsiveness.py --mode thread --images 2

The machine's load average is recorded: other work on the same cores (a training run) shows
up as scheduling delay in every number here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "gui"
PROBE_MS = 5
TARGET_STALL_MS = 50.0
TARGET_LAUNCH_S = 2.0
IDLE_S = 10


def find_images(n: int) -> list[Path]:
    from obic_core.datasets import shared_data_dir

    shared = shared_data_dir()
    kodak = sorted((shared / "kodak").glob("kodim*.png")) if shared else []
    if kodak:
        picks = [p for p in kodak if p.stem in ("kodim23", "kodim04", "kodim15", "kodim20")] or kodak
        return picks[:n]
    samples = sorted((REPO / "resources" / "samples").glob("*.jpg"))
    return [p for p in samples if ".mask" not in p.name][:n]


# ------------------------------------------------------------------------------ launch
def _run_app_until(report: str, marker: str, image: Path, settings: Path, timeout: float) -> list[str]:
    """Run ``obic-gui IMAGE`` in a fresh process that quits once it has reported ``marker``;
    return the fields of that report line (its time stamps)."""
    env = dict(os.environ, OBIC_GUI_REPORT_SHOWN=report, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    proc = subprocess.run(
        [sys.executable, "-m", "obic_gui.app", str(image), "--settings", str(settings)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(marker)), None)
    if line is None:
        raise RuntimeError(f"the app did not report {marker}:\n{proc.stdout}\n{proc.stderr}")
    return line.split()


def measure_launch(image: Path, runs: int, settings_dir: Path) -> dict:
    """Seconds from starting the process to its first event-loop turn with the window shown."""
    times, inside = [], []
    for i in range(runs):
        t0 = time.time()
        fields = _run_app_until("quit", "OBIC_GUI_SHOWN", image, settings_dir / f"launch{i}.ini", 300)
        times.append(float(fields[1]) - t0)
        inside.append(float(fields[2]))
    return {
        "runs": runs,
        "median_s": statistics.median(times),
        "max_s": max(times),
        "all_s": [round(t, 4) for t in times],
        "median_in_main_s": statistics.median(inside),
        "target_s": TARGET_LAUNCH_S,
    }


def measure_launch_to_mask(image: Path, runs: int, settings_dir: Path) -> dict:
    """Seconds from starting ``obic-gui IMAGE`` to its predicted mask on screen (everything cold:
    the worker process starts, imports torch, loads the segmentation model)."""
    times = []
    for i in range(runs):
        t0 = time.time()
        fields = _run_app_until("mask", "OBIC_GUI_MASK", image, settings_dir / f"mask{i}.ini", 600)
        times.append(float(fields[1]) - t0)
    return {"runs": runs, "median_s": statistics.median(times), "all_s": [round(t, 3) for t in times]}


# ------------------------------------------------------------------------------ in-process
class StallProbe:
    """A 5 ms timer; the gaps between its ticks show how long the event loop was blocked."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.busy: list[float] = []
        self.proc: list[float] = []
        self._last = self._last_cpu = self._last_proc = 0.0

    def start(self) -> None:
        self.gaps, self.busy, self.proc = [], [], []
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._last_proc = time.process_time()
        self.timer.start()

    def _tick(self) -> None:
        now, cpu, proc = time.perf_counter(), time.thread_time(), time.process_time()
        self.gaps.append(now - self._last)
        self.busy.append(cpu - self._last_cpu)  # CPU the GUI thread itself used in the gap
        self.proc.append(proc - self._last_proc)  # ... and all threads of the GUI process
        self._last, self._last_cpu, self._last_proc = now, cpu, proc

    def stop(self) -> dict:
        """Wall-clock stalls, and the part of the worst ones the GUI thread spent computing.

        On a loaded machine a long gap with little GUI-thread CPU in it is the OS (or the GIL)
        keeping the thread waiting; a long gap full of CPU is the app's own blocking work.
        """
        self.timer.stop()
        stalls = sorted(max(0.0, g * 1000 - PROBE_MS) for g in self.gaps) or [0.0]
        worst = sorted(zip(self.gaps, self.busy, self.proc, strict=True), reverse=True)[:3]
        return {
            "ticks": len(self.gaps),
            "max_stall_ms": round(stalls[-1], 2),
            "p99_stall_ms": round(stalls[int(0.99 * (len(stalls) - 1))], 2),
            "median_gap_ms": round(statistics.median(self.gaps) * 1000, 2) if self.gaps else None,
            "stalls_over_50ms": sum(s > 50 for s in stalls),
            "max_gui_cpu_in_a_gap_ms": round(max(self.busy, default=0.0) * 1000, 2),
            "worst_gaps_ms": [
                {"gap": round(g * 1000, 1), "gui_thread_cpu": round(b * 1000, 1), "gui_process_cpu": round(p * 1000, 1)}
                for g, b, p in worst
            ],
        }


def wait_for(app, signal, timeout_s: float = 900.0):
    """Run the event loop until ``signal`` fires (returns its args)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    got: list = []

    def done(*args):
        got.append(args)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(done)
    if not got:
        raise TimeoutError(f"no {signal} within {timeout_s} s")
    return got[0]


def measure_in_process(
    images: list[Path], mode: str, codecs: tuple[str, ...], weights: str | None, settings_dir: Path
) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from obic_gui.jobs import JobManager
    from obic_gui.main_window import MainWindow
    from obic_gui.quality import RateSettings
    from obic_gui.settings import AppSettings
    from obic_gui.style import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    jobs = None
    if mode == "thread":
        jobs = JobManager(process_lanes=())
    w = MainWindow(jobs=jobs, settings=AppSettings.at(settings_dir / f"inproc-{mode}.ini"), weights=weights)
    w.ask_before_discard = False
    w.show_dialogs = False
    w.resize(1600, 1000)
    w.show()
    w.start_background()
    app.processEvents()
    errors: list[str] = []
    w.error_shown.connect(lambda t, m: errors.append(f"{t}: {m}"))

    probe = StallProbe()
    # the window with nothing to do while the workers start (import torch, load the models):
    # a control for the machine's load, and in thread mode the cost of importing torch
    from PySide6.QtCore import QEventLoop, QTimer

    probe.start()
    idle_loop = QEventLoop()
    QTimer.singleShot(IDLE_S * 1000, idle_loop.quit)
    idle_loop.exec()
    idle = probe.stop()
    opens = []
    for i, image in enumerate(images):
        probe.start()
        t0 = time.perf_counter()
        w.open_path(str(image), confirm=False)
        wait_for(app, w.mask_ready)
        app.processEvents()  # the mask is painted
        dt = time.perf_counter() - t0
        opens.append(
            {"image": image.name, "cold": i == 0, "open_to_mask_s": round(dt, 3), "stalls_while_opening": probe.stop()}
        )

    encodes = []
    for image in images[:2]:
        if w.doc.path != str(image):
            w.open_path(str(image), confirm=False)
            wait_for(app, w.mask_ready)
        w.rate.set_settings(RateSettings(0.75, 0.25, None, w.rate.settings().device, codecs))
        probe.start()
        t0 = time.perf_counter()
        w.encode()
        wait_for(app, w.results_ready)
        app.processEvents()
        dt = time.perf_counter() - t0
        stalls = probe.stop()
        fig = w.doc.outcome.figure("obic") if w.doc.outcome else None
        encodes.append(
            {
                "image": image.name,
                "codecs": ["obic", *codecs],
                "encode_compare_s": round(dt, 3),
                "obic_bpp": round(fig.bpp, 4) if fig else None,
                "stalls": stalls,
            }
        )
    w.ask_before_discard = False
    w.close()
    app.processEvents()
    return {"mode": mode, "idle": idle, "opens": opens, "encodes": encodes, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--mode",
        choices=("process", "thread"),
        default="process",
        help="worker processes (the app's default) or worker threads",
    )
    p.add_argument("--images", type=int, default=3, help="how many photos to open")
    p.add_argument("--launch-runs", type=int, default=3)
    p.add_argument("--codecs", default="obic-single,hevc,webp,jpeg", help="compared codecs")
    p.add_argument("--weights", default=os.environ.get("OBIC_WEIGHTS"), help="codec weights (default: shipped)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default bench/results/gui/)")
    args = p.parse_args(argv)

    import tempfile

    images = find_images(args.images)
    if not images:
        print("no photos found", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="obic-gui-bench-"))
    load_before = os.getloadavg()
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "qt_platform": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "worker_threads": os.environ.get("OBIC_GUI_THREADS", "torch default"),
        },
        "probe_interval_ms": PROBE_MS,
        "target_stall_ms": TARGET_STALL_MS,
    }
    if args.mode == "process":
        result["launch"] = measure_launch(images[0], args.launch_runs, tmp)
        print(
            f"launch → shown window: median {result['launch']['median_s']:.3f} s "
            f"(max {result['launch']['max_s']:.3f} s; target < {TARGET_LAUNCH_S} s)"
        )
        result["launch_to_mask"] = measure_launch_to_mask(images[0], max(1, args.launch_runs - 1), tmp)
        print(
            f"launch with {images[0].name} → its mask shown (all cold): "
            f"median {result['launch_to_mask']['median_s']:.2f} s"
        )
    result.update(
        measure_in_process(images, args.mode, tuple(c for c in args.codecs.split(",") if c), args.weights, tmp)
    )
    result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    idle = result["idle"]
    print(
        f"idle window while the workers start ({IDLE_S} s): longest stall {idle['max_stall_ms']:.1f} ms, "
        f"p99 {idle['p99_stall_ms']:.1f} ms"
    )
    for o in result["opens"]:
        st = o["stalls_while_opening"]
        kind = "cold" if o["cold"] else "warm"
        print(
            f"open {o['image']} → mask shown: {o['open_to_mask_s']:.3f} s ({kind}); longest stall "
            f"{st['max_stall_ms']:.1f} ms (GUI-thread CPU ≤ {st['max_gui_cpu_in_a_gap_ms']:.1f} ms)"
        )
    for e in result["encodes"]:
        s = e["stalls"]
        print(
            f"encode & compare {e['image']} ({', '.join(e['codecs'])}): {e['encode_compare_s']:.2f} s; "
            f"longest event-loop stall {s['max_stall_ms']:.1f} ms, p99 {s['p99_stall_ms']:.1f} ms, "
            f"{s['stalls_over_50ms']} over 50 ms; GUI thread's own work in one gap ≤ "
            f"{s['max_gui_cpu_in_a_gap_ms']:.1f} ms"
        )
    if result["errors"]:
        print("errors:", *result["errors"], sep="\n  ")
    worst = max([e["stalls"]["max_stall_ms"] for e in result["encodes"]] or [0.0])
    result["verdict"] = {
        "max_stall_during_encode_ms": worst,
        "stall_ok": worst < TARGET_STALL_MS,
        "launch_ok": result.get("launch", {}).get("median_s", 0) < TARGET_LAUNCH_S,
    }
    out = args.out or RESULTS / f"responsiveness-{args.mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
