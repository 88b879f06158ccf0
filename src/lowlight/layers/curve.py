"""Light-enhancement curves (Zero-DCE family) and depthwise-separable convolutions."""

from __future__ import annotations

import torch
from torch import nn


def apply_curve(x: torch.Tensor, maps: torch.Tensor, iterations: int, strength: float = 1.0) -> torch.Tensor:
    """Iterate the quadratic curve x <- x + r (x^2 - x), r = strength * map, clamped to [-1, 1].

    Args:
        x: images (B, 3, H, W) in [0, 1].
        maps: curve parameters in [-1, 1], (B, 3, H, W) shared by every iteration, or
            (B, 3 * iterations, H, W), one 3-channel map per iteration.
        iterations: number of curve applications.
        strength: scales the maps: 0 leaves the image as is, 1 is the trained curve. Values are
            clamped so that r stays in [-1, 1], which keeps the output in [0, 1].

    Returns:
        (B, 3, H, W) in [0, 1].
    """
    if maps.shape[1] not in (3, 3 * iterations):
        raise ValueError(f"maps need 3 or {3 * iterations} channels, got {maps.shape[1]}")
    per_iteration = maps.shape[1] != 3 or iterations == 1
    steps = maps.split(3, dim=1) if per_iteration else [maps] * iterations
    for r in steps:
        r = (r * strength).clamp(-1, 1) if strength != 1.0 else r
        x = x + r * (x * x - x)
    return x


class DepthwiseSeparableConv(nn.Module):
    """Depthwise 3x3 convolution then pointwise 1x1 (keys ``depthwise``, ``pointwise``)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class CurveModelMixin:
    """Brightness control shared by the curve models.

    ``strength`` scales the curve maps at inference (1 = as trained). ``target_exposure``, if set,
    picks the strength per image (bisection in [0, max_strength]) so that the output's mean
    brightness reaches it, when it can.
    """

    strength: float = 1.0
    target_exposure: float | None = None
    max_strength: float = 3.0
    iterations: int = 8

    def curve(self, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        if self.target_exposure is None or self.training:
            return apply_curve(x, maps, self.iterations, self.strength)
        return torch.cat([self._to_exposure(xi[None], mi[None]) for xi, mi in zip(x, maps, strict=True)])

    def _to_exposure(self, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        low, high = 0.0, self.max_strength
        brightness = lambda s: apply_curve(x, maps, self.iterations, s).mean().item()  # noqa: E731
        increasing = brightness(high) >= brightness(low)
        for _ in range(20):
            middle = (low + high) / 2
            if (brightness(middle) < self.target_exposure) == increasing:
                low = middle
            else:
                high = middle
        return apply_curve(x, maps, self.iterations, (low + high) / 2)
