"""Binomial smoothing: the 3x3 filter [1, 2, 1] x [1, 2, 1] / 16, per channel, with replicated borders.

Its response is zero at the Nyquist frequency in each direction, so any pattern that repeats every two
pixels (a 2x2 tile repeated over the map) is removed exactly, while smooth content passes almost unchanged.
After a pixel shuffle, which computes each of the four pixels of every 2x2 output cell with its own
filters, that is the checkerboard an upsampling layer draws when those filters have unequal gains.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_TAPS = (1.0, 2.0, 1.0)


def binomial_blur2d(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H, W): each channel convolved with the 3x3 binomial filter, borders replicated.

    >>> tile = torch.tensor([[1.0, 3.0], [0.0, 2.0]]).repeat(4, 4)[None, None]
    >>> binomial_blur2d(tile)[..., 1:-1, 1:-1].unique()
    tensor([1.5000])
    """
    if x.ndim != 4:
        raise ValueError(f"binomial_blur2d needs a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"binomial_blur2d needs a floating-point tensor, got {x.dtype}")
    taps = torch.tensor(_TAPS, dtype=x.dtype, device=x.device)
    kernel = (taps[:, None] * taps[None, :] / 16).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(_replicate_border(x), kernel, groups=x.shape[1])


def _replicate_border(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H + 2, W + 2), the edge rows and columns repeated once.

    Same as ``F.pad(x, (1, 1, 1, 1), mode="replicate")``, which Inductor fails to compile with frozen weights
    (torch 2.13: "vr must not be None"); concatenation compiles and exports to ONNX.
    """
    x = torch.cat([x[..., :1, :], x, x[..., -1:, :]], dim=-2)
    return torch.cat([x[..., :1], x, x[..., -1:]], dim=-1)


class BinomialBlur2d(nn.Module):
    """Module form of :func:`binomial_blur2d` (no parameters, no state-dict entries)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return binomial_blur2d(x)
