"""On a real Kodak photo with a hand-drawn mask (dataset test: skips without ../shared)."""

from __future__ import annotations

import pytest

from bench.quality_sweep import parrot_mask, sweep
from obic_core.imageio import read_image

pytestmark = pytest.mark.dataset


def test_object_quality_moves_only_the_object(shared_dir):
    image = read_image(shared_dir / "kodak" / "kodim23.png").pixels
    mask = parrot_mask()
    rows = sweep(image, mask, 0.3, [0.1, 0.5, 0.9])
    obj = [r["object_bytes"] for r in rows]
    psnr = [r["object_psnr"] for r in rows]
    bkg = [r["background_bytes"] for r in rows]
    assert obj[0] < obj[1] < obj[2]
    assert psnr[0] < psnr[1] < psnr[2]
    assert (max(bkg) - min(bkg)) <= 0.05 * max(bkg)
