"""The one progress and cancel protocol of every long call in obic_core (torch-free).

Every public function that takes a ``progress`` callback calls it as ``progress(stage, fraction)``:
``stage`` names what is running now (a short lower-case phrase, e.g. ``"analysing the image"``, or a
codec name in a comparison) and ``fraction`` is the share of the whole call done, in [0, 1]. A
``cancel`` callback is polled between units of work; when it returns True the call raises
:class:`~obic_core.errors.ObicCancelled`. One signature means a caller (the CLI, the GUI's tasks)
never has to guess which form a function uses, and a call that nests another maps the inner one
onto part of its own bar with :func:`sub_range`.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Cancel", "Progress", "ignore_progress", "sub_range"]

#: ``progress(stage, fraction)``: what is running and how much of the whole call is done (0..1)
Progress = Callable[[str, float], None]
#: ``cancel() -> True`` to stop: the call raises :class:`~obic_core.errors.ObicCancelled`
Cancel = Callable[[], bool]


def ignore_progress(stage: str, fraction: float) -> None:
    """The callback used when the caller passed none."""


def sub_range(progress: Progress | None, lo: float, hi: float, prefix: str = "") -> Progress:
    """A callback for a sub-stage that reports onto [lo, hi] of ``progress``'s bar.

    The sub-stage's fraction is clipped to [0, 1] first, so a sub-call can never move the
    outer bar outside its share. With ``prefix`` the stage reads ``"prefix: stage"`` (just
    ``prefix`` when the sub-stage's own stage is empty), so the outer caller keeps naming
    what it is doing while the inner call says which part of it is running.
    """
    if progress is None:
        return ignore_progress
    outer = progress

    def report(stage: str, fraction: float) -> None:
        label = f"{prefix}: {stage}" if prefix and stage else (prefix or stage)
        outer(label, lo + (hi - lo) * min(1.0, max(0.0, float(fraction))))

    return report
