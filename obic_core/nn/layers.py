"""Convolution helpers, GDN and the checkerboard context convolution.

GDN (Ballé et al., "Density modeling of images using a generalized normalization
transformation", ICLR 2016) is used because it lets a four-stage transform reach a given
rate–distortion point with fewer channels than ReLU stacks, which matters on a 2-core CPU.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def conv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2)


def deconv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1)


class GDN(nn.Module):
    """Generalized divisive normalization: y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2).

    ``inverse=True`` gives IGDN (multiplication instead of division) for the synthesis side.
    beta and gamma are stored through a square-root reparametrisation so they stay positive
    without a projection step after each optimizer update.
    """

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_sqrt = nn.Parameter(torch.ones(channels))
        self.gamma_sqrt = nn.Parameter(torch.eye(channels) * 0.1**0.5 * 1.0)
        self._eps = 1e-6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        beta = self.beta_sqrt.pow(2) + self._eps
        gamma = self.gamma_sqrt.pow(2).view(c, c, 1, 1).to(x.dtype)
        norm = F.conv2d(x * x, gamma, beta.to(x.dtype))
        norm = torch.sqrt(norm.clamp_min(self._eps))
        return x * norm if self.inverse else x / norm


class CheckerboardConv(nn.Conv2d):
    """A convolution that only sees *anchor* positions of a checkerboard.

    Two-pass checkerboard context (He et al., "Checkerboard Context Model for Efficient
    Learned Image Compression", CVPR 2021): anchors ((row + col) even) are decoded from the
    hyperprior alone, then every non-anchor is predicted from its decoded anchor neighbours.
    Both passes are fully parallel, unlike a serial autoregressive context::

        pass 1 (anchors)      pass 2 (non-anchors)
        A . A . A             A x A x A
        . A . A .     ->      x A x A x
        A . A . A             A x A x A

    The kernel is masked so that the centre and every non-anchor tap are zero; the input is
    expected to hold decoded anchors and zeros elsewhere.
    """

    tap_mask: torch.Tensor  # a registered buffer (1, 1, k, k): 1 on the taps the kernel may use

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5) -> None:
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2)
        mask = torch.zeros(kernel, kernel)
        c = kernel // 2
        for i in range(kernel):
            for j in range(kernel):
                if (i - c + j - c) % 2 == 1:  # odd offset: a neighbour of the other colour
                    mask[i, j] = 1.0
        self.register_buffer("tap_mask", mask.view(1, 1, kernel, kernel), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.tap_mask.to(self.weight.dtype), self.bias, padding=self.padding)


def anchor_mask(height: int, width: int, *, device: torch.device | None = None) -> torch.Tensor:
    """1 at anchor positions ((row + col) even), 0 elsewhere; shape (1, 1, H, W)."""
    rows = torch.arange(height, device=device).view(-1, 1)
    cols = torch.arange(width, device=device).view(1, -1)
    return ((rows + cols) % 2 == 0).float().view(1, 1, height, width)
