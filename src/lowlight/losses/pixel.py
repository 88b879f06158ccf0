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


def psnr_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Negative PSNR for data range 1, averaged over the batch: mean_b 10 log10(MSE_b + eps).

    Benchmarks average PSNR per image, and a mean of per-image log errors weights every image alike,
    where a pooled MSE lets the brightest, noisiest images dominate. Inputs (B, C, H, W).
    """
    _check_pair(pred, target)
    per_image = (pred - target).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(per_image + eps).mean()


class MSELoss(nn.Module):
    """Mean squared error."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target)
        return (pred - target).pow(2).mean()


class PSNRLoss(nn.Module):
    """Negative per-image PSNR, see :func:`psnr_loss`; lower is better, -inf is never reached."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return psnr_loss(pred, target, self.eps)
