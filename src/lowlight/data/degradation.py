"""A low-light degradation model: turn any well-exposed photo into a realistic dark, noisy one.

Steps, applied to a clean sRGB image ``x`` in [0, 1] (parameters drawn per image from ranges):

1. **Linearise** with an inverse tone curve: ``lin = x ** gamma``, gamma ~ U(gamma range).
2. **Motion blur** (optional, probability ``blur_probability``): a straight line kernel of random
   length and angle, applied in linear light (blur happens while the shutter is open).
3. **Exposure**: ``lin *= exposure``, exposure log-uniform in its range (0.03 = 5 stops darker).
4. **Colour cast** (optional, probability ``cast_probability``): per-channel gains ~ U(1 +- cast),
   normalised to mean 1 (white balance of a dim, tinted light source).
5. **Poisson-Gaussian sensor noise** in linear light: ``y = a * Poisson(lin / a) + N(0, b^2)``, so
   the variance is ``a * lin + b^2``; shot-noise scale ``a`` and read-noise ``b`` log-uniform.
6. **Back to sRGB**: clip to [0, 1], ``y ** (1 / gamma)``, and quantise to 8 bits.

The clean image is the target. Everything is drawn from the ``numpy.random.Generator`` passed in, so
a dataset seed reproduces every sample.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass
class DegradationConfig:
    """Ranges the per-image parameters are drawn from (see the module docstring)."""

    exposure: tuple[float, float] = (0.03, 0.3)
    gamma: tuple[float, float] = (2.0, 2.6)
    shot_noise: tuple[float, float] = (1e-3, 2e-2)
    read_noise: tuple[float, float] = (1e-3, 1e-2)
    cast_probability: float = 0.3
    cast: float = 0.2
    blur_probability: float = 0.0
    blur_length: tuple[int, int] = (3, 21)
    quantize: bool = True

    def __post_init__(self) -> None:
        for name in ("exposure", "gamma", "shot_noise", "read_noise"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"degradation {name} range must satisfy 0 < low <= high, got {(low, high)}")
        for name in ("cast_probability", "blur_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"degradation {name} must be in [0, 1]")
        if not 1 <= self.blur_length[0] <= self.blur_length[1]:
            raise ValueError("degradation blur_length must satisfy 1 <= low <= high")


@dataclass
class DegradationParams:
    """The parameters drawn for one image."""

    exposure: float
    gamma: float
    shot_noise: float
    read_noise: float
    gains: tuple[float, float, float]
    blur_length: int
    blur_angle: float

    def as_dict(self) -> dict:
        return asdict(self)


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def sample_params(rng: np.random.Generator, config: DegradationConfig) -> DegradationParams:
    """Draw one image's degradation parameters."""
    exposure = _log_uniform(rng, config.exposure)
    gamma = float(rng.uniform(*config.gamma))
    shot = _log_uniform(rng, config.shot_noise)
    read = _log_uniform(rng, config.read_noise)
    gains = (1.0, 1.0, 1.0)
    if rng.random() < config.cast_probability:
        raw = rng.uniform(1 - config.cast, 1 + config.cast, size=3)
        gains = tuple(float(g) for g in raw / raw.mean())
    length, angle = 1, 0.0
    if rng.random() < config.blur_probability:
        length = int(rng.integers(config.blur_length[0], config.blur_length[1] + 1))
        angle = float(rng.uniform(0, 180))
    return DegradationParams(exposure, gamma, shot, read, gains, length, angle)


def motion_kernel(length: int, angle_degrees: float) -> np.ndarray:
    """A normalised line kernel of ``length`` pixels at ``angle_degrees`` (odd square size)."""
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)
    centre = (size - 1) / 2
    dx, dy = math.cos(math.radians(angle_degrees)), math.sin(math.radians(angle_degrees))
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, max(2 * length, 2)):
        kernel[round(centre + t * dy), round(centre + t * dx)] = 1.0
    return kernel / kernel.sum()


def apply_degradation(clean: np.ndarray, params: DegradationParams, rng: np.random.Generator, quantize: bool = True):
    """Degrade a clean (H, W, 3) float image in [0, 1] with the given parameters; returns float32."""
    if clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {clean.shape}")
    linear = np.clip(clean.astype(np.float32), 0, 1) ** params.gamma
    if params.blur_length > 1:
        kernel = motion_kernel(params.blur_length, params.blur_angle)
        linear = cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT)
    linear = linear * (params.exposure * np.asarray(params.gains, np.float32))
    photons = rng.poisson(np.clip(linear, 0, None) / params.shot_noise)
    noisy = photons * params.shot_noise + rng.normal(0.0, params.read_noise, size=linear.shape)
    dark = np.clip(noisy, 0, 1) ** (1 / params.gamma)
    if quantize:
        dark = np.round(dark * 255) / 255
    return dark.astype(np.float32)


def degrade(clean: np.ndarray, rng: np.random.Generator, config: DegradationConfig | None = None):
    """Draw parameters and degrade ``clean``; returns (dark image, parameters)."""
    config = config or DegradationConfig()
    params = sample_params(rng, config)
    return apply_degradation(clean, params, rng, config.quantize), params
