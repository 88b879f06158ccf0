"""Measure how noise variance grows with intensity in 8-bit photos: the statistic the camera model is fitted to.

The estimator works on any sRGB image, with or without a clean reference:

1. The residual ``r = x - box3(x)`` removes the scene's low frequencies; for independent pixel noise of
   variance ``s2`` its variance is ``s2 * 8 / 9``, so ``box7(r^2) * 9 / 8`` estimates ``s2`` locally.
2. Only flat places count: where the gradient of a smoothed reference (the clean image when there is one,
   else the image itself) is small, so texture is not mistaken for noise.
3. Samples on a 7-pixel grid (nearly independent windows) are binned by the local mean intensity, and each
   bin reports the median variance (robust to the texture that slips through).

Run on LOL ``our485/low`` and on synthetic images made from ``our485/high`` with the same estimator, the
two curves show whether :mod:`lowlight.data.degradation` reproduces the real sensor (``tools/fit_camera_model.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STRIDE = 7


@dataclass
class NoiseSamples:
    """Local means (N, 3) and local noise variances (N, 3), both in the image's own units ([0, 1])."""

    means: np.ndarray
    variances: np.ndarray

    @staticmethod
    def concatenate(parts: list[NoiseSamples]) -> NoiseSamples:
        return NoiseSamples(np.concatenate([p.means for p in parts]), np.concatenate([p.variances for p in parts]))


def _flat_mask(reference: np.ndarray, threshold: float) -> np.ndarray:
    gray = cv2.GaussianBlur(reference.mean(axis=2).astype(np.float32), (0, 0), 2.0)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 8
    gradient = np.sqrt(gx**2 + gy**2)
    # a 7x7 window is flat only if its roughest pixel is
    return cv2.dilate(gradient, np.ones((7, 7), np.uint8)) < threshold


def noise_samples(
    image: np.ndarray, reference: np.ndarray | None = None, flat_threshold: float = 0.004
) -> NoiseSamples:
    """Local (mean, noise variance) pairs from the flat places of an (H, W, 3) float image in [0, 1].

    ``reference`` (same shape) decides where the scene is flat, e.g. the clean image of a pair; without it
    the image decides, and ``flat_threshold`` should then be scaled to the image's brightness.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    x = image.astype(np.float32)
    residual = x - cv2.blur(x, (3, 3), borderType=cv2.BORDER_REFLECT)
    variance = cv2.blur(residual**2, (7, 7), borderType=cv2.BORDER_REFLECT) * (9 / 8)
    mean = cv2.blur(x, (7, 7), borderType=cv2.BORDER_REFLECT)
    flat = _flat_mask(x if reference is None else reference, flat_threshold)
    flat[:8], flat[-8:], flat[:, :8], flat[:, -8:] = False, False, False, False
    grid = np.zeros_like(flat)
    grid[::STRIDE, ::STRIDE] = True
    keep = flat & grid
    return NoiseSamples(mean[keep], variance[keep])


def noise_curve(samples: NoiseSamples, edges: np.ndarray, min_count: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel median variance in each intensity bin: (centres (B,), variances (B, 3), NaN if too few)."""
    centres = (edges[:-1] + edges[1:]) / 2
    curve = np.full((len(centres), 3), np.nan)
    for channel in range(3):
        bins = np.digitize(samples.means[:, channel], edges) - 1
        for b in range(len(centres)):
            values = samples.variances[bins == b, channel]
            if values.size >= min_count:
                curve[b, channel] = float(np.median(values))
    return centres, curve


def curve_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference of two variance curves in log10 units, over the bins both have."""
    both = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    if not both.any():
        return float("inf")
    return float(np.sqrt(np.mean((np.log10(a[both]) - np.log10(b[both])) ** 2)))
