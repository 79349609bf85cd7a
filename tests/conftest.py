"""Shared fixtures. Tests that need ../shared/data skip with a clear reason without it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "resources" / "samples"


def shared_data() -> Path | None:
    from obic_core.datasets import shared_data_dir

    return shared_data_dir()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    d = shared_data()
    if d is None:
        pytest.skip("../shared/data is not present on this machine (dataset test)")
    return d


@pytest.fixture(scope="session")
def sample_photo() -> np.ndarray:
    from obic_core.imageio import read_image

    return read_image(SAMPLES / "coco_000000000074.jpg").pixels


@pytest.fixture(scope="session")
def small_image(sample_photo) -> np.ndarray:
    """A 136×200 crop (sides deliberately not multiples of 64) of a real photo."""
    return np.ascontiguousarray(sample_photo[200:336, 180:380])


@pytest.fixture(scope="session")
def small_mask(small_image) -> np.ndarray:
    h, w = small_image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    return ((yy - h / 2) ** 2 / (h / 3) ** 2 + (xx - w / 2) ** 2 / (w / 3) ** 2) < 1


@pytest.fixture(scope="session")
def engine():
    from obic_core.codec import load_codec

    return load_codec(device="cpu")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread: MS-SSIM's small convolutions only lose from oversubscribed cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def obic_weights(tmp_path_factory):
    """The shipped weights when present, else a tiny randomly initialised model: enough to
    exercise the adapters (rates and qualities are meaningless with it)."""
    from obic_core.weights import DEFAULT_CODEC

    if DEFAULT_CODEC.exists():
        return None
    import torch

    from obic_core.nn.model import LearntOBIC, ModelConfig
    from obic_core.weights import save_weights

    torch.manual_seed(0)
    cfg = ModelConfig(N=8, M=16, Nh=8, levels=3, name="test-random")
    path = tmp_path_factory.mktemp("weights") / "random.safetensors"
    save_weights(LearntOBIC(cfg).state_dict(), path, {"config": cfg.to_dict()})
    return str(path)
