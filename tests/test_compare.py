"""compare_image, the `obic compare` JSON the GUI reads, and `obic bench` (resume, BD table)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from obic_core import bench, cli, compare
from obic_core.baselines import ObicCancelled

FAST = ["jpeg", "webp", "jpeg2000", "hevc"]
ROW_KEYS = {
    "codec": str,
    "bpp": float,
    "bytes": int,
    "psnr": (float, type(None)),
    "ms_ssim": (float, type(None)),
    "object_psnr": (float, type(None)),
    "background_psnr": (float, type(None)),
    "object_ms_ssim": (float, type(None)),
    "encode_s": float,
    "decode_s": float,
    "reached": bool,
    "file": str,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo(sample_photo) -> np.ndarray:
    return np.ascontiguousarray(sample_photo[80:336, 128:512])


@pytest.fixture(scope="module")
def mask(photo) -> np.ndarray:
    m = np.zeros(photo.shape[:2], bool)
    m[60:200, 100:300] = True
    return m


def run_cli(argv: list[str], monkeypatch) -> int:
    """The real `obic` entry point; other engineers' command modules that do not exist yet
    are left out so these tests do not depend on them."""
    import importlib

    present = []
    for name in cli.COMMAND_MODULES:
        try:
            importlib.import_module(name)
            present.append(name)
        except ModuleNotFoundError:
            pass
    monkeypatch.setattr(cli, "COMMAND_MODULES", tuple(present))
    return cli.main(argv)


def test_compare_image_rows_and_progress(photo, mask):
    stages = []
    rep = compare.compare_image(photo, mask, 0.4, FAST, progress=lambda s, f: stages.append((s, f)))
    assert [r.codec for r in rep.results] == FAST
    assert (rep.width, rep.height, rep.target_bpp) == (384, 256, 0.4)
    for r in rep.results:
        assert r.reached and r.bpp <= 0.4
        assert r.image.shape == photo.shape
        assert 20 < r.psnr < 60 and 0.5 < r.ms_ssim <= 1
        assert r.object_psnr is not None and r.background_psnr is not None
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_available_codecs_here():
    assert compare.available_codecs() == compare.ALL_CODECS  # every library is installed here


def test_compare_without_mask_has_no_region_metrics(photo):
    rep = compare.compare_image(photo, None, 0.3, ["jpeg"])
    r = rep.results[0]
    assert r.object_psnr is None and r.background_psnr is None and r.object_ms_ssim is None


def test_compare_flags_unreachable_codecs(photo):
    rep = compare.compare_image(photo, None, 0.01, ["jpeg", "webp"])
    assert all(not r.reached and r.bpp > 0.01 for r in rep.results)
    assert any("cannot get down" in n for n in rep.notes)


def test_compare_cancel(photo):
    with pytest.raises(ObicCancelled):
        compare.compare_image(photo, None, 0.3, ["jpeg"], cancel=lambda: True)


def test_compare_cli_json_schema(tmp_path, photo, mask, monkeypatch, obic_weights):
    img_path = tmp_path / "photo.png"
    mask_path = tmp_path / "photo_mask.png"
    Image.fromarray(photo).save(img_path)
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(mask_path)
    out = tmp_path / "out"
    argv = [
        "compare",
        str(img_path),
        "--target-bpp",
        "0.3",
        "--mask",
        str(mask_path),
        "--out-dir",
        str(out),
        "--json",
        str(tmp_path / "r.json"),
        "--device",
        "cpu",
        "--quiet",
        "--codecs",
        "obic",
        "obic-single",
        *FAST,
    ]
    if obic_weights:
        argv += ["--weights", obic_weights]
    assert run_cli(argv, monkeypatch) == 0
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    doc = json.loads(text)
    assert {"image", "width", "height", "target_bpp", "results"} <= set(doc)
    assert (doc["image"], doc["width"], doc["height"], doc["target_bpp"]) == ("photo.png", 384, 256, 0.3)
    assert [r["codec"] for r in doc["results"]] == ["obic", "obic-single", *FAST]
    for row in doc["results"]:
        for key, typ in ROW_KEYS.items():
            assert isinstance(row[key], typ), (row["codec"], key, row[key])
        png = out / row["file"]
        assert png.is_file() and not row["file"].startswith("/")
        with Image.open(png) as im:
            assert im.size == (384, 256)
        assert (out / row["stream"]).stat().st_size == row["bytes"] or row["codec"] == "hevc"
        if row["reached"]:
            assert row["bpp"] <= 0.3
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (384 * 256))
    hevc = doc["results"][-1]
    assert hevc["heif_bytes"] > hevc["bytes"] == hevc["payload_bytes"]
    obic = doc["results"][0]
    assert set(obic["layers_bpp"]) >= {"header", "mask", "object", "background"}


def test_compare_cli_errors_exit_2(tmp_path, monkeypatch, capsys):
    assert (
        run_cli(
            [
                "compare",
                str(tmp_path / "missing.png"),
                "--target-bpp",
                "0.2",
                "--mask",
                "none",
                "--out-dir",
                str(tmp_path / "o"),
            ],
            monkeypatch,
        )
        == 2
    )
    assert "error" in capsys.readouterr().err
    img = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(img)
    assert (
        run_cli(
            [
                "compare",
                str(img),
                "--target-bpp",
                "0.2",
                "--mask",
                "none",
                "--codecs",
                "bpg",
                "--out-dir",
                str(tmp_path / "o"),
            ],
            monkeypatch,
        )
        == 2
    )
    with pytest.raises(SystemExit) as exc:
        run_cli(["compare", str(img), "--target-bpp", "-1", "--out-dir", str(tmp_path)], monkeypatch)
    assert exc.value.code == 2


# ---------------------------------------------------------------- bench


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory, sample_photo):
    """Two small images with masks in the images/ + masks/ layout."""
    d = tmp_path_factory.mktemp("set")
    (d / "images").mkdir()
    (d / "masks").mkdir()
    for i, (y, x) in enumerate([(0, 0), (150, 250)]):
        img = sample_photo[y : y + 192, x : x + 256]
        Image.fromarray(img).save(d / "images" / f"im{i}.png")
        m = np.zeros((192, 256), np.uint8)
        m[40:150, 60:200] = 255
        Image.fromarray(m).save(d / "masks" / f"im{i}.png")
    return d


def test_bench_writes_results_and_resumes(tiny_set, tmp_path, monkeypatch):
    out = tmp_path / "bench"
    bpps = [0.3, 0.6, 1.0, 1.6]
    doc = bench.run_bench(str(tiny_set), out, ["jpeg", "hevc", "jpeg2000"], bpp=bpps, workers=1)
    assert doc["images"] == 2 and doc["config"]["mask_source"] == "gt"
    for name in ("results.json", "points.jsonl", "README.md", "rd_psnr.png", "rd_ms_ssim.png", "rd_object_psnr.png"):
        assert (out / name).is_file(), name
    assert len(doc["points"]) == 2 * 3 * len(bpps)
    assert all(p["bpp"] <= p["setting"] for p in doc["points"] if p["reached"])
    hevc = doc["curves"]["hevc"]
    assert [r["setting"] for r in hevc] == bpps and all(r["n"] == 2 for r in hevc)
    assert bench.HEIF_CURVE in doc["curves"]
    row = doc["bd_rate"]["jpeg2000"]["psnr"]
    assert row["bd_rate"] is not None or "excluded" in row["note"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["bd_rate"].keys() == doc["bd_rate"].keys()
    second = doc["bd_rate_vs_jpeg2000"]["hevc"]["psnr"]  # the second reference
    assert second["bd_rate"] is not None or "excluded" in second["note"]
    readme = (out / "README.md").read_text()
    assert "## BD-rate against hevc" in readme and "## BD-rate against jpeg2000" in readme

    calls = []
    real = bench.run_point
    monkeypatch.setattr(bench, "run_point", lambda task: calls.append(task) or real(task))
    again = bench.run_bench(str(tiny_set), out, ["jpeg", "hevc", "jpeg2000", "webp"], bpp=bpps, workers=1)
    assert {t["codec"] for t in calls} == {"webp"} and len(calls) == 2 * len(bpps)  # only the new codec
    assert len(again["points"]) == 2 * 4 * len(bpps)


def test_bench_interrupted_log_line_is_ignored(tmp_path):
    log = tmp_path / bench.POINTS_FILE
    log.write_text(json.dumps({"cache_key": "a", "bpp": 0.1}) + "\n" + '{"cache_key": "b", "bp')
    assert set(bench.load_points(log)) == {"a"}


def test_bench_qualities_mode_picks_hevc_chroma_per_image(tiny_set, tmp_path):
    doc = bench.run_bench(
        str(tiny_set),
        tmp_path / "q",
        ["hevc", "jpeg"],
        masks="none",
        qualities=["hevc=5,20,35,50", "jpeg=5,15,30,60"],
        workers=1,
    )
    assert {p["codec"] for p in doc["points"]} == {"hevc-420", "hevc-444", "jpeg"}
    assert len(doc["curves"]["hevc"]) == 4 and "object_psnr" not in doc["metrics"]
    assert doc["bd_rate"]["jpeg"]["psnr"]["bd_rate"] is not None


def test_bench_parallel_workers(tiny_set, tmp_path):
    doc = bench.run_bench(str(tiny_set), tmp_path / "p", ["jpeg"], bpp=[0.2, 0.4], workers=2)
    assert len(doc["points"]) == 4 and not doc["errors"]


def test_bd_table_excludes_short_curves():
    def curve(rates, dists, reached=True):
        return [
            {"bpp": r, "psnr": d, "reached": reached if i else False, "setting": r}
            for i, (r, d) in enumerate(zip(rates, dists, strict=True))
        ]

    rates = [0.1, 0.2, 0.4, 0.8, 1.6]
    curves = {
        "hevc": [dict(r, reached=True) for r in curve(rates, [28, 31, 34, 37, 40])],
        "good": [dict(r, reached=True) for r in curve(rates, [29, 32, 35, 38, 41])],
        "short": curve(rates[:4], [25, 28, 31, 34]),
    }
    table = bench.bd_table(curves, ["psnr"])
    assert table["good"]["psnr"]["bd_rate"] < 0
    assert table["short"]["psnr"]["bd_rate"] is None
    assert "only 3 of 4" in table["short"]["psnr"]["note"]
    assert math.isfinite(table["good"]["psnr"]["bd_rate"])
    # a codec pinned at its largest file answers two targets with the same file
    pinned = [dict(r, reached=True) for r in curve(rates[:4] + [1.6], [29, 32, 35, 38, 38])]
    pinned[-1]["bpp"] = 0.8
    value = bench.bd_table({"hevc": curves["hevc"], "pinned": pinned}, ["psnr"])["pinned"]["psnr"]
    assert value["bd_rate"] is not None and value["bd_rate"] < 0


def test_bench_cli(tiny_set, tmp_path, monkeypatch, capsys):
    rc = run_cli(
        [
            "bench",
            str(tiny_set),
            "--codecs",
            "jpeg",
            "webp",
            "--bpp",
            "0.2,0.4,0.8,1.6",
            "--out",
            str(tmp_path / "c"),
            "--workers",
            "1",
        ],
        monkeypatch,
    )
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "c" / "README.md").read_text().startswith("# Benchmark")
    assert run_cli(["bench", str(tmp_path / "nowhere"), "--out", str(tmp_path / "d")], monkeypatch) == 2


@pytest.mark.dataset
def test_masks_val_items_are_the_split_with_ground_truth(shared_dir):
    from obic_core.datasets import validation_keys

    items, name, source = bench.collect_items("masks-val", None)
    assert name == "masks-val" and source == "gt"
    assert {i.key for i in items} <= validation_keys() and len(items) > 100
    assert all(i.mask for i in items)
