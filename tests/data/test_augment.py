"""Zoomed crops (``random_zoom_crop``) and the ``zoom`` option of synthetic sources."""

from __future__ import annotations

import numpy as np
import pytest

from lowlight.data.augment import centre_zoom, random_zoom_crop
from lowlight.data.datasets import SyntheticPairDataset
from lowlight.errors import DatasetError
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


def test_centre_zoom_enlarges_the_central_window():
    image = np.zeros((90, 120, 3), np.float32)
    image[40:50, 55:65] = 1.0  # a 10-pixel square in the middle of a 30-pixel centre window
    zoomed = centre_zoom(image, 60, 2.0)
    assert zoomed.shape == (60, 60, 3) and zoomed.min() >= 0 and zoomed.max() <= 1
    # the square now covers the middle 20 x 20 pixels, the border of the window stays dark
    assert zoomed[25:35, 25:35].min() > 0.9 and zoomed[:15].max() < 0.05
    assert np.array_equal(centre_zoom(image, 30, 1.0), image[30:60, 45:75])
    with pytest.raises(ValueError, match="needs 120 pixels"):
        centre_zoom(image, 120, 1.0)


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


def test_validation_sources_zoom_the_same_centre_every_epoch(tmp_path, caplog):
    from PIL import Image

    noise = (np.random.default_rng(3).random((120, 150, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "photo.png")
    val = SyntheticPairDataset([tmp_path / "photo.png"], centre_crop=48, zoom=(3.0, 3.0), seed=5, cache=True)
    first, again = val[0], val[0]
    assert first["high"].shape == (3, 48, 48)
    assert np.allclose(first["high"].numpy(), again["high"].numpy())
    expected = centre_zoom(noise.astype(np.float32) / 255, 48, 3.0)
    assert np.allclose(first["high"].permute(1, 2, 0).numpy(), expected, atol=1 / 255)
    with pytest.raises(ValueError, match="centre_crop"):
        SyntheticPairDataset([tmp_path / "photo.png"], zoom=(3.0, 3.0))
    # a photo too small for the window is skipped with its reason, like one that cannot be read
    too_small = SyntheticPairDataset([tmp_path / "photo.png"], centre_crop=400, zoom=(1.0, 1.0))
    with caplog.at_level("WARNING"), pytest.raises(DatasetError, match="could be decoded"):
        too_small[0]
    assert "photo.png: a 400-pixel centre zoomed 1.0x needs 400 pixels" in caplog.text


def test_zoom_is_checked_in_the_config():
    assert DataSource(path="p", kind="synthetic", zoom=[1, 2]).zoom == (1.0, 2.0)
    with pytest.raises(ValueError, match="zoom"):
        DataSource(path="p", kind="synthetic", zoom=(0.5, 2.0))
    assert DataSource(path="p", kind="unpaired", zoom=[2, 4]).zoom == (2.0, 4.0)
    with pytest.raises(ValueError, match="synthetic and unpaired"):
        DataSource(path="p", kind="paired", zoom=(1.0, 2.0))


def test_unpaired_photos_with_zoom_are_smoother_crops_of_the_crop_size(tmp_path):
    from PIL import Image

    from lowlight.data.datasets import UnpairedDataset

    noise = (np.random.default_rng(4).random((160, 200, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "photo.png")
    files = [tmp_path / "photo.png"]
    zoomed = UnpairedDataset(files, crop=64, zoom=(3.0, 3.0), cache=True)[0]["low"]
    plain = UnpairedDataset(files, crop=64)[0]["low"]
    assert zoomed.shape == plain.shape == (3, 64, 64)
    step = lambda t: t.diff(dim=-1).abs().mean().item()  # noqa: E731
    assert step(zoomed) < 0.6 * step(plain)
    with pytest.raises(ValueError, match="needs a crop size"):
        UnpairedDataset(files, zoom=(2.0, 2.0))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"train": [{"path": "p", "kind": "synthetic", "zoom": [1, 2]}], "crop": None}, "needs data.crop"),
        (
            {
                "train": [{"path": "p", "kind": "synthetic"}],
                "unpaired": [{"path": "u", "kind": "unpaired", "zoom": [2, 4]}],
                "crop": None,
            },
            "needs data.crop",
        ),
        (
            {"train": [{"path": "p", "kind": "synthetic"}], "val": {"path": "v", "kind": "synthetic", "zoom": [1, 2]}},
            "zoom on a validation source needs a synthetic source with centre_crop",
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
