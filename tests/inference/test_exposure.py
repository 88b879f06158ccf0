"""Brightness control for every model (--exposure EV, --target-exposure): monotonic, neutral at 0, no colour shift."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import lowlight
from lowlight.errors import LowlightError
from lowlight.inference.exposure import apply_exposure, exposure_for_target
from lowlight.inference.pipeline import Enhancer

SMALL = {"darkir_m": {"width": 8}, "darkir_l": {"width": 8}, "fsidnet": {"width": 4}, "fsidnet_s": {"width": 4}}
SETTINGS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]


def _photo() -> torch.Tensor:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:40] / 40
    rgb = np.stack([0.05 + 0.1 * x, 0.04 + 0.08 * y, 0.03 + 0.05 * x * y], axis=0) + rng.normal(0, 0.01, (3, 32, 40))
    return torch.from_numpy(np.clip(rgb, 0, 1)).float()[None]


def _hue_saturation(image: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    rgb = image[0].permute(1, 2, 0).numpy().astype(np.float32)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    return hsv[..., 0], hsv[..., 1]


@pytest.mark.parametrize("name", lowlight.list_models())
def test_exposure_is_neutral_at_zero_and_monotonic_for_every_model(name):
    model = lowlight.create_model(name, **SMALL.get(name, {}))
    x = _photo()
    outputs = [Enhancer(model, device="cpu", exposure=ev)(x) for ev in SETTINGS]
    means = [out.mean().item() for out in outputs]
    assert all(a < b for a, b in itertools.pairwise(means)), means
    torch.testing.assert_close(outputs[SETTINGS.index(0.0)], Enhancer(model, device="cpu")(x))


def test_exposure_keeps_hue_and_does_not_clip_highlights_first():
    image = _photo() * 4
    hue0, sat0 = _hue_saturation(image)
    for ev in (-1.0, 1.0):
        out = apply_exposure(image, ev)
        hue, sat = _hue_saturation(out)
        bright = (image.mean(dim=1) > 0.1)[0].numpy()
        assert np.median(np.abs(hue - hue0)[bright]) < 2.0  # degrees
        assert np.median(np.abs(sat - sat0)[bright]) < 0.08
    white = torch.ones(1, 3, 4, 4)
    assert torch.allclose(apply_exposure(white, 2.0), white)  # f(1) = 1: white stays white
    near_white = torch.full((1, 3, 4, 4), 0.9)
    assert apply_exposure(near_white, 1.0).max() < 1.0  # rolled off, not clipped


def test_target_exposure_works_for_models_that_are_not_curve_models():
    x = _photo()
    enhancer = Enhancer("gamma", device="cpu", target_exposure=0.45)
    assert enhancer(x).mean().item() == pytest.approx(0.45, abs=0.01)
    assert apply_exposure(x, exposure_for_target(x, 0.3)).mean().item() == pytest.approx(0.3, abs=0.01)
    with pytest.raises(LowlightError, match="not both"):
        Enhancer("gamma", device="cpu", target_exposure=0.4, exposure=1.0)
    with pytest.raises(LowlightError, match="within"):
        Enhancer("gamma", device="cpu", exposure=9.0)


def test_exposure_reaches_the_cli_and_the_api(tmp_path):
    from PIL import Image

    from lowlight.cli import main

    path = tmp_path / "a.png"
    Image.fromarray((_photo()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(path)
    assert main(["enhance", str(path), "-o", str(tmp_path / "b.png"), "-m", "gamma", "--exposure", "-1", "-q"]) == 0
    darker = np.asarray(Image.open(tmp_path / "b.png"), np.float32).mean()
    plain = np.asarray(lowlight.enhance(path, "gamma", device="cpu"), np.float32).mean()
    via_api = np.asarray(lowlight.enhance(path, "gamma", device="cpu", exposure=-1.0), np.float32).mean()
    assert darker < plain and via_api == pytest.approx(darker, abs=0.5)
