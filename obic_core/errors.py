"""The documented error types. Every user-facing failure is one of these, with a message
that says what was wrong and what to do; CLI and GUI show the message, never a traceback."""


class ObicError(Exception):
    """Base of every error obic_core raises on purpose."""


class ObicFormatError(ObicError):
    """A .obic file is corrupt, truncated, foreign, too large or from an unknown version."""


class ObicInputError(ObicError):
    """An input image or mask cannot be used (unreadable, wrong size, too big, ...)."""


class ObicWeightsError(ObicError):
    """Weights are missing, unreadable, or not the model a file was encoded with."""


class ObicCancelled(ObicError):
    """A long operation was cancelled through its cancel callback."""


class ObicDeviceError(ObicError):
    """The requested device is unavailable or ran out of memory."""


class ObicOutputError(ObicError, OSError):
    """An output cannot be written where asked: the path is empty, a folder, the same file as
    an input, on a read-only or full disk, over a file-size limit, or a device that refuses
    the data. Also an :class:`OSError`, so callers that already catch write errors keep working;
    the user's existing files are left as they were."""


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the ways an allocation failure surfaces: MemoryError (numpy, Python) and the
    RuntimeError torch raises on CPU ("DefaultCPUAllocator: not enough memory") or GPU."""
    if isinstance(exc, MemoryError):
        return True
    if not isinstance(exc, RuntimeError):
        return False
    text = str(exc)
    return "DefaultCPUAllocator" in text or "can't allocate memory" in text or "out of memory" in text.lower()
