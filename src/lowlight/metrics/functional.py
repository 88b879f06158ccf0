"""Differentiable full-reference image metrics on float tensors.

All functions take (B, C, H, W) tensors and return one value per image, shape (B,).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from lowlight.layers._checks import check_image_batch


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    check_image_batch(pred, "prediction")
    check_image_batch(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: 10 log10(range^2 / MSE) over pixels and channels."""
    _check_pair(pred, target)
    mse = (pred.double() - target.double()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse)).to(pred.dtype)


@functools.lru_cache(maxsize=8)
def _gaussian_1d(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _gaussian_filter_valid(x: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian filter per channel with a 'valid' window (output shrinks by size - 1)."""
    channels = x.shape[1]
    kernel = _gaussian_1d(size, sigma).to(x)
    x = F.conv2d(x, kernel.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)
    return F.conv2d(x, kernel.view(1, 1, size, 1).expand(channels, 1, size, 1), groups=channels)


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """SSIM (Wang et al. 2004) with a Gaussian window, per channel, averaged; shape (B,).

    The definition of ``pytorch_msssim.ssim`` and torchmetrics: 'valid' window, population covariance.
    Images must be at least ``window_size`` on each side.
    """
    _check_pair(pred, target)
    if min(pred.shape[-2:]) < window_size:
        raise ValueError(f"SSIM needs images of at least {window_size}x{window_size}, got {tuple(pred.shape[-2:])}")
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    stats = _gaussian_filter_valid(
        torch.cat([pred, target, pred * pred, target * target, pred * target], 1), window_size, sigma
    )
    mu_p, mu_t, pp, tt, pt = stats.chunk(5, dim=1)
    var_p, var_t, cov = pp - mu_p**2, tt - mu_t**2, pt - mu_p * mu_t
    luminance = (2 * mu_p * mu_t + c1) / (mu_p**2 + mu_t**2 + c1)
    structure = (2 * cov + c2) / (var_p + var_t + c2)
    return (luminance * structure).flatten(1).mean(1)
