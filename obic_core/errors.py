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
