from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lowlight.layers import (
    FourierAmplitudeMLP,
    LayerNorm2d,
    crop_to,
    fourier_amplitude_mlp,
    layer_norm_2d,
    pad_to_multiple,
    simple_gate,
)
from lowlight.layers.fourier import (
    join_parts,
    parts_amplitude,
    parts_amplitude_phase,
    parts_from_polar,
    parts_with_amplitude,
    spectrum_amplitude_phase,
    split_parts,
)


def official_fremlp(x: torch.Tensor, mlp: nn.Module) -> torch.Tensor:
    """The polar round trip of the official FreMLP, as the reference."""
    spectrum = torch.fft.rfft2(x, norm="backward")
    magnitude = mlp(spectrum.abs())
    phase = spectrum.angle()
    rebuilt = torch.complex(magnitude * phase.cos(), magnitude * phase.sin())
    return torch.fft.irfft2(rebuilt, s=x.shape[-2:], norm="backward")


def test_layer_norm_matches_torch_layer_norm_over_channels():
    x = torch.randn(2, 5, 7, 9)
    weight, bias = torch.randn(5), torch.randn(5)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (5,), weight, bias, eps=1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(layer_norm_2d(x, weight, bias), expected, atol=1e-5, rtol=1e-5)


def test_layer_norm_module_rejects_wrong_channels():
    with pytest.raises(ValueError, match="4 channels"):
        LayerNorm2d(4)(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        LayerNorm2d(4)(torch.randn(4, 8, 8))


def test_simple_gate_halves_channels_and_checks_input():
    x = torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(simple_gate(x), x[:, :3] * x[:, 3:])
    with pytest.raises(ValueError, match="even number"):
        simple_gate(torch.randn(1, 5, 2, 2))


@pytest.mark.parametrize("size", [(8, 8), (13, 21), (1, 1)])
def test_pad_then_crop_round_trip(size):
    x = torch.randn(1, 3, *size)
    padded = pad_to_multiple(x, 8)
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0
    torch.testing.assert_close(crop_to(padded, *size), x)
    with pytest.raises(ValueError):
        pad_to_multiple(x, 0)


@pytest.mark.parametrize("size", [(16, 16), (15, 22), (9, 7)])
def test_fourier_amplitude_mlp_equals_polar_round_trip(size):
    block = FourierAmplitudeMLP(4)
    x = torch.randn(2, 4, *size)
    torch.testing.assert_close(block(x), official_fremlp(x, block.process1), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("black", [False, True])
def test_fourier_amplitude_mlp_inference_path_equals_the_official_block(black):
    # Without autograd the block scales the complex spectrum in place; zero bins still get phase 0.
    torch.manual_seed(0)
    block = FourierAmplitudeMLP(4)
    x = torch.randn(2, 4, 15, 22)
    if black:
        x[1] = 0.0  # a black image (every bin zero) beside a textured one
    with torch.inference_mode():
        out = block(x)
    torch.testing.assert_close(out, official_fremlp(x, block.process1).detach(), atol=1e-5, rtol=1e-4)


def test_fourier_amplitude_mlp_keeps_a_channels_last_layout():
    torch.manual_seed(0)
    block = FourierAmplitudeMLP(4)
    x = torch.randn(2, 4, 15, 22)
    expected = block(x)
    block = block.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = block(x.contiguous(memory_format=torch.channels_last))
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected.detach(), atol=1e-5, rtol=1e-4)


def test_fourier_amplitude_mlp_on_black_input_is_the_official_value_and_has_finite_gradients():
    block = FourierAmplitudeMLP(3)
    x = torch.zeros(1, 3, 10, 12, requires_grad=True)
    out = block(x)
    # angle(0) = 0, so the official block returns irfft2(mlp(0)), not zero
    torch.testing.assert_close(out, official_fremlp(x.detach(), block.process1), atol=1e-6, rtol=1e-5)
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in block.parameters())


def test_fourier_amplitude_mlp_gradcheck_float64():
    mlp = nn.Sequential(nn.Conv2d(2, 4, 1), nn.LeakyReLU(0.1), nn.Conv2d(4, 2, 1)).double()
    x = torch.randn(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fourier_amplitude_mlp(t, mlp), (x,))


def _with_amplitude(spectrum: torch.Tensor, new_amplitude: torch.Tensor) -> torch.Tensor:
    parts = parts_with_amplitude(torch.view_as_real(spectrum), new_amplitude)
    return torch.view_as_complex(parts.contiguous())


def test_parts_with_amplitude_keeps_phase_and_takes_phase_zero_at_zero():
    spectrum = torch.fft.rfft2(torch.randn(3, 8, 8, dtype=torch.float64))
    spectrum[0, 0, 0] = 0
    amplitude = spectrum.abs()
    new_amplitude = torch.rand_like(amplitude) + 0.5
    result = _with_amplitude(spectrum, new_amplitude)
    torch.testing.assert_close(result.abs(), new_amplitude)
    nonzero = amplitude > 0
    torch.testing.assert_close(result.angle()[nonzero], spectrum.angle()[nonzero])
    assert result[0, 0, 0] == new_amplitude[0, 0, 0]
    torch.testing.assert_close(_with_amplitude(spectrum, amplitude), spectrum)


def test_parts_amplitude_matches_abs_and_is_zero_at_zero():
    spectrum = torch.fft.rfft2(torch.randn(2, 6, 7, dtype=torch.float64))
    spectrum[1, 0, 0] = 0
    amplitude = parts_amplitude(torch.view_as_real(spectrum))
    torch.testing.assert_close(amplitude, spectrum.abs())
    assert amplitude[1, 0, 0] == 0


def test_parts_with_amplitude_gradient_is_finite_on_black_image():
    x = torch.zeros(1, 2, 8, 8, requires_grad=True)
    parts = torch.view_as_real(torch.fft.rfft2(x))
    amplitude = parts_amplitude(parts)
    rebuilt = parts_with_amplitude(parts, amplitude * 2 + 1)
    torch.fft.irfft2(torch.view_as_complex(rebuilt.contiguous()), s=(8, 8)).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_parts_with_amplitude_gradcheck_float64():
    parts = torch.randn(2, 5, 3, 2, dtype=torch.float64, requires_grad=True)
    new_amplitude = torch.rand(2, 5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(parts_with_amplitude, (parts, new_amplitude))


def test_phase_guard_maps_minus_pi_to_plus_pi():
    # DC and Nyquist bins with a negative real part: torch says +pi, ONNX's atan2 -pi for imag = +0
    spectrum = torch.complex(torch.tensor([-2.0, -1.0, 1.0]), torch.tensor([0.0, -1e-6, 0.0]))
    _, phase = spectrum_amplitude_phase(spectrum)
    assert phase[0] == pytest.approx(math.pi) and phase[1] == pytest.approx(math.pi, abs=2e-6)
    assert phase[2] == 0


def test_fourier_block_runs_in_float32_under_autocast():
    block = FourierAmplitudeMLP(4)
    x = torch.rand(1, 4, 32, 32) * 1e3  # large DC amplitude: would overflow float16
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(x)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_split_and_join_parts_round_trip_and_give_contiguous_planes():
    parts = torch.view_as_real(torch.fft.rfft2(torch.rand(2, 3, 6, 9)))
    real, imag = split_parts(parts)
    assert real.is_contiguous() and imag.is_contiguous() and real.shape == parts.shape[:-1]
    assert torch.equal(real, parts[..., 0]) and torch.equal(imag, parts[..., 1])
    assert torch.equal(join_parts(real, imag), parts)


def test_split_and_join_parts_check_their_inputs():
    with pytest.raises(ValueError, match="size 2"):
        split_parts(torch.rand(3, 4))
    with pytest.raises(ValueError, match="differ in shape"):
        join_parts(torch.rand(3), torch.rand(4))


@pytest.mark.parametrize("op", ["split", "join"])
def test_opaque_part_ops_gradcheck_float64(op):
    # the custom ops that compiled code uses, with their registered backward
    if op == "split":
        parts = torch.randn(2, 3, 4, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda p: torch.ops.lowlight.split_parts(p)[1], (parts,))
        assert torch.autograd.gradcheck(torch.ops.lowlight.split_parts, (parts,))
    else:
        real, imag = (torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True) for _ in range(2))
        assert torch.autograd.gradcheck(torch.ops.lowlight.join_parts, (real, imag))


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 4, 400, 400)])
def test_contiguous_nchw_equals_contiguous_for_channels_last_input(shape):
    from lowlight.layers.layout import contiguous_nchw

    # (1, 4, 400, 400): above the size from which ATen copies a transposed matrix in blocks
    x = torch.randn(*shape).contiguous(memory_format=torch.channels_last)
    out = contiguous_nchw(x)
    assert out.is_contiguous() and torch.equal(out, x)


def test_compiled_phase_round_trip_uses_the_opaque_ops_and_matches_eager():
    # Without the opaque split, inductor reads the interleaved parts with stride 2 and runs atan2, sin
    # and cos in scalar loops (5-10x slower); the values must not change either way.
    def phase_round_trip(parts: torch.Tensor) -> torch.Tensor:
        amplitude, phase = parts_amplitude_phase(parts)
        return parts_from_polar(amplitude * 1.5, phase * 0.5)

    parts = torch.view_as_real(torch.fft.rfft2(torch.rand(1, 2, 12, 16)))
    graphs = []

    def backend(graph, example_inputs):
        graphs.append(graph)
        return graph

    compiled = torch.compile(phase_round_trip, backend=backend, fullgraph=True)
    assert torch.allclose(compiled(parts), phase_round_trip(parts), atol=1e-5)
    targets = {str(node.target) for graph in graphs for node in graph.graph.nodes}
    assert {"lowlight.split_parts.default", "lowlight.join_parts.default"} <= targets


# ----------------------------------------------------------------------------- binomial smoothing
def test_binomial_blur_removes_any_two_by_two_tile_and_keeps_constants():
    from lowlight.layers import binomial_blur2d

    tile = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    tiled = tile.repeat(1, 1, 5, 6)
    flat = torch.full((1, 1, 7, 9), 0.25, dtype=torch.float64)
    interior = binomial_blur2d(tiled)[..., 1:-1, 1:-1]
    torch.testing.assert_close(interior, tile.mean(dim=(-2, -1), keepdim=True).expand_as(interior))
    torch.testing.assert_close(binomial_blur2d(flat), flat)
    assert binomial_blur2d(torch.rand(1, 4, 1, 1)).shape == (1, 4, 1, 1)


def test_binomial_blur_checks_input_and_passes_gradcheck():
    from lowlight.layers import BinomialBlur2d, binomial_blur2d

    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        binomial_blur2d(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="floating-point"):
        binomial_blur2d(torch.ones(1, 1, 4, 4, dtype=torch.int64))
    x = torch.rand(1, 2, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(BinomialBlur2d(), (x,))
    assert not list(BinomialBlur2d().state_dict())
