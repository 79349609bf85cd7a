"""One progress signature: every core call reports ``progress(stage: str, fraction: float)``."""

from __future__ import annotations

import numpy as np
import pytest

from obic_core.progress import ignore_progress, sub_range

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sub_range_maps_clips_and_names_the_stage():
    calls: list[tuple[str, float]] = []
    inner = sub_range(lambda s, f: calls.append((s, f)), 0.2, 0.6, "Encoding OBIC")
    inner("coding", 0.5)
    inner("", 0.0)
    inner("late", 1.7)  # a sub-call cannot push the outer bar past its share
    inner("early", -1.0)
    assert calls == [
        ("Encoding OBIC: coding", pytest.approx(0.4)),
        ("Encoding OBIC", pytest.approx(0.2)),
        ("Encoding OBIC: late", pytest.approx(0.6)),
        ("Encoding OBIC: early", pytest.approx(0.2)),
    ]
    plain: list[tuple[str, float]] = []
    sub_range(lambda s, f: plain.append((s, f)), 0.0, 0.5)("jpeg", 1.0)
    assert plain == [("jpeg", 0.5)]


def test_sub_range_of_no_callback_is_silent():
    assert sub_range(None, 0.0, 1.0, "x") is ignore_progress
    ignore_progress("anything", 0.5)  # accepts the one signature and does nothing


def _checked(calls: list[tuple]) -> list[str]:
    """Each call is (str, float) in [0, 1], fractions never go back, the last is ("done", 1.0)."""
    assert calls, "no progress was reported"
    for stage, fraction in calls:
        assert isinstance(stage, str) and isinstance(fraction, float), (stage, fraction)
        assert 0.0 <= fraction <= 1.0, (stage, fraction)
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions), fractions
    assert calls[-1] == ("done", 1.0)
    return [s for s, _ in calls]


def test_encode_reports_stage_and_fraction(small_image, small_mask):
    from obic_core import codec

    calls: list[tuple] = []
    codec.encode(
        small_image,
        small_mask,
        codec.EncodeSettings(target_bpp=0.3, device="cpu"),
        progress=lambda *args: calls.append(args),
    )
    stages = _checked(calls)
    assert "analysing the image" in stages
    assert stages.count("coding") >= 3, stages  # the start of coding and the bisection steps


def test_max_effort_reports_the_refinement_in_the_same_form(small_image):
    from obic_core import codec

    crop = np.ascontiguousarray(small_image[:64, :64])
    calls: list[tuple] = []
    codec.encode(
        crop, None, codec.EncodeSettings(0.5, 0.5, device="cpu", effort="max"), progress=lambda *a: calls.append(a)
    )
    assert "refining the latents" in _checked(calls)
    refined = [f for s, f in calls if s == "refining the latents"]
    assert len(refined) >= 2 and refined[-1] == pytest.approx(0.95), refined
