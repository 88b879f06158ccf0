"""SimpleGate: split the channels in two halves and multiply them (NAFNet)."""

from __future__ import annotations

import torch
from torch import nn


def simple_gate(x: torch.Tensor) -> torch.Tensor:
    """(B, 2C, H, W) -> (B, C, H, W): first half of the channels times the second half."""
    if x.ndim < 2 or x.shape[1] % 2:
        raise ValueError(f"simple_gate needs an even number of channels in dim 1, got shape {tuple(x.shape)}")
    first, second = x.chunk(2, dim=1)
    return first * second


class SimpleGate(nn.Module):
    """Module form of :func:`simple_gate`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return simple_gate(x)
