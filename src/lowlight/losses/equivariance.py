"""Shift consistency: a restorer should commute with small translations of its input.

A network that downsamples by 8 can draw a pattern locked to its own 8-pixel grid (the lattice the grid-artifact
figure measures). Such a pattern moves with the grid, not with the image: enhance an image and a copy shifted
by ``s`` pixels (``s`` not a multiple of the period), shift the second output back, and the two disagree exactly
where the network drew something of its own. The loss needs no target, so it trains on real photos.

:func:`shifted_views` cuts the two views from one batch; :func:`shift_consistency_loss` compares the two
outputs on the pixels both views saw, away from the borders (padding makes borders differ legitimately).

With a target, :func:`grid_locked_loss` isolates the same pattern directly: the residual ``pred - target``
averaged over every ``period x period`` cell of a window, phase by phase. Errors at positions unrelated to the
grid (noise, missed texture) average out over the window's cells; a pattern the network draws on its own grid
adds up in every cell and stays.
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


def grid_locked_residual(
    pred: torch.Tensor, target: torch.Tensor, period: int = PERIOD, window: int = 64
) -> torch.Tensor:
    """The part of ``pred - target`` that repeats with the ``period``-pixel grid, window by window.

    The residual's top-left ``window``-aligned region (the network's grid starts at pixel (0, 0)) is cut
    into ``window x window`` windows; in each, the ``period x period`` cells are averaged phase by phase and
    the window's mean is subtracted, leaving one ``period x period`` pattern per window.

    Args:
        pred, target: (B, C, H, W), H and W >= ``window``.
        period: the grid, in pixels.
        window: side of the windows, a multiple of ``period``.

    Returns:
        (B, C, H // window, W // window, period, period).

    Example:
        >>> target = torch.rand(1, 1, 64, 64)
        >>> grid = 0.1 * (torch.arange(64) % 8 == 0).float()[:, None]
        >>> pattern = grid_locked_residual(target + grid, target, window=32)
        >>> tuple(pattern.shape), round(pattern[0, 0, 0, 0, 0, 0].item(), 4), round(pattern[0, 0, 1, 1, 3, 5].item(), 4)
        ((1, 1, 2, 2, 8, 8), 0.0875, -0.0125)
    """
    if pred.shape != target.shape or pred.ndim != 4:
        raise LowlightError(
            f"need two (B, C, H, W) tensors of one shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    if period < 2 or window < period or window % period:
        raise LowlightError(f"window ({window}) must be a multiple of period ({period}), period >= 2")
    height, width = pred.shape[-2:]
    if min(height, width) < window:
        raise LowlightError(f"grid_locked_residual needs images of at least {window}x{window}, got {height}x{width}")
    rows, cols = height // window, width // window
    residual = (pred - target)[..., : rows * window, : cols * window]
    cells = window // period
    batch, channels = residual.shape[:2]
    blocks = residual.reshape(batch, channels, rows, cells, period, cols, cells, period)
    pattern = blocks.mean(dim=(3, 6)).permute(0, 1, 2, 4, 3, 5)  # (B, C, rows, cols, period, period)
    return pattern - pattern.mean(dim=(-2, -1), keepdim=True)


def grid_locked_loss(pred: torch.Tensor, target: torch.Tensor, period: int = PERIOD, window: int = 64) -> torch.Tensor:
    """Mean absolute value of :func:`grid_locked_residual`: the lattice a network draws, against a target.

    Unlike ``lattice`` (the Fourier amplitude of the whole residual at the lattice frequencies, which is mostly
    noise and texture the network could not restore), this term is near zero unless the error itself repeats
    with the grid, so its gradient points at the lattice alone. Inputs (B, C, H, W), H and W >= ``window``.

    Example:
        >>> target = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
        >>> noise = 0.05 * torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(1))
        >>> grid = 0.04 * (torch.arange(128) % 8 < 4).float()
        >>> bool(grid_locked_loss(target + noise + grid, target) > 3 * grid_locked_loss(target + noise, target))
        True
    """
    return grid_locked_residual(pred, target, period, window).abs().mean()


class GridLockedLoss(nn.Module):
    """See :func:`grid_locked_loss`."""

    def __init__(self, period: int = PERIOD, window: int = 64) -> None:
        super().__init__()
        self.period, self.window = period, window

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return grid_locked_loss(pred, target, self.period, self.window)
