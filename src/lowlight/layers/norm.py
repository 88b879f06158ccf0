"""Channel-wise layer normalisation for (B, C, H, W) feature maps (NAFNet / DarkIR style)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lowlight.layers._checks import check_image_batch


def layer_norm_2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Normalise every pixel over its channels, then scale and shift per channel.

    Args:
        x: features, shape (B, C, H, W).
        weight: per-channel scale, shape (C,).
        bias: per-channel shift, shape (C,).
        eps: added to the (biased) variance.

    Returns:
        Tensor of the shape of ``x``.
    """
    if torch.compiler.is_compiling():
        # inductor fuses the plain formula itself and fails on layer_norm over a permuted dynamic shape
        # statistics in float32 under bfloat16 / float16 autocast too (the casts fuse into the kernel)
        wide = x.float() if x.dtype in (torch.bfloat16, torch.float16) else x
        mean = wide.mean(1, keepdim=True)
        centred = wide - mean
        var = centred.square().mean(1, keepdim=True)
        normed = centred * torch.rsqrt(var + eps) * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)
        return normed.to(x.dtype)
    # One fused kernel over the channel axis; free of copies when x is channels_last.
    normed = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), weight, bias, eps)
    return normed.permute(0, 3, 1, 2)


class LayerNorm2d(nn.Module):
    """Module form of :func:`layer_norm_2d`; parameters ``weight`` and ``bias`` of shape (C,)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, channels=self.weight.numel())
        return layer_norm_2d(x, self.weight, self.bias, self.eps)
