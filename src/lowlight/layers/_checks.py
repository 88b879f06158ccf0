"""Input checks that raise (never assert) with a message naming the argument."""

from __future__ import annotations

import torch


def check_image_batch(x: torch.Tensor, name: str = "input", channels: int | None = None) -> None:
    """Raise if ``x`` is not a floating (B, C, H, W) tensor (with ``channels`` channels if given)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channels, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
