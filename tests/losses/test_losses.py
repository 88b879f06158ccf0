from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from lowlight.errors import CheckpointError, ConfigError
from lowlight.losses import (
    LOSSES,
    CombinedLoss,
    EdgeLoss,
    L1Loss,
    MSELoss,
    VGGPerceptualLoss,
    amplitude_loss,
    charbonnier_loss,
    laplacian,
    phase_loss,
    upsample_side,
)
from lowlight.losses.perceptual import vgg19_features
from lowlight.metrics import psnr


def _pair(shape=(2, 3, 16, 16)):
    return torch.rand(shape), torch.rand(shape)


def test_l1_and_charbonnier_known_values():
    pred, target = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    assert L1Loss()(pred, target).item() == pytest.approx(0.5)
    assert charbonnier_loss(pred, target, eps=0.0).item() == pytest.approx(0.5)
    assert charbonnier_loss(pred, pred, eps=1e-3).item() == pytest.approx(1e-3)


def test_mse_and_psnr_losses_known_values():
    pred, target = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.1)
    assert MSELoss()(pred, target).item() == pytest.approx(0.01)
    assert LOSSES["psnr"]()(pred, target).item() == pytest.approx(-20.0, abs=1e-5)


def test_psnr_loss_is_minus_mean_per_image_psnr():
    pred, target = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    pred[0] = target[0] + 0.01  # one near-perfect image: pooled MSE would hide it
    per_image = [psnr(pred[i : i + 1].clamp(0, 1), target[i : i + 1]).item() for i in range(3)]
    pred = pred.clamp(0, 1)
    assert LOSSES["psnr"]()(pred, target).item() == pytest.approx(-sum(per_image) / 3, abs=1e-3)


def test_psnr_loss_gradient_is_finite_on_exact_match():
    pred = torch.rand(1, 3, 8, 8, requires_grad=True)
    LOSSES["psnr"]()(pred, pred.detach()).backward()
    assert torch.isfinite(pred.grad).all()


def test_ssim_loss_zero_for_identical_and_positive_otherwise():
    pred, target = _pair()
    assert LOSSES["ssim"]()(target, target).item() == pytest.approx(0.0, abs=1e-6)
    assert LOSSES["ssim"]()(pred, target).item() > 0.5
    from lowlight.metrics.registry import MetricLoss

    assert isinstance(LOSSES["psnr"](), MetricLoss) and isinstance(LOSSES["ssim"](), MetricLoss)


def test_laplacian_vanishes_on_constant_images_away_from_borders():
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert laplacian(flat)[..., 4:-4, 4:-4].abs().max() < 1e-6
    # a brightness shift changes the Laplacian only at the borders (replicate padding of the upsampled grid)
    assert (laplacian(flat + 0.2) - laplacian(flat))[..., 4:-4, 4:-4].abs().max() < 1e-6
    assert EdgeLoss()(flat, flat).item() == 0
    pred, target = _pair()
    assert EdgeLoss()(pred, target).item() > 0


def test_fourier_losses_known_values():
    image = torch.rand(1, 3, 8, 8)
    assert amplitude_loss(image, image).item() == 0
    # scaling by 2 doubles every amplitude and keeps the phase
    amplitude = torch.fft.rfft2(image).abs().mean().item()
    assert amplitude_loss(2 * image, image, norm="backward").item() == pytest.approx(amplitude, rel=1e-5)
    assert amplitude_loss(2 * image, image).item() == pytest.approx(amplitude / 8, rel=1e-5)  # ortho: / sqrt(64)
    assert phase_loss(2 * image, image).item() == pytest.approx(0.0, abs=1e-5)
    # negating flips every phase by pi: the plain difference is pi, as is the wrapped one
    assert phase_loss(-image, image, wrap=True).item() == pytest.approx(math.pi, rel=1e-4)


@pytest.mark.parametrize("fn", [amplitude_loss, phase_loss])
def test_fourier_losses_gradcheck(fn):
    pred = torch.rand(1, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 1, 6, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: fn(p, target), (pred,))


def test_fourier_losses_finite_gradient_on_black_images():
    pred = torch.zeros(1, 3, 8, 8, requires_grad=True)
    (amplitude_loss(pred, torch.rand(1, 3, 8, 8)) + phase_loss(pred, torch.rand(1, 3, 8, 8))).backward()
    assert torch.isfinite(pred.grad).all()


def test_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        L1Loss()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))


@pytest.fixture
def vgg_file(tmp_path):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in vgg19_features(37).state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision files hold the classifier too
    path = tmp_path / "vgg19.safetensors"
    save_file(state, str(path))
    return path


def test_perceptual_loss_with_weights_made_here(vgg_file, tmp_path):
    loss = VGGPerceptualLoss(vgg_file)
    pred, target = _pair((1, 3, 32, 32))
    assert loss(target, target).item() == 0
    pred.requires_grad_(True)
    value = loss(pred, target)
    value.backward()
    assert value.item() > 0 and pred.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in loss.parameters())
    # the same tensors in torch.save format load too
    pt = tmp_path / "vgg19.pth"
    torch.save({k: v for k, v in vgg19_features(30).state_dict().items()}, pt)
    with pytest.raises(CheckpointError, match="not a torchvision VGG-19"):
        VGGPerceptualLoss(pt)  # keys without the features. prefix


def test_perceptual_loss_missing_file_message(tmp_path):
    with pytest.raises(CheckpointError, match=r"VGG-19 weights file not found.*vgg19-dcbb9e9d\.pth"):
        VGGPerceptualLoss(tmp_path / "absent.pth")


def test_combined_loss_weights_side_terms_and_dropping(caplog):
    combined = CombinedLoss({"l1": 2.0, "side.l1": 0.5, "perceptual": 0.01, "edge": 0})
    assert combined.dropped == ["perceptual"] and "dropped" in caplog.text
    assert combined.uses_side_output
    pred, target = _pair((1, 3, 16, 16))
    side = torch.rand(1, 3, 2, 2)
    total, parts = combined(pred, target, side)
    expected = 2 * (pred - target).abs().mean() + 0.5 * (upsample_side(side, (16, 16), 8) - target).abs().mean()
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(parts) == {"l1", "side.l1"}


def test_combined_loss_errors():
    with pytest.raises(ConfigError, match="unknown loss 'l2'"):
        CombinedLoss({"l2": 1.0})
    with pytest.raises(ConfigError, match="no loss term"):
        CombinedLoss({"l1": 0.0})


def test_upsample_side_crops_to_odd_sizes():
    side = torch.arange(4.0).view(1, 1, 2, 2)
    up = upsample_side(side, (13, 15), scale=8)
    assert up.shape == (1, 1, 13, 15) and up[0, 0, 0, 0] == 0 and up[0, 0, 12, 14] == 3


# ----------------------------------------------------------------------------- lattice loss
def test_lattice_loss_sees_a_period_8_grid_and_has_exact_gradients():
    from lowlight.losses import LOSSES, lattice_loss

    target = torch.rand(2, 3, 64, 72, generator=torch.Generator().manual_seed(0))
    rows = (torch.arange(64) % 8 == 0)[:, None]
    cols = (torch.arange(72) % 8 == 0)[None, :]
    grid = 0.01 * (rows | cols).float()
    noise = 0.003 * torch.randn(2, 3, 64, 72, generator=torch.Generator().manual_seed(1))
    assert lattice_loss(target + noise + grid, target) > 2 * lattice_loss(target + noise, target)
    assert lattice_loss(target, target) < 1e-5
    assert isinstance(LOSSES["lattice"](), torch.nn.Module)
    x = torch.rand(1, 2, 24, 20, dtype=torch.float64, requires_grad=True)
    t = torch.rand(1, 2, 24, 20, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: lattice_loss(a, t), (x,))
    with pytest.raises(ValueError, match="at least 16x16"):
        lattice_loss(torch.zeros(1, 3, 8, 40), torch.zeros(1, 3, 8, 40))


def test_lattice_peak_db_is_the_grid_metric_and_differentiable():
    from lowlight.losses.fourier import lattice_peak_db
    from lowlight.metrics.grid import lattice_peak_db as metric

    rng = np.random.default_rng(3)
    for shape in [(64, 64, 3), (41, 97, 3), (100, 37, 1)]:
        image = rng.random(shape) ** 2
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
        assert lattice_peak_db(tensor).item() == pytest.approx(metric(image.squeeze(-1) if shape[2] == 1 else image))
    x = torch.rand(2, 3, 20, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    assert torch.autograd.gradcheck(lattice_peak_db, (x,))
    with pytest.raises(ValueError, match="at least 16x16"):
        lattice_peak_db(torch.rand(1, 3, 12, 40))
    with pytest.raises(ValueError, match="B, 1 or 3"):
        lattice_peak_db(torch.rand(3, 40, 40))


def test_lattice_excess_counts_only_the_lattice_the_output_adds():
    from lowlight.losses import CombinedLoss, lattice_excess_loss

    low = 0.1 + 0.005 * torch.rand(2, 3, 64, 72, generator=torch.Generator().manual_seed(0))
    lines = (torch.arange(64) % 8 == 0)[:, None] | (torch.arange(72) % 8 == 0)[None, :]
    grid = 0.03 * lines.float()
    assert lattice_excess_loss(3 * low, low) < 0.3  # brightening adds no lattice
    assert lattice_excess_loss(3 * low + grid, low) > 5
    assert lattice_excess_loss(low + grid, low + grid) == 0  # the input's own lattice is allowed
    assert lattice_excess_loss(low, low + grid) == 0  # and removing it is never penalised
    loss = CombinedLoss({"lattice_excess": 1.0})
    assert not loss.needs_target
    assert loss(3 * low + grid, input=low)[0] == pytest.approx(lattice_excess_loss(3 * low + grid, low).item())
    with pytest.raises(ValueError, match="lattice_excess loss needs the input"):
        loss(3 * low)
