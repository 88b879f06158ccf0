"""NIQE, the Natural Image Quality Evaluator (Mittal et al., IEEE SPL 2013), as in the MATLAB release.

Protocol: MATLAB-style Y channel in [0, 255], rounded; cropped to whole 96x96 blocks; local mean and
contrast normalisation with the release's 7x7 Gaussian window (edge-replicated borders); 18 natural
scene statistics per block (asymmetric generalised Gaussian fits of the normalised pixels and of their
products with 4 neighbours) at full and half resolution (MATLAB bicubic ``imresize`` with
anti-aliasing); distance of their multivariate Gaussian to the pristine model shipped in
``data/niqe_pris_params.npz`` (see ``data/NOTICE.md``). Lower is better.
"""

from __future__ import annotations

import functools
import math
import warnings
from importlib import resources

import cv2
import numpy as np

from lowlight.metrics.color import rgb_to_y_matlab

BLOCK = 96
_SHAPE_GRID = np.arange(0.2, 10.001, 0.001)
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@functools.lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu 36, covariance 36x36, Gaussian window 7x7) of the NIQE release."""
    with resources.files("lowlight.metrics").joinpath("data/niqe_pris_params.npz").open("rb") as handle:
        params = np.load(handle)
        return params["mu_pris_param"][0].astype(np.float64), params["cov_pris_param"], params["gaussian_window"]


@functools.lru_cache(maxsize=1)
def _shape_ratio_table() -> np.ndarray:
    g = _SHAPE_GRID
    lg = np.vectorize(math.lgamma)
    return np.exp(2 * lg(2 / g) - lg(1 / g) - lg(3 / g))


def _gamma(x: float) -> float:
    return math.gamma(x)


def fit_aggd(values: np.ndarray) -> tuple[float, float, float]:
    """Moment-matching fit of an asymmetric generalised Gaussian: (shape, left scale, right scale)."""
    values = values.ravel()
    left = math.sqrt(np.mean(values[values < 0] ** 2))
    right = math.sqrt(np.mean(values[values > 0] ** 2))
    ratio = left / right
    r_hat = np.mean(np.abs(values)) ** 2 / np.mean(values**2)
    r_norm = r_hat * (ratio**3 + 1) * (ratio + 1) / (ratio**2 + 1) ** 2
    shape = float(_SHAPE_GRID[np.argmin((_shape_ratio_table() - r_norm) ** 2)])
    factor = math.sqrt(_gamma(1 / shape) / _gamma(3 / shape))
    return shape, left * factor, right * factor


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE statistics of one normalised block."""
    shape, left, right = fit_aggd(block)
    features = [shape, (left + right) / 2]
    for shift in _SHIFTS:
        shape, left, right = fit_aggd(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * _gamma(2 / shape) / _gamma(1 / shape)
        features += [shape, mean, left, right]
    return features


def _symmetric_index(index: np.ndarray, length: int) -> np.ndarray:
    period = np.concatenate([np.arange(length), np.arange(length - 1, -1, -1)])
    return period[np.mod(index, 2 * length)]


def _cubic(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1, np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0))


def matlab_resize_matrix(in_length: int, scale: float, out_length: int | None = None) -> np.ndarray:
    """(out, in) matrix of MATLAB's bicubic ``imresize`` along one axis (anti-aliased when shrinking)."""
    out_length = math.ceil(in_length * scale) if out_length is None else out_length
    width = 4.0 / scale if scale < 1 else 4.0
    centres = np.arange(1, out_length + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinates
    left = np.floor(centres - width / 2)
    taps = left[:, None] + np.arange(math.ceil(width) + 2)[None, :]
    distance = centres[:, None] - taps
    weights = scale * _cubic(distance * scale) if scale < 1 else _cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    matrix = np.zeros((out_length, in_length))
    columns = _symmetric_index(taps.astype(int) - 1, in_length)
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps.shape[1]), columns.ravel()), weights.ravel())
    return matrix


def matlab_imresize(image: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """MATLAB ``imresize(image, scale)`` or ``imresize(image, [h w])`` (bicubic, anti-aliasing), 2-D float."""
    height, width = image.shape
    if size is None:
        if scale is None:
            raise ValueError("give scale or size")
        rows, cols = matlab_resize_matrix(height, scale), matlab_resize_matrix(width, scale)
    else:
        rows = matlab_resize_matrix(height, size[0] / height, size[0])
        cols = matlab_resize_matrix(width, size[1] / width, size[1])
    return rows @ image.astype(np.float64) @ cols.T


def _normalise(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    mu = cv2.filter2D(image, cv2.CV_64F, window, borderType=cv2.BORDER_REPLICATE)
    second = cv2.filter2D(image * image, cv2.CV_64F, window, borderType=cv2.BORDER_REPLICATE)
    sigma = np.sqrt(np.abs(second - mu * mu))
    return (image - mu) / (sigma + 1)


def niqe_y(y: np.ndarray) -> float:
    """NIQE of a Y (or gray) image, (H, W) float in [0, 255]; needs at least 96x96 pixels."""
    mu_pristine, cov_pristine, window = pristine_model()
    blocks_h, blocks_w = y.shape[0] // BLOCK, y.shape[1] // BLOCK
    if blocks_h == 0 or blocks_w == 0:
        raise ValueError(f"NIQE needs images of at least {BLOCK}x{BLOCK} pixels, got {y.shape[1]}x{y.shape[0]}")
    image = y[: blocks_h * BLOCK, : blocks_w * BLOCK].astype(np.float64)
    per_scale = []
    for scale in (1, 2):
        normalised = _normalise(image, window)
        size = BLOCK // scale
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # flat blocks: means of empty halves, NaN rows
            features = [
                block_features(normalised[i * size : (i + 1) * size, j * size : (j + 1) * size])
                for j in range(blocks_w)
                for i in range(blocks_h)
            ]
        per_scale.append(np.array(features))
        if scale == 1:
            image = matlab_imresize(image / 255.0, 0.5) * 255.0
    features = np.concatenate(per_scale, axis=1)
    finite = features[~np.isnan(features).any(axis=1)]
    if len(finite) < 2:
        raise ValueError("NIQE needs at least two 96x96 blocks with texture (flat blocks give no statistics)")
    mu = np.nanmean(features, axis=0)
    covariance = np.cov(finite, rowvar=False)
    difference = mu_pristine - mu
    inverse = np.linalg.pinv((cov_pristine + covariance) / 2)
    return float(np.sqrt(difference @ inverse @ difference))


def niqe(rgb: np.ndarray, crop_border: int = 0) -> float:
    """NIQE of an RGB image (H, W, 3) float in [0, 1] (or uint8), on its rounded MATLAB Y channel."""
    rgb = rgb.astype(np.float64) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    y = np.round(rgb_to_y_matlab(rgb))
    if crop_border:
        y = y[crop_border:-crop_border, crop_border:-crop_border]
    return niqe_y(y)
