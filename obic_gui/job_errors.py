"""Turning any exception raised by a job into a message a person can act on (no Qt).

Used in the worker process and in worker threads alike, so an error looks the same however
the job ran. The GUI never shows a bare traceback: it goes into "details".
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass


@dataclass
class JobError:
    kind: str  # "input" | "format" | "weights" | "memory" | "cancelled" | "crash" | "bug"
    title: str
    message: str
    details: str = ""

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


_TITLES = {
    "ObicFormatError": ("format", "Cannot read this .obic file"),
    "ObicInputError": ("input", "Cannot use this image"),
    "ObicWeightsError": ("weights", "Model weights problem"),
    "ObicDeviceError": ("memory", "Device problem"),
}


def _names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def is_cancel(exc: BaseException) -> bool:
    return "ObicCancelled" in _names(exc) or isinstance(exc, KeyboardInterrupt)


def describe(exc: BaseException, task: str = "") -> JobError:
    """Classify ``exc``; documented obic_core errors keep their own (already readable) text."""
    names = _names(exc)
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if is_cancel(exc):
        return JobError("cancelled", "Cancelled", "The job was cancelled.", details)
    for name in names:
        if name in _TITLES:
            kind, title = _TITLES[name]
            return JobError(kind, title, str(exc) or name, details)
    text = str(exc)
    if "OutOfMemoryError" in names or isinstance(exc, MemoryError) or "out of memory" in text.lower():
        where = "the GPU" if ("cuda" in text.lower() or "OutOfMemoryError" in names) else "this machine"
        return JobError(
            "memory",
            "Out of memory",
            f"{where} ran out of memory. Choose the CPU device, close other programs, or try a smaller image.",
            details,
        )
    if "ObicError" in names:
        return JobError("input", "OBIC error", text or type(exc).__name__, details)
    what = f" while {task}" if task else ""
    return JobError("bug", "Unexpected error", f"Something went wrong{what}: {type(exc).__name__}: {text}", details)
