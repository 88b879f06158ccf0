"""Amplitude / phase shares of a change, and the per-stage table of ``lowlight inspect-frequency DIR``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lowlight.cli import main
from lowlight.evaluation.frequency import change_shares


def test_a_shift_changes_only_the_phase_and_a_gain_only_the_amplitude():
    image = np.random.default_rng(0).random((40, 48))
    assert change_shares(image, np.roll(image, 5, axis=1)) == pytest.approx((0.0, 1.0), abs=1e-9)
    assert change_shares(image, 2.5 * image) == pytest.approx((1.0, 0.0), abs=1e-9)
    blurred = (image + np.roll(image, 1, 0) + np.roll(image, 1, 1)) / 3  # a blur changes both
    amplitude, phase = change_shares(image, blurred)
    assert 0.05 < amplitude < 0.95 and amplitude + phase == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one shape"):
        change_shares(image, image[:-1])


def test_the_folder_mode_prints_one_row_per_stage(tmp_path, capsys):
    for side in ("low", "high"):
        (tmp_path / side).mkdir()
        for index in range(2):
            pixels = np.random.default_rng(index).random((48, 64, 3)) * (60 if side == "low" else 255)
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / side / f"{index}.png")
    assert main(["inspect-frequency", str(tmp_path), "--model", "gamma"]) == 0
    out = capsys.readouterr().out
    assert "gamma on 2 images" in out and "| input -> output |" in out
    assert main(["inspect-frequency", str(tmp_path / "low" / "0.png"), "--model", "gamma"]) == 2
