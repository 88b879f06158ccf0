"""Structure losses: SSIM and the Laplacian edge loss of DarkIR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lowlight.metrics.functional import _check_pair

_EDGE_KERNEL_1D = (0.05, 0.25, 0.4, 0.25, 0.05)


def _edge_blur(x: torch.Tensor) -> torch.Tensor:
    kernel_1d = torch.tensor(_EDGE_KERNEL_1D, dtype=x.dtype, device=x.device)
    kernel = torch.outer(kernel_1d, kernel_1d).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), kernel, groups=x.shape[1])


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """One Laplacian-pyramid level: x minus the blurred, 2x down- and up-sampled x. (B, C, H, W)."""
    blurred = _edge_blur(x)
    upsampled = torch.zeros_like(x)
    upsampled[..., ::2, ::2] = 4 * blurred[..., ::2, ::2]
    return x - _edge_blur(upsampled)


class EdgeLoss(nn.Module):
    """MSE between Laplacians of prediction and target (DarkIR; weight 50 in its recipe)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target)
        return F.mse_loss(laplacian(pred), laplacian(target))
