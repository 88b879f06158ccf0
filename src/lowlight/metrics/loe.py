"""LOE, the lightness order error (Wang et al., "Naturalness Preserved Enhancement", IEEE TIP 2013).

Lightness is the maximum of R, G and B. Both the input and the enhanced image are resized (MATLAB
bicubic ``imresize`` with anti-aliasing, as in the authors' code) so that the shorter side is 50 pixels:
``r = 50 / min(H, W)``, size ``(round(H r), round(W r))``. For every pixel the error counts the other
pixels whose lightness order (``>=``) differs between input and output; LOE is the mean count.
Lower is better; 0 means the enhancement kept the lightness order everywhere.
"""

from __future__ import annotations

import numpy as np

from lowlight.metrics.niqe import matlab_imresize

SHORT_SIDE = 50


def _lightness(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float64) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    return rgb.max(axis=2)


def loe(reference: np.ndarray, enhanced: np.ndarray) -> float:
    """LOE of ``enhanced`` against its low-light ``reference``; both (H, W, 3), uint8 or float in [0, 1]."""
    if reference.shape != enhanced.shape:
        raise ValueError(f"input {reference.shape} and output {enhanced.shape} differ in shape")
    height, width = reference.shape[:2]
    ratio = SHORT_SIDE / min(height, width)
    size = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    low = matlab_imresize(_lightness(reference), size=size).ravel()
    high = matlab_imresize(_lightness(enhanced), size=size).ravel()
    errors = 0
    for start in range(0, low.size, 256):  # chunks keep the pairwise matrices small
        order_low = low[start : start + 256, None] >= low[None, :]
        order_high = high[start : start + 256, None] >= high[None, :]
        errors += int(np.count_nonzero(order_low ^ order_high))
    return errors / low.size
