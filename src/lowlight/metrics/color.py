"""Colour conversions used by the metrics."""

from __future__ import annotations

import numpy as np
import torch

# ITU-R BT.601 studio-range luma as MATLAB's rgb2ycbcr computes it: Y in [16, 235] for RGB in [0, 1].
_Y_WEIGHTS = (65.481, 128.553, 24.966)
# Luma weights of cv2.COLOR_RGB2GRAY (BT.601, full range), used by the GT-mean protocol.
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def rgb_to_y_matlab(rgb):
    """MATLAB ``rgb2ycbcr`` Y channel in [16, 235] (scale 0-255) of RGB in [0, 1].

    Accepts a numpy array (..., 3) channels-last or a tensor (B, 3, H, W); returns (..., ) or (B, 1, H, W).
    """
    if isinstance(rgb, torch.Tensor):
        weights = torch.tensor(_Y_WEIGHTS, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
        return (rgb * weights).sum(1, keepdim=True) + 16.0
    return np.asarray(rgb, dtype=np.float64) @ np.asarray(_Y_WEIGHTS) + 16.0


def gray(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma (B, 1, H, W) of (B, 3, H, W) RGB."""
    weights = torch.tensor(GRAY_WEIGHTS, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * weights).sum(1, keepdim=True)
