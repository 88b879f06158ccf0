from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from safetensors.torch import save_file
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lowlight.errors import CheckpointError, LowlightError
from lowlight.metrics import create_metric, gt_mean_scale, list_metrics, metric_info, psnr, ssim, ssim_skimage
from lowlight.metrics.color import rgb_to_y_matlab
from lowlight.metrics.loe import loe
from lowlight.metrics.lpips import backbone_features
from lowlight.metrics.niqe import matlab_imresize, niqe


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].double() / 255


def _noisy_pair(seed: int = 0, shape=(48, 64, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, shape), 0, 255).astype(np.uint8)
    return a, b


def test_psnr_and_ssim_match_scikit_image():
    a, b = _noisy_pair()
    assert psnr(_tensor(b), _tensor(a)).item() == pytest.approx(peak_signal_noise_ratio(a, b), abs=1e-4)
    reference = structural_similarity(a, b, channel_axis=-1, data_range=255)
    assert ssim_skimage(_tensor(b), _tensor(a)).item() == pytest.approx(reference, abs=1e-4)
    gaussian = structural_similarity(
        a, b, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(_tensor(b), _tensor(a)).item() == pytest.approx(gaussian, abs=1e-4)


def test_lol_input_row(shared):
    folder = shared / "data" / "lol-eval15"
    psnrs, ssims = [], []
    for high_path in sorted((folder / "high").glob("*.png")):
        low = np.asarray(Image.open(folder / "low" / high_path.name).convert("RGB"))
        high = np.asarray(Image.open(high_path).convert("RGB"))
        psnrs.append(create_metric("psnr")(_tensor(low), _tensor(high)).item())
        ssims.append(create_metric("ssim_skimage")(_tensor(low), _tensor(high)).item())
    assert np.mean(psnrs) == pytest.approx(7.77, abs=0.005)
    assert np.mean(ssims) == pytest.approx(0.191, abs=0.0005)


def test_matlab_y_channel_and_y_metrics():
    assert rgb_to_y_matlab(np.ones(3)) == pytest.approx(235.0)
    assert rgb_to_y_matlab(np.zeros(3)) == pytest.approx(16.0)
    a, b = _noisy_pair(1)
    ya, yb = rgb_to_y_matlab(a / 255.0), rgb_to_y_matlab(b / 255.0)
    expected = peak_signal_noise_ratio(ya, yb, data_range=255)
    assert create_metric("psnr_y")(_tensor(b), _tensor(a)).item() == pytest.approx(expected, abs=1e-4)
    cropped = peak_signal_noise_ratio(ya[4:-4, 4:-4], yb[4:-4, 4:-4], data_range=255)
    assert create_metric("psnr_y", crop_border=4)(_tensor(b), _tensor(a)).item() == pytest.approx(cropped, abs=1e-4)
    y_ssim = structural_similarity(
        ya, yb, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert create_metric("ssim_y")(_tensor(b), _tensor(a)).item() == pytest.approx(y_ssim, abs=1e-4)


def test_gt_mean_variant_is_labelled_and_rescales():
    target = torch.rand(1, 3, 32, 32) * 0.8
    dim = target * 0.5
    metric = create_metric("psnr", gt_mean=True)
    assert metric.name == "psnr_gtmean"
    assert torch.allclose(gt_mean_scale(dim, target), target, atol=1e-6)
    assert metric(dim, target).item() > 100 > create_metric("psnr")(dim, target).item()


def test_metric_metadata_and_errors():
    assert set(list_metrics()) >= {"psnr", "psnr_y", "ssim", "ssim_y", "ssim_skimage", "lpips_alex", "niqe", "loe"}
    assert metric_info("niqe").lower_better and not metric_info("psnr").lower_better
    assert metric_info("niqe").kind == "no-reference" and metric_info("loe").kind == "input-reference"
    with pytest.raises(LowlightError, match="unknown metric 'psnrr'"):
        create_metric("psnrr")
    with pytest.raises(LowlightError, match="not differentiable"):
        create_metric("niqe", as_loss=True)
    with pytest.raises(LowlightError, match="full-reference metrics only"):
        create_metric("niqe", gt_mean=True)


def test_metrics_as_losses_have_gradients():
    pred = torch.rand(1, 3, 24, 24, requires_grad=True)
    target = torch.rand(1, 3, 24, 24)
    for name in ("ssim", "psnr", "ssim_skimage"):
        loss = create_metric(name, as_loss=True)(pred, target)
        loss.backward()
        assert pred.grad.abs().sum() > 0
        pred.grad = None
    assert create_metric("ssim", as_loss=True)(target, target).item() == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------------------------- LPIPS
@pytest.fixture
def lpips_files(tmp_path) -> tuple[Path, Path]:
    torch.manual_seed(0)
    features, taps = backbone_features("alex")
    backbone = tmp_path / "alexnet.safetensors"
    save_file({f"features.{k}": v for k, v in features.state_dict().items()}, str(backbone))
    widths = [features[i - 1].out_channels for i in taps]
    heads = tmp_path / "alex_heads.pth"
    torch.save({f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(widths)}, heads)
    return backbone, heads


def test_lpips_with_weights_made_here(lpips_files):
    metric = create_metric("lpips_alex", lpips_backbone=lpips_files[0], lpips_heads=lpips_files[1])
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    assert torch.allclose(metric(a, a), torch.zeros(2), atol=1e-7)
    distance = metric(a, b)
    assert (distance > 0).all() and torch.allclose(distance, metric(b, a), rtol=1e-5)
    assert metric.lower_better


def test_lpips_without_weights_says_what_is_missing(lpips_files, tmp_path):
    with pytest.raises(LowlightError, match="lpips_vgg needs local weights"):
        create_metric("lpips_vgg")
    with pytest.raises(CheckpointError, match="alex backbone file not found"):
        create_metric("lpips_alex", lpips_backbone=tmp_path / "none.pth", lpips_heads=lpips_files[1])
    with pytest.raises(CheckpointError, match="not a torchvision vgg state_dict"):
        create_metric("lpips_vgg", lpips_backbone=lpips_files[0], lpips_heads=lpips_files[1])


# --------------------------------------------------------------------------------------------- NIQE, LOE
# Reference values from BasicSR 1.4.2's NIQE (`calculate_niqe(img_bgr, 0, convert_to="y")`), whose
# authors report 5.7295763 for their baboon.png against 5.72957338 from the MATLAB release.
@pytest.mark.parametrize(("name", "expected"), [("coffee", 4.115241615), ("chelsea", 2.625524381)])
def test_niqe_matches_reference_implementation(name, expected):
    assert niqe(getattr(skimage.data, name)()) == pytest.approx(expected, abs=1e-3)


@pytest.mark.skipif(not os.environ.get("LOWLIGHT_BABOON"), reason="set LOWLIGHT_BABOON=path/to/baboon.png (BasicSR)")
def test_niqe_matches_matlab_on_baboon():
    image = np.asarray(Image.open(os.environ["LOWLIGHT_BABOON"]).convert("RGB"))
    assert niqe(image) == pytest.approx(5.72957338, abs=1e-2)


def test_niqe_needs_two_blocks():
    with pytest.raises(ValueError, match="96x96"):
        niqe(np.random.default_rng(0).random((90, 300, 3)))


def test_matlab_imresize_keeps_constants_and_halves():
    image = np.full((20, 30), 7.0)
    out = matlab_imresize(image, 0.5)
    assert out.shape == (10, 15) and np.allclose(out, 7.0)
    assert np.allclose(matlab_imresize(np.arange(12.0).reshape(3, 4), 1.0), np.arange(12.0).reshape(3, 4))


def test_loe_known_values():
    rng = np.random.default_rng(0)
    values = rng.permutation(2500).reshape(50, 50) / 2500.0
    image = np.repeat(values[:, :, None], 3, axis=2)
    assert loe(image, image) == 0
    assert loe(image, image**0.4) == 0  # a monotone curve keeps the lightness order
    assert loe(image, 1 - image) == 2499  # every other pixel changes order
    metric = create_metric("loe")
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    assert metric(tensor, input=tensor).item() == 0
