from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from lowlight.cli import main
from lowlight.errors import LowlightError
from lowlight.inference.onnx import (
    AMPLITUDE_ONLY_TOLERANCE,
    PHASE_CONV_TOLERANCE,
    OnnxExportError,
    OnnxModule,
    export_onnx,
    onnx_tolerance,
    verify_onnx,
)
from lowlight.inference.pipeline import Enhancer
from lowlight.io import read_image, write_image
from lowlight.layers.fourier import rfft2, spectrum_amplitude_phase
from lowlight.registry import create_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

ODD_SIZES = ((47, 81), (33, 200), (64, 96))
# Export time grows with the number of graph nodes (about a minute for darkir_m, two for fsidnet_s): the tests
# export the same blocks with fewer of them (and the upsampling filter the shipped darkir_m weights use).
SMALL_DARKIR = {"width": 8, "enc_blk_nums": [1, 1, 1], "dec_blk_nums": [1, 1, 1], "middle_blk_num_enc": 1,
                "middle_blk_num_dec": 1, "upsample_blur": True}  # fmt: skip


@pytest.fixture(scope="module")
def darkir_export(tmp_path_factory):
    """A small darkir_m with seeded random weights, saved with its arguments and exported through the CLI."""
    folder = tmp_path_factory.mktemp("darkir_onnx")
    torch.manual_seed(3)
    model = create_model("darkir_m", **SMALL_DARKIR)
    weights = folder / "darkir_m.safetensors"
    metadata = {"lowlight.model": "darkir_m", "lowlight.model_args": json.dumps(SMALL_DARKIR)}
    save_file(model.state_dict(), str(weights), metadata=metadata)
    onnx_file = folder / "darkir_m.onnx"
    assert main(["export-onnx", "--model", "darkir_m", "-w", str(weights), "-o", str(onnx_file)]) == 0
    return model, weights, onnx_file


def test_darkir_export_matches_torch_at_odd_sizes_and_batches(darkir_export):
    model, _, onnx_file = darkir_export
    results = verify_onnx(model, onnx_file, sizes=ODD_SIZES)
    assert max(r.max_abs_diff for r in results) <= AMPLITUDE_ONLY_TOLERANCE
    runner = OnnxModule(onnx_file)
    x = torch.rand(2, 3, 41, 57)
    with torch.inference_mode():
        torch.testing.assert_close(runner(x), model(x), atol=AMPLITUDE_ONLY_TOLERANCE, rtol=0)
    assert runner.metadata["model"] == "darkir_m" and runner.pad_multiple == model.pad_multiple


@pytest.mark.parametrize("name", ["lucentvision", "zero_dce_pp"])
def test_curve_models_export_without_fourier_parts(tmp_path, name):
    model = create_model(name)
    path = export_onnx(model, tmp_path / f"{name}.onnx", metadata={"model": name})
    results = verify_onnx(model, path, sizes=ODD_SIZES)
    assert max(r.max_abs_diff for r in results) <= AMPLITUDE_ONLY_TOLERANCE


def test_fsidnet_phase_convolution_exports_within_its_tolerance(tmp_path):
    model = create_model("fsidnet_s", blocks=(1, 1))  # every block kind, at two scales instead of three
    assert onnx_tolerance(model) == PHASE_CONV_TOLERANCE
    assert onnx_tolerance(create_model("darkir_m")) == AMPLITUDE_ONLY_TOLERANCE
    path = export_onnx(model, tmp_path / "fsidnet_s.onnx")
    results = verify_onnx(model, path, sizes=ODD_SIZES)
    assert max(r.max_abs_diff for r in results) <= PHASE_CONV_TOLERANCE


class _Phase(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spectrum_amplitude_phase(rfft2(x))[1]


def test_phase_at_minus_pi_agrees_between_torch_and_onnx(tmp_path):
    # A signal with a negative mean: its DC bin is (negative, +0j), which ONNX's atan2 maps to -pi.
    path = export_onnx(_Phase(), tmp_path / "phase.onnx")
    runner = OnnxModule(path)
    x = torch.rand(1, 3, 9, 14) - 1.0
    expected = _Phase()(x)
    assert expected[..., 0, 0].allclose(torch.full((1, 3), math.pi))
    torch.testing.assert_close(runner(x), expected, atol=1e-4, rtol=0)


def test_enhance_with_onnxruntime_backend_matches_torch(darkir_export, tmp_path):
    _, weights, onnx_file = darkir_export
    image = np.random.default_rng(0).uniform(0, 0.3, (37, 53, 3)).astype(np.float32)
    source = tmp_path / "dark.png"
    write_image(source, image)
    torch_out, onnx_out = tmp_path / "torch.png", tmp_path / "onnx.png"
    common = ["-m", "darkir_m", "-w", str(weights), "-q"]
    assert main(["enhance", str(source), "-o", str(torch_out), *common]) == 0
    assert main(["enhance", str(source), "-o", str(onnx_out), *common, "--backend", "onnxruntime",
                 "--onnx", str(onnx_file)]) == 0  # fmt: skip
    difference = np.abs(read_image(torch_out).rgb - read_image(onnx_out).rgb).max()
    assert difference <= 1 / 255 + 1e-6  # at most one 8-bit step from rounding


def test_backend_exports_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LOWLIGHT_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    model = create_model("zero_dce_pp")
    first = Enhancer(model, backend="onnxruntime", device="cpu")
    (cached,) = (tmp_path / "cache" / "onnx").glob("*.onnx")
    stamp = cached.stat().st_mtime_ns
    second = Enhancer(model, backend="onnxruntime", device="cpu")
    assert cached.stat().st_mtime_ns == stamp
    x = torch.rand(1, 3, 45, 31)
    torch.testing.assert_close(first(x), second(x))
    with torch.inference_mode():
        torch.testing.assert_close(first(x), model(x).clamp(0, 1), atol=AMPLITUDE_ONLY_TOLERANCE, rtol=0)


def test_bad_onnx_requests_are_clear_errors(darkir_export, tmp_path, capsys):
    _, weights, onnx_file = darkir_export
    assert main(["export-onnx", "--model", "darkir_m", "-w", str(weights), "-o", str(onnx_file)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["export-onnx", "--model", "darkir_m", "-w", str(weights), "-o", str(tmp_path / "m.pt")]) == 2
    assert ".onnx" in capsys.readouterr().err
    assert main(["export-onnx", "--model", "darkir_l", "-o", str(tmp_path / "f.onnx")]) == 2
    assert "no weights shipped" in capsys.readouterr().err
    with pytest.raises(OnnxExportError, match="no such ONNX file"):
        OnnxModule(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(OnnxExportError, match="not a usable ONNX model"):
        OnnxModule(garbage)
    with pytest.raises(LowlightError, match="exported from model 'darkir_m'"):
        Enhancer("darkir_l", backend="onnxruntime", onnx_file=onnx_file)
    with pytest.raises(LowlightError, match="--strength cannot be used"):
        Enhancer("lucentvision", backend="onnxruntime", strength=0.5, weights=weights)
    with pytest.raises(LowlightError, match="--onnx needs --backend onnxruntime"):
        Enhancer("darkir_m", weights=weights, onnx_file=onnx_file)
