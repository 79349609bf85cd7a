"""Metrics against known values: every codec comparison rests on these numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obic_core.evaluation import metrics

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gray(h: int = 192, w: int = 256, value: int = 128) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def _textured(h: int = 192, w: int = 256, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([np.sin(xx / 9.0), np.cos(yy / 7.0), np.sin((xx + yy) / 13.0)], -1)
    return ((base * 0.35 + 0.5 + rng.normal(0, 0.03, base.shape)).clip(0, 1) * 255).astype(np.uint8)


def test_identical_images_are_perfect():
    img = _textured()
    assert metrics.psnr(img, img) == math.inf
    assert metrics.ms_ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    m = metrics.image_metrics(img, img, np.ones(img.shape[:2], bool))
    assert m["psnr"] == m["object_psnr"] == math.inf
    assert m["background_psnr"] is None  # empty region: undefined, not perfect
    assert m["object_ms_ssim"] == pytest.approx(1.0, abs=1e-12)


def test_known_error_gives_exact_psnr():
    ref = _gray()
    test = ref.copy()
    test[::2] += 5  # |error| = 5 on half the rows, 0 elsewhere
    test[1::2] -= 5  # ... and the other half: MSE = 25 exactly
    assert metrics.mse(ref, test) == pytest.approx(25.0)
    assert metrics.psnr(ref, test) == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-9)


def test_gaussian_noise_matches_its_variance():
    rng = np.random.default_rng(1)
    ref = _gray(512, 512)
    sigma = 10.0
    noisy = np.clip(np.round(ref + rng.normal(0, sigma, ref.shape)), 0, 255).astype(np.uint8)
    # rounding adds 1/12 to the variance; no clipping happens around mid-gray at sigma 10
    expected = 10 * math.log10(255**2 / (sigma**2 + 1 / 12))
    assert metrics.psnr(ref, noisy) == pytest.approx(expected, abs=0.05)


def test_masked_psnr_splits_object_and_background():
    ref = _gray()
    mask = np.zeros(ref.shape[:2], bool)
    mask[40:120, 60:200] = True
    test = ref.copy()
    test[mask] += 10  # error only inside the object
    m = metrics.image_metrics(ref, test, mask)
    assert m["object_psnr"] == pytest.approx(10 * math.log10(255**2 / 100))
    assert m["background_psnr"] == math.inf
    frac = mask.mean()
    assert m["psnr"] == pytest.approx(10 * math.log10(255**2 / (100 * frac)))
    assert metrics.psnr(ref, test, np.zeros_like(mask)) is None


def test_ms_ssim_falls_with_noise_and_handles_small_images():
    ref = _textured()
    rng = np.random.default_rng(2)
    scores = []
    for sigma in (2, 8, 30):
        noisy = np.clip(ref + rng.normal(0, sigma, ref.shape), 0, 255).astype(np.uint8)
        scores.append(metrics.ms_ssim(ref, noisy))
    assert 1 > scores[0] > scores[1] > scores[2] > 0
    small = _textured(100, 120)
    assert metrics.ms_ssim(small, small) == pytest.approx(1.0)  # smaller window, still scored
    tiny = _textured(20, 40)
    assert metrics.ms_ssim(tiny, tiny) is None  # 5 scales cannot fit


def test_object_bbox_grows_to_ms_ssim_size_inside_the_image():
    mask = np.zeros((300, 400), bool)
    mask[5:25, 380:395] = True  # small object in a corner
    t, l, b, r = metrics.mask_bbox(mask)
    assert (b - t, r - l) == (161, 161)
    assert 0 <= t and b <= 300 and 0 <= l and r <= 400
    assert t <= 5 and b >= 25 and l <= 380 and r >= 395
    assert metrics.mask_bbox(np.zeros((10, 10), bool)) is None
    big = np.zeros((100, 120), bool)
    big[10:20, 10:20] = True
    assert metrics.mask_bbox(big) == (0, 0, 100, 120)  # image smaller than 161: whole


def test_object_ms_ssim_only_sees_the_box():
    ref = _textured(300, 400)
    mask = np.zeros(ref.shape[:2], bool)
    mask[100:200, 100:200] = True
    test = ref.copy()
    test[:, 300:] = 0  # damage far from the object box
    assert metrics.object_ms_ssim(ref, test, mask) == pytest.approx(1.0)
    assert metrics.ms_ssim(ref, test) < 0.99
    assert metrics.object_ms_ssim(ref, test, None) is None


def test_bpp_and_db_helpers():
    assert metrics.bpp(49152, 512, 768) == pytest.approx(1.0)
    assert metrics.ms_ssim_db(0.99) == pytest.approx(20.0)
    assert metrics.ms_ssim_db(1.0) == math.inf
    assert metrics.ms_ssim_db(None) is None


def test_timed_returns_the_result_and_the_clock_difference(monkeypatch):
    clock = iter([100.0, 102.5])  # perf_counter before and after the call
    monkeypatch.setattr(metrics.time, "perf_counter", lambda: next(clock))
    value, seconds = metrics.timed(lambda: 42)
    assert value == 42 and seconds == 2.5


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="images differ in shape"):
        metrics.psnr(_gray(10, 10), _gray(10, 12))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_psnr_is_symmetric_and_consistent_with_mse(seed, amplitude):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-amplitude, amplitude + 1, a.shape), 0, 255).astype(np.uint8)
    assert metrics.psnr(a, b) == metrics.psnr(b, a)
    err = metrics.mse(a, b)
    assert metrics.psnr(a, b) == (math.inf if err == 0 else pytest.approx(10 * math.log10(255**2 / err)))
