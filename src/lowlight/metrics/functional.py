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


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, eps: float = 0.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: 10 log10(range^2 / MSE) over pixels and channels.

    >>> psnr(torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.6)).round()
    tensor([20.])
    """
    _check_pair(pred, target)
    mse = (pred.double() - target.double()).pow(2).flatten(1).mean(1) + eps
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


def ssim_skimage(
    pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, window_size: int = 7
) -> torch.Tensor:
    """SSIM as scikit-image's ``structural_similarity`` computes it by default, per image, shape (B,).

    Uniform 7x7 window, sample covariance (N / (N - 1)), K1 = 0.01, K2 = 0.03, mean over the positions
    where the window fits and over channels (``channel_axis=-1``). The variant most LOL papers report.
    """
    _check_pair(pred, target)
    if min(pred.shape[-2:]) < window_size:
        raise ValueError(f"SSIM needs images of at least {window_size}x{window_size}, got {tuple(pred.shape[-2:])}")
    pred, target = pred.double(), target.double()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    stats = F.avg_pool2d(torch.cat([pred, target, pred * pred, target * target, pred * target], 1), window_size, 1)
    mu_p, mu_t, pp, tt, pt = stats.chunk(5, dim=1)
    n = window_size**2
    correction = n / (n - 1)
    var_p, var_t, cov = (pp - mu_p**2) * correction, (tt - mu_t**2) * correction, (pt - mu_p * mu_t) * correction
    ssim_map = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2))
    return ssim_map.flatten(1).mean(1)


def gt_mean_scale(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Scale ``pred`` so its mean gray level equals the target's, then clip to [0, 1] (the GT-mean protocol).

    Gray is BT.601 luma (cv2 RGB2GRAY weights), as in the KinD / LLFlow / Retinexformer evaluation code.
    """
    _check_pair(pred, target)
    from lowlight.metrics.color import gray

    ratio = gray(target).flatten(1).mean(1) / gray(pred).flatten(1).mean(1).clamp_min(1e-12)
    return (pred * ratio.view(-1, 1, 1, 1)).clamp(0, 1)
