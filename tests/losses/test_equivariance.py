import pytest
import torch
from torch import nn

from lowlight.errors import LowlightError
from lowlight.losses import (
    LOSSES,
    ShiftConsistencyLoss,
    grid_locked_loss,
    grid_locked_residual,
    lattice_loss,
    shift_consistency_loss,
    shifted_views,
)


def test_views_are_offset_by_the_shift_and_multiples_of_the_period():
    x = torch.rand(2, 3, 70, 53)
    for shift in range(1, 8):
        a, b = shifted_views(x, shift)
        assert a.shape == b.shape and a.shape[-2] % 8 == 0 and a.shape[-1] % 8 == 0
        assert torch.equal(b[..., :-shift, :-shift], a[..., shift:, shift:])
        assert torch.equal(a, x[..., : a.shape[-2], : a.shape[-1]])


def test_a_translation_equivariant_model_scores_zero_and_a_grid_locked_pattern_does_not():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 72, 72)
    conv = nn.Conv2d(3, 3, 5, padding=2)
    grid = torch.zeros(1, 1, 80, 80)
    grid[..., ::8, ::8] = 0.2  # one bright dot per 8x8 cell of the network's own grid
    lattice = lambda t: conv(t) + grid[..., : t.shape[-2], : t.shape[-1]]  # noqa: E731
    for shift in (1, 4, 7):
        a, b = shifted_views(x, shift)
        with torch.no_grad():
            assert shift_consistency_loss(conv(a), conv(b), shift, margin=4).item() < 1e-6
            assert shift_consistency_loss(lattice(a), lattice(b), shift, margin=4).item() > 0.005


def test_the_module_cycles_the_shift_and_its_gradient_reaches_the_model():
    loss = ShiftConsistencyLoss()
    assert [loss.shift_for(step) for step in range(9)] == [1, 2, 3, 4, 5, 6, 7, 1, 2]
    conv = nn.Conv2d(3, 3, 3, padding=1)
    grid = torch.zeros(1, 3, 64, 64)
    grid[..., ::8, ::8] = 0.5
    model = lambda t: conv(t) * (1 + grid[..., : t.shape[-2], : t.shape[-1]])  # noqa: E731
    value, view, out = loss(model, torch.rand(1, 3, 64, 64), step=3)
    assert view.shape == out.shape == (1, 3, 56, 56)
    value.backward()
    assert value.item() > 0 and conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: shifted_views(torch.rand(3, 32, 32), 2), "B, C, H, W"),
        (lambda: shifted_views(torch.rand(1, 3, 32, 32), 8), "shift must be in 1..7"),
        (lambda: shifted_views(torch.rand(1, 3, 12, 32), 5), "too small"),
        (lambda: shift_consistency_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 16), 1), "one shape"),
        (lambda: shift_consistency_loss(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), 4, margin=6), "interior"),
        (lambda: grid_locked_loss(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 32)), "one shape"),
        (lambda: grid_locked_loss(torch.rand(1, 3, 32, 64), torch.rand(1, 3, 32, 64)), "at least 64x64"),
        (lambda: grid_locked_residual(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), window=60), "multiple"),
    ],
)
def test_bad_inputs_raise_one_clear_error(call, message):
    with pytest.raises(LowlightError, match=message):
        call()


# ----------------------------------------------------------------------------- grid-locked residual
def test_grid_locked_loss_sees_the_lattice_that_the_fourier_term_drowns_in_noise():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 128, 128, generator=generator)
    noise = 0.05 * torch.randn(2, 3, 128, 128, generator=generator)
    grid = 0.04 * (torch.arange(128) % 8 < 4).float()
    locked = grid_locked_loss(target + noise + grid, target) / grid_locked_loss(target + noise, target)
    fourier = lattice_loss(target + noise + grid, target) / lattice_loss(target + noise, target)
    assert locked > 3 and fourier < 1.5
    assert grid_locked_loss(target, target) == 0
    assert isinstance(LOSSES["grid_locked"](), nn.Module)


def test_a_pattern_that_moves_with_the_content_is_not_grid_locked():
    """A residual at a period that does not divide the grid averages out; one on the grid does not."""
    target = torch.zeros(1, 1, 128, 128)
    off_grid = 0.1 * torch.sin(2 * torch.pi * torch.arange(128) / 5.0)  # period 5
    on_grid = 0.1 * torch.sin(2 * torch.pi * torch.arange(128) / 4.0)  # period 4 divides 8
    assert grid_locked_loss(target + off_grid, target) < 0.01
    assert grid_locked_loss(target + on_grid, target) > 0.05


def test_the_residual_keeps_the_grid_origin_and_has_exact_gradients():
    target = torch.rand(1, 2, 70, 75)
    bump = torch.zeros(1, 2, 70, 75)
    bump[..., 3::8, 5::8] = 1.0  # one phase of the grid
    pattern = grid_locked_residual(target + bump, target, window=32)
    assert pattern.shape == (1, 2, 2, 2, 8, 8)
    assert torch.allclose(pattern[..., 3, 5], torch.full((1, 2, 2, 2), 1 - 1 / 64))
    x = torch.rand(1, 1, 32, 48, dtype=torch.float64, requires_grad=True)
    t = torch.rand(1, 1, 32, 48, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: grid_locked_residual(a, t, window=16), (x,))
