"""Image quality metrics."""

from lowlight.metrics.functional import psnr, ssim

__all__ = ["psnr", "ssim"]
