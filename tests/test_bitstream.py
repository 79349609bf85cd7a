"""The container: round trips, and every damaged variant is refused with ObicFormatError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obic_core import bitstream
from obic_core.errors import ObicFormatError

streams_st = st.fixed_dictionaries(
    {"mask": st.binary(min_size=5, max_size=40)},
    optional={"object": st.binary(max_size=200), "background": st.binary(max_size=200)},
)


def make(streams, w=100, h=60, name="m"):
    return bitstream.Container(w, h, 0.5, 0.25, b"\x01" * 8, name, dict(streams))


@settings(max_examples=80, deadline=None)
@given(
    streams_st,
    st.integers(1, 30000),
    st.integers(1, 30000),
    st.text(min_size=1, max_size=20),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_round_trip(streams, w, h, name, qo, qb):
    if len(name.encode()) > 64:
        return
    c = bitstream.Container(w, h, qo, qb, b"abcdefgh", name, dict(streams))
    back = bitstream.parse(bitstream.serialize(c))
    assert (back.width, back.height, back.model_name, back.model_id) == (w, h, name, b"abcdefgh")
    assert back.streams == streams
    assert abs(back.object_quality - qo) <= 1 / 65535 and abs(back.background_quality - qb) <= 1 / 65535


@settings(max_examples=60, deadline=None)
@given(streams_st, st.data())
def test_every_truncation_is_refused(streams, data):
    blob = bitstream.serialize(make(streams))
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(ObicFormatError):
        bitstream.parse(blob[:cut])


@settings(max_examples=150, deadline=None)
@given(streams_st, st.data())
def test_every_single_byte_change_is_refused(streams, data):
    blob = bytearray(bitstream.serialize(make(streams)))
    pos = data.draw(st.integers(0, len(blob) - 1))
    blob[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ObicFormatError):
        bitstream.parse(bytes(blob))


def test_trailing_bytes_and_foreign_files():
    blob = bitstream.serialize(make({"mask": b"\x01" + b"\0" * 4}))
    with pytest.raises(ObicFormatError, match="unexpected bytes"):
        bitstream.parse(blob + b"x")
    for foreign in (b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"OBI", "text"):
        with pytest.raises(ObicFormatError):
            bitstream.parse(foreign)


def test_size_caps_checked_before_allocation():
    blob = bytearray(bitstream.serialize(make({"mask": b"\x01" + b"\0" * 4})))
    blob[6:10] = (30_001).to_bytes(4, "little")
    with pytest.raises(ObicFormatError, match="outside"):
        bitstream.parse(bytes(blob))


def test_full_mask_payload_round_trip():
    full = np.random.default_rng(1).random((37, 53)) > 0.5
    payload = bitstream.pack_mask(bitstream.MASK_CODED, b"abcd", full)
    mode, grid, back = bitstream.unpack_mask(payload, True, full.shape)
    assert mode == bitstream.MASK_CODED and grid == b"abcd" and np.array_equal(back, full)
