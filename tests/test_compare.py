"""compare_image, the `obic compare` JSON the GUI reads, and `obic bench` (resume, BD table)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from obic_core import cli
from obic_core.errors import ObicCancelled
from obic_core.evaluation import anchors, bench, compare, curves, inputs, points
from obic_core.evaluation.bd import bd_table

FAST = ["jpeg", "webp", "jpeg2000", "jpegxl", "hevc"]
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


def test_compare_cli_json_schema(tmp_path, photo, mask, obic_weights):
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
    assert cli.main(argv) == 0
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
        on_disk = (out / row["stream"]).stat().st_size
        # every file is counted whole, except HEVC: its payload counts, the .heic is bigger
        assert on_disk == (row["heif_bytes"] if row["codec"] == "hevc" else row["bytes"])
        if row["reached"]:
            assert row["bpp"] <= 0.3
        assert row["bpp"] == pytest.approx(row["bytes"] * 8 / (384 * 256))
    hevc = doc["results"][-1]
    assert hevc["heif_bytes"] > hevc["bytes"] == hevc["payload_bytes"]
    obic = doc["results"][0]
    assert set(obic["layers_bpp"]) >= {"header", "mask", "object", "background"}


def test_compare_cli_errors_exit_2(tmp_path, capsys):
    assert (
        cli.main(
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
        )
        == 2
    )
    assert "error" in capsys.readouterr().err
    img = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(img)
    assert (
        cli.main(
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
        )
        == 2
    )
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", str(img), "--target-bpp", "-1", "--out-dir", str(tmp_path)])
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
    assert curves.HEIF_CURVE in doc["curves"]
    row = doc["bd_rate"]["jpeg2000"]["psnr"]
    assert row["bd_rate"] is not None and math.isfinite(row["bd_rate"]), row
    saved = json.loads((out / "results.json").read_text())
    assert saved["bd_rate"].keys() == doc["bd_rate"].keys()
    second = doc["bd_rate_vs_jpeg2000"]["hevc"]["psnr"]  # the second reference
    assert second["bd_rate"] is not None and math.isfinite(second["bd_rate"]), second
    readme = (out / "README.md").read_text()
    assert "## BD-rate against hevc" in readme and "## BD-rate against jpeg2000" in readme

    calls = []
    real = bench.run_point
    monkeypatch.setattr(bench, "run_point", lambda task: calls.append(task) or real(task))
    again = bench.run_bench(str(tiny_set), out, ["jpeg", "hevc", "jpeg2000", "webp"], bpp=bpps, workers=1)
    assert {t["codec"] for t in calls} == {"webp"} and len(calls) == 2 * len(bpps)  # only the new codec
    assert len(again["points"]) == 2 * 4 * len(bpps)


def test_points_of_an_older_format_are_measured_again(tiny_set, tmp_path, monkeypatch):
    """A point saved before a field existed (e.g. the at-best-setting flag) would read as that
    field's absence: the cache key carries the format, so such points are recomputed."""
    out = tmp_path / "bench"
    bench.run_bench(str(tiny_set), out, ["jpeg"], bpp=[0.3, 0.6], workers=1)
    log = out / points.POINTS_FILE
    old = [json.loads(line) for line in log.read_text().splitlines()]
    for rec in old:
        rec["cache_key"] = rec["cache_key"].replace("|" + points.POINT_FORMAT, "")
    log.write_text("".join(json.dumps(rec) + "\n" for rec in old))
    calls = []
    real = bench.run_point
    monkeypatch.setattr(bench, "run_point", lambda task: calls.append(task) or real(task))
    bench.run_bench(str(tiny_set), out, ["jpeg"], bpp=[0.3, 0.6], workers=1)
    assert len(calls) == 2 * 2


def test_bench_interrupted_log_line_is_ignored(tmp_path):
    log = tmp_path / points.POINTS_FILE
    log.write_text(json.dumps({"cache_key": "a", "bpp": 0.1}) + "\n" + '{"cache_key": "b", "bp')
    assert set(points.load_points(log)) == {"a"}


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
    rd = {
        "hevc": [dict(r, reached=True) for r in curve(rates, [28, 31, 34, 37, 40])],
        "good": [dict(r, reached=True) for r in curve(rates, [29, 32, 35, 38, 41])],
        "short": curve(rates[:4], [25, 28, 31, 34]),
    }
    table = bd_table(rd, ["psnr"])
    assert table["good"]["psnr"]["bd_rate"] < 0
    assert table["short"]["psnr"]["bd_rate"] is None
    assert "only 3 of 4" in table["short"]["psnr"]["note"]
    assert math.isfinite(table["good"]["psnr"]["bd_rate"])
    assert table["good"]["psnr"]["bd_quality"] == pytest.approx(1.0, abs=1e-6), "1 dB better at every rate"
    # matched rates, 6 dB apart: BD-rate sees little quality overlap, BD-quality the whole curve
    far = {"hevc": rd["hevc"], "far": [dict(r, psnr=r["psnr"] - 6) for r in rd["hevc"]]}
    entry = bd_table(far, ["psnr"])["far"]["psnr"]
    assert "overlap" in entry["note"] and "quality_note" not in entry
    assert entry["bd_quality"] == pytest.approx(-6.0, abs=1e-6)
    # a codec pinned at its largest file answers two targets with the same file
    pinned = [dict(r, reached=True) for r in curve(rates[:4] + [1.6], [29, 32, 35, 38, 38])]
    pinned[-1]["bpp"] = 0.8
    value = bd_table({"hevc": rd["hevc"], "pinned": pinned}, ["psnr"])["pinned"]["psnr"]
    assert value["bd_rate"] is not None and value["bd_rate"] < 0


def test_bench_runs_every_codec_at_the_same_default_targets(tiny_set, tmp_path):
    """Matched rates by default; a target a codec's smallest file is above is listed, per image."""
    from obic_core.evaluation.codecs.registry import get_codec
    from obic_core.imageio import read_image

    codecs = ["jpeg", "jpeg2000"]
    doc = bench.run_bench(str(tiny_set), tmp_path / "m", codecs, masks="none", workers=1)
    assert doc["config"]["mode"] == "bpp" and doc["config"]["bpp"] == list(bench.DEFAULT_BPP)
    assert len(doc["points"]) == 2 * len(codecs) * len(bench.DEFAULT_BPP)
    assert {p["setting"] for p in doc["points"]} == set(bench.DEFAULT_BPP)
    assert all(p["bpp"] <= p["setting"] for p in doc["points"] if p["reached"])
    # expected: the targets below each image's smallest file (the codec's lowest setting)
    expected = {}
    for codec in codecs:
        adapter = get_codec(codec)
        smallest = {
            p.stem: adapter.encode_at(read_image(p).pixels, adapter.q_min).bpp
            for p in sorted((tiny_set / "images").iterdir())
        }
        rows = [
            (t, sorted(k for k, b in smallest.items() if b > t))
            for t in bench.DEFAULT_BPP
            if any(b > t for b in smallest.values())
        ]
        if rows:
            expected[codec] = rows
    got = {c: [(r["target"], sorted(r["not_reached"])) for r in rows] for c, rows in doc["unreached"].items()}
    assert got == expected
    assert "jpeg" in got  # JPEG's headers alone exceed 0.05 bpp on a 256×192 image: the list is exercised
    readme = (tmp_path / "m" / "README.md").read_text()
    assert "## Targets a codec could not reach" in readme and "| jpeg | 0.05 | 2/2 |" in readme
    assert "anchors" not in doc  # not Kodak: no published curves


def test_a_target_above_a_codecs_best_setting_is_listed_as_its_ceiling(tiny_set, tmp_path):
    """JPEG at quality 100 and OBIC at q = 1 stay far below 30 bpp: those points are real (in the
    curve) but stand at the codec's ceiling, and the report says so rather than 'reached'."""
    from obic_core.evaluation.codecs.base import AT_BEST_SETTING
    from obic_core.evaluation.codecs.rate_search import largest_within
    from obic_core.evaluation.codecs.registry import get_codec
    from obic_core.imageio import read_image

    pixels = read_image(tiny_set / "images" / "im0.png").pixels
    jpeg = get_codec("jpeg")
    top = largest_within(jpeg, pixels, 30.0)
    assert top.reached and top.quality == jpeg.q_max and top.extra.get(AT_BEST_SETTING)
    assert not largest_within(jpeg, pixels, 0.5).extra.get(AT_BEST_SETTING)
    obic = get_codec("obic-single", threads=1)
    assert obic.at_bpp(pixels, 30.0).extra.get(AT_BEST_SETTING)
    assert not obic.at_bpp(pixels, 0.3).extra.get(AT_BEST_SETTING)

    doc = bench.run_bench(str(tiny_set), tmp_path / "c", ["jpeg"], masks="none", bpp=[0.5, 0.8, 1.2, 30.0], workers=1)
    rows = {r["target"]: r for r in doc["unreached"]["jpeg"]}
    assert sorted(rows[30.0]["at_best_setting"]) == ["im0", "im1"] and rows[30.0]["not_reached"] == []
    assert 0.5 not in rows
    assert [r["n_at_best"] for r in doc["curves"]["jpeg"]] == [0, 0, 0, 2]
    readme = (tmp_path / "c" / "README.md").read_text()
    assert "| jpeg | 30 | 0/2 | 2/2 |  |" in readme and "2/2 (2 at best setting) |" in readme


@pytest.fixture(scope="module")
def fake_kodak(tmp_path_factory, sample_photo):
    """Two small crops named like Kodak images, in a folder named kodak."""
    d = tmp_path_factory.mktemp("data") / "kodak"
    d.mkdir()
    for i, (y, x) in enumerate([(0, 0), (150, 250)], 1):
        Image.fromarray(sample_photo[y : y + 192, x : x + 256]).save(d / f"kodim{i:02d}.png")
    return d


def test_bench_on_kodak_draws_and_bd_rates_the_published_anchors(fake_kodak, tmp_path):
    out = tmp_path / "k"
    doc = bench.run_bench(
        str(fake_kodak), out, ["jpeg2000", "jpegxl"], masks="none", bpp=[0.3, 0.5, 0.8, 1.2], workers=1
    )
    assert {p["codec"] for p in doc["points"]} == {"jpeg2000", "jpegxl"}  # bench includes JPEG XL
    info = doc["anchors"]
    assert info["covers_all_images"] is False and info["images"] == 24
    published = json.loads((anchors.ANCHORS_DIR / "kodak.json").read_text())["anchors"]
    assert set(doc["bd_rate_vs_anchors"]) == set(published)
    for key, table in doc["bd_rate_vs_anchors"].items():
        trained = published[key]["trained_for"]
        wanted = {"psnr", "ms_ssim_db"} if trained is None else {anchors.METRIC_OF_TRAINING[trained]}
        assert set(table) == {"jpeg2000", "jpegxl"}
        for row in table.values():
            assert set(row) == wanted
            for entry in row.values():
                assert entry["bd_rate"] is not None or entry["note"], entry
    readme = (out / "README.md").read_text()
    assert "## BD-rate against published Kodak results" in readme
    assert "This run covers 2 of the 24 images" in readme
    assert "BPG 4:4:4 (x265)" in readme and "mbt2018-mean (MS-SSIM)" in readme
    assert (out / "rd_psnr.png").stat().st_size > 0 and (out / "rd_ms_ssim.png").stat().st_size > 0


def test_published_anchor_data_is_complete_and_sourced():
    doc = json.loads((anchors.ANCHORS_DIR / "kodak.json").read_text())
    assert doc["images"] == [f"kodim{i:02d}" for i in range(1, 25)]
    expected = {
        "bpg-444",
        "vtm",
        "bmshj2018-hyperprior-ms-ssim",
        "bmshj2018-hyperprior-mse",
        "mbt2018-mean-ms-ssim",
        "mbt2018-mean-mse",
        "cheng2020-anchor-ms-ssim",
        "cheng2020-anchor-mse",
    }
    assert set(doc["anchors"]) == expected
    for key, e in doc["anchors"].items():
        src = e["source"]
        assert src["repo"] == "InterDigitalInc/CompressAI" and src["path"].startswith("results/image/kodak/")
        assert len(src["commit"]) == 40 and int(src["commit"], 16) >= 0
        n = len(e["bpp"])
        assert n >= 6 and len(e["psnr"]) == n == len(e["ms_ssim"]), key
        for series in (e["bpp"], e["psnr"], e["ms_ssim"]):
            assert series == sorted(set(series)), key  # strictly increasing: more bits, more quality
        assert all(0 < m < 1 for m in e["ms_ssim"]) and all(20 < p < 50 for p in e["psnr"])


def test_published_anchors_rank_as_the_papers_report():
    """Guards the transcription: well-known orderings hold on the stored numbers."""
    doc = anchors.load_anchors("kodak", ["kodim01"])
    rows = {k: e["rows"] for k, e in doc["anchors"].items()}

    def vs(anchor: str, test: str, metric: str) -> float:
        return bd_table({anchor: rows[anchor], test: rows[test]}, [metric], anchor=anchor)[test][metric]["bd_rate"]

    assert vs("bpg-444", "vtm", "psnr") < 0  # VVC intra beats HEVC intra
    assert vs("bpg-444", "bmshj2018-hyperprior-ms-ssim", "ms_ssim_db") < 0  # an MS-SSIM model on MS-SSIM
    assert vs("bmshj2018-hyperprior-mse", "mbt2018-mean-mse", "psnr") < 0  # the mean-scale prior helps
    assert vs("bmshj2018-hyperprior-mse", "cheng2020-anchor-mse", "psnr") < 0
    assert anchors.load_anchors("kodak", ["photo"]) is None  # not a Kodak image: no anchors
    assert anchors.load_anchors("set", ["kodim01"]) is None


def test_anchor_curves_are_resampled_at_the_measured_rates():
    doc = anchors.load_anchors("kodak", ["kodim01"])
    bpg = doc["anchors"]["bpg-444"]["rows"]
    at = anchors.at_rates(bpg, [0.05, bpg[1]["bpp"], 0.3, 10.0])
    assert [r["bpp"] for r in at] == [bpg[1]["bpp"], 0.3]  # nothing extrapolated below 0.068 or above 4.7
    assert at[0]["psnr"] == pytest.approx(bpg[1]["psnr"]) and at[0]["ms_ssim_db"] == pytest.approx(bpg[1]["ms_ssim_db"])
    assert bpg[1]["psnr"] < at[1]["psnr"] < bpg[2]["psnr"]  # 0.3 lies between the 0.16 and 0.35 points
    # a codec measured at BPG's own rates with BPG's own qualities is BPG: 0 % at full overlap
    same = [dict(r, setting=r["bpp"]) for r in bpg[:5]]
    entry = anchors.bd_vs_anchors(doc, {"twin": same}, ["psnr", "ms_ssim_db"])["bpg-444"]["twin"]
    assert entry["psnr"]["bd_rate"] == pytest.approx(0.0, abs=1e-6) and entry["psnr"]["note"] == ""
    # a curve the published one hardly covers is excluded, with the reason
    rates = (0.01, 0.02, 0.03, 0.04, 0.1)
    low = [{"setting": b, "bpp": b, "psnr": 20 + b, "ms_ssim_db": 5 + b, "reached": True} for b in rates]
    entry = anchors.bd_vs_anchors(doc, {"low": low}, ["psnr"])["vtm"]["low"]["psnr"]
    assert entry["bd_rate"] is None and "covers only 1 of the 5 rates" in entry["note"]


def test_bench_cli(tiny_set, tmp_path, capsys):
    rc = cli.main(
        [
            "bench",
            str(tiny_set),
            "--codecs",
            "jpeg",
            "jpegxl",
            "--bpp",
            "0.2,0.4,0.8,1.6",
            "--out",
            str(tmp_path / "c"),
            "--workers",
            "1",
        ],
    )
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "c" / "README.md").read_text().startswith("# Benchmark")
    assert cli.main(["bench", str(tmp_path / "nowhere"), "--out", str(tmp_path / "d")]) == 2


@pytest.mark.dataset
def test_masks_val_items_are_the_split_with_ground_truth(shared_dir):
    from obic_core.datasets import validation_keys

    items, name, source = inputs.collect_items("masks-val", None)
    assert name == "masks-val" and source == "gt"
    assert {i.key for i in items} <= validation_keys() and len(items) > 100
    assert all(i.mask for i in items)
