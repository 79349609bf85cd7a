"""The live size estimate follows real encodes (same entropy model, no range coding)."""

from __future__ import annotations

import numpy as np
import pytest

from obic_core import quality_map as qm
from obic_core.codec import EncodeSettings, encode
from obic_core.rate_estimate import RateEstimator


@pytest.fixture(scope="module")
def estimator(small_image, small_mask):
    return RateEstimator(small_image, small_mask, device="cpu")


@pytest.mark.parametrize(("qo", "qb"), [(0.9, 0.2), (0.5, 0.5), (0.0, 0.0)])
def test_estimate_is_within_3_percent_of_the_real_file(estimator, small_image, small_mask, qo, qb):
    est = estimator.estimate(np.where(estimator.lat, qo, qb))
    real = len(encode(small_image, small_mask, EncodeSettings(qo, qb, device="cpu")))
    assert abs(est.total_bytes - real) <= 0.03 * real + 8, (est.total_bytes, real)
    assert est.block_bits.sum() == pytest.approx(sum(est.layer_bytes.values()) * 8, rel=1e-6)


def test_painted_map_estimate_counts_the_map_and_follows_the_paint(estimator, small_image, small_mask):
    rows, cols = estimator.lat.shape
    ramp = np.tile(np.linspace(0, 1, cols), (rows, 1))
    qpx = np.repeat(np.repeat(ramp, 16, 0), 16, 1)[: small_image.shape[0], : small_image.shape[1]]
    est = estimator.estimate(qm.to_quality(qm.block_steps(qpx)))  # the grid the encoder derives
    real = len(encode(small_image, small_mask, EncodeSettings(quality_map=qpx, device="cpu")))
    assert abs(est.total_bytes - real) <= 0.03 * real + 8
    left = np.zeros((rows, cols), bool)
    left[:, : cols // 2] = True
    assert est.share(~left) > est.share(left), "the high-quality half costs more bits"
    with pytest.raises(ValueError, match="quality grid must be"):
        estimator.estimate(np.zeros((rows + 1, cols)))


def test_a_stroke_in_one_layer_reprices_only_that_layer_and_matches_a_fresh_estimate(small_image, small_mask):
    """The per-layer cache is exact: the reused layer's bits equal a from-scratch estimate."""
    warm = RateEstimator(small_image, small_mask, device="cpu")
    lat = warm.lat
    first = np.where(lat, 0.8, 0.2)
    warm.estimate(first)
    object_entry = warm._cache["object"]
    stroke = first.copy()
    stroke[~lat] = np.linspace(0.0, 0.5, int((~lat).sum()))  # paint the background only
    after = warm.estimate(stroke)
    assert warm._cache["object"] is object_entry, "the object layer was priced again"
    assert warm._cache["background"] is not None and warm._cache["background"][0] != object_entry[0]
    fresh = RateEstimator(small_image, small_mask, device="cpu").estimate(stroke)
    assert after.total_bytes == fresh.total_bytes
    assert after.layer_bytes == pytest.approx(fresh.layer_bytes, rel=1e-9)
    np.testing.assert_allclose(after.block_bits, fresh.block_bits)
