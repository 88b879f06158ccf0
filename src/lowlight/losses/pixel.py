"""Pixel losses: L1, Charbonnier, MSE and PSNR."""

from __future__ import annotations

import torch
from torch import nn

from lowlight.metrics.functional import _check_pair


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """mean(sqrt((pred - target)^2 + eps^2)): a smooth L1. Inputs (B, C, H, W)."""
    _check_pair(pred, target)
    return torch.sqrt((pred - target) ** 2 + eps**2).mean()


class L1Loss(nn.Module):
    """Mean absolute error."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target)
        return (pred - target).abs().mean()


class CharbonnierLoss(nn.Module):
    """Charbonnier loss, see :func:`charbonnier_loss`."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return charbonnier_loss(pred, target, self.eps)


class MSELoss(nn.Module):
    """Mean squared error."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target)
        return (pred - target).pow(2).mean()
