"""The benchmark's cache: every finished point appended to ``points.jsonl``, keyed so that a
rerun skips what is there (an interrupted run resumes) and changed weights or settings are
recomputed instead of mixed in."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

POINTS_FILE = "points.jsonl"
# What a point records. Bumped when a field the report reads is added, so a point measured
# before it existed is measured again instead of being read as its absence (v2: the
# "at_best_setting" flag; a v1 point would have reported every ceiling as reached).
POINT_FORMAT = "points-v2"


def json_safe(value):
    """``value`` with non-finite floats and numpy scalars made strict-JSON friendly."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_json(value):
    """The inverse of :func:`json_safe` for what a point holds ("inf" → ``math.inf``)."""
    if value == "inf":
        return math.inf
    if isinstance(value, dict):
        return {k: from_json(v) for k, v in value.items()}
    return value


def load_points(path: Path) -> dict[str, dict]:
    """Finished points by cache key; a torn last line (killed mid-write) is ignored."""
    points: dict[str, dict] = {}
    if not path.exists():
        return points
    for line in path.read_text().splitlines():
        try:
            rec = from_json(json.loads(line))
        except ValueError:
            continue
        if isinstance(rec, dict) and "cache_key" in rec and "error" not in rec:
            points[rec["cache_key"]] = rec
    return points


def cache_key(task: dict) -> str:
    """Image, codec, rate setting, mask source and codec signature (libraries, weights id)."""
    return "|".join(
        [
            task["key"],
            task["codec"],
            f"{task['mode']}={task['setting']:g}",
            f"mask={task['mask_source']}",
            task["signature"],
            POINT_FORMAT,
        ]
    )
