"""tools/validate_weights.py: a weights file validated under a training config, as its run would validate it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import save_file

import lowlight
from lowlight.metrics import psnr


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("validate_weights")


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(0)
    for folder in ("low", "high"):
        (tmp_path / "pairs" / folder).mkdir(parents=True)
    for i in range(3):
        high = rng.integers(40, 256, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(high).save(tmp_path / "pairs" / "high" / f"{i}.png")
        Image.fromarray((high * 0.3).astype(np.uint8)).save(tmp_path / "pairs" / "low" / f"{i}.png")
    config = {
        "name": "v",
        "model": {"name": "zero_dce"},
        "data": {"train": [{"path": str(tmp_path / "pairs")}], "val": {"path": str(tmp_path / "pairs")}},
        "losses": {"l1": 1.0},
        "steps": 1,
        "threads": 1,
        "output_dir": str(tmp_path / "runs"),
    }
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    torch.manual_seed(0)
    model = lowlight.create_model("zero_dce", pretrained=False).eval()
    with torch.no_grad():  # weights no fresh model has, so that ignoring the file would show
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    weights = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return config_path, weights, model


def _expected_psnr(model, pairs: Path) -> float:
    values = []
    for i in range(3):
        low, high = (
            torch.from_numpy(np.asarray(Image.open(pairs / d / f"{i}.png"), np.float32) / 255).permute(2, 0, 1)[None]
            for d in ("low", "high")
        )
        with torch.no_grad():
            values.append(psnr(model(low).clamp(0, 1), high).item())
    return float(np.mean(values))


def test_scores_are_the_weights_own_and_nothing_is_written(tool, setup, tmp_path):
    config_path, weights, model = setup
    threads = torch.get_num_threads()
    try:
        scores = tool.validation_scores(config_path, weights)
    finally:
        torch.set_num_threads(threads)
    assert scores["psnr"] == pytest.approx(_expected_psnr(model, tmp_path / "pairs"), abs=1e-4)
    assert scores["score"] == scores["psnr"]  # selection "psnr": no grid term
    assert not (tmp_path / "runs").exists()


def test_a_missing_weights_file_is_one_line_and_exit_1(tool, setup, capsys):
    config_path, weights, _ = setup
    assert tool.main([str(config_path), str(weights.with_name("absent.safetensors"))]) == 1
    err = capsys.readouterr().err
    assert "absent.safetensors: no such weights file" in err and err.count("\n") == 1
