from __future__ import annotations

import pytest
import torch
from torch import nn

from lowlight.errors import LowlightError
from lowlight.evaluation.evaluate import Protocol
from lowlight.inference.ensemble import (
    ENSEMBLE_SIZES,
    SHIFT_OFFSETS,
    dihedral,
    grid_offsets,
    inverse_dihedral,
    self_ensemble,
    translate,
    translation_ensemble,
)
from lowlight.inference.pipeline import Enhancer


class _ColumnRamp(nn.Module):
    """Adds a ramp along the width: not flip- or rotation-equivariant, so every pass differs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ramp = torch.linspace(0, 0.2, x.shape[-1], dtype=x.dtype)
        return x * 0.8 + ramp


@pytest.mark.parametrize("k", range(8))
def test_inverse_undoes_each_transform_on_odd_non_square_inputs(k):
    x = torch.rand(2, 3, 7, 12)
    y = dihedral(x, k)
    assert y.shape[-2:] == ((12, 7) if k % 2 else (7, 12))
    assert torch.equal(inverse_dihedral(y, k), x)


def test_the_eight_transforms_are_distinct():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    images = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(images) == 8


def test_known_values_of_flip_and_quarter_turn():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])[None, None]
    assert dihedral(x, 4)[0, 0].tolist() == [[2.0, 1.0], [4.0, 3.0]]
    assert dihedral(x, 1)[0, 0].tolist() == [[2.0, 4.0], [1.0, 3.0]]  # counter-clockwise, as torch.rot90


def test_ensemble_is_the_mean_of_the_transformed_passes():
    x = torch.rand(1, 3, 5, 9, dtype=torch.float64)
    model = _ColumnRamp()
    expected = sum(inverse_dihedral(model(dihedral(x, k)), k) for k in range(8)) / 8
    torch.testing.assert_close(self_ensemble(model, x, "x8"), expected)
    expected_flip = (model(x) + inverse_dihedral(model(dihedral(x, 4)), 4)) / 2
    torch.testing.assert_close(self_ensemble(model, x, "flip"), expected_flip)
    torch.testing.assert_close(self_ensemble(model, x, "none"), model(x))
    assert not torch.allclose(self_ensemble(model, x, "x8"), model(x))


def test_pointwise_model_is_unchanged_and_input_is_not_modified():
    x = torch.rand(1, 3, 6, 10)
    before = x.clone()
    out = self_ensemble(nn.Identity(), x, "x8")
    torch.testing.assert_close(out, x)
    assert torch.equal(x, before)


class _GridLocked(nn.Module):
    """Adds one bright dot per 8x8 cell of its own input grid: a lattice the shift ensemble should cancel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dots = torch.zeros_like(x)
        dots[..., ::8, ::8] = 0.5
        return x + dots


def test_translate_moves_the_image_and_mirrors_the_new_border():
    x = torch.arange(1.0, 13.0).reshape(1, 1, 3, 4)
    moved = translate(x, 1, 2)
    assert moved.shape == (1, 1, 4, 6) and torch.equal(moved[..., 1:, 2:], x)
    assert moved[0, 0, 0, 2:].tolist() == x[0, 0, 1].tolist()  # reflected, not zero
    assert translate(torch.rand(1, 3, 2, 2), 4, 4).shape == (1, 3, 6, 6)  # too small to mirror: repeated
    assert torch.equal(translate(x, 0, 0), x)


def test_shift_ensemble_keeps_the_image_and_cancels_a_grid_locked_lattice():
    x = torch.rand(1, 3, 32, 40, dtype=torch.float64)
    torch.testing.assert_close(self_ensemble(nn.Identity(), x, "shift"), x)
    plain, shifted = _GridLocked()(x) - x, self_ensemble(_GridLocked(), x, "shift") - x
    # the dots of the four passes land on four phases of the grid: each keeps a quarter of its energy
    assert plain.abs().max().item() == pytest.approx(0.5) and shifted.abs().max().item() == pytest.approx(0.125)
    assert shifted.abs().sum().item() == pytest.approx(plain.abs().sum().item())
    assert ENSEMBLE_SIZES["shift"] == 4


def test_translation_ensemble_over_a_step_2_grid_leaves_only_the_period_2_part_of_a_lattice():
    x = torch.rand(1, 3, 32, 40, dtype=torch.float64)
    assert grid_offsets(4) == list(SHIFT_OFFSETS) and len(grid_offsets(2)) == 16 and len(grid_offsets(1)) == 64
    left = translation_ensemble(_GridLocked(), x, grid_offsets(2)) - x
    # 16 phases of one dot per 8x8 cell: a dot on every other row and column, at 1/16 of the strength
    assert left.abs().max().item() == pytest.approx(0.5 / 16)
    assert (left.abs() > 1e-9).double().mean().item() == pytest.approx(1 / 4)
    everywhere = translation_ensemble(_GridLocked(), x, grid_offsets(1)) - x
    torch.testing.assert_close(everywhere, torch.full_like(x, 0.5 / 64))  # all 64 phases: a flat offset
    with pytest.raises(ValueError, match="at least one offset"):
        translation_ensemble(nn.Identity(), x, [])
    with pytest.raises(ValueError, match="divide the period"):
        grid_offsets(3)


def test_bad_modes_and_shapes():
    with pytest.raises(LowlightError, match="unknown self-ensemble"):
        self_ensemble(nn.Identity(), torch.rand(1, 3, 4, 4), "x4")
    with pytest.raises(LowlightError, match="B, C, H, W"):
        self_ensemble(nn.Identity(), torch.rand(3, 4, 4), "flip")
    with pytest.raises(ValueError):
        dihedral(torch.rand(1, 1, 2, 2), 8)
    with pytest.raises(LowlightError, match="unknown self-ensemble"):
        Enhancer(_ColumnRamp(), device="cpu", self_ensemble="all")


def test_enhancer_applies_the_ensemble_per_tile_and_whole():
    x = torch.rand(1, 3, 37, 50)
    model = _ColumnRamp()
    whole = Enhancer(model, device="cpu", tile=0, self_ensemble="x8")(x)
    torch.testing.assert_close(whole, self_ensemble(model, x, "x8").clamp(0, 1))
    tiled = Enhancer(model, device="cpu", tile=32, tile_overlap=8, self_ensemble="flip")(x)
    assert tiled.shape == x.shape


def test_protocol_records_the_ensemble():
    lines = Protocol(self_ensemble="x8").describe(["psnr"])
    assert any("self-ensemble x8" in line and str(ENSEMBLE_SIZES["x8"]) in line for line in lines)
    assert not any("self-ensemble" in line for line in Protocol().describe(["psnr"]))
