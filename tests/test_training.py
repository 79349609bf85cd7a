"""Training machinery on generated images: the loss falls, checkpoints resume exactly,
and DDP runs with two CPU processes on gloo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from obic_core.nn.model import LearntOBIC, ModelConfig
from obic_core.train.checkpoint import load_checkpoint, save_checkpoint
from obic_core.train.codec_loop import loss_terms, mse_weight_map
from obic_core.train.data import CropSampler

TINY = ModelConfig(N=8, M=16, Nh=8, levels=3)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(4):
        yy, xx = np.mgrid[:200, :240]
        base = np.stack([np.sin(xx / (7 + i)), np.cos(yy / (5 + i)), np.sin((xx + yy) / 11)], -1)
        img = ((base * 0.4 + 0.5 + rng.normal(0, 0.02, base.shape)).clip(0, 1) * 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"gen_{i}.png")
    return d


def _step(model, opt, x, m, q):
    terms = loss_terms(model, x, m, q, q, "ms-ssim", bf16=False)
    opt.zero_grad()
    terms["loss"].backward()
    opt.step()
    return terms["loss"].item()


def test_mse_weight_follows_each_blocks_quality():
    """w·r^q per pixel, chosen by the 16×16 block's quality; r = 1 is one weight everywhere."""
    q_map = torch.zeros(2, 1, 2, 3)
    q_map[0, 0, 1, 2] = 1.0  # one block at q = 1 in image 0
    q_map[1] = 0.5
    w = mse_weight_map(q_map, (30, 40), 100.0, 4.0)
    assert w.shape == (2, 1, 30, 40)
    assert w[0, 0, 16:, 32:].eq(400.0).all()  # that block (cropped to the image) at q = 1
    assert w[0, 0, :16].eq(100.0).all() and w[0, 0, :, :32].eq(100.0).all()  # the rest at q = 0
    assert w[1].eq(200.0).all()  # q = 0.5 everywhere
    assert mse_weight_map(q_map, (30, 40), 100.0, 1.0).eq(100.0).all()


def test_gain_map_equals_layer_gains_for_a_binary_map():
    """A per-block quality map that is constant inside each layer is the two-quality codec."""
    torch.manual_seed(0)
    model = LearntOBIC(TINY).eval()
    x = torch.rand(1, 3, 64, 128)
    lat = torch.zeros(1, 1, 4, 8)
    lat[..., :2, :5] = 1
    q_obj, q_bkg = torch.tensor([0.8]), torch.tensor([0.3])
    q_map = lat * 0.8 + (1 - lat) * 0.3
    a = model(x, lat, q_obj, q_bkg, noise=False)
    b = model(x, lat, noise=False, q_map=q_map)
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-6)
    g_map, _ = model.gains(q_map)
    g_obj, _ = model.gains(q_obj)
    assert torch.allclose(g_map[0, :, 0, 0], g_obj[0, :, 0, 0])
    assert not torch.allclose(g_map[0, :, 3, 7], g_obj[0, :, 0, 0])


def test_rate_of_each_block_is_weighed_by_its_own_quality():
    """weighted_bpp = a(q_bkg)·R_bkg + a(q_obj)·R_obj for a binary map."""
    from obic_core.rules import rate_weight
    from obic_core.train.codec_loop import weighted_bpp

    torch.manual_seed(0)
    model = LearntOBIC(TINY).eval()
    x = torch.rand(2, 3, 64, 64)
    lat = torch.zeros(2, 1, 4, 4)
    lat[:, :, :4, :4] = 1  # whole image object: the hyper block sees one quality
    lat[1] = 0
    out = model(x, lat, torch.tensor([1.0, 1.0]), torch.tensor([0.0, 0.0]), noise=False)
    weighted, total = weighted_bpp(out, 64 * 64)
    r_obj = (out["bits"]["object"]["y"] + out["bits"]["object"]["z"]) / 4096
    r_bkg = (out["bits"]["background"]["y"] + out["bits"]["background"]["z"]) / 4096
    assert torch.allclose(weighted, rate_weight(1.0) * r_obj + rate_weight(0.0) * r_bkg, rtol=1e-5)
    assert torch.allclose(total, r_obj + r_bkg)


def test_quality_map_sampler_covers_every_kind_on_the_6_bit_grid():
    from obic_core.train.quality_maps import QualityMapSampler

    s = QualityMapSampler(binary_p=0.3, seed=1)
    lat = torch.zeros(64, 1, 16, 16)
    lat[:, :, 4:10, 4:10] = 1
    maps = s.sample(lat, 6)
    assert maps.shape == lat.shape and maps.min() >= 0 and maps.max() <= 1
    assert torch.allclose(maps * 60, (maps * 60).round(), atol=1e-5), "stored 6-bit grid"
    distinct = [len(torch.unique(m)) for m in maps]
    assert min(distinct) <= 2 and max(distinct) > 10, "binary/constant and smooth maps both occur"


def test_loss_falls_and_checkpoint_resumes(photo_dir, tmp_path):
    torch.manual_seed(0)
    sampler = CropSampler([photo_dir], [], crop=192, seed=0)
    x, m = sampler.batch(2)
    q = torch.tensor([0.0, 1.0])
    model = LearntOBIC(TINY)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = [_step(model, opt, x, m, q) for _ in range(25)]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])

    ckpt = tmp_path / "last.safetensors"
    save_checkpoint(ckpt, model, opt, {"step": 25})
    model2 = LearntOBIC(TINY)
    opt2 = torch.optim.Adam(model2.parameters(), lr=2e-3)
    assert load_checkpoint(ckpt, model2, opt2)["step"] == 25
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    torch.manual_seed(1)
    after1 = _step(model, opt, x, m, q)
    torch.manual_seed(1)
    after2 = _step(model2, opt2, x, m, q)
    assert after1 == after2
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_sampler_masks_cover_degenerate_cases(photo_dir):
    sampler = CropSampler([photo_dir], [], crop=192, seed=3, full_mask_p=0.3, empty_mask_p=0.2)
    _, m = sampler.batch(40)
    frac = m.mean(dim=(1, 2, 3))
    assert (frac == 1).any() and (frac == 0).any() and ((frac > 0) & (frac < 1)).any()


def test_kodak_is_refused_as_training_data(tmp_path):
    d = tmp_path / "kodak"
    d.mkdir()
    with pytest.raises(ValueError, match="Kodak"):
        CropSampler([d], [])


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_ddp_two_cpu_processes(photo_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29517",
        "-m",
        "obic_core.train",
        "codec",
        "--photos",
        str(photo_dir),
        "--run-dir",
        str(tmp_path / "run"),
        "--steps",
        "3",
        "--batch",
        "1",
        "--crop",
        "192",
        "--N",
        "8",
        "--M",
        "16",
        "--Nh",
        "8",
        "--device",
        "cpu",
        "--no-bf16",
        "--no-compile",
        "--export",
        str(tmp_path / "w.safetensors"),
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "run" / "last.safetensors").exists()
    rows = (tmp_path / "run" / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 4  # header + 3 steps, written by rank 0 only


def test_init_from_exported_weights(tmp_path):
    from obic_core.train.codec_loop import init_from_weights
    from obic_core.weights import save_weights

    torch.manual_seed(3)
    src = LearntOBIC(TINY)
    save_weights(
        src.state_dict(), tmp_path / "w.safetensors", {"config": TINY.to_dict(), "steps": 120, "wall_time_s": 33.0}
    )
    dst = LearntOBIC(TINY)
    meta = init_from_weights(dst, tmp_path / "w.safetensors", {"step": 0, "wall_s": 0.0})
    assert meta["step"] == 120 and meta["wall_s"] == 33.0
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items(), strict=True):
        assert torch.allclose(a, b, atol=1e-2, rtol=1e-3), k  # fp16 storage


def test_compiled_transforms_keep_the_checkpoint_layout():
    """torch.compile in place must not rename state-dict keys: checkpoints and exported
    weights of compiled and eager runs are the same files."""
    from obic_core.train.codec_loop import compile_transforms, uncompile_transforms

    model = LearntOBIC(TINY)
    keys = list(model.state_dict())
    assert compile_transforms(model)
    assert model.g_a._compiled_call_impl is not None
    assert list(model.state_dict()) == keys
    uncompile_transforms(model)
    assert model.g_a._compiled_call_impl is None and model.g_s._compiled_call_impl is None


def _tiny_codec_run(photo_dir, tmp_path, export: str):
    """Arguments for a 2-step codec run of a tiny model on CPU (run folder tmp_path/run)."""
    import argparse

    from obic_core.train import codec_loop

    p = argparse.ArgumentParser()
    codec_loop.add_arguments(p)
    return p.parse_args(
        ["--photos", str(photo_dir), "--run-dir", str(tmp_path / "run"), "--steps", "2", "--batch", "1"]
        + ["--crop", "192", "--N", "8", "--M", "16", "--Nh", "8", "--device", "cpu", "--no-bf16"]
        + ["--val-every", "1000", "--export", str(tmp_path / export)]
    )


def test_a_compiler_failure_falls_back_to_eager_training(photo_dir, tmp_path, monkeypatch, caplog):
    """A machine whose compiler breaks (no C++ toolchain, an unsupported op) still trains."""

    from obic_core.train import codec_loop

    def broken_backend(gm, example_inputs):
        raise RuntimeError("no C++ compiler here")

    def compile_with_broken_backend(model):
        for sub in (model.g_a, model.g_s):
            sub.compile(backend=broken_backend)
        return True

    monkeypatch.setattr(codec_loop, "compile_transforms", compile_with_broken_backend)
    args = _tiny_codec_run(photo_dir, tmp_path, "w.safetensors")
    with caplog.at_level("WARNING", logger="obic.train"):
        codec_loop.run(args)
    assert "training eagerly" in caplog.text
    rows = (tmp_path / "run" / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 3  # header + both steps, trained eagerly after the failure


def test_a_run_exports_its_final_weights_even_when_no_validation_was_due(photo_dir, tmp_path, monkeypatch):
    """After an annealed tail the last step is the one to ship; it used to take a throw-away
    script to export it, because --export fires only when a validation improves."""

    import torch

    from obic_core.train import codec_loop
    from obic_core.weights import load_weights

    monkeypatch.setattr(codec_loop, "compile_transforms", lambda model: False)
    monkeypatch.setattr(codec_loop, "codec_validation_images", lambda dirs: torch.rand(1, 3, 192, 192))
    args = _tiny_codec_run(photo_dir, tmp_path, "best.safetensors")
    codec_loop.run(args)
    assert not (tmp_path / "best.safetensors").exists()  # no validation was due: no best export
    final = load_weights(tmp_path / "run" / codec_loop.FINAL_EXPORT)
    assert final.card["steps"] == 2 and "score" in final.card["validation"]


def test_cosine_tail_anneals_by_steps_or_minutes_and_survives_a_resume():
    import argparse

    from obic_core.train.codec_loop import lr_now

    args = argparse.Namespace(lr=4e-5, lr_end=2e-6, lr_drop_at=0)
    tail = {"step": 1000, "wall_s": 600.0, "steps": 2000, "minutes": 10}
    meta = {"tail": tail}
    assert lr_now(args, meta, 1000, 600.0) == pytest.approx(4e-5)
    assert lr_now(args, meta, 1500, 600.0) == pytest.approx(2.1e-5)  # half-way by steps
    assert lr_now(args, meta, 1100, 900.0) == pytest.approx(2.1e-5)  # half-way by the clock
    assert lr_now(args, meta, 2000, 600.0) == pytest.approx(2e-6)
    assert lr_now(args, meta, 2500, 9999.0) == pytest.approx(2e-6)  # held at the end, not wrapped
    lrs = [lr_now(args, meta, s, 600.0) for s in range(1000, 2001, 50)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    # a run without the tail keeps the constant lr and its ×0.2 drop
    plain = argparse.Namespace(lr=4e-5, lr_end=0.0, lr_drop_at=1200)
    assert lr_now(plain, meta, 1100, 0.0) == 4e-5 and lr_now(plain, meta, 1300, 0.0) == pytest.approx(8e-6)


def test_an_unreadable_training_photo_is_named_in_the_error(tmp_path):
    """A damaged photo stops the run with the project's input error naming the file, not an
    assertion from deep inside OpenCV about an empty matrix."""
    from obic_core.datasets import Pair
    from obic_core.train.seg_loop import load_pair

    photo = tmp_path / "broken.jpg"
    photo.write_bytes(b"\xff\xd8 not really a JPEG")
    mask = tmp_path / "broken.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(mask)
    from obic_core.errors import ObicInputError

    with pytest.raises(ObicInputError, match="broken.jpg"):
        load_pair(Pair("x/broken", photo, mask), 64)


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_stop_signal_only_raises_the_training_loops_flag(signum):
    """Ctrl-C or kill must not land inside a backward pass or a checkpoint write: the signal
    only sets the flag the loop checks between steps (it then saves and exports)."""
    import signal

    from obic_core.train.stop_request import StopRequest

    sig = getattr(signal, signum)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop = StopRequest()
        assert not stop.requested
        signal.raise_signal(sig)  # with Python's defaults: KeyboardInterrupt / process killed
        assert stop.requested
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
