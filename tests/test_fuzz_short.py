"""A short run of the fuzz campaign (tests/fuzz/fuzz_obic.py runs the 200,000-case one)."""

from tests.fuzz.fuzz_obic import campaign


def test_short_fuzz_campaign_finds_no_crash():
    res = campaign(iterations=1500, workers=1, structured_share=0.2, chunk=1500)
    assert res["cases"] == 1500
    assert res["crashes"] == [], res["crashes"][:3]
    assert res["hangs"] == []
    assert res["decoded"] > 0 and res["rejected"] > 0
