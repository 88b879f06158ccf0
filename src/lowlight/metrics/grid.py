"""Grid-artifact figure: how much a periodic lattice (period 8, 4 or 2 pixels) stands out of an image's spectrum.

Networks that downsample three times by 2 can lay a faint lattice with a period of 8 pixels (or its
harmonics) over smooth areas. The figure measures it without a reference:

1. gray = mean of R, G, B, divided by its mean (so exposure does not matter); a 2-D Hann window;
   power spectrum ``|FFT|^2``.
2. At each lattice frequency ``(ky / 8, kx / 8)`` cycles per pixel, ``0 <= ky, kx <= 4``, not both 0
   (24 frequencies), the peak of the 3x3 bins around it over the median of the 16 bins of the 5x5 ring
   around those, in dB.
3. The mean over the 24 frequencies.

``grid_artifact_db(output, reference)`` is the figure of the output minus that of a reference (the clean
target, or the input when there is none), so a model that adds no lattice scores about 0 dB.
"""

from __future__ import annotations

import numpy as np

PERIOD = 8


def _power_spectrum(image: np.ndarray) -> np.ndarray:
    gray = image.mean(axis=2) if image.ndim == 3 else image
    gray = gray.astype(np.float64)
    gray = gray / max(float(gray.mean()), 1e-8)
    window = np.outer(np.hanning(gray.shape[0]), np.hanning(gray.shape[1]))
    return np.abs(np.fft.fft2(gray * window)) ** 2


def lattice_peak_db(image: np.ndarray) -> float:
    """Mean lattice peak over its surroundings, in dB, of an (H, W) or (H, W, 3) image (H, W >= 16).

    >>> flat = np.full((64, 64), 0.5)
    >>> lattice = flat + 0.05 * (np.arange(64) % 8 == 0)[None, :]
    >>> round(lattice_peak_db(lattice) - lattice_peak_db(flat + 0.01 * np.random.default_rng(0).random((64, 64)))) > 10
    True
    """
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 16:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image of at least 16x16, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("the image holds NaN or Inf values")
    power = _power_spectrum(image)
    height, width = power.shape
    offsets = np.arange(-2, 3)
    ring = (np.abs(offsets)[:, None] == 2) | (np.abs(offsets)[None, :] == 2)
    figures = []
    for ky in range(PERIOD // 2 + 1):
        for kx in range(PERIOD // 2 + 1):
            if ky == 0 and kx == 0:
                continue
            rows = (round(ky * height / PERIOD) + offsets) % height
            cols = (round(kx * width / PERIOD) + offsets) % width
            block = power[np.ix_(rows, cols)]
            peak = block[1:4, 1:4].max()
            floor = max(float(np.median(block[ring])), 1e-30)
            figures.append(10 * np.log10(max(peak, 1e-30) / floor))
    return float(np.mean(figures))


def grid_artifact_db(output: np.ndarray, reference: np.ndarray) -> float:
    """Lattice figure of ``output`` minus that of ``reference`` (dB); both (H, W, 3) or (H, W)."""
    return lattice_peak_db(output) - lattice_peak_db(reference)
