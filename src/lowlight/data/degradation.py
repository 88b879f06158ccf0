"""A camera model that turns a well-exposed photo into a realistic dark, noisy (optionally blurred) one.

Applied to a clean sRGB image ``x`` in [0, 1], parameters drawn per image from ranges:

1. **Linearise** with an inverse tone curve: ``lin = x ** gamma`` (``tone: gamma``) or the inverse sRGB
   curve (``tone: srgb``, whose linear toe keeps dark noise from being amplified without bound, as in LOL).
2. **Camera motion** (probability ``blur_probability``), in linear light because blur happens while the
   shutter is open: a straight line (``blur_kind: line``) or a random camera-shake trajectory
   (``trajectory``: a random walk with inertia, rasterised with sub-pixel weights) of ``blur_length`` pixels.
3. **Exposure and white balance**: the sensor sees ``lin * exposure * cast / wb`` where ``wb = (r, 1, b)``
   are the gains the camera's white balance applies afterwards (red and blue pixels collect fewer photons
   under indoor light, so their noise is amplified more), and ``cast`` (probability ``cast_probability``,
   per-channel gains ~ U(1 +- cast) normalised to mean 1) is the error of that white balance under a dim,
   tinted light.
4. **Poisson-Gaussian sensor noise** on the raw values: ``a * Poisson(raw / a) + N(0, b^2)``, shot-noise
   scale ``a`` and read noise ``b`` log-uniform in their ranges, then ``* wb``.
5. **Back to sRGB**: clip to [0, 1], the tone curve, quantise to 8 bits, and (probability
   ``jpeg_probability``) JPEG-compress at a quality in ``jpeg_quality``.

The clean image is the target. Everything is drawn from the ``numpy.random.Generator`` passed in, so a
dataset seed reproduces every sample. :data:`CALIBRATED` holds the ranges fitted to LOL ``our485/low`` and
DICM by ``tools/fit_camera_model.py`` (see ``docs/camera_model.md``); the defaults of
:class:`DegradationConfig` keep the older, simpler model (no white balance, line blur, no JPEG) that earlier
recipes were trained with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import cv2
import numpy as np


@dataclass
class DegradationConfig:
    """Ranges the per-image parameters are drawn from (see the module docstring)."""

    exposure: tuple[float, float] = (0.03, 0.3)
    tone: Literal["gamma", "srgb"] = "gamma"
    gamma: tuple[float, float] = (2.0, 2.6)
    shot_noise: tuple[float, float] = (1e-3, 2e-2)
    read_noise: tuple[float, float] = (1e-3, 1e-2)
    wb_red: tuple[float, float] = (1.0, 1.0)
    wb_blue: tuple[float, float] = (1.0, 1.0)
    cast_probability: float = 0.3
    cast: float = 0.2
    blur_probability: float = 0.0
    blur_kind: Literal["line", "trajectory"] = "line"
    blur_length: tuple[int, int] = (3, 21)
    jpeg_probability: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)
    quantize: bool = True

    def __post_init__(self) -> None:
        for name in ("exposure", "gamma", "shot_noise", "read_noise", "wb_red", "wb_blue"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
                raise ValueError(f"degradation {name} range must satisfy 0 < low <= high, got {(low, high)}")
        for name in ("cast_probability", "blur_probability", "jpeg_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"degradation {name} must be in [0, 1]")
        if not 0 <= self.cast < 1:
            raise ValueError("degradation cast must be in [0, 1)")
        if not 1 <= self.blur_length[0] <= self.blur_length[1]:
            raise ValueError("degradation blur_length must satisfy 1 <= low <= high")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError("degradation jpeg_quality must satisfy 1 <= low <= high <= 100")


@dataclass
class DegradationParams:
    """The parameters drawn for one image (``kernel`` is the blur kernel, None without blur)."""

    exposure: float
    gamma: float
    shot_noise: float
    read_noise: float
    gains: tuple[float, float, float]
    blur_length: int
    blur_angle: float
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    jpeg_quality: int = 0
    tone: str = "gamma"
    kernel: np.ndarray | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict:
        values = asdict(self)
        values.pop("kernel")
        return values


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
    length, angle, kernel = 1, 0.0, None
    if rng.random() < config.blur_probability:
        length = int(rng.integers(config.blur_length[0], config.blur_length[1] + 1))
        angle = float(rng.uniform(0, 180))
        kernel = motion_kernel(length, angle) if config.blur_kind == "line" else trajectory_kernel(rng, length)
    white_balance = (1.0, 1.0, 1.0)
    if config.wb_red != (1.0, 1.0) or config.wb_blue != (1.0, 1.0):  # no draw: older recipes keep their samples
        white_balance = (_log_uniform(rng, config.wb_red), 1.0, _log_uniform(rng, config.wb_blue))
    quality = 0
    if config.jpeg_probability and rng.random() < config.jpeg_probability:
        quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    return DegradationParams(
        exposure, gamma, shot, read, gains, length, angle, white_balance, quality, config.tone, kernel
    )


def motion_kernel(length: int, angle_degrees: float) -> np.ndarray:
    """A normalised line kernel of ``length`` pixels at ``angle_degrees`` (odd square size)."""
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)
    centre = (size - 1) / 2
    dx, dy = math.cos(math.radians(angle_degrees)), math.sin(math.radians(angle_degrees))
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, max(2 * length, 2)):
        kernel[round(centre + t * dy), round(centre + t * dx)] = 1.0
    return kernel / kernel.sum()


def random_trajectory(rng: np.random.Generator, length: float, points: int = 64, inertia: float = 0.7) -> np.ndarray:
    """A camera-shake path of total ``length`` pixels: (points, 2) positions centred on the origin.

    The direction of travel changes by a random turn at each step; ``inertia`` keeps part of the previous
    direction, so short exposures give nearly straight strokes and the path may curve or double back.
    """
    heading = rng.uniform(0, 2 * math.pi)
    velocity = np.array([math.cos(heading), math.sin(heading)])
    steps = []
    for _ in range(points - 1):
        turn = rng.normal(size=2)
        velocity = inertia * velocity + (1 - inertia) * turn / max(np.linalg.norm(turn), 1e-6)
        velocity /= max(np.linalg.norm(velocity), 1e-6)
        steps.append(velocity.copy())
    path = np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    path *= length / (points - 1)  # unit steps: the path is exactly ``length`` pixels long
    return path - (path.max(axis=0) + path.min(axis=0)) / 2


def trajectory_kernel(rng: np.random.Generator, length: int) -> np.ndarray:
    """A normalised blur kernel from :func:`random_trajectory` (odd square size, bilinear splatting)."""
    path = random_trajectory(rng, float(length))
    radius = math.ceil(np.abs(path).max()) + 1
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float64)
    for x, y in path + radius:
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        kernel[y0, x0] += (1 - fx) * (1 - fy)
        kernel[y0, x0 + 1] += fx * (1 - fy)
        kernel[y0 + 1, x0] += (1 - fx) * fy
        kernel[y0 + 1, x0 + 1] += fx * fy
    return (kernel / kernel.sum()).astype(np.float32)


def _to_linear(image: np.ndarray, params: DegradationParams) -> np.ndarray:
    if params.tone == "srgb":
        return np.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4).astype(np.float32)
    return image**params.gamma


def _from_linear(linear: np.ndarray, params: DegradationParams) -> np.ndarray:
    if params.tone == "srgb":
        return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055).astype(np.float32)
    return linear ** (1 / params.gamma)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    bgr = cv2.cvtColor(np.round(image * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255


def apply_degradation(clean: np.ndarray, params: DegradationParams, rng: np.random.Generator, quantize: bool = True):
    """Degrade a clean (H, W, 3) float image in [0, 1] with the given parameters; returns float32."""
    if clean.ndim != 3 or clean.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {clean.shape}")
    linear = _to_linear(np.clip(clean.astype(np.float32), 0, 1), params)
    kernel = params.kernel
    if kernel is None and params.blur_length > 1:
        kernel = motion_kernel(params.blur_length, params.blur_angle)
    if kernel is not None:
        linear = cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT)
    white_balance = np.asarray(params.white_balance, np.float32)
    raw = linear * (params.exposure * np.asarray(params.gains, np.float32) / white_balance)
    photons = rng.poisson(np.clip(raw, 0, None) / params.shot_noise)
    noisy = (photons * params.shot_noise + rng.normal(0.0, params.read_noise, size=raw.shape)) * white_balance
    dark = _from_linear(np.clip(noisy, 0, 1), params)
    if quantize or params.jpeg_quality:
        dark = np.round(dark * 255) / 255
    if params.jpeg_quality:
        dark = _jpeg(dark, params.jpeg_quality)
    return dark.astype(np.float32)


def degrade(clean: np.ndarray, rng: np.random.Generator, config: DegradationConfig | None = None):
    """Draw parameters and degrade ``clean``; returns (dark image, parameters).

    >>> dark, params = degrade(np.full((32, 32, 3), 0.5, np.float32), np.random.default_rng(0), CALIBRATED)
    >>> dark.shape, bool(dark.mean() < 0.5), params.tone
    ((32, 32, 3), True, 'srgb')
    """
    config = config or DegradationConfig()
    params = sample_params(rng, config)
    return apply_degradation(clean, params, rng, config.quantize), params


# Fitted by tools/fit_camera_model.py (docs/camera_model.md): LOL our485 linear exposure ratios 0.0013-0.075
# (5-95 %) widened to 0.5 for DICM's brighter photos; green noise a = 1e-5, b = 3.2e-4 with the sRGB curve; red
# and blue read-noise variance 10x and 3.2x green's (white balance ~3.2 and ~1.8 under LOL's indoor light);
# the noise ranges span the per-image spread of LOL and DICM (0.4x-4x the fitted variance).
CALIBRATED = DegradationConfig(
    exposure=(0.0015, 0.5),
    tone="srgb",
    shot_noise=(4e-6, 4e-5),
    read_noise=(2e-4, 6.4e-4),
    wb_red=(1.5, 3.2),
    wb_blue=(1.2, 2.0),
    cast_probability=0.5,
    cast=0.15,
    blur_probability=0.0,
    blur_kind="trajectory",
    blur_length=(5, 25),
    jpeg_probability=0.3,
    jpeg_quality=(60, 95),
)
