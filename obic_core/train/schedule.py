"""Learning-rate schedule pieces shared by the codec and segmentation loops.

Both loops run under a budget of steps *and* minutes on machines whose speed varies with load, so
their schedules follow whichever of the two runs out first: a slowed run still ends annealed.
"""

from __future__ import annotations

import math


def budget_progress(steps_done: float, steps_total: float, seconds_done: float, minutes: float) -> float:
    """Share of the budget used, in [0, 1]: the larger of the step share and the clock share.

    ``minutes`` = 0 means no time budget (steps only).
    """
    prog = steps_done / max(1.0, steps_total)
    if minutes:
        prog = max(prog, seconds_done / (minutes * 60))
    return min(max(prog, 0.0), 1.0)


def cosine(start: float, end: float, progress: float) -> float:
    """Half a cosine from ``start`` (progress 0) down to ``end`` (progress 1)."""
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * progress))
