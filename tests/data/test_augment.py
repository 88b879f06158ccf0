"""Zoomed crops (``random_zoom_crop``) and the ``zoom`` option of synthetic sources."""

from __future__ import annotations

import numpy as np
import pytest

from lowlight.data.augment import random_zoom_crop
from lowlight.data.datasets import SyntheticPairDataset
from lowlight.train.config import DataSource


def test_zoom_crop_enlarges_a_smaller_window_and_smooths_it():
    rng = np.random.default_rng(0)
    noise = np.random.default_rng(1).random((200, 240, 3)).astype(np.float32)
    plain = random_zoom_crop(rng, noise, 64, (1.0, 1.0))
    zoomed = random_zoom_crop(rng, noise, 64, (3.0, 3.0))
    assert plain.shape == zoomed.shape == (64, 64, 3)
    assert zoomed.min() >= 0 and zoomed.max() <= 1
    # neighbouring pixels of enlarged noise are correlated; of a plain crop, not
    step = np.abs(np.diff(zoomed, axis=1)).mean()
    assert step < 0.6 * np.abs(np.diff(plain, axis=1)).mean()
    # a plain crop is a window of the image itself
    assert any(np.array_equal(plain, noise[t : t + 64, x : x + 64]) for t in range(137) for x in range(177))


def test_zoom_rejects_factors_below_one():
    with pytest.raises(ValueError, match="zoom"):
        random_zoom_crop(np.random.default_rng(0), np.zeros((64, 64, 3), np.float32), 32, (0.5, 2.0))


def test_synthetic_pairs_with_zoom_have_the_crop_size_and_a_smoother_target(tmp_path):
    from PIL import Image

    noise = (np.random.default_rng(2).random((160, 200, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "photo.png")
    files = [tmp_path / "photo.png"]
    zoomed = SyntheticPairDataset(files, crop=64, zoom=(2.5, 3.0))[0]
    plain = SyntheticPairDataset(files, crop=64)[0]
    assert zoomed["high"].shape == zoomed["low"].shape == (3, 64, 64)
    step = lambda t: t.diff(dim=-1).abs().mean().item()  # noqa: E731
    assert step(zoomed["high"]) < 0.6 * step(plain["high"])


def test_zoom_is_checked_in_the_config():
    assert DataSource(path="p", kind="synthetic", zoom=[1, 2]).zoom == (1.0, 2.0)
    with pytest.raises(ValueError, match="zoom"):
        DataSource(path="p", kind="synthetic", zoom=(0.5, 2.0))
    with pytest.raises(ValueError, match="synthetic"):
        DataSource(path="p", kind="paired", zoom=(1.0, 2.0))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"train": [{"path": "p", "kind": "synthetic", "zoom": [1, 2]}], "crop": None}, "needs data.crop"),
        (
            {"train": [{"path": "p", "kind": "synthetic"}], "val": {"path": "v", "kind": "synthetic", "zoom": [1, 2]}},
            "zoom is for training sources",
        ),
    ],
)
def test_train_cli_refuses_zoom_without_crops_or_on_validation_in_one_line(data, message, tmp_path, capsys):
    import yaml

    from lowlight.cli import main

    config = tmp_path / "zoom.yaml"
    config.write_text(yaml.safe_dump({"name": "z", "model": {"name": "zero_dce"}, "data": data, "steps": 1}))
    code = main(["train", str(config), f"output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
