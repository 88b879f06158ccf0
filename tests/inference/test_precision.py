"""``precision="bf16"``: bfloat16 convolutions under autocast, float32 where it matters, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.profiler import profile

import lowlight.inference.pipeline as pipeline
from lowlight.cli import build_parser, main
from lowlight.errors import LowlightError
from lowlight.inference.pipeline import Enhancer
from lowlight.layers.norm import layer_norm_2d


class TinyNet(nn.Module):
    pad_multiple = 1
    inference_bytes_per_pixel = 64

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.1 * self.body(x)


@pytest.fixture
def has_bf16(monkeypatch):
    monkeypatch.setattr(pipeline, "cpu_bf16_instructions", lambda: "avx512_bf16")


def test_bf16_is_refused_on_a_cpu_without_bfloat16_instructions(monkeypatch):
    monkeypatch.setattr(pipeline, "cpu_bf16_instructions", lambda: None)
    with pytest.raises(LowlightError, match=r"no bfloat16 instructions.*keeps float32"):
        Enhancer("gamma", device="cpu", precision="bf16")


@pytest.mark.usefixtures("has_bf16")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"precision": "fp16"}, "unknown precision"),
        ({"precision": "bf16", "backend": "onnxruntime"}, "torch backend"),
        ({"precision": "bf16", "zero_shot_steps": 2}, "zero-shot-steps"),
    ],
)
def test_bf16_refuses_options_it_cannot_honour(options, message):
    model = "lucentvision" if options.get("zero_shot_steps") else "gamma"
    with pytest.raises(LowlightError, match=message):
        Enhancer(model, device="cpu", **options)


@pytest.mark.usefixtures("has_bf16")
def test_bf16_on_the_cpu_compiles_with_bfloat16_convolutions_close_to_float32():
    x = torch.rand(1, 3, 24, 20)
    reference = Enhancer(TinyNet(), device="cpu", tile=0)(x)
    enhancer = Enhancer(TinyNet(), device="cpu", tile=0, precision="bf16")
    assert enhancer.compiled is not None
    enhancer(x)
    with profile() as prof:
        out = enhancer(x)
    assert out.dtype == torch.float32
    difference = (out - reference).abs().max().item()
    assert 0 < difference < 2e-2  # bfloat16 keeps 8 bits of mantissa: close, but not the float32 result
    kernels = {event.key for event in prof.key_averages()}
    assert "mkldnn::_convolution_pointwise" in kernels and "aten::convolution" not in kernels


def test_layer_norm_statistics_stay_float32_for_bfloat16_inputs_when_compiled():
    torch.manual_seed(0)
    # a large common offset: in bfloat16 arithmetic the centred values would be mostly rounding error
    x = (torch.randn(1, 16, 8, 8) * 0.01 + 30.0).to(torch.bfloat16)
    weight, bias = torch.ones(16), torch.zeros(16)
    expected = layer_norm_2d(x.double(), weight.double(), bias.double())
    compiled = torch.compile(layer_norm_2d)(x, weight, bias)
    assert compiled.dtype == torch.bfloat16
    assert (compiled.double() - expected).abs().max() < 0.05


def test_precision_is_a_shared_cli_option():
    parser = build_parser()
    for command in (["enhance", "x.png", "-o", "o"], ["serve"], ["evaluate", "--model", "gamma", "--data", "d"]):
        assert parser.parse_args([*command, "--precision", "bf16"]).precision == "bf16"
    with pytest.raises(SystemExit):
        parser.parse_args(["enhance", "x.png", "-o", "o", "--precision", "int8"])


def test_enhance_with_bf16_on_a_cpu_without_it_exits_with_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(pipeline, "cpu_bf16_instructions", lambda: None)
    photo = tmp_path / "dark.png"
    Image.fromarray(np.full((16, 16, 3), 20, np.uint8)).save(photo)
    code = main(["enhance", str(photo), "-o", str(tmp_path / "out"), "-m", "gamma", "--precision", "bf16", "-q"])
    text = capsys.readouterr().err
    assert code != 0 and "no bfloat16 instructions" in text and "Traceback" not in text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
