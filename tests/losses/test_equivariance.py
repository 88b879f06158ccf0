import pytest
import torch
from torch import nn

from lowlight.errors import LowlightError
from lowlight.losses import ShiftConsistencyLoss, shift_consistency_loss, shifted_views


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
    ],
)
def test_bad_inputs_raise_one_clear_error(call, message):
    with pytest.raises(LowlightError, match=message):
        call()
