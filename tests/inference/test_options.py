"""One options object (EnhanceOptions) for CLI images, CLI videos, the Python API and evaluation."""

from __future__ import annotations

import numpy as np
import pytest

import lowlight
from lowlight.cli import build_parser, main
from lowlight.errors import LowlightError
from lowlight.inference.options import EnhanceOptions


def test_every_cli_enhance_flag_reaches_the_options_object():
    from dataclasses import fields

    from lowlight.cli import _enhance_options

    args = build_parser().parse_args(
        ["enhance", "x.png", "-o", "o", "-m", "lucentvision", "--weights", "w.safetensors", "--device", "cpu",
         "--tile", "256", "--tile-overlap", "32", "--max-memory", "1.5", "--strength", "0.7", "--zero-shot-steps",
         "3", "--self-ensemble", "flip", "--backend", "torch"]
    )  # fmt: skip
    options = _enhance_options(args)
    assert options == EnhanceOptions(
        model="lucentvision", weights="w.safetensors", device="cpu", tile=256, tile_overlap=32, max_memory_gb=1.5,
        strength=0.7, zero_shot_steps=3, self_ensemble="flip",
    )  # fmt: skip
    assert {f.name for f in fields(EnhanceOptions)} == set(vars(options))


def test_unknown_option_names_are_errors_and_options_hash_by_value():
    with pytest.raises(LowlightError, match="unknown enhance option"):
        EnhanceOptions.from_mapping({"strenght": 0.5})
    from pathlib import Path

    assert hash(EnhanceOptions(weights=Path("a"))) == hash(EnhanceOptions(weights="a"))


def test_the_api_takes_every_option_including_curve_controls():
    dark = (np.random.default_rng(0).random((16, 16, 3)) * 0.2).astype(np.float32)
    full = lowlight.enhance(dark, "zero_dce", device="cpu", weights=None)
    half = lowlight.enhance(dark, "zero_dce", device="cpu", strength=0.5)
    assert half.mean() < full.mean()
    same = lowlight.enhance(dark, options=EnhanceOptions(model="zero_dce", device="cpu", strength=0.5))
    np.testing.assert_array_equal(same, half)


def test_zero_shot_steps_work_for_videos(tmp_path, capsys, monkeypatch):
    pytest.importorskip("av")
    from lowlight.inference import zero_shot
    from tests.inference.test_video import _clip

    calls = []
    original = zero_shot.adapt_to_image

    def recording(model, image, steps, *args, **kwargs):
        calls.append(steps)
        return original(model, image, steps, *args, **kwargs)

    monkeypatch.setattr(zero_shot, "adapt_to_image", recording)
    clip = _clip(tmp_path / "clip.mp4", frames=4, audio=False)
    code = main(["enhance", str(clip), "-o", str(tmp_path / "out"), "--zero-shot-steps", "2", "--device", "cpu", "-q"])
    assert code == 0, capsys.readouterr().err
    assert calls and set(calls) == {2}
    assert (tmp_path / "out" / "clip.mp4").is_file()
