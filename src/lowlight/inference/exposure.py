"""Brightness control for every model: an exposure change in EV stops applied to the enhanced image.

The model enhances as it was trained; then, in linear light, each pixel's luminance ``Y`` goes through

    f(Y) = g Y / (1 + (g - 1) Y),     g = 2 ** ev

and its R, G, B are scaled by ``f(Y) / Y``. Properties (tested):

- ``ev = 0`` is the identity; the mean luminance grows smoothly and monotonically with ``ev``.
- Dark and mid tones move by close to ``g`` (the slope at black is exactly ``g``, one stop per EV), while
  ``f(1) = 1``: highlights are compressed towards white instead of clipping first.
- R, G and B are scaled by the same factor, so hue and chromaticity stay; only channels pushed past 1 by a
  strong boost are clipped.

``exposure_for_target`` picks ``ev`` per image (bisection) so that the output's mean sRGB level reaches a
target: ``--target-exposure`` for the models that are not curve models.
"""

from __future__ import annotations

import torch

EV_RANGE = (-4.0, 4.0)
_LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 / sRGB primaries, linear light


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp(min=0) ** (1 / 2.4) - 0.055)


def apply_exposure(image: torch.Tensor, ev: float) -> torch.Tensor:
    """Change the exposure of sRGB images (B, 3, H, W) in [0, 1] by ``ev`` stops (see the module docstring).

    >>> x = torch.full((1, 3, 2, 2), 0.2)
    >>> torch.equal(apply_exposure(x, 0.0), x)
    True
    >>> apply_exposure(x, 1.0).mean() > x.mean() > apply_exposure(x, -1.0).mean()
    tensor(True)
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"expected (B, 3, H, W) images, got shape {tuple(image.shape)}")
    if not EV_RANGE[0] <= ev <= EV_RANGE[1]:
        raise ValueError(f"exposure must be within {EV_RANGE[0]:g}..{EV_RANGE[1]:g} EV, got {ev}")
    if ev == 0:
        return image
    gain = 2.0**ev
    linear = srgb_to_linear(image.clamp(0, 1))
    weights = torch.tensor(_LUMA, dtype=linear.dtype, device=linear.device).view(1, 3, 1, 1)
    luminance = (linear * weights).sum(dim=1, keepdim=True)
    mapped = gain * luminance / (1 + (gain - 1) * luminance)
    scale = torch.where(luminance > 1e-8, mapped / luminance.clamp(min=1e-8), torch.full_like(luminance, gain))
    return linear_to_srgb((linear * scale).clamp(0, 1)).clamp(0, 1)


def exposure_for_target(image: torch.Tensor, target: float, steps: int = 24) -> float:
    """The ``ev`` in :data:`EV_RANGE` whose output's mean sRGB level is closest to ``target`` (one image).

    >>> x = torch.full((1, 3, 4, 4), 0.1)
    >>> round(apply_exposure(x, exposure_for_target(x, 0.4)).mean().item(), 3)
    0.4
    """
    if not 0 < target < 1:
        raise ValueError(f"target exposure must be between 0 and 1, got {target}")
    low, high = EV_RANGE
    for _ in range(steps):
        middle = (low + high) / 2
        if apply_exposure(image, middle).mean().item() < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2
