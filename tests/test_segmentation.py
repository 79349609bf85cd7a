"""Segmentation: DeepLab shape/stride, training step, GrabCut refine, predictors, CLI."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from obic_core.errors import ObicInputError
from obic_core.segmentation.deeplab import DeepLabConfig, DeepLabV3

TINY = DeepLabConfig(width=0.125, aspp_channels=16, decoder_channels=8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def synthetic_scene(h: int = 120, w: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A saturated ellipse on a textured, differently coloured background, and its mask."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (60, 110, 70)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 4, h // 3), 20, 0, 360, 1, -1)
    obj = np.clip(np.array((200, 60, 40)) + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    img[mask > 0] = obj[mask > 0]
    return img, mask.astype(bool)


def test_import_does_not_load_torch():
    code = (
        "import sys, obic_core.segmentation as s; s.available_methods; "
        "assert 'torch' not in sys.modules and 'cv2' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("h,w", [(37, 53), (65, 33), (17, 17), (101, 64)])
def test_network_shape_and_output_stride_on_odd_sizes(h, w):
    model = DeepLabV3(TINY).eval()
    x = torch.rand(2, 3, h, w)
    with torch.no_grad():
        low, high = model.features(x)
        out = model(x)
    assert out.shape == (2, 1, h, w)
    assert high.shape[-2:] == (math.ceil(h / 16), math.ceil(w / 16))  # output stride 16
    assert low.shape[-2:] == (math.ceil(h / 4), math.ceil(w / 4))
    assert torch.isfinite(out).all()


def test_backbone_is_resnet34_with_dilated_last_stage():
    bb = DeepLabV3(DeepLabConfig(width=1.0)).backbone
    assert [len(getattr(bb, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert bb.out_channels == (64, 128, 256, 512)
    first = bb.layer4[0].conv1
    assert first.stride == (1, 1)
    assert all(b.conv1.dilation == (2, 2) for b in list(bb.layer4)[1:])


def test_train_step_reduces_loss_on_tiny_generated_set():
    from obic_core.train.seg_loop import train_step

    torch.manual_seed(0)
    scenes = [synthetic_scene(48, 48, seed=i) for i in range(8)]
    x = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(np.stack([s[1] for s in scenes])).unsqueeze(1).to(torch.uint8)
    model = DeepLabV3(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = [train_step(model, opt, x, y, bf16=False) for _ in range(25)]
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])


def test_refine_improves_a_noisy_mask():
    from obic_core.segmentation import refine_mask

    img, gt = synthetic_scene()
    rng = np.random.default_rng(1)
    noisy = np.roll(gt, (4, -5), axis=(0, 1))  # misplaced...
    noisy = cv2.dilate(noisy.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # ...and too fat
    noisy ^= rng.random(gt.shape) < 0.03  # ...with speckle
    refined = refine_mask(img, noisy)
    assert refined.shape == gt.shape and refined.dtype == bool
    assert iou(refined, gt) > iou(noisy, gt) + 0.1
    assert iou(refined, gt) > 0.9


def test_refine_from_rectangle_and_degenerate_inputs():
    from obic_core.segmentation import refine_mask

    img, gt = synthetic_scene()
    ys, xs = np.nonzero(gt)
    rect = (xs.min() - 6, ys.min() - 6, xs.max() - xs.min() + 12, ys.max() - ys.min() + 12)
    assert iou(refine_mask(img, rect=rect), gt) > 0.85
    empty = np.zeros(gt.shape, bool)
    assert not refine_mask(img, empty).any()  # nothing to snap: unchanged
    with pytest.raises(ObicInputError):
        refine_mask(img)
    with pytest.raises(ObicInputError):
        refine_mask(img, np.zeros((5, 5), bool))
    with pytest.raises(ObicInputError):
        refine_mask(img, rect=(500, 500, 10, 10))


def test_saliency_predictor_finds_a_salient_object():
    from obic_core.segmentation import predict_mask

    img, gt = synthetic_scene()
    mask = predict_mask(img, "saliency")
    assert mask.shape == gt.shape and mask.dtype == bool
    assert iou(mask, gt) > 0.7


def tiny_weights(tmp_path, evaluation: dict | None = None):
    from obic_core.weights import save_weights

    card = {"kind": "segmentation", "config": TINY.to_dict()}
    if evaluation:
        card["evaluation"] = {"methods": evaluation}
    path = tmp_path / "seg.safetensors"
    save_weights(DeepLabV3(TINY).state_dict(), path, card)
    return path


def test_auto_falls_back_to_saliency_and_follows_measurements(tmp_path):
    from obic_core.segmentation.predict import auto_choice, available_methods, predict_mask

    img, _ = synthetic_scene()
    missing = tmp_path / "none.safetensors"
    assert auto_choice(missing) == ("saliency", False)
    assert available_methods(missing) == ["auto", "saliency"]
    assert predict_mask(img, "auto", missing).shape == img.shape[:2]
    unmeasured = tiny_weights(tmp_path)
    assert auto_choice(unmeasured) == ("saliency", False)
    better = tiny_weights(tmp_path, {"net": {"iou": 0.8}, "net+refine": {"iou": 0.82}, "saliency": {"iou": 0.6}})
    assert auto_choice(better) == ("net", True)
    worse = tiny_weights(tmp_path, {"net": {"iou": 0.5}, "saliency": {"iou": 0.6}})
    assert auto_choice(worse) == ("saliency", False)
    with pytest.raises(ObicInputError):
        predict_mask(img, "magic")


def test_corrupt_weights_fall_back_in_auto(tmp_path):
    from obic_core.errors import ObicWeightsError
    from obic_core.segmentation.predict import predict_mask

    img, _ = synthetic_scene()
    bad = tiny_weights(tmp_path, {"net": {"iou": 0.9}, "saliency": {"iou": 0.5}})
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ObicWeightsError):
        predict_mask(img, "net", bad)
    assert predict_mask(img, "auto", bad).shape == img.shape[:2]


def test_cli_round_trip(tmp_path):
    from obic_core.cli import main
    from obic_core.imageio import read_mask, write_png

    img, gt = synthetic_scene()
    src, out = tmp_path / "in.png", tmp_path / "mask.png"
    write_png(src, img)
    assert main(["segment", str(src), "-o", str(out), "--method", "saliency", "--refine"]) == 0
    mask = read_mask(out, img.shape[:2])
    assert iou(mask, gt) > 0.7
    weights = tiny_weights(tmp_path)
    out2 = tmp_path / "net.png"
    assert main(["segment", str(src), "-o", str(out2), "--method", "net", "--weights", str(weights)]) == 0
    assert read_mask(out2, img.shape[:2]).shape == gt.shape
    out3 = tmp_path / "rect.png"
    assert main(["segment", str(src), "-o", str(out3), "--rect", "30", "10", "100", "100"]) == 0
    assert main(["segment", str(tmp_path / "missing.png"), "-o", str(out)]) == 2
    assert main(["segment", str(src), "-o", str(tmp_path / "mask.jpg")]) == 2


def test_training_loop_resumes(tmp_path):
    from obic_core.train import seg_loop

    data = tmp_path / "pairs"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    for i in range(4):
        img, m = synthetic_scene(40, 56, seed=i)
        cv2.imwrite(str(data / "images" / f"s{i}.png"), img[..., ::-1])
        cv2.imwrite(str(data / "masks" / f"s{i}.png"), m.astype(np.uint8) * 255)
    p = argparse.ArgumentParser()
    seg_loop.add_arguments(p)
    base = [
        "--data",
        str(data),
        "--run-dir",
        str(tmp_path / "run"),
        "--batch",
        "2",
        "--crop",
        "32",
        "--long-side",
        "48",
        "--width",
        "0.125",
        "--export",
        str(tmp_path / "w.safetensors"),
    ]
    seg_loop.run(p.parse_args(base + ["--steps", "2"]))
    seg_loop.run(p.parse_args(base + ["--steps", "3", "--resume"]))
    from safetensors import safe_open

    with safe_open(str(tmp_path / "run" / "last.safetensors"), "pt") as f:
        meta = json.loads(f.metadata()["meta"])
    assert meta["step"] == 3
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 4  # header + 3 steps


@pytest.mark.dataset
def test_shipped_network_on_validation_pairs(shared_dir):
    from obic_core.datasets import validation_pairs
    from obic_core.imageio import read_image, read_mask
    from obic_core.segmentation.predict import DEFAULT_WEIGHTS, predict_mask

    if not DEFAULT_WEIGHTS.exists():
        pytest.skip("no shipped segmentation weights")
    pairs = validation_pairs()[::25]
    scores = []
    for pair in pairs:
        img = read_image(pair.image).pixels
        scores.append(iou(predict_mask(img, "net"), read_mask(pair.mask, img.shape[:2])))
    assert np.mean(scores) > 0.5
