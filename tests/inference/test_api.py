from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lowlight
from lowlight.errors import LowlightError
from lowlight.io import read_image


@pytest.fixture
def dark() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((20, 30, 3)) * 0.2).astype(np.float32)


def test_numpy_float_uint8_uint16_and_gray(dark):
    out = lowlight.enhance(dark, model="gamma")
    assert out.dtype == np.float32 and out.shape == dark.shape
    np.testing.assert_allclose(out, dark ** (1 / 2.2), atol=1e-5)
    eight = lowlight.enhance((dark * 255).astype(np.uint8), model="gamma")
    assert eight.dtype == np.uint8 and eight.mean() > (dark * 255).mean()
    sixteen = lowlight.enhance((dark * 65535).astype(np.uint16), model="gamma")
    assert sixteen.dtype == np.uint16
    gray = lowlight.enhance((dark[:, :, 0] * 255).astype(np.uint8), model="gamma")
    assert gray.shape == (20, 30, 3)


def test_tensor_keeps_shape_dtype_and_batch(dark):
    x = torch.from_numpy(dark).permute(2, 0, 1)
    single = lowlight.enhance(x, model="adaptive_gamma")
    assert single.shape == x.shape and single.dtype == x.dtype
    batch = lowlight.enhance(x[None].repeat(2, 1, 1, 1).double(), model="adaptive_gamma")
    assert batch.shape == (2, 3, 20, 30) and batch.dtype == torch.float64


def test_pil_with_alpha(dark):
    image = Image.fromarray((dark * 255).astype(np.uint8)).convert("RGBA")
    image.putalpha(100)
    out = lowlight.enhance(image, model="gamma")
    assert isinstance(out, Image.Image) and out.mode == "RGBA" and out.getpixel((0, 0))[3] == 100


def test_path_returns_pil_or_writes_output(tmp_path, dark):
    src = tmp_path / "in.png"
    Image.fromarray((dark * 255).astype(np.uint8)).save(src)
    assert isinstance(lowlight.enhance(src, model="gamma"), Image.Image)
    written = lowlight.enhance(str(src), model="gamma", output=tmp_path / "out.png")
    assert read_image(written).rgb.mean() > read_image(src).rgb.mean()
    with pytest.raises(LowlightError, match="refusing to overwrite the input"):
        lowlight.enhance(src, model="gamma", output=src)


def test_bad_inputs(dark):
    with pytest.raises(LowlightError, match="cannot enhance"):
        lowlight.enhance([1, 2, 3], model="gamma")
    with pytest.raises(LowlightError, match="numpy images must be"):
        lowlight.enhance(np.zeros((4, 4, 5)), model="gamma")
    with pytest.raises(LowlightError, match="floating point"):
        lowlight.enhance(torch.zeros(3, 8, 8, dtype=torch.uint8), model="gamma")
    with pytest.raises(LowlightError, match="unknown model"):
        lowlight.enhance(dark, model="nope")
