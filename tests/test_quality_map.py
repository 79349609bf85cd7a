"""Per-block quality maps: the grid rules, the v2 sub-stream, encode/decode and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from obic_core import bitstream
from obic_core import quality_map as qm
from obic_core.codec import EncodeSettings, decode, encode, encode_detailed, extract, inspect
from obic_core.errors import ObicFormatError, ObicInputError


def test_block_steps_average_each_padded_block_onto_the_6_bit_grid():
    q = np.zeros((20, 40))
    q[:, :16] = 1.0  # first block column fully 1
    q[:, 16:24] = 1.0  # second block column half 1
    steps = qm.block_steps(q)
    assert steps.shape == (4, 4)  # padded to 64×64
    assert steps[0, 0] == 60 and steps[0, 1] == 30 and steps[0, 2] == 0
    assert (qm.block_steps(np.full((5, 5), 255, np.uint8)) == 60).all(), "uint8 maps are 0..255"
    with pytest.raises(ObicInputError):
        qm.block_steps(np.full((5, 5), np.nan))


def test_label_map_gives_each_object_its_quality():
    lab = np.zeros((10, 10), np.uint8)
    lab[:5] = 1
    lab[5:, :5] = 2
    q = qm.label_quality_map(lab, [0.9, 0.4], 0.1)
    assert q[0, 0] == 0.9 and q[9, 0] == 0.4 and q[9, 9] == 0.1
    with pytest.raises(ObicInputError, match="2 objects but 0"):
        qm.label_quality_map(lab, [], 0.1)
    assert qm.parse_qualities("0.9, 0.5") == [0.9, 0.5]
    with pytest.raises(ObicInputError):
        qm.parse_qualities("0.9,2")


def test_quality_payload_round_trips_and_refuses_damage():
    steps = np.random.default_rng(0).integers(0, 61, (7, 9)).astype(np.uint8)
    payload = bitstream.pack_quality_map(steps)
    assert np.array_equal(bitstream.unpack_quality_map(payload, (7, 9)), steps)
    with pytest.raises(ObicFormatError, match="wrong size"):
        bitstream.unpack_quality_map(payload, (7, 10))
    with pytest.raises(ObicFormatError, match="damaged"):
        bitstream.unpack_quality_map(b"\x00garbage", (7, 9))
    import zlib

    with pytest.raises(ObicFormatError, match="outside 0..60"):
        bitstream.unpack_quality_map(zlib.compress(bytes([61]) * 63), (7, 9))


def test_v1_header_may_not_carry_a_quality_stream(small_image):
    q = np.ones(small_image.shape[:2])
    data = bytearray(encode(small_image, None, EncodeSettings(quality_map=q, device="cpu")))
    assert data[4] == 2
    data[4] = 1  # claim version 1: kind 4 is unknown there (header CRC fixed up)
    c = bitstream.parse(bytes(data[:4]) + bytes([2]) + bytes(data[5:]))
    assert c.version == 2
    import struct
    import zlib

    pos = c.header_bytes - 4
    head = bytearray(data[:pos])
    head[4] = 1
    forged = bytes(head) + struct.pack("<I", zlib.crc32(head)) + bytes(data[pos + 4 :])
    with pytest.raises(ObicFormatError, match="kind 4 for a version-1 file"):
        bitstream.parse(forged)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 150),
    w=st.integers(1, 150),
    seed=st.integers(0, 2**31 - 1),
)
def test_a_stored_block_map_turns_back_into_the_same_blocks(h, w, seed):
    from obic_core.rules import grid_shape

    image = np.zeros((h, w, 3), np.uint8)
    steps = np.random.default_rng(seed).integers(0, 61, size=grid_shape(h, w), dtype=np.uint8)
    assert np.array_equal(qm.image_block_steps(qm.pixel_map(steps), image), steps)
    painted = np.random.default_rng(seed).random((h, w))
    assert qm.image_block_steps(painted, image).shape == steps.shape
    for wrong in (np.ones((h + 1, w)), np.ones((h, w, 3)), np.ones((h * 3 + 64, 2))):
        with pytest.raises(ObicInputError):
            qm.image_block_steps(wrong, image)


def test_the_split_views_obic_side_keeps_the_encodes_painted_map(small_image, small_mask):
    """Re-encoding OBIC for one split side (obic_gui.tasks.encode_side) starts from the map in
    the encode's file: same block differences, moved to the side's quality."""
    from obic_gui import tasks

    h, w = small_image.shape[:2]
    ramp = np.tile(np.linspace(0.1, 0.7, w), (h, 1))
    data = encode(small_image, small_mask, EncodeSettings(quality_map=ramp, device="cpu"))
    stored = tasks._stored_steps(data)
    assert stored is not None
    side = dict(
        image=small_image,
        mask=small_mask,
        codec="obic",
        target_bpp=0.3,
        object_quality=0.8,
        background_quality=0.2,
        device="cpu",
        progress=lambda *a: None,
        cancel=lambda: False,
    )
    fig = tasks.encode_side(quality=0.9, obic_data=data, **side)
    moved = tasks._stored_steps(fig.data)
    assert moved is not None and int(moved.max()) == 54  # q 0.9 on the 1/60 grid
    assert np.array_equal(moved.astype(int) - stored.astype(int), np.full(stored.shape, 54 - int(stored.max())))
    plain = tasks.encode_side(quality=0.9, obic_data=None, **side)
    assert tasks._stored_steps(plain.data) is None, "no map in the encode: the two qualities, a v1 file"
    sized = tasks.encode_side(quality=None, obic_data=data, **side)
    assert sized.bpp <= 0.3 and tasks._stored_steps(sized.data) is not None
    # the RD sweep's OBIC point with that painted map is the same file as the side at that rate
    quiet = dict(progress=lambda *a: None, cancel=lambda: False)
    swept = tasks.sweep(small_image, small_mask, (0.3,), ("obic",), 0.8, 0.2, "cpu", quality_map=ramp, **quiet)
    (point,) = swept.curves["obic"]
    assert point.bpp == pytest.approx(sized.bpp) and point.psnr == pytest.approx(sized.psnr)


def test_left_half_map_is_sharper_and_sized_between_the_uniform_files(small_image):
    h, w = small_image.shape[:2]
    half = 96
    left = np.zeros((h, w))
    left[:, :half] = 1.0
    sizes, recs = {}, {}
    for name, q in {"zero": np.zeros((h, w)), "left": left, "one": np.ones((h, w))}.items():
        data = encode(small_image, None, EncodeSettings(quality_map=q, device="cpu"))
        sizes[name] = len(data)
        recs[name] = decode(data, device="cpu").image.astype(float)
    assert sizes["zero"] < sizes["left"] < sizes["one"]
    err = (recs["left"] - small_image) ** 2
    psnr_l = 10 * np.log10(255**2 / err[:, :half].mean())
    psnr_r = 10 * np.log10(255**2 / err[:, half:].mean())
    assert psnr_l > psnr_r + 2.0, (psnr_l, psnr_r)


def test_target_bpp_shifts_the_whole_map(small_image):
    h, w = small_image.shape[:2]
    ramp = np.tile(np.linspace(0, 1, w), (h, 1))
    target = 0.3
    res = encode_detailed(small_image, None, EncodeSettings(quality_map=ramp, target_bpp=target, device="cpu"))
    assert res.reached and len(res.data) * 8 / (h * w) <= target
    info = inspect(res.data).quality_map
    assert info is not None and info.max - info.min > 0.3, "shifted, not flattened"
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ObicInputError):
            encode_detailed(small_image, None, EncodeSettings(target_bpp=bad, device="cpu"))


def test_extracted_layer_keeps_the_map(small_image, small_mask):
    q = np.where(small_mask, 0.9, 0.2)
    q[:, :30] = 0.5
    data = encode(small_image, small_mask, EncodeSettings(quality_map=q, device="cpu"))
    obj = extract(data, "object")
    assert inspect(obj).quality_map is not None
    c_full, c_obj = bitstream.parse(data), bitstream.parse(obj)
    assert c_obj.streams["quality"] == c_full.streams["quality"] and "background" not in c_obj.streams
    part = decode(obj, device="cpu", layers=("object",))
    assert part.layers == ("object",) and part.alpha is not None and (part.alpha > 0).any()


def test_cli_objects_and_quality_map(tmp_path, small_image):
    img = tmp_path / "in.png"
    Image.fromarray(small_image).save(img)
    h, w = small_image.shape[:2]
    lab = np.zeros((h, w), np.uint8)
    lab[20:70, 20:90] = 1
    lab[80:130, 110:190] = 2
    Image.fromarray(lab).save(tmp_path / "labels.png")
    out = tmp_path / "o.obic"
    cmd = [sys.executable, "-m", "obic_core.cli", "encode", str(img), "-o", str(out), "--device", "cpu"]
    r = subprocess.run(
        cmd + ["--objects", str(tmp_path / "labels.png"), "--object-quality", "1.0,0.5", "--background-quality", "0"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "2 object(s)" in r.stderr
    info = json.loads(
        subprocess.run([sys.executable, "-m", "obic_core.cli", "info", str(out), "--json"], capture_output=True).stdout
    )
    assert info["version"] == 2 and info["quality_map"]["max"] == 1.0 and info["quality_map"]["min"] == 0.0
    steps = bitstream.unpack_quality_map(bitstream.parse(out.read_bytes()).streams["quality"], (12, 16))
    assert steps[2, 2] == 60 and steps[6, 9] == 30 and steps[11, 15] == 0
    r = subprocess.run(cmd + ["--mask", "none", "--object-quality", "0.9,0.5"], capture_output=True, text=True)
    assert r.returncode == 2 and "--objects" in r.stderr


def test_effort_max_keeps_the_format_and_never_worsens_the_objective(small_image):
    """max refines y; the file decodes with the same decoder and the trained objective is no worse."""
    import torch

    from obic_core.codec import _Prepared, load_codec

    s = EncodeSettings(0.5, 0.5, device="cpu")
    default = encode(small_image, None, s)
    assert encode(small_image, None, EncodeSettings(0.5, 0.5, device="cpu", effort="fast")) == default
    best = encode(small_image, None, EncodeSettings(0.5, 0.5, device="cpu", effort="max"))
    assert best == encode(small_image, None, EncodeSettings(0.5, 0.5, device="cpu", effort="max")), "deterministic"
    assert decode(best, device="cpu").image.shape == small_image.shape

    eng = load_codec(device="cpu")

    def objective(data):
        """The trained objective of a file (below 161 px MS-SSIM is off): a(q)·bpp + w(q)·MSE."""
        prep = _Prepared(eng, small_image, np.ones(small_image.shape[:2], bool))
        rec = decode(data, device="cpu").image.astype(np.float64) / 255
        x = prep.x[..., : small_image.shape[0], : small_image.shape[1]]
        mse = float(((torch.from_numpy(rec).permute(2, 0, 1)[None] - x) ** 2).mean())
        return len(data) * 8 / small_image[..., 0].size * 512**0.5 + 1500 * 2**0.5 * mse

    assert objective(best) <= objective(default) * 1.001
    with pytest.raises(ObicInputError, match="unknown effort"):
        encode(small_image, None, EncodeSettings(device="cpu", effort="huge"))
