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


@pytest.mark.parametrize(("h", "w"), [(37, 53), (65, 33), (17, 17), (101, 64)])
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


def coloured_scene(h: int = 90, w: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Pure red object on pure blue background: a pixel's colour says which label it must have."""
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 4, h // 3), 30, 0, 360, 1, -1)
    img = np.zeros((h, w, 3), np.uint8)
    img[mask == 1] = (255, 0, 0)
    img[mask == 0] = (0, 0, 255)
    return img, mask


@pytest.mark.parametrize("strong", [True, False])
def test_augmentation_keeps_image_and_mask_aligned(strong):
    from obic_core.train.seg_loop import IGNORE, PAD_RGB, SegSampler

    img, mask = coloured_scene()
    sampler = SegSampler([(img, mask)], crop=64, seed=3, strong=strong)
    kernel = np.ones((3, 3), np.uint8)  # linear resampling blends up to ~2 px across an edge
    seen_pad = seen_fg = 0
    for _ in range(60):
        a, m = sampler._geometry(img, mask)
        assert a.shape == (64, 64, 3) and a.dtype == np.uint8 and m.shape == (64, 64) and m.dtype == np.uint8
        assert set(np.unique(m)) <= {0, 1, IGNORE}
        # away from label edges (interpolation blends colours there) the colour must match the label
        for label, colour in ((1, (255, 0, 0)), (0, (0, 0, 255)), (IGNORE, PAD_RGB)):
            inner = cv2.erode((m == label).astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
            assert np.abs(a[inner].astype(int) - colour).max(initial=0) <= 8, label
        seen_pad += int((m == IGNORE).any())
        seen_fg += int((m == 1).any())
    assert seen_fg > 30  # the crops do contain the object...
    if strong:
        assert seen_pad > 0  # ...and down-scaling / rotation pads with ignored pixels


def test_copy_paste_labels_exactly_the_pasted_object():
    from obic_core.train.seg_loop import SegSampler

    donor, donor_mask = coloured_scene()  # red object on blue
    base = np.full((64, 64, 3), (0, 255, 0), np.uint8)  # green, all background
    sampler = SegSampler([(donor, donor_mask)], crop=64, seed=5, paste_p=1.0)
    kernel = np.ones((5, 5), np.uint8)  # the pasted edge is feathered over ~2 px
    pasted = 0
    for _ in range(30):
        img, m = sampler._paste(base, np.zeros((64, 64), np.uint8))
        assert img.shape == base.shape and img.dtype == np.uint8 and set(np.unique(m)) <= {0, 1}
        inner_fg = cv2.erode((m == 1).astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        inner_bg = cv2.erode((m == 0).astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1) > 0
        # the donor's object (where a second paste overlaps the first, its cut edge keeps a thin
        # fringe of resampled donor colour, as any real cut-out does)
        off = np.abs(img[inner_fg].astype(int) - (255, 0, 0)).max(axis=1)
        assert (off <= 40).mean() >= 0.95 if off.size else True
        assert np.abs(img[inner_bg].astype(int) - (0, 255, 0)).max(initial=0) <= 40  # the base untouched
        pasted += int(m.any())
    assert pasted > 20


@pytest.mark.parametrize("side", [224, 160, 301])
def test_resized_mask_stays_centred_on_the_resized_image(side):
    # Regression: cv2.INTER_NEAREST maps output pixel i to input floor(i / s) (no half-pixel
    # centre), which shifted every training mask ~0.4 px right/down of its image.
    from obic_core.train.seg_loop import resize_long

    mask = np.zeros((300, 400), np.uint8)
    cv2.circle(mask, (200, 150), 80, 1, -1)
    img = np.repeat(mask[..., None] * 255, 3, axis=2)
    small_img = resize_long(img, side)[..., 0].astype(float)
    small_mask = resize_long(mask, side, nearest=True)
    yy, xx = np.mgrid[: small_mask.shape[0], : small_mask.shape[1]]
    for grid in (xx, yy):
        shift = grid[small_mask > 0].mean() - (grid * small_img).sum() / small_img.sum()
        assert abs(shift) < 0.2


def test_batch_shapes_and_photometric_range():
    from obic_core.train.seg_loop import SegSampler

    img, mask = synthetic_scene(50, 70)
    sampler = SegSampler([(img, mask.astype(np.uint8))] * 3, crop=32, seed=0)
    x, y = sampler.batch(5)
    assert x.shape == (5, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (5, 1, 32, 32)
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    photo = [sampler._photometric(img) for _ in range(20)]
    assert all(p.shape == img.shape and 0 <= p.min() and p.max() <= 255 for p in photo)
    assert np.std([p.mean() for p in photo]) > 1  # jitter does change the image


def test_lovasz_hinge_zero_when_right_and_ignores_void_pixels():
    from obic_core.train.seg_loop import IGNORE, seg_loss

    torch.manual_seed(0)
    y = (torch.rand(2, 1, 20, 20) > 0.5).to(torch.uint8)
    right = (y.float() * 2 - 1) * 3  # |logit| > 1 on the right side: no hinge error
    assert float(seg_loss(right, y, "bce+lovasz")) < 0.1
    wrong = -right
    assert float(seg_loss(wrong, y, "bce+lovasz")) > 3
    void = y.clone()
    void[:, :, :5] = IGNORE
    noisy = right.clone()
    noisy[:, :, :5] = torch.randn(2, 1, 5, 20) * 10  # anything at ignored pixels
    assert torch.isclose(seg_loss(noisy, void, "bce+lovasz"), seg_loss(right, void, "bce+lovasz"))
    logits = torch.zeros(2, 1, 20, 20, requires_grad=True)
    seg_loss(logits, y, "bce+lovasz").backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="unknown segmentation loss 'focal'"):
        seg_loss(logits, y, "focal")


def test_cosine_schedule_warms_up_and_anneals():
    from obic_core.train.seg_loop import lr_at

    args = argparse.Namespace(lr=1e-3, steps=1000, minutes=0, warmup=100, schedule="cosine")
    lrs = [lr_at(args, s, 0.0) for s in range(1000)]
    assert lrs[0] < 2e-5 and max(lrs) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 0.1)), rel=0.01)
    assert int(np.argmax(lrs)) < 110
    assert all(a >= b for a, b in zip(lrs[110:], lrs[111:], strict=False))
    assert lrs[-1] < 1e-5
    timed = argparse.Namespace(lr=1e-3, steps=10**6, minutes=10, warmup=1, schedule="cosine")
    assert lr_at(timed, 500, 300.0) == pytest.approx(0.5e-3, rel=0.01)  # half the minutes: half the lr


def write_pairs(folder, n: int, seed: int = 0) -> None:
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for i in range(n):
        img, m = synthetic_scene(40, 56, seed=seed + i)
        cv2.imwrite(str(folder / "images" / f"s{i}.png"), img[..., ::-1])
        cv2.imwrite(str(folder / "masks" / f"s{i}.png"), m.astype(np.uint8) * 255)


def test_training_holds_out_a_source_and_warm_starts(tmp_path):
    from obic_core.train import seg_loop
    from obic_core.weights import load_weights

    write_pairs(tmp_path / "a", 4)
    write_pairs(tmp_path / "b", 3, seed=10)
    init = tiny_weights(tmp_path)
    p = argparse.ArgumentParser()
    seg_loop.add_arguments(p)
    common = ["--run-dir", str(tmp_path / "run"), "--batch", "2", "--crop", "32", "--long-side", "48"]
    common += ["--export", str(tmp_path / "w.safetensors"), "--val-every", "2"]
    with pytest.raises(ValueError, match="both"):
        seg_loop.run(p.parse_args(["--data", str(tmp_path / "a"), "--holdout", str(tmp_path / "a"), *common]))
    args = ["--data", str(tmp_path / "a"), "--holdout", str(tmp_path / "b"), "--init-from", str(init), *common]
    seg_loop.run(p.parse_args([*args, "--steps", "2", "--lr", "0"]))
    snap = tmp_path / "run" / "snap_000002.safetensors"
    assert snap.is_file()
    from safetensors import safe_open

    with safe_open(str(snap), "pt") as f:
        val = json.loads(f.metadata()["val"])
        assert DeepLabConfig.from_dict(json.loads(f.metadata()["config"])) == TINY  # the init's config, not --width
    assert val["sources"]["holdout:b"]["n"] == 3  # every pair of the held-out source is scored
    start = load_weights(init).state
    with safe_open(str(snap), "pt") as f:  # lr 0: the weights are still the warm start's
        w = f.get_tensor("classifier.weight")
    assert torch.allclose(w, start["classifier.weight"], atol=1e-3)
