"""The `obic` command under hostile input: every case as a real process, timed and measured.

Each case runs ``python -m obic_core.cli ...`` in a fresh process and records the exit status,
wall seconds, peak resident memory of that process (``wait4`` rusage), how many lines it
printed on stderr, whether a traceback appeared and whether the user's files (and devices)
are exactly as before. Deliberate failures must be: status 2, one line, no traceback, files
intact. Cases that need root (a read-only or full filesystem mounted in a private mount
namespace, ``-o /dev/null``) are skipped without it. Ctrl-C is measured separately: SIGINT
at 0–100 ms after start, counting runs that printed a traceback.

    python bench/hostile.py --out bench/results/hostile
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "samples" / "coco_000000000074.jpg"
ROOT = os.geteuid() == 0


@dataclass
class Case:
    name: str
    argv: list[str]
    expect: int = 2  # exit status a correct program gives
    protect: list[str] = field(default_factory=list)  # files/devices that must be unchanged
    wrap: list[str] | None = None  # command prefix (unshare + mount), {cmd} replaced
    limits: dict = field(default_factory=dict)  # resource limits for the child
    needs_root: bool = False
    note: str = ""


def fingerprint(path: str) -> tuple:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ("missing",)
    kind = stat.S_IFMT(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return (kind, os.readlink(path))
    if stat.S_ISREG(st.st_mode):
        return (kind, hashlib.sha256(Path(path).read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode))
    return (kind, st.st_rdev)


def run(case: Case, cwd: Path) -> dict:
    cmd = [sys.executable, "-m", "obic_core.cli", *case.argv]
    if case.wrap:
        cmd = [part.replace("{cmd}", shlex.join(cmd)) for part in case.wrap]
    before = {p: fingerprint(p) for p in case.protect}
    err_path = cwd / ".stderr"
    limits = case.limits

    def preexec():
        import resource

        for key, value in limits.items():
            resource.setrlimit(getattr(resource, key), (value, value))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    with open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=preexec, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = err_path.read_text(errors="replace")
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if not ln.startswith(("note:", "warning:"))]
    after = {p: fingerprint(p) for p in case.protect}
    ok = proc.returncode == case.expect and "Traceback" not in text and before == after
    if case.expect == 2:
        ok = ok and len(lines) == 1
    return {
        "case": case.name,
        "argv": " ".join(case.argv).replace(str(cwd), "$TMP"),
        "exit": proc.returncode,
        "expected": case.expect,
        "seconds": round(seconds, 2),
        "peak_mib": round(usage.ru_maxrss / 1024, 1),
        "stderr_lines": len(lines),
        "traceback": "Traceback" in text,
        "files_intact": before == after,
        "ok": ok,
        "message": (errors or lines or [""])[0][:200].replace(str(cwd), "$TMP"),
        "note": case.note,
        **({} if ok else {"stderr_tail": text[-1500:].replace(str(cwd), "$TMP")}),
    }


def make_inputs(d: Path) -> dict:
    """Input files of the cases: a photo, its mask, a real .obic, hostile files."""
    from obic_core import bitstream, codec
    from obic_core.weights import DEFAULT_CODEC, file_id, save_weights

    photo = np.ascontiguousarray(np.asarray(Image.open(SAMPLE).convert("RGB"))[200:336, 180:380])
    h, w = photo.shape[:2]
    Image.fromarray(photo).save(d / "in.png")
    mask = np.zeros((h, w), bool)
    mask[30:100, 50:150] = True
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(d / "mask.png")
    (d / "x.obic").write_bytes(codec.encode(photo, mask, codec.EncodeSettings(0.7, 0.3, device="cpu")))
    (d / "same").mkdir()
    (d / "keep.png").write_bytes(b"precious")
    (d / "real.png").write_bytes(b"old")
    (d / "link.png").symlink_to(d / "real.png")
    os.mkfifo(d / "fifo.png")
    mid = bytes.fromhex(file_id(DEFAULT_CODEC))

    def container(wd: int, ht: int, streams: dict) -> bytes:
        return bitstream.serialize(bitstream.Container(wd, ht, 0.5, 0.5, mid, "learntobic-gdn", streams))

    all_obj = bitstream.pack_mask(bitstream.MASK_ALL_OBJECT, b"")
    (d / "h73.obic").write_bytes(container(4000, 4000, {"mask": all_obj, "object": bitstream.pack_layer(b"", b"")}))
    (d / "mode9.obic").write_bytes(container(64, 64, {"mask": bitstream.pack_mask(9, b"")}))
    (d / "huge.obic").write_bytes(container(30000, 30000, {"mask": all_obj}))
    with open(d / "sparse.obic", "wb") as f:  # a real header, then 3 GiB of nothing
        f.write((d / "x.obic").read_bytes())
        f.truncate(3 << 30)
    # masks
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = np.where(mask, 255, 0)
    Image.fromarray(rgba).save(d / "mask_alpha.png")
    Image.fromarray(np.where(mask, 200, 3).astype(np.uint8)).save(d / "mask_gray3.png")
    Image.fromarray(np.dstack([np.where(mask, 250, 12).astype(np.uint8)] * 3)).save(d / "mask_rgb.png")
    # float TIFF with NaN / inf
    f32 = np.linspace(-1, 3, h * w, dtype=np.float32).reshape(h, w)
    f32[0, :10], f32[1, :10], f32[2, :10] = np.nan, np.inf, -np.inf
    Image.fromarray(f32).save(d / "float.tif", format="TIFF")
    Image.fromarray(np.full((1, 1, 3), 90, np.uint8)).save(d / "one.png")
    Image.fromarray(np.full((1, 30000, 3), 90, np.uint8)).save(d / "thin.png")
    # damaged weights (the shipped ones, altered)
    import torch
    from safetensors.torch import load_file, save_file

    card = json.loads(DEFAULT_CODEC.with_suffix(".json").read_text())
    state = load_file(str(DEFAULT_CODEC))
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 4)
    bad = dict(state)
    bad[key] = bad[key].float().clone()
    bad[key].view(-1)[0] = float("nan")
    save_weights(bad, d / "w_nan.safetensors", {"config": card["config"], "kind": "codec"})
    bad = dict(state)
    bad[key] = bad[key].to(torch.int32)
    save_weights(bad, d / "w_int.safetensors", {"config": card["config"], "kind": "codec"}, half=False)
    bad = dict(state)
    for k in [k for k, v in state.items() if v.is_floating_point()][:2]:
        bad[k] = torch.zeros(3, 3)
    save_weights(bad, d / "w_shape.safetensors", {"config": card["config"], "kind": "codec"})
    save_file(state, str(d / "w_json.safetensors"), metadata={"config": "{oops"})  # no card, broken header config
    return {"photo_shape": (h, w)}


def cases(d: Path) -> list[Case]:
    x, img = str(d / "x.obic"), str(d / "in.png")
    dev = ["--device", "cpu"]
    ro = ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o ro,size=1m none {d}/ro && exec {{cmd}}"]
    full = ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=16k none {d}/full && exec {{cmd}}"]
    (d / "ro").mkdir(exist_ok=True)
    (d / "full").mkdir(exist_ok=True)
    out = str(d / "out.obic")
    enc = ["encode", img, "--mask", "none", *dev]
    return [
        Case("encode -o the input", ["encode", img, "-o", img, "--mask", "none", *dev], protect=[img]),
        Case("encode -o ../same/in.png", ["encode", img, "-o", f"{d}/same/../in.png", "--mask", "none"], protect=[img]),
        Case(
            "encode -o the --mask file",
            ["encode", img, "-o", f"{d}/mask.png", "--mask", f"{d}/mask.png"],
            protect=[f"{d}/mask.png"],
        ),
        Case("decode -o the input", ["decode", x, "-o", x, *dev], protect=[x]),
        Case("extract -o the input", ["extract", x, "-o", x, "--layer", "object"], protect=[x]),
        Case("segment -o the input", ["segment", img, "-o", img, "--method", "saliency"], protect=[img]),
        Case("-o a folder", ["decode", x, "-o", str(d / "same"), *dev]),
        Case('-o ""', [*enc, "-o", ""]),
        Case("-o in a missing folder", ["decode", x, "-o", f"{d}/nope/x.png", *dev]),
        Case(
            "-o on a read-only filesystem",
            ["decode", x, "-o", f"{d}/ro/x.png", *dev],
            wrap=ro,
            needs_root=True,
            note="tmpfs mounted read-only in a private mount namespace",
        ),
        Case(
            "-o on a full filesystem",
            ["decode", x, "-o", f"{d}/full/x.png", *dev],
            wrap=full,
            needs_root=True,
            note="16 KiB tmpfs in a private mount namespace; the PNG is larger",
        ),
        Case("-o /dev/full", ["decode", x, "-o", "/dev/full", *dev], protect=["/dev/full"]),
        Case(
            "file-size limit (ulimit -f 4 KiB)",
            ["decode", x, "-o", f"{d}/keep.png", *dev],
            protect=[f"{d}/keep.png"],
            limits={"RLIMIT_FSIZE": 4096},
        ),
        Case(
            "-o /dev/null",
            ["decode", x, "-o", "/dev/null", *dev],
            expect=0,
            protect=["/dev/null"],
            needs_root=True,
            note="written through; as root the old rename replaced /dev/null with a file",
        ),
        Case(
            "-o a symlink",
            ["decode", x, "-o", f"{d}/link.png", *dev],
            expect=0,
            protect=[f"{d}/link.png"],
            note="the link's target is written, the link stays",
        ),
        Case("-o a FIFO nobody reads", ["decode", x, "-o", f"{d}/fifo.png", *dev], protect=[f"{d}/fifo.png"]),
        Case("info /dev/zero", ["info", "/dev/zero"]),
        Case("info on a 3 GiB sparse file", ["info", f"{d}/sparse.obic"]),
        Case("decode a 73-byte 4000×4000 file", ["decode", f"{d}/h73.obic", "-o", f"{d}/h73.png", *dev]),
        Case("info: mask mode 9", ["info", f"{d}/mode9.obic"]),
        Case("decode: mask mode 9", ["decode", f"{d}/mode9.obic", "-o", f"{d}/m9.png", *dev]),
        Case("info: 30000×30000", ["info", f"{d}/huge.obic"]),
        Case("decode: 30000×30000", ["decode", f"{d}/huge.obic", "-o", f"{d}/huge.png", *dev]),
        Case(
            "CPU out of memory (ulimit -v 2.5 GB, 6000×4000)",
            ["encode", f"{d}/big.png", "-o", out, "--mask", "none", *dev],
            limits={"RLIMIT_AS": 2_500_000_000},
            note="RuntimeError from torch's DefaultCPUAllocator or MemoryError",
        ),
        Case("weights with a NaN", [*enc, "-o", out, "--weights", f"{d}/w_nan.safetensors"]),
        Case("weights with an int32 tensor", [*enc, "-o", out, "--weights", f"{d}/w_int.safetensors"]),
        Case("weights with wrong shapes", [*enc, "-o", out, "--weights", f"{d}/w_shape.safetensors"]),
        Case("weights with a malformed JSON config", [*enc, "-o", out, "--weights", f"{d}/w_json.safetensors"]),
        Case("--target-bpp nan", [*enc, "-o", out, "--target-bpp", "nan"]),
        Case("--target-bpp inf", [*enc, "-o", out, "--target-bpp", "inf"]),
        Case("--target-bpp=-1", [*enc, "-o", out, "--target-bpp=-1"]),
        Case(
            "alpha-only mask",
            ["encode", img, "-o", out, "--mask", f"{d}/mask_alpha.png", *dev],
            expect=0,
            note="object read from the alpha channel",
        ),
        Case(
            "mask with background value 3",
            ["encode", img, "-o", out, "--mask", f"{d}/mask_gray3.png", *dev],
            expect=0,
            note="luminance >= 128 is object",
        ),
        Case("RGB mask with a noise floor", ["encode", img, "-o", out, "--mask", f"{d}/mask_rgb.png", *dev], expect=0),
        Case(
            "float TIFF with NaN/inf",
            ["encode", f"{d}/float.tif", "-o", out, "--mask", "none", *dev],
            expect=0,
            note="NaN/-inf black, +inf white, said in a note; no numpy warnings",
        ),
        Case(
            "--mask auto on 1×1",
            ["encode", f"{d}/one.png", "-o", out, *dev],
            expect=0,
            note="single layer, with a note",
        ),
        Case(
            "--mask auto on 30000×1",
            ["encode", f"{d}/thin.png", "-o", out, *dev],
            expect=0,
            note="single layer, with a note",
        ),
    ]


def ctrl_c_sweep(d: Path, delays: list[float], repeats: int) -> dict:
    """SIGINT at each delay after start; tracebacks are split by whether any frame is obic's
    (a bug) or all are the interpreter's own start-up (site, importlib: before obic runs)."""
    counts = {"runs": 0, "one_line": 0, "completed": 0, "traceback_in_obic": 0, "traceback_in_startup": 0}
    cmd = [sys.executable, "-m", "obic_core.cli", "info", str(d / "x.obic")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    for delay in delays:
        for _ in range(repeats):
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
            time.sleep(delay)
            p.send_signal(signal.SIGINT)
            err = p.communicate()[1]
            counts["runs"] += 1
            if "Traceback" in err:
                key = "traceback_in_obic" if "obic_core" in err else "traceback_in_startup"
                counts[key] += 1
            elif p.returncode == 0:
                counts["completed"] += 1
            else:
                counts["one_line"] += len(err.strip().splitlines()) <= 1
    return counts


def markdown(doc: dict) -> str:
    lines = [
        "# `obic` under hostile input",
        "",
        f"Generated by `python bench/hostile.py --out bench/results/hostile` on {doc['machine']}. Every row is",
        "one real process; *peak* is its maximum resident memory. A deliberate failure must exit with",
        "status 2, print one line on stderr, no traceback, and leave the user's files (and devices) as",
        "they were (*ok*).",
        "",
        "| case | exit | s | peak MiB | stderr lines | files intact | ok | first stderr line |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["cases"]:
        msg = r["message"].replace("|", "\\|")
        lines.append(
            f"| {r['case']} | {r['exit']} | {r['seconds']:.2f} | {r['peak_mib']:.0f} | {r['stderr_lines']} | "
            f"{'yes' if r['files_intact'] else '**no**'} | {'yes' if r['ok'] else '**no**'} | {msg} |"
        )
    for s in doc.get("skipped", []):
        lines.append(f"| {s} | – | – | – | – | – | skipped (needs root) | |")
    c = doc["ctrl_c"]
    lines += [
        "",
        f"**Ctrl-C** in the first {doc['ctrl_c_window_ms']} ms (`obic info`, SIGINT every "
        f"{doc['ctrl_c_step_ms']} ms, {c['runs']} runs): {c['one_line']} interrupted with one line, "
        f"{c['completed']} finished first, {c['traceback_in_obic']} tracebacks from obic's code, "
        f"{c['traceback_in_startup']} from the interpreter's own start-up (site and import machinery "
        "before `obic_core` is first imported, which no program can intercept).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "hostile")
    ap.add_argument("--repeats", type=int, default=2, help="Ctrl-C runs per delay")
    args = ap.parse_args()
    from obic_core import imageio

    if not hasattr(imageio, "check_output"):
        raise SystemExit("this tree predates the output checks; refusing to run the /dev cases")
    with tempfile.TemporaryDirectory(prefix="obic-hostile-") as tmp:
        d = Path(tmp)
        make_inputs(d)
        big = np.asarray(Image.open(SAMPLE).convert("RGB").resize((6000, 4000)))
        Image.fromarray(big).save(d / "big.png")
        results, skipped = [], []
        for case in cases(d):
            if case.needs_root and (not ROOT or (case.wrap and not shutil.which("unshare"))):
                skipped.append(case.name)
                continue
            r = run(case, d)
            results.append(r)
            print(
                f"{'ok ' if r['ok'] else 'BAD'} {r['case']}: exit {r['exit']}, {r['seconds']:.2f} s, "
                f"{r['peak_mib']:.0f} MiB — {r['message'][:100]}",
                flush=True,
            )
        delays = [i / 100 for i in range(11)]
        sweep = ctrl_c_sweep(d, delays, args.repeats)
    doc = {
        "machine": f"{platform.machine()} Linux, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cases": results,
        "skipped": skipped,
        "ctrl_c": sweep,
        "ctrl_c_window_ms": 100,
        "ctrl_c_step_ms": 10,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(doc))
    bad = [r["case"] for r in results if not r["ok"]]
    print(f"{len(results) - len(bad)}/{len(results)} ok; Ctrl-C: {sweep}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
