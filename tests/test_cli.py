"""The `obic` command: round trip, JSON info, layers, and one-line errors with status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from obic_core.cli import main


def write_image(path, arr):
    Image.fromarray(arr).save(path)
    return path


def test_encode_decode_info_extract(tmp_path, small_image, small_mask, capsys):
    img = write_image(tmp_path / "in.png", small_image)
    mask = write_image(tmp_path / "mask.png", (small_mask * 255).astype(np.uint8))
    out = tmp_path / "x.obic"
    assert (
        main(
            [
                "encode",
                str(img),
                "-o",
                str(out),
                "--mask",
                str(mask),
                "--object-quality",
                "0.9",
                "--background-quality",
                "0.1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["width"] == small_image.shape[1] and info["height"] == small_image.shape[0]
    assert info["file_bytes"] == out.stat().st_size
    assert abs(info["bpp"] - out.stat().st_size * 8 / small_image[..., 0].size) < 1e-9
    assert info["qualities"]["object"] > 0.89 and info["qualities"]["background"] < 0.11
    for layer in ("object", "background"):
        li = info["layers"][layer]
        assert li["latent_bytes"] + li["hyper_bytes"] == li["bytes"] and li["bpp"] > 0
    assert "mask" in info["layers"]

    png = tmp_path / "x.png"
    assert main(["decode", str(out), "-o", str(png), "--device", "cpu"]) == 0
    assert Image.open(png).size == (small_image.shape[1], small_image.shape[0])
    obj = tmp_path / "obj.obic"
    assert main(["extract", str(out), "-o", str(obj), "--layer", "object"]) == 0
    assert main(["decode", str(obj), "-o", str(tmp_path / "obj.png"), "--layer", "object", "--device", "cpu"]) == 0
    rgba = np.asarray(Image.open(tmp_path / "obj.png"))
    assert rgba.shape[2] == 4 and 0 < (rgba[..., 3] > 0).mean() < 1
    # the background layer is gone from the extracted file
    assert main(["decode", str(obj), "-o", str(tmp_path / "b.png"), "--layer", "background", "--device", "cpu"]) == 2


def test_mask_none_is_single_layer(tmp_path, small_image, capsys):
    img = write_image(tmp_path / "in.png", small_image)
    out = tmp_path / "s.obic"
    assert main(["encode", str(img), "-o", str(out), "--mask", "none", "--device", "cpu"]) == 0
    capsys.readouterr()
    main(["info", str(out), "--json"])
    assert "background" not in json.loads(capsys.readouterr().out)["layers"]


def test_errors_are_one_line_and_leave_files_alone(tmp_path, small_image, capsys):
    bad = tmp_path / "bad.obic"
    bad.write_bytes(b"OBIC\x01" + b"\x00" * 40)
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")
    assert main(["decode", str(bad), "-o", str(target), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("obic decode: error:")
    assert target.read_bytes() == b"precious"

    txt = tmp_path / "photo.png"
    txt.write_text("not a picture")
    out = tmp_path / "never.obic"
    assert main(["encode", str(txt), "-o", str(out), "--mask", "none"]) == 2
    assert not out.exists() and not list(tmp_path.glob("*.part"))

    img = write_image(tmp_path / "in.png", small_image)
    wrong = write_image(tmp_path / "wrong.png", np.zeros((5, 5), np.uint8))
    assert main(["encode", str(img), "-o", str(out), "--mask", str(wrong)]) == 2
    assert "must match" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.obic")]) == 2


def test_no_traceback_from_the_real_command(tmp_path):
    junk = tmp_path / "junk.obic"
    junk.write_bytes(b"\x00" * 100)
    r = subprocess.run([sys.executable, "-m", "obic_core.cli", "info", str(junk)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "not an .obic file" in r.stderr


#: what `obic info` and `obic --help` must not pull in: torch, OpenCV, plotting, and the code of
#: the other commands (segmentation, evaluation, training)
HEAVY = (
    "torch",
    "cv2",
    "matplotlib",
    "obic_core.engine",
    "obic_core.nn",
    "obic_core.segmentation",
    "obic_core.evaluation.compare",
    "obic_core.evaluation.bench",
    "obic_core.evaluation.codecs",
    "obic_core.train",
)
_MODULES_AFTER = r"""
import json, sys
from obic_core.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exc:  # --help
    rc = exc.code
sys.stdout.flush()
print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(rc)
"""


def _modules_of(*argv: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `obic ARGV` in a fresh interpreter: (the run, the modules it imported)."""
    r = subprocess.run([sys.executable, "-c", _MODULES_AFTER, *argv], capture_output=True, text=True)
    lines = [x for x in r.stderr.splitlines() if x.startswith("MODULES ")]
    assert lines, r.stderr
    return r, json.loads(lines[-1].removeprefix("MODULES "))


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_info_and_help_import_no_torch():
    """`obic info` only reads the container and `obic --help` only builds the parser: neither
    may import torch (seconds of start-up) or the code of the other commands."""
    golden = Path(__file__).parent / "golden" / "v2_quality_map.obic"
    r, modules = _modules_of("info", "--json", str(golden))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == 2
    assert _heavy(modules) == []
    r, modules = _modules_of("--help")
    assert r.returncode == 0 and "encode" in r.stdout and "bench" in r.stdout
    assert _heavy(modules) == []
    assert "obic_core.codec" not in modules  # building the parser does not even load the codec
