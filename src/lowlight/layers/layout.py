"""Memory-layout helpers for (B, C, H, W) feature maps."""

from __future__ import annotations

import torch


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether a tensor is laid out channels_last and not also plain contiguous (as 1x1 maps or C = 1 are).

    >>> is_channels_last(torch.rand(1, 3, 4, 5).contiguous(memory_format=torch.channels_last))
    True
    >>> is_channels_last(torch.rand(1, 3, 4, 5))
    False
    """
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def contiguous_nchw(x: torch.Tensor) -> torch.Tensor:
    """``x.contiguous()``, faster for a channels_last (B, C, H, W) tensor on the CPU.

    ATen copies a 4-D permuted tensor element by element but has a blocked kernel for a transposed matrix
    (2-D, above 360 x 360 elements): per image, (H*W, C) to (C, H*W) took 11 ms for 32 x 400 x 600 where
    ``contiguous()`` took 37 (one thread, AMD EPYC).

    >>> x = torch.rand(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    >>> torch.equal(contiguous_nchw(x), x.contiguous()) and contiguous_nchw(x).is_contiguous()
    True
    """
    if not is_channels_last(x):
        return x.contiguous()
    batch, channels, height, width = x.shape
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    for index in range(batch):
        out[index].view(channels, height * width).copy_(x[index].permute(1, 2, 0).reshape(height * width, channels).t())
    return out
