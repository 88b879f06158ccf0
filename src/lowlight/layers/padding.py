"""Pad images so their size is a multiple of a network's stride, and crop back."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "constant") -> torch.Tensor:
    """Pad the right and bottom of (..., H, W) so that H and W are multiples of ``multiple``.

    ``mode="constant"`` pads with zeros (what the official DarkIR does); "reflect" and
    "replicate" are also accepted.
    """
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    height, width = x.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    # While tracing, pad even by zero: a branch on the size would fix it in an export.
    if pad_h == 0 and pad_w == 0 and not torch.compiler.is_compiling():
        return x
    if mode == "constant":
        return F.pad(x, (0, pad_w, 0, pad_h))
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def crop_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Keep the top-left (height, width) window of (..., H, W)."""
    if x.shape[-2] < height or x.shape[-1] < width:
        raise ValueError(f"cannot crop shape {tuple(x.shape)} to {height}x{width}")
    return x[..., :height, :width]
