"""Shift consistency: a restorer should commute with small translations of its input.

A network that downsamples by 8 can draw a pattern locked to its own 8-pixel grid (the lattice the grid-artifact
figure measures). Such a pattern moves with the grid, not with the image: enhance an image and a copy shifted
by ``s`` pixels (``s`` not a multiple of the period), shift the second output back, and the two disagree exactly
where the network drew something of its own. The loss needs no target, so it trains on real photos.

:func:`shifted_views` cuts the two views from one batch; :func:`shift_consistency_loss` compares the two
outputs on the pixels both views saw, away from the borders (padding makes borders differ legitimately).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lowlight.errors import LowlightError

PERIOD = 8  # the grid of a network that downsamples three times


def shifted_views(x: torch.Tensor, shift: int, period: int = PERIOD) -> tuple[torch.Tensor, torch.Tensor]:
    """Two crops of ``x`` offset by ``shift`` pixels in both directions, each a multiple of ``period`` in size.

    Args:
        x: (B, C, H, W) with H, W >= ``2 * period + shift``.
        shift: offset in pixels, 1 <= shift < period (a multiple of the period would test nothing).

    Returns:
        ``(a, b)``, both (B, C, h, w) with h = period * floor((H - shift) / period) (w likewise); ``a`` starts at
        pixel (0, 0) of ``x``, ``b`` at (shift, shift).

    Example:
        >>> a, b = shifted_views(torch.arange(400.0).view(1, 1, 20, 20), 3)
        >>> a.shape, b[0, 0, 0, 0].item() == a[0, 0, 3, 3].item()
        (torch.Size([1, 1, 16, 16]), True)
    """
    if x.ndim != 4:
        raise LowlightError(f"shifted_views expects (B, C, H, W), got shape {tuple(x.shape)}")
    if not 1 <= shift < period:
        raise LowlightError(f"shift must be in 1..{period - 1}, got {shift}")
    height, width = ((size - shift) // period * period for size in x.shape[-2:])
    if min(height, width) < period:
        raise LowlightError(f"input {tuple(x.shape[-2:])} is too small for shift {shift} and period {period}")
    return x[..., :height, :width], x[..., shift : shift + height, shift : shift + width]


def shift_consistency_loss(out_a: torch.Tensor, out_b: torch.Tensor, shift: int, margin: int = 16) -> torch.Tensor:
    """Mean absolute difference of two outputs of :func:`shifted_views` on the pixels both saw.

    Pixel (i, j) of ``out_b`` shows the same scene point as pixel (i + shift, j + shift) of ``out_a``; ``margin``
    pixels next to every border of the shared region are left out.

    Args:
        out_a, out_b: (B, C, h, w) outputs for the views ``a`` and ``b``.
        shift: the shift the views were cut with.
        margin: border pixels to ignore, >= 0.

    Returns:
        Scalar L1 over the shared interior.

    Example:
        >>> x = torch.rand(1, 3, 48, 48)
        >>> a, b = shifted_views(x, 4)
        >>> shift_consistency_loss(a * 2, b * 2, 4).item()  # a pointwise model commutes with shifts
        0.0
    """
    if out_a.shape != out_b.shape or out_a.ndim != 4:
        shapes = f"{tuple(out_a.shape)} and {tuple(out_b.shape)}"
        raise LowlightError(f"need two (B, C, h, w) outputs of one shape, got {shapes}")
    if shift < 1 or margin < 0:
        raise LowlightError(f"need shift >= 1 and margin >= 0, got {shift}, {margin}")
    height, width = out_a.shape[-2:]
    if min(height, width) <= shift + 2 * margin:
        raise LowlightError(f"outputs {height}x{width} leave no interior for shift {shift} and margin {margin}")
    inner_a = out_a[..., shift + margin : height - margin, shift + margin : width - margin]
    inner_b = out_b[..., margin : height - shift - margin, margin : width - shift - margin]
    return F.l1_loss(inner_a, inner_b)


class ShiftConsistencyLoss(nn.Module):
    """Runs ``model`` on two shifted views of ``x`` and returns :func:`shift_consistency_loss` of the outputs.

    The shift cycles through 1..period-1 with ``step`` (so that every lattice phase is tested over a run and a
    resumed run repeats the same shifts). ``margin`` shrinks on small crops so that at least half of the shared
    region is compared.
    """

    def __init__(self, period: int = PERIOD, margin: int = 16) -> None:
        super().__init__()
        self.period, self.margin = period, margin

    def shift_for(self, step: int) -> int:
        return 1 + step % (self.period - 1)

    def forward(
        self, model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, a, out_a)``: the unshifted view and its output can serve other zero-reference terms."""
        shift = self.shift_for(step)
        a, b = (view.contiguous() for view in shifted_views(x, shift, self.period))
        out_a, out_b = model(a), model(b)
        margin = min(self.margin, (min(a.shape[-2:]) - shift) // 4)
        return shift_consistency_loss(out_a, out_b, shift, margin), a, out_a
