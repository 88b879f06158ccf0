"""The calibrated camera model of lowlight.data.degradation and the noise statistics it was fitted with."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lowlight.config import from_dict
from lowlight.data.degradation import (
    CALIBRATED,
    DegradationConfig,
    DegradationParams,
    apply_degradation,
    degrade,
    random_trajectory,
    trajectory_kernel,
)
from lowlight.data.noise_stats import NoiseSamples, curve_distance, noise_curve, noise_samples
from lowlight.errors import ConfigError


def _params(**changes) -> DegradationParams:
    base = DegradationParams(
        exposure=0.25, gamma=2.2, shot_noise=4e-3, read_noise=5e-3, gains=(1, 1, 1), blur_length=1, blur_angle=0
    )
    return replace(base, **changes)


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def test_white_balance_amplifies_red_and_blue_noise_as_a_sensor_does():
    clean = np.full((256, 256, 3), 0.6, np.float32)
    params = _params(gamma=1.0, white_balance=(2.0, 1.0, 1.5))
    dark = apply_degradation(clean, params, np.random.default_rng(0), quantize=False)
    signal = 0.6 * 0.25
    # mean is preserved (the gains undo the sensor's colour response) ...
    assert dark.reshape(-1, 3).mean(axis=0) == pytest.approx([signal] * 3, rel=0.01)
    # ... and the variance of channel c is wb_c * a * I + wb_c^2 * b^2
    for channel, gain in enumerate((2.0, 1.0, 1.5)):
        expected = gain * params.shot_noise * signal + gain**2 * params.read_noise**2
        assert dark[..., channel].var() == pytest.approx(expected, rel=0.06)


def test_srgb_tone_curve_round_trips_a_noiseless_image():
    clean = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    params = _params(exposure=1.0, shot_noise=1e-9, read_noise=1e-9, tone="srgb")
    out = apply_degradation(clean, params, np.random.default_rng(0), quantize=False)
    np.testing.assert_allclose(out, clean, atol=1e-4)


def test_trajectory_kernels_are_normalised_and_as_long_as_asked():
    rng = np.random.default_rng(3)
    for length in (5, 12, 25):
        path = random_trajectory(rng, float(length))
        travelled = np.linalg.norm(np.diff(path, axis=0), axis=1).sum()
        assert travelled == pytest.approx(length, rel=0.05)
        kernel = trajectory_kernel(rng, length)
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and (kernel >= 0).all()
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.shape[0] <= length + 5


def test_trajectory_blur_spreads_a_point_over_the_kernel():
    clean = np.zeros((64, 64, 3), np.float32)
    clean[32, 32] = 1.0
    config = DegradationConfig(
        exposure=(1.0, 1.0), gamma=(1.0, 1.0), shot_noise=(1e-9, 1e-9), read_noise=(1e-9, 1e-9),
        cast_probability=0.0, blur_probability=1.0, blur_kind="trajectory", blur_length=(15, 15), quantize=False,
    )  # fmt: skip
    dark, params = degrade(clean, np.random.default_rng(0), config)
    assert params.kernel is not None and params.blur_length == 15
    assert dark[..., 0].max() < 0.5 and np.count_nonzero(dark[..., 0] > 1e-4) >= 10


def test_jpeg_step_compresses_with_the_drawn_quality():
    clean = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    config = replace(CALIBRATED, jpeg_probability=1.0, jpeg_quality=(30, 30), exposure=(0.5, 0.5))
    dark, params = degrade(clean, np.random.default_rng(1), config)
    assert params.jpeg_quality == 30
    plain, _ = degrade(clean, np.random.default_rng(1), replace(config, jpeg_probability=0.0))
    assert not np.array_equal(dark, plain) and np.allclose(dark * 255, np.round(dark * 255), atol=1e-4)


def test_calibrated_parameters_stay_in_their_ranges_and_are_seeded():
    clean = np.full((16, 16, 3), 0.5, np.float32)
    for seed in range(30):
        _, p = degrade(clean, np.random.default_rng(seed), CALIBRATED)
        assert CALIBRATED.exposure[0] <= p.exposure <= CALIBRATED.exposure[1]
        assert CALIBRATED.wb_red[0] <= p.white_balance[0] <= CALIBRATED.wb_red[1] and p.white_balance[1] == 1.0
        assert p.tone == "srgb" and p.kernel is None
    a, _ = degrade(clean, np.random.default_rng(5), CALIBRATED)
    b, _ = degrade(clean, np.random.default_rng(5), CALIBRATED)
    assert np.array_equal(a, b)


def test_older_configs_draw_the_same_samples_as_before():
    # Recipes trained before the camera model grew white balance and JPEG keep their exact samples.
    config = DegradationConfig(exposure=(0.05, 0.5), cast_probability=0.0)
    _, params = degrade(np.full((8, 8, 3), 0.5, np.float32), np.random.default_rng(11), config)
    rng = np.random.default_rng(11)
    assert params.exposure == pytest.approx(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    assert params.white_balance == (1.0, 1.0, 1.0) and params.jpeg_quality == 0


def test_new_fields_are_checked_and_read_from_yaml_mappings():
    with pytest.raises(ValueError, match="wb_red"):
        DegradationConfig(wb_red=(2.0, 1.0))
    with pytest.raises(ValueError, match="jpeg_quality"):
        DegradationConfig(jpeg_quality=(90, 101))
    with pytest.raises(ConfigError, match="blur_kind"):
        from_dict(DegradationConfig, {"blur_kind": "spiral"})
    config = from_dict(DegradationConfig, {"tone": "srgb", "wb_blue": [1.2, 2.0], "blur_kind": "trajectory"})
    assert config.wb_blue == (1.2, 2.0) and config.tone == "srgb"


# ----------------------------------------------------------------------------- noise statistics
def test_noise_estimator_recovers_a_known_variance_on_flat_and_textured_images():
    rng = np.random.default_rng(0)
    clean = np.zeros((240, 320, 3), np.float32)
    clean[:, :160] = 0.2
    clean[:, 160:] = 0.6  # one edge: the flat mask must keep it out
    noisy = clean + rng.normal(0, 0.02, clean.shape).astype(np.float32)
    samples = noise_samples(noisy, clean)
    assert len(samples.means) > 500
    _, curve = noise_curve(samples, np.array([0.1, 0.3, 0.5, 0.7]))
    assert np.nanmax(np.abs(curve / 0.02**2 - 1)) < 0.15
    assert np.isnan(curve[1]).all()  # no flat place has a mean of 0.3-0.5


def test_noise_curve_of_the_model_grows_with_intensity_like_poisson_gaussian():
    clean = np.concatenate([np.full((96, 96, 3), v, np.float32) for v in (0.2, 0.5, 0.9)], axis=1)
    params = _params(exposure=1.0, gamma=1.0, shot_noise=2e-3, read_noise=2e-3)
    dark = apply_degradation(clean, params, np.random.default_rng(0), quantize=False)
    samples = NoiseSamples.concatenate([noise_samples(dark, clean)])
    _, curve = noise_curve(samples, np.array([0.1, 0.3, 0.6, 1.0]), min_count=10)
    expected = np.array([2e-3 * v + 4e-6 for v in (0.2, 0.5, 0.9)])
    np.testing.assert_allclose(curve[:, 1], expected, rtol=0.2)
    assert curve_distance(curve[:, 1], expected) < 0.08
    assert curve_distance(curve[:, 1], expected * 2) > 0.2


def test_noise_samples_checks_its_input():
    with pytest.raises(ValueError, match="H, W, 3"):
        noise_samples(np.zeros((10, 10)))
