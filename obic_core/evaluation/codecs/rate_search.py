"""Drive any codec to the largest file not above a target bpp, by real encodes.

Why a search and not a formula: no codec's size is a known function of its knob, and the
comparison is only fair if every file is as large as the budget allows and never larger.
The search needs only that file size grows with quality (mostly: the best file seen at or
below the target is kept, so a non-monotone step cannot push the answer over the target).
Between two bracketing encodes it interpolates log(size), which usually lands next to the
answer in one or two encodes where bisection needs six or seven, and falls back to bisection
whenever interpolation only nibbles at one end.
"""

from __future__ import annotations

import math

import numpy as np

from obic_core.errors import ObicInputError
from obic_core.evaluation.codecs.base import AT_BEST_SETTING, CodecAdapter, Encoded, check_cancel, check_image
from obic_core.progress import Cancel


def interpolate(codec: CodecAdapter, lo: float, hi: float, lo_bytes: int, hi_bytes: int, limit: float) -> float | None:
    """Quality where log(size) interpolated between the bracket's ends meets the target.

    None when the bracket does not straddle the limit (then the caller bisects).
    """
    if not (0 < lo_bytes <= limit < hi_bytes):
        return None
    aim = limit if codec.integer else limit * (1 - codec.tolerance / 2)
    t = (math.log(aim) - math.log(lo_bytes)) / (math.log(hi_bytes) - math.log(lo_bytes))
    q = codec.lerp(lo, hi, min(max(t, 0.0), 1.0))
    if codec.integer:
        q = math.floor(q)
        return min(max(q, lo + 1), hi - 1)
    margin = (hi - lo) * 0.01
    return min(max(q, lo + margin), hi - margin)


def largest_within(codec: CodecAdapter, image: np.ndarray, target_bpp: float, cancel: Cancel | None = None) -> Encoded:
    """Largest file of ``codec`` whose counted bpp is ≤ ``target_bpp``.

    If even the smallest setting is above the target, that smallest file comes back with
    ``reached=False``; if even the best setting fits below it, that file comes back marked
    ``extra[AT_BEST_SETTING]``. ``extra["search_encodes"]`` counts the encodes it took.
    """
    image = check_image(image)
    if not target_bpp > 0:
        raise ObicInputError(f"target bpp must be positive, got {target_bpp}")
    h, w = image.shape[:2]
    limit = target_bpp * h * w / 8.0
    tried: list[Encoded] = []

    def trial(q: float) -> Encoded:
        check_cancel(cancel)
        enc = codec.encode_at(image, q)
        tried.append(enc)
        return enc

    def done() -> Encoded:
        ok = [e for e in tried if e.bytes <= limit]
        if ok:
            best = max(ok, key=lambda e: (e.bytes, e.quality))
            if best.quality >= codec.q_max:
                best.extra[AT_BEST_SETTING] = True  # the file is below the target only because nothing is larger
        else:
            best = min(tried, key=lambda e: (e.bytes, e.quality))
            best.reached = False
        best.extra["search_encodes"] = len(tried)
        return best

    def good_enough(e: Encoded) -> bool:
        return not codec.integer and limit * (1 - codec.tolerance) <= e.bytes <= limit

    # invariant: the answer's quality lies in [lo, hi]; *_seen says an encode confirmed
    # that end (unconfirmed ends are the range's ends, tried last: the top of the range
    # is often the slowest encode and rarely needed)
    lo, hi = codec.q_min, codec.q_max
    lo_seen = hi_seen = False
    guess = codec.guess(image, target_bpp)
    q = None if guess is None else min(max(guess, codec.q_min), codec.q_max)
    while q is not None:  # walk from the guess until the target is bracketed
        e = trial(q)
        if good_enough(e):
            return done()
        if e.bytes <= limit:
            lo, lo_seen = q, True
        else:
            hi, hi_seen = q, True
        if (lo_seen and hi_seen) or len(tried) >= codec.max_steps:
            break
        q = codec.step(q, up=e.bytes <= limit)
    use_interpolation = True
    for _ in range(codec.max_steps):
        if (hi - lo <= 1) if codec.integer else (hi - lo <= 1e-3 * hi):
            break  # nothing left between the ends (size moves in steps, e.g. OpenJPEG's passes)
        width = hi - lo
        mid = codec.midpoint(lo, hi)
        if hi_seen and not lo_seen:
            # the smallest setting next: it either proves the target out of reach or
            # gives the interpolation its lower end
            mid = lo
            if trial(mid).bytes > limit:
                break
            lo_seen = True
            continue
        if use_interpolation and lo_seen and hi_seen:
            sizes = {e.quality: e.bytes for e in tried}
            mid = interpolate(codec, lo, hi, sizes[lo], sizes[hi], limit) or mid
        e = trial(mid)
        if e.bytes <= limit:
            lo, lo_seen = mid, True
            if good_enough(e):
                break
        else:
            hi, hi_seen = mid, True
        # interpolation that only nibbles at one end (false position) yields to bisection
        use_interpolation = hi - lo <= 0.5 * width
    if not lo_seen and all(e.quality != lo for e in tried):
        lo_seen = trial(lo).bytes <= limit  # the smallest setting fits, or nothing does
    if lo_seen and not hi_seen and hi == codec.q_max and all(e.quality != hi for e in tried):
        trial(hi)  # everything tried fits: maybe even the best setting does
    return done()
