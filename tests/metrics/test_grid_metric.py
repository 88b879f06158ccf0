"""The grid-artifact figure (lowlight.metrics.grid) and its registry entry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lowlight.metrics.grid import grid_artifact_db, lattice_peak_db
from lowlight.metrics.registry import RELATIVE, create_metric, metric_info


def _smooth_photo(height: int = 160, width: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = 0.4 + 0.3 * np.sin(3 * x + 1) * np.cos(2 * y)
    image = np.stack([base, base * 0.9, base * 0.8], axis=2) + rng.normal(0, 0.01, (height, width, 3))
    return np.clip(image, 0, 1)


def _with_lattice(image: np.ndarray, strength: float) -> np.ndarray:
    rows = (np.arange(image.shape[0]) % 8 == 0)[:, None]
    cols = (np.arange(image.shape[1]) % 8 == 0)[None, :]
    return np.clip(image + strength * (rows | cols)[..., None], 0, 1)


def test_an_image_against_itself_scores_zero():
    photo = _smooth_photo()
    assert grid_artifact_db(photo, photo) == 0.0


def test_a_period_8_lattice_raises_the_figure_with_its_strength():
    photo = _smooth_photo()
    weak, strong = (grid_artifact_db(_with_lattice(photo, s), photo) for s in (0.005, 0.03))
    assert 1.0 < weak < strong and strong > 8


def test_non_periodic_changes_do_not_count_as_a_lattice():
    photo = _smooth_photo()
    brighter = np.clip(photo * 1.5, 0, 1)
    noisier = np.clip(photo + np.random.default_rng(1).normal(0, 0.03, photo.shape), 0, 1)
    assert abs(grid_artifact_db(brighter, photo)) < 0.5
    assert abs(grid_artifact_db(noisier, photo)) < 1.0


def test_figure_works_on_odd_sizes_and_checks_inputs():
    assert np.isfinite(lattice_peak_db(_smooth_photo(33, 47)))
    with pytest.raises(ValueError, match="at least 16x16"):
        lattice_peak_db(np.zeros((8, 40, 3)))
    with pytest.raises(ValueError, match="NaN"):
        lattice_peak_db(np.full((32, 32), np.nan))


def test_registry_metric_uses_the_target_or_else_the_input():
    assert metric_info("grid_db").kind == RELATIVE and metric_info("grid_db").lower_better
    metric = create_metric("grid_db")
    photo = torch.from_numpy(_smooth_photo()).permute(2, 0, 1)[None].float()
    latticed = torch.from_numpy(_with_lattice(_smooth_photo(), 0.03)).permute(2, 0, 1)[None].float()
    against_target = metric(latticed, photo)
    against_input = metric(latticed, None, input=photo)
    assert against_target.shape == (1,) and against_target.item() == pytest.approx(against_input.item())
    assert against_target.item() > 8
    with pytest.raises(ValueError, match="target or the input"):
        metric(latticed)
