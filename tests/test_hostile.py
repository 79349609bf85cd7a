"""The CLI and library under hostile input (issue 13, section 4).

Every deliberate failure must end with exit status 2, exactly one line on stderr, no
traceback, and the user's files as they were. bench/hostile.py runs the same cases as real
processes and records exit code, seconds and peak memory in bench/results/hostile.md.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import tty
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from obic_core import bitstream, codec, imageio
from obic_core.cli import main
from obic_core.errors import ObicDeviceError, ObicFormatError, ObicInputError, ObicOutputError

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "golden" / "tiny.safetensors"


# -- helpers -----------------------------------------------------------------------------
def png(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path


def cli(capsys, *argv: str) -> tuple[int, list[str]]:
    """Run `obic ARGV` in-process -> (exit status, stderr lines)."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        rc = exc.code
    return rc, capsys.readouterr().err.strip().splitlines()


def assert_refused(rc: int, err: list[str], command: str, *words: str) -> None:
    assert rc == 2, err
    assert len(err) == 1, err
    assert err[0].startswith(f"obic {command}: error:"), err
    assert "Traceback" not in err[0]
    for w in words:
        assert w in err[0], err


def run_obic(*argv: str, preexec=None, timeout: float | None = None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "obic_core.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        preexec_fn=preexec,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


def container(width: int, height: int, streams: dict[str, bytes], model=None) -> bytes:
    from obic_core.weights import DEFAULT_CODEC, file_id

    model_id = bytes.fromhex(file_id(DEFAULT_CODEC)) if model is None else model
    c = bitstream.Container(width, height, 0.5, 0.5, model_id, "learntobic-gdn", streams)
    return bitstream.serialize(c)


@pytest.fixture
def files(tmp_path, small_image, small_mask):
    """An input photo, a mask and a real two-layer .obic, all in tmp_path."""
    img = png(tmp_path / "in.png", small_image)
    mask = png(tmp_path / "mask.png", (small_mask * 255).astype(np.uint8))
    data = codec.encode(small_image, small_mask, codec.EncodeSettings(0.6, 0.3, device="cpu"))
    obic = tmp_path / "x.obic"
    obic.write_bytes(data)
    return {"img": img, "mask": mask, "obic": obic}


@pytest.fixture
def guard_devices(tmp_path, monkeypatch):
    """Tests that write to /dev run as root in some CI: a regression that renames a temp file
    over a device must fail the test, not replace /dev/full on the machine."""
    real = os.replace

    def replace(src, dst, *a, **k):
        if not str(Path(dst).resolve()).startswith(str(tmp_path.resolve())):
            raise AssertionError(f"rename over {dst} outside the test folder")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)


def snapshot(*paths: Path) -> dict:
    return {p: p.read_bytes() for p in paths}


# -- -o equal to an input -----------------------------------------------------------------
def test_output_equal_to_the_input_is_refused_however_spelled(tmp_path, files, capsys):
    (tmp_path / "same").mkdir()
    before = snapshot(files["img"], files["obic"], files["mask"])
    os.link(files["img"], tmp_path / "hard.png")
    (tmp_path / "soft.obic").symlink_to(files["obic"])
    spelled = f"{tmp_path}/same/../in.png"
    cases = [
        ("encode", [files["img"], "-o", files["img"], "--mask", "none"]),
        ("encode", [files["img"], "-o", spelled, "--mask", "none"]),
        ("encode", [files["img"], "-o", tmp_path / "hard.png", "--mask", "none"]),
        ("encode", [files["img"], "-o", files["mask"], "--mask", files["mask"]]),
        ("decode", [files["obic"], "-o", files["obic"]]),
        ("decode", [files["obic"], "-o", tmp_path / "soft.obic"]),
        ("extract", [files["obic"], "-o", files["obic"], "--layer", "object"]),
        ("segment", [files["img"], "-o", files["img"], "--method", "saliency"]),
        ("segment", [files["img"], "-o", spelled, "--method", "saliency"]),
    ]
    for command, args in cases:
        rc, err = cli(capsys, command, *args, *(["--device", "cpu"] if command in ("encode", "decode") else []))
        assert_refused(rc, err, command, "input")
    assert snapshot(files["img"], files["obic"], files["mask"]) == before
    assert (tmp_path / "soft.obic").is_symlink()


# -- -o that cannot be written ----------------------------------------------------------------
def test_output_folder_empty_name_and_missing_folder(tmp_path, files, capsys):
    rc, err = cli(capsys, "decode", files["obic"], "-o", tmp_path, "--device", "cpu")
    assert_refused(rc, err, "decode", "folder")
    rc, err = cli(capsys, "encode", files["img"], "-o", "", "--mask", "none")
    assert_refused(rc, err, "encode", "empty")
    rc, err = cli(capsys, "segment", files["img"], "-o", "  ")
    assert_refused(rc, err, "segment", "empty")
    rc, err = cli(capsys, "extract", files["obic"], "-o", tmp_path / "nope" / "x.obic", "--layer", "object")
    assert_refused(rc, err, "extract", "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png", "x.obic"]


def test_read_only_folder_is_refused_before_any_work(tmp_path, files, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(imageio.os, "access", lambda p, mode: mode != os.W_OK)
    monkeypatch.setattr(codec, "encode_detailed", lambda *a, **k: calls.append(1))
    rc, err = cli(capsys, "encode", files["img"], "-o", tmp_path / "new.obic", "--mask", "none")
    assert_refused(rc, err, "encode", "read-only")
    assert calls == []


def test_write_failures_keep_the_old_file(tmp_path, files, capsys, monkeypatch):
    """Read-only filesystem at write time, full disk: one line, old file intact, no .part."""
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")

    def erofs(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(imageio.tempfile, "mkstemp", erofs)
    rc, err = cli(capsys, "decode", files["obic"], "-o", target, "--device", "cpu")
    assert_refused(rc, err, "decode", "read-only")
    monkeypatch.undo()

    def enospc(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(imageio.os, "fsync", enospc)
    rc, err = cli(capsys, "decode", files["obic"], "-o", target, "--device", "cpu")
    assert_refused(rc, err, "decode", "no space")
    monkeypatch.undo()
    assert target.read_bytes() == b"precious"
    assert not list(tmp_path.glob(".*.part"))


def test_full_device_is_one_line(tmp_path, files, capsys, guard_devices):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    rc, err = cli(capsys, "decode", files["obic"], "-o", "/dev/full", "--device", "cpu")
    assert_refused(rc, err, "decode", "no space")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_file_size_limit_is_one_line(tmp_path, files):
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    r = run_obic("decode", files["obic"], "-o", target, "--device", "cpu", preexec=limit)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "file-size limit" in r.stderr
    assert target.read_bytes() == b"precious" and not list(tmp_path.glob(".*.part"))


# -- -o naming a FIFO, a character device or a symlink -------------------------------------------
def _fifo_reader(path: Path) -> int:
    """Open the read end first (non-blocking) with a 1 MiB buffer: the command can then write
    its whole PNG and finish without a reader thread, and nothing can hang."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    return fd


def _drain(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            block = os.read(fd, 1 << 20)
        except BlockingIOError:
            break
        if not block:
            break
        chunks.append(block)
    return b"".join(chunks)


def test_fifo_output_is_written_through_not_replaced(tmp_path, files, capsys, guard_devices):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    fd = _fifo_reader(fifo)
    try:
        rc, err = cli(capsys, "decode", files["obic"], "-o", fifo, "--device", "cpu")
        got = _drain(fd)
    finally:
        os.close(fd)
    assert rc == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert got[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.part"))
    # nobody reading: refused at once instead of blocking forever
    rc, err = cli(capsys, "decode", files["obic"], "-o", fifo, "--device", "cpu")
    assert_refused(rc, err, "decode", "FIFO")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_character_device_output_is_written_through(tmp_path, files, capsys, guard_devices):
    """A pseudo-terminal is a character device any user can make (unlike /dev/null)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    dev = os.ttyname(slave)
    chunks = []

    def drain():
        while True:
            try:
                block = os.read(master, 65536)
            except OSError:
                return
            if not block:
                return
            chunks.append(block)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        rc, err = cli(capsys, "decode", files["obic"], "-o", dev, "--device", "cpu")
        assert rc == 0, err
        assert stat.S_ISCHR(os.stat(dev).st_mode)
    finally:
        os.close(slave)
        reader.join(timeout=5)
        os.close(master)
    assert b"".join(chunks)[:8] == b"\x89PNG\r\n\x1a\n"
    assert err == [] or all(not line.startswith("obic") for line in err)


def test_symlink_output_writes_its_target_and_keeps_the_link(tmp_path, files, capsys):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "link.png"
    link.symlink_to(real)
    rc, err = cli(capsys, "decode", files["obic"], "-o", link, "--device", "cpu")
    assert rc == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600, "an existing file keeps its permissions"


# -- bounded reads ---------------------------------------------------------------------------
def test_info_on_dev_zero_stops_at_the_magic():
    def cap_memory():  # before the fix this read grew without bound; now it must not even try
        resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))

    r = run_obic("info", "/dev/zero", preexec=cap_memory)
    assert r.returncode == 2 and "not an .obic file" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_sparse_huge_file_is_refused_from_its_header(tmp_path, files):
    """A 1 GiB sparse file that starts like a real .obic: refused from the header and the
    file size, without reading the gigabyte (peak memory of the process stays small)."""
    big = tmp_path / "big.obic"
    big.write_bytes(files["obic"].read_bytes())
    with open(big, "r+b") as f:
        f.truncate(1 << 30)
    code = (
        "import resource, sys\n"
        "from obic_core.cli import main\n"
        "rc = main(['info', sys.argv[1]])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )

    def peak_kib(path: Path) -> tuple[int, list[str]]:
        r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=REPO)
        lines = r.stderr.strip().splitlines()
        return int(lines[-1]), [r.returncode, *lines[:-1]]

    base, ok = peak_kib(files["obic"])
    peak, refused = peak_kib(big)
    assert ok[0] == 0
    assert refused[0] == 2 and len(refused) == 2 and "unexpected bytes" in refused[1], refused
    assert peak - base < 100 * 1024, f"peak RSS grew by {(peak - base) // 1024} MiB: the file was read"


def test_endless_pipe_is_read_no_further_than_declared(tmp_path, files):
    data = files["obic"].read_bytes()
    fifo = tmp_path / "endless.obic"
    os.mkfifo(fifo)
    written = [0]

    def feed():
        with open(fifo, "wb") as f:
            try:
                f.write(data)
                for _ in range(64):  # 64 MiB more than the header declares, unless the reader stops
                    f.write(b"\0" * (1 << 20))
                    written[0] += 1 << 20
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with pytest.raises(ObicFormatError, match="unexpected bytes"):
        codec.inspect(imageio.read_obic_file(fifo))
    writer.join()
    assert written[0] < 4 << 20, f"{written[0] >> 20} MiB were read past the declared end"


# -- declared decode work -------------------------------------------------------------------
def test_tiny_file_declaring_a_big_image_is_refused_before_decoding(engine, monkeypatch):
    data = container(
        4000,
        4000,
        {"mask": bitstream.pack_mask(bitstream.MASK_ALL_OBJECT, b""), "object": bitstream.pack_layer(b"", b"")},
    )
    assert len(data) == 73
    calls = []
    monkeypatch.setattr(type(engine), "decode_layer", lambda *a, **k: calls.append(1))
    with pytest.raises(ObicFormatError, match="too short for the image it declares"):
        codec.decode(data, device="cpu")
    assert calls == [], "decoding work started for a 73-byte file"


def test_real_files_pass_the_declared_work_check(engine, small_image, small_mask):
    """The bound is a floor real encodes cannot go under: flat, black, noisy, q 0 and 1."""
    rng = np.random.default_rng(0)
    images = [np.full((256, 384, 3), 128, np.uint8), np.zeros((192, 192, 3), np.uint8)]
    images.append(rng.integers(0, 256, (192, 256, 3), dtype=np.uint8))
    for img in images:
        m = np.zeros(img.shape[:2], bool)
        m[:, : img.shape[1] // 3] = True
        for q in (0.0, 1.0):
            data = codec.encode(img, m, codec.EncodeSettings(q, q, device="cpu"))
            assert codec.decode(data, device="cpu").layers == ("object", "background")


def test_file_without_layers_skips_synthesis(engine, monkeypatch):
    data = container(2000, 1500, {"mask": bitstream.pack_mask(bitstream.MASK_ALL_OBJECT, b"")})
    calls = []
    monkeypatch.setattr(type(engine), "synthesise", lambda *a, **k: calls.append(1))
    dec = codec.decode(data, device="cpu")
    assert dec.layers == () and calls == []
    assert dec.image.shape == (1500, 2000, 3) and np.all(dec.image == codec.GRAY)


def test_sparse_big_canvas_is_synthesised_only_where_decoded(engine, sample_photo, monkeypatch):
    """One small object on a big canvas, background removed: only its tiles are synthesised
    (tile size and canvas threshold lowered so a test-sized image takes that path), and the
    pixels equal the whole-canvas synthesis exactly."""
    image = np.ascontiguousarray(sample_photo[:512, :768])
    mask = np.zeros(image.shape[:2], bool)
    mask[20:110, 30:120] = True
    part = codec.extract(codec.encode(image, mask, codec.EncodeSettings(0.8, 0.2, device="cpu")), "object")
    saved = engine.strip_pixels
    try:
        engine.strip_pixels = 10**12
        whole = codec.decode(part, device="cpu")
        monkeypatch.setattr(codec, "_SYNTH_TILE", 8)
        engine.strip_pixels = 1
        area = []
        real = type(engine).synthesise

        def counted(self, y):
            area.append(y.shape[-2] * y.shape[-1])
            return real(self, y)

        monkeypatch.setattr(type(engine), "synthesise", counted)
        tiled = codec.decode(part, device="cpu")
    finally:
        engine.strip_pixels = saved
    grid = (512 // 16) * (768 // 16)
    assert area and sum(area) < grid / 2, (area, grid)
    assert np.array_equal(tiled.image, whole.image)
    assert np.array_equal(tiled.alpha, whole.alpha)


# -- memory ------------------------------------------------------------------------------------
ALLOC = (
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate 1 bytes."
)


def test_cpu_out_of_memory_is_one_line(tmp_path, files, capsys, monkeypatch, engine):
    def oom(*a, **k):
        raise RuntimeError(ALLOC)

    monkeypatch.setattr(type(engine), "analyse", oom)
    out = tmp_path / "o.obic"
    rc, err = cli(capsys, "encode", files["img"], "-o", out, "--mask", "none", "--device", "cpu")
    assert_refused(rc, err, "encode", "memory")
    assert not out.exists()
    with pytest.raises(ObicDeviceError, match="memory"):
        codec.encode(np.zeros((64, 64, 3), np.uint8), None, codec.EncodeSettings(device="cpu"))


# -- weights ---------------------------------------------------------------------------------
def _weights(tmp_path: Path, name: str, change=None, card=True, meta=None) -> Path:
    state = load_file(str(TINY))
    if change:
        change(state)
    out = tmp_path / f"{name}.safetensors"
    config = json.loads(TINY.with_suffix(".json").read_text())["config"]
    save_file(state, str(out), metadata={"config": json.dumps(config)} if meta is None else meta)
    if card is True:
        shutil.copy(TINY.with_suffix(".json"), out.with_suffix(".json"))
    elif isinstance(card, str):
        out.with_suffix(".json").write_text(card)
    return out


def _first_float(state):
    return next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 4)


def test_damaged_weights_are_refused_on_load_in_one_line(tmp_path, files, capsys):
    def nan(s):
        k = _first_float(s)
        s[k] = s[k].clone()
        s[k].view(-1)[1] = float("nan")

    def integer(s):
        k = _first_float(s)
        s[k] = s[k].to(torch.int32)

    def shapes(s):
        keys = [k for k, v in s.items() if v.is_floating_point()][:2]
        for k in keys:
            s[k] = torch.zeros(3, 3, dtype=s[k].dtype)

    cases = {
        "NaN": _weights(tmp_path, "nan", nan),
        "int32": _weights(tmp_path, "int", integer),
        "does not match": _weights(tmp_path, "shape", shapes),
        "header is not valid JSON": _weights(tmp_path, "badmeta", card=False, meta={"config": "{oops"}),
        "card": _weights(tmp_path, "badcard", card="{not json"),
    }
    for words, path in cases.items():
        out = tmp_path / "o.obic"
        rc, err = cli(capsys, "encode", files["img"], "-o", out, "--mask", "none", "--device", "cpu", "--weights", path)
        assert_refused(rc, err, "encode", words)
        assert not out.exists()
    assert (
        main(
            [
                "encode",
                str(files["img"]),
                "-o",
                str(tmp_path / "ok.obic"),
                "--mask",
                "none",
                "--device",
                "cpu",
                "--weights",
                str(_weights(tmp_path, "fine")),
            ]
        )
        == 0
    )


# -- masks -------------------------------------------------------------------------------------
def test_mask_rule_alpha_else_luminance(tmp_path):
    h, w = 20, 30
    obj = np.zeros((h, w), bool)
    obj[5:15, 8:22] = True
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., 3] = np.where(obj, 255, 0)  # cut-out: black everywhere, object only in the alpha
    opaque = np.dstack([np.where(obj, 255, 0).astype(np.uint8)] * 3 + [np.full((h, w), 255, np.uint8)])
    gray = np.where(obj, 200, 3).astype(np.uint8)  # background value 3, not 0
    gray[0, :] = np.linspace(0, 127, w).astype(np.uint8)  # a gradient below half: background
    rgb = np.dstack([np.where(obj, 250, 12).astype(np.uint8)] * 3)  # JPEG-like noise floor
    sixteen = np.where(obj, 60000, 300).astype(np.uint16)
    for name, arr in {"alpha": rgba, "opaque": opaque, "gray": gray, "rgb": rgb, "sixteen": sixteen}.items():
        notes: list[str] = []
        got = imageio.read_mask(png(tmp_path / f"{name}.png", arr), (h, w), notes)
        assert np.array_equal(got, obj), name
        assert notes and f"{obj.mean() * 100:.1f} % object" in notes[0], notes


def test_encode_reports_the_mask_object_fraction(tmp_path, files, capsys, small_mask):
    rc, err = cli(capsys, "encode", files["img"], "-o", tmp_path / "o.obic", "--mask", files["mask"], "--device", "cpu")
    assert rc == 0
    assert any(f"{small_mask.mean() * 100:.1f} % object" in line for line in err), err


# -- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-0.1", "0", "abc"])
def test_target_bpp_must_be_positive_and_finite(tmp_path, capsys, value):
    """Refused while parsing arguments: before the image is even opened."""
    out = tmp_path / "o.obic"
    rc, err = cli(capsys, "encode", tmp_path / "missing.png", "-o", out, f"--target-bpp={value}")
    assert_refused(rc, err, "encode", "target bpp")
    assert not out.exists()


def test_float_tiff_with_nan_and_inf_is_defined_and_silent(tmp_path):
    arr = np.linspace(-1, 3, 12 * 16, dtype=np.float32).reshape(12, 16)
    arr[0, 0], arr[0, 1], arr[0, 2] = np.nan, np.inf, -np.inf
    p = tmp_path / "f.tif"
    Image.fromarray(arr).save(p, format="TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = imageio.read_image(p)
    g = loaded.pixels[..., 0]
    assert g[0, 0] == 0 and g[0, 1] == 255 and g[0, 2] == 0
    finite = np.isfinite(arr)
    assert g[finite].min() == 0 and g[finite].max() == 255
    assert any("NaN" in n for n in loaded.notes)
    allnan = tmp_path / "n.tif"
    Image.fromarray(np.full((4, 4), np.nan, np.float32)).save(allnan, format="TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (imageio.read_image(allnan).pixels == 0).all()


# -- Ctrl-C --------------------------------------------------------------------------------------
def test_interrupt_while_building_the_parser_is_one_line(capsys, monkeypatch):
    import obic_core.cli as cli_module

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.importlib, "import_module", interrupted)
    rc, err = cli(capsys, "info", "x.obic")
    assert rc == 130 and err == ["obic: interrupted"]


@pytest.fixture
def foreground_sigint():
    """SIGINT handled as in a terminal's foreground, even when pytest runs as a background job
    (which inherits SIGINT ignored, a setting obic deliberately leaves alone)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_interrupt_turned_into_an_import_error_is_still_an_interruption(capsys, monkeypatch, foreground_sigint):
    """numpy re-raises a Ctrl-C during its import as ImportError: still 'interrupted'."""
    import obic_core.cli as cli_module

    def import_numpy(name):
        try:
            signal.raise_signal(signal.SIGINT)  # runs the Python-level handler before returning
        except KeyboardInterrupt:
            raise ImportError("numpy: PyCapsule_Import could not import module 'datetime'") from None
        raise AssertionError("SIGINT was not delivered")

    monkeypatch.setattr(cli_module.importlib, "import_module", import_numpy)
    rc, err = cli(capsys, "info", "x.obic")
    assert rc == 130 and err == ["obic: interrupted"]


_INJECT = r"""
import signal, sys
# as in a terminal's foreground: a job started in the background (nohup, '&') inherits SIGINT
# ignored, and obic rightly leaves an ignored SIGINT alone, so nothing would be delivered
signal.signal(signal.SIGINT, signal.default_int_handler)
K = int(sys.argv.pop(1))
seen = {"on": False, "n": 0}
def profile(frame, event, arg):
    if not seen["on"]:
        if event != "call" or not frame.f_code.co_filename.replace("\\", "/").endswith("obic_core/cli/__init__.py"):
            return
        seen["on"] = True
    if event == "call":
        seen["n"] += 1
        if seen["n"] == K:
            sys.setprofile(None)
            signal.raise_signal(signal.SIGINT)
sys.setprofile(profile)
from obic_core.cli import main
sys.exit(main())
"""


def test_ctrl_c_at_any_point_of_start_up_prints_no_traceback(tmp_path, files):
    """A SIGINT delivered at the K-th Python call after obic's code starts (spread over the
    imports, parser building and the command itself), as the console script runs it. K = 1 is
    the call that enters obic_core/cli/__init__.py, before its first statement can install anything."""
    interrupted = 0
    for k in (2, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000):
        r = subprocess.run(
            [sys.executable, "-c", _INJECT, str(k), "info", str(files["obic"])],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert "Traceback" not in r.stderr, (k, r.stderr[-2000:])
        if r.returncode in (130, -signal.SIGINT):
            interrupted += 1
            assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "interrupted" in r.stderr, (k, r.stderr)
        else:
            assert r.returncode == 0, (k, r.returncode, r.stderr)
    assert interrupted >= 6


# -- info and decode agree ---------------------------------------------------------------------
def test_info_and_decode_agree_on_validity(tmp_path, capsys):
    bad_mode = container(64, 64, {"mask": bitstream.pack_mask(9, b"")})
    huge = container(30000, 30000, {"mask": bitstream.pack_mask(bitstream.MASK_ALL_OBJECT, b"")})
    for name, data, words in (("mode9", bad_mode, "mask mode 9"), ("huge", huge, "budget")):
        p = tmp_path / f"{name}.obic"
        p.write_bytes(data)
        rc_info, err_info = cli(capsys, "info", p)
        rc_dec, err_dec = cli(capsys, "decode", p, "-o", tmp_path / f"{name}.png", "--device", "cpu")
        assert_refused(rc_info, err_info, "info", words)
        assert_refused(rc_dec, err_dec, "decode", words)
        assert err_info[0].split("error:")[1] == err_dec[0].split("error:")[1]
        with pytest.raises((ObicFormatError, ObicInputError)):
            codec.inspect(data)


# -- --mask auto on degenerate images ------------------------------------------------------------
@pytest.mark.parametrize("size", [(1, 1), (1, 30000)])
def test_mask_auto_falls_back_to_one_layer(tmp_path, capsys, size):
    img = png(tmp_path / "thin.png", np.full((*size, 3), 90, np.uint8))
    out = tmp_path / "thin.obic"
    rc, err = cli(capsys, "encode", img, "-o", out, "--device", "cpu")
    assert rc == 0, err
    assert any("single layer" in line for line in err), err
    assert list(codec.inspect(out.read_bytes()).layers) == ["object"]


# -- library-level write rules -------------------------------------------------------------------
def test_write_bytes_atomic_refuses_folders_and_empty_names(tmp_path):
    with pytest.raises(ObicOutputError, match="folder"):
        imageio.write_bytes_atomic(tmp_path, b"x")
    with pytest.raises(ObicOutputError, match="empty"):
        imageio.write_bytes_atomic("", b"x")
    assert isinstance(ObicOutputError("x"), OSError)  # callers catching OSError keep working


def test_weight_validation_leaves_the_random_stream_alone():
    """load_weights builds a reference model to check shapes; that must not consume the
    caller's torch random numbers (training seeds stay reproducible)."""
    from obic_core.weights import load_weights

    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    load_weights(TINY)
    assert torch.equal(torch.rand(3), want)
