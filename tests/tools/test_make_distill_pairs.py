"""tools/make_distill_pairs.py: the crop choice and the lattice-free target."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("make_distill_pairs")


class _GridLockedGain(nn.Module):
    """Doubles the input and adds a dot at every 8th row and column of its own grid."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dots = torch.zeros_like(x)
        dots[..., ::8, ::8] = 0.4
        return 0.5 * x + dots


def test_busiest_crop_finds_the_edge_and_keeps_its_margin(tool):
    rgb = np.full((96, 128, 3), 0.5, np.float32)
    rgb[40:, 90:] = 1.0  # one corner of strong contrast near the bottom right
    top, left = tool.busiest_crop(rgb, 32, margin=8, stride=8)
    assert 8 <= top <= 96 - 32 - 8 and 8 <= left <= 128 - 32 - 8
    crop = rgb[top : top + 32, left : left + 32]
    assert 0.2 < (crop == 1.0).mean() < 0.8  # the window straddles the edge
    with pytest.raises(ValueError, match="smaller than the crop"):
        tool.busiest_crop(rgb, 90, margin=8)


def test_distill_target_is_the_model_without_its_lattice(tool):
    rng = np.random.default_rng(0)
    rgb = rng.random((64, 64, 3)).astype(np.float32)
    target = tool.distill_target(_GridLockedGain(), rgb, top=16, left=16, size=32, step=1)
    # every phase once: the picture halved plus the dots' mean, 0.4 / 64, and no lattice
    np.testing.assert_allclose(target, 0.5 * rgb[16:48, 16:48] + 0.4 / 64, atol=1e-6)
    with pytest.raises(ValueError, match="too close to the border"):
        tool.distill_target(_GridLockedGain(), rgb, top=2, left=16, size=32, step=2)


def test_chosen_photos_skip_the_held_out_ones_and_are_reproducible(tool, tmp_path):
    for stem in range(10):
        (tmp_path / f"{stem}.png").write_bytes(b"")
    held_out = tmp_path / "held_out.txt"
    held_out.write_text("3\n7  # a comment\n")
    first = tool.chosen_photos(tmp_path, held_out, 5, seed=1)
    assert len(first) == 5 and not {"3", "7"} & {p.stem for p in first}
    assert first == tool.chosen_photos(tmp_path, held_out, 5, seed=1)


def test_write_pair_leaves_a_readable_pair_and_no_temporary_files(tool, tmp_path):
    from lowlight.io import read_image

    crop, target = np.zeros((16, 16, 3), np.float32), np.full((16, 16, 3), 0.5, np.float32)
    low, high = tmp_path / "low" / "a.png", tmp_path / "high" / "a.png"
    tool.write_pair(low, high, crop, target)
    assert read_image(high).rgb.mean() == pytest.approx(128 / 255)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.png", "a.png", "high", "low"]


def test_a_missing_weights_file_is_one_line_and_exit_1(tool, tmp_path, monkeypatch, capsys):
    missing = tmp_path / "absent.safetensors"
    monkeypatch.setattr(
        "sys.argv", ["make_distill_pairs", str(tmp_path), str(tmp_path / "out"), "--weights", str(missing)]
    )
    assert tool.main() == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "absent.safetensors" in error and "\n" not in error
    assert not (tmp_path / "out").exists()
