"""Property tests of the entropy coder: whatever goes in comes back out."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from obic_core import range_coder as coding
from obic_core.nn.entropy import SCALE_LEVELS, Y_RANGE


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_latent_round_trip(data):
    n = data.draw(st.integers(0, 400))
    sym = data.draw(arrays(np.int64, n, elements=st.integers(-Y_RANGE, Y_RANGE)))
    idx = data.draw(arrays(np.int64, n, elements=st.integers(0, SCALE_LEVELS - 1)))
    split = data.draw(st.integers(0, n))
    enc = coding.LatentEncoder()
    enc.push(sym[:split], idx[:split])
    enc.push(sym[split:], idx[split:])
    dec = coding.LatentDecoder(enc.finish())
    out = np.concatenate([dec.pull(idx[:split]), dec.pull(idx[split:])])
    assert np.array_equal(out, sym)


def test_latent_cost_tracks_probability():
    """Likely symbols (small, with a wide scale) cost few bits; unlikely ones many."""
    rng = np.random.default_rng(0)
    idx = np.full(2000, 40)
    cheap = np.round(rng.normal(0, 1.0, 2000)).astype(np.int64)
    enc = coding.LatentEncoder()
    enc.push(cheap, np.full(2000, 20))
    small = len(enc.finish())
    enc = coding.LatentEncoder()
    enc.push(np.full(2000, 200), idx)
    assert small < len(enc.finish())


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_hyper_round_trip(data):
    c = data.draw(st.integers(1, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    lows = rng.integers(-8, 0, c)
    highs = lows + rng.integers(0, 12, c)
    width = int((highs - lows).max()) + 1
    probs = rng.random((c, width)) + 1e-3
    tables = coding.HyperTables(lows, highs, probs)
    n = data.draw(st.integers(0, 50))
    sym = np.stack([rng.integers(lows[i], highs[i] + 1, n) for i in range(c)])
    out = coding.decode_hyper(coding.encode_hyper(sym, tables), n, tables)
    assert np.array_equal(out, sym)


@settings(max_examples=40, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_mask_grid_round_trip(grid):
    assert np.array_equal(coding.decode_mask_grid(coding.encode_mask_grid(grid), grid.shape), grid)
