"""Channels-last weights for the convolutional nets, set in one place.

Convolutions on CPU run faster with NHWC (channels-last) tensors, so the codec trainer, the
segmentation trainer and the segmentation predictor all convert their models. torch's
``Module.to`` overloads in its type stubs leave out ``memory_format``, so the one type-ignore
this needs lives here rather than beside every call.
"""

from __future__ import annotations

from typing import TypeVar

import torch

M = TypeVar("M", bound=torch.nn.Module)


def channels_last(module: M) -> M:
    """``module`` with its parameters in channels-last layout (in place; returned for chaining)."""
    return module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
