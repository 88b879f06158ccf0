from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import lowlight
from lowlight.models.classical import (
    adaptive_gamma_curve,
    clahe_levels,
    equalize_levels,
    gamma_curve,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)


def test_gamma_known_value():
    x = torch.full((1, 3, 4, 4), 0.25)
    torch.testing.assert_close(gamma_curve(x, 0.5), torch.full_like(x, 0.5))
    with pytest.raises(ValueError):
        gamma_curve(x, 0.0)


def test_adaptive_gamma_moves_a_constant_image_to_the_target():
    x = torch.full((2, 3, 8, 8), 0.1)
    torch.testing.assert_close(adaptive_gamma_curve(x, 0.5), torch.full_like(x, 0.5))
    with pytest.raises(ValueError):
        adaptive_gamma_curve(x, 1.5)


def test_ycbcr_round_trip():
    x = torch.rand(2, 3, 5, 6)
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-5, rtol=0)


def test_histogram_equalization_matches_opencv():
    rng = np.random.default_rng(0)
    levels = (rng.beta(2, 8, size=(37, 53)) * 255).astype(np.uint8)
    ours = (equalize_levels(torch.from_numpy(levels).long()[None])[0] * 255).round().numpy().astype(np.uint8)
    np.testing.assert_array_equal(ours, cv2.equalizeHist(levels))


@pytest.mark.parametrize("shape", [(64, 96), (61, 83)])
def test_clahe_matches_opencv_within_one_level(shape):
    rng = np.random.default_rng(1)
    base = np.linspace(0, 80, shape[1])[None, :] + rng.normal(0, 12, size=shape)
    levels = np.clip(base, 0, 255).astype(np.uint8)
    expected = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(levels).astype(int)
    ours = (clahe_levels(torch.from_numpy(levels).long()[None])[0] * 255).round().numpy().astype(int)
    diff = np.abs(ours - expected)
    assert diff.max() <= 1
    assert (diff == 0).mean() > 0.95


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def _eval15_psnr(shared, name: str) -> float:
    model = lowlight.create_model(name)
    root = shared / "data" / "lol-eval15"
    scores = []
    for low_path in sorted((root / "low").glob("*.png")):
        low = np.asarray(Image.open(low_path).convert("RGB"))
        high = np.asarray(Image.open(root / "high" / low_path.name).convert("RGB"))
        x = torch.from_numpy(low.copy()).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            out = model(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        scores.append(_psnr(np.rint(out * 255).astype(np.uint8), high))
    return float(np.mean(scores))


@pytest.mark.parametrize(
    ("name", "expected"), [("adaptive_gamma", 16.34), ("gamma", 13.28), ("histogram_equalization", 14.24)]
)
def test_eval15_psnr_matches_the_published_baselines(shared, name, expected):
    assert abs(_eval15_psnr(shared, name) - expected) < 0.05
