"""Pinned outputs: committed `.obic` files (one per format version and layer mode) must keep
decoding to their committed pictures, and today's encoder must write exactly those bytes.

The files use a tiny seeded model committed in tests/golden (so they outlive retraining of the
shipped weights); ``tests/golden/make_golden.py`` regenerates them deliberately. A separate pin
holds the hash of one fixed encode with the shipped weights: when the weights change, update it
on purpose (``python tests/golden/make_golden.py --shipped``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from obic_core import bitstream
from obic_core.codec import decode, inspect
from obic_core.imageio import read_image

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
WEIGHTS = str(GOLDEN / "tiny.safetensors")
sys.path.insert(0, str(GOLDEN))
import make_golden  # noqa: E402


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_committed_file_decodes_to_its_committed_picture(name):
    data = (GOLDEN / name).read_bytes()
    entry = MANIFEST[name]
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], "the committed file itself changed"
    assert bitstream.parse(data).version == int(name[1]), "file name says the format version"
    dec = decode(data, device="cpu", weights=WEIGHTS)
    assert list(dec.layers) == entry["layers"]
    want = read_image(GOLDEN / name.replace(".obic", ".png")).pixels
    # g_s runs in float32: a CPU with other SIMD kernels may round a pixel the other way
    assert np.abs(dec.image.astype(int) - want.astype(int)).max() <= 1
    assert (dec.image == want).mean() > 0.999


@pytest.mark.parametrize("name", sorted(make_golden.CASES))
def test_todays_encoder_writes_the_committed_bytes(name):
    assert make_golden.encode_case(name) == (GOLDEN / name).read_bytes()


def test_v2_file_reports_its_quality_map():
    layout = inspect((GOLDEN / "v2_quality_map.obic").read_bytes())
    assert layout.version == 2 and layout.quality_map is not None
    assert layout.quality_map.min == 0.0 and layout.quality_map.max == 1.0
    assert 0.3 < layout.quality_map.mean < 0.7
    assert inspect((GOLDEN / "v1_two_layers.obic").read_bytes()).quality_map is None


def test_shipped_weights_encode_is_pinned():
    """Update deliberately when the weights change: python tests/golden/make_golden.py --shipped."""
    from obic_core.codec import load_codec

    pin = json.loads(make_golden.SHIPPED_PIN.read_text())
    assert load_codec(device="cpu").model_id == pin["model_id"], "shipped weights changed: re-pin on purpose"
    if make_golden.cpu_isa() != pin["isa"]:
        pytest.skip(
            f"pinned on {pin['isa']}; float32 kernels of this CPU ({make_golden.cpu_isa()}) may round otherwise"
        )
    data = make_golden.shipped_encode()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (pin["bytes"], pin["sha256"])
