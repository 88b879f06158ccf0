"""Fourier helpers with gradients that stay finite where the spectrum is zero.

All transforms run in float32 (or float64) even under autocast: cuFFT in half precision only
supports power-of-two sizes, and the amplitude of a dark image spans many orders of magnitude.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lowlight.layers.layout import contiguous_nchw, is_channels_last

# Bins with a smaller magnitude are treated as having phase 0 (their phase is ill-conditioned
# and its gradient would be ~1/|X|).
_TINY_MAGNITUDE = 1e-12
_PHASE_WRAP_BELOW = -math.pi + 1e-4


def _as_fft_dtype(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def rfft2(x: torch.Tensor) -> torch.Tensor:
    """Real 2-D FFT over the last two dims ('backward' norm), computed in float32 or float64.

    Args:
        x: real tensor (..., H, W).

    Returns:
        Complex tensor (..., H, W // 2 + 1).
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        return torch.fft.rfft2(_fft_input(_as_fft_dtype(x)), norm="backward")


def _fft_input(x: torch.Tensor) -> torch.Tensor:
    # The CPU FFT of a channels_last input took 68 ms at 32 x 400 x 600, against 18 ms on NCHW plus 11 ms for
    # the blocked copy to NCHW (one thread, AMD EPYC). Eager inference hands it NCHW. (Compiled graphs did not
    # gain from the same copy as an opaque op: FSIDNet's compiled time stayed within the noise.)
    if x.device.type != "cpu" or torch.is_grad_enabled() or torch.compiler.is_compiling() or torch.jit.is_tracing():
        return x
    return contiguous_nchw(x)


def irfft2(spectrum: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`rfft2`; ``size`` is the (H, W) of the real output."""
    with torch.autocast(device_type=spectrum.device.type, enabled=False):
        return torch.fft.irfft2(spectrum, s=size, norm="backward")


def rfft2_parts(x: torch.Tensor) -> torch.Tensor:
    """:func:`rfft2` as a real tensor (..., H, W // 2 + 1, 2) of real and imaginary parts.

    Fourier blocks work on this view with real arithmetic only: ``torch.compile`` fuses it (complex
    abs, angle and division break the graph, and inductor cannot differentiate through them).
    """
    return torch.view_as_real(rfft2(x))


def irfft2_parts(parts: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`rfft2_parts`; ``size`` is the (H, W) of the real output."""
    return irfft2(torch.view_as_complex(parts.contiguous()), size)


# Real and imaginary parts as separate contiguous planes. The interleaved (..., 2) layout of
# ``view_as_real`` makes every element-wise pass read with stride 2: ATen then runs atan2 at a fifth of
# its vector speed, and inductor (torch 2.13) emits scalar loops for any kernel with such a load or store
# (libm atan2, sin and cos: 60-150 ms per FSIDNet phase block at 400x600). Eager code copies the planes
# out once; compiled code goes through two opaque custom ops, so that inductor cannot fuse the strided
# access back into the arithmetic. Exports keep plain views (ONNX knows neither op).


@torch.library.custom_op("lowlight::split_parts", mutates_args=())
def _split_parts_op(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return parts[..., 0].contiguous(), parts[..., 1].contiguous()


@_split_parts_op.register_fake
def _(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return parts.new_empty(parts.shape[:-1]), parts.new_empty(parts.shape[:-1])


def _split_parts_backward(ctx, grad_real: torch.Tensor | None, grad_imag: torch.Tensor | None) -> torch.Tensor:
    grad_real = torch.zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device) if grad_real is None else grad_real
    grad_imag = torch.zeros_like(grad_real) if grad_imag is None else grad_imag
    return _join_parts_op(grad_real, grad_imag)


def _remember_plane_shape(ctx, inputs: tuple[torch.Tensor], output: object) -> None:
    ctx.shape, ctx.dtype, ctx.device = inputs[0].shape[:-1], inputs[0].dtype, inputs[0].device


@torch.library.custom_op("lowlight::join_parts", mutates_args=())
def _join_parts_op(real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
    return _interleave(real, imag)


def _interleave(real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
    # torch.complex interleaves 10x faster than torch.stack(dim=-1) (1.3 vs 17 ms for 16 x 400 x 301, AMD EPYC)
    return torch.view_as_real(torch.complex(real, imag))


@_join_parts_op.register_fake
def _(real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
    return real.new_empty((*real.shape, 2))


def _join_parts_backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return _split_parts_op(grad)


_split_parts_op.register_autograd(_split_parts_backward, setup_context=_remember_plane_shape)
_join_parts_op.register_autograd(_join_parts_backward, setup_context=lambda ctx, inputs, output: None)


def _opaque_planes() -> bool:
    return torch.compiler.is_compiling() and not torch.compiler.is_exporting()


def split_parts(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The real and imaginary planes (...) of parts (..., 2), each contiguous.

    >>> real, imag = split_parts(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> real.tolist(), imag.tolist()
    ([1.0, 3.0], [2.0, 4.0])
    """
    if parts.shape[-1:] != (2,):
        raise ValueError(f"parts must end in a dimension of size 2, got shape {tuple(parts.shape)}")
    if _opaque_planes():
        return _split_parts_op(parts)
    if torch.compiler.is_exporting():
        return parts[..., 0], parts[..., 1]
    return parts[..., 0].contiguous(), parts[..., 1].contiguous()


def join_parts(real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
    """Parts (..., 2) from real and imaginary planes (...) of one shape; inverse of :func:`split_parts`."""
    if real.shape != imag.shape:
        raise ValueError(f"planes differ in shape: {tuple(real.shape)} vs {tuple(imag.shape)}")
    if _opaque_planes():
        return _join_parts_op(real, imag)
    if torch.compiler.is_exporting():
        return torch.stack([real, imag], dim=-1)
    return _interleave(real, imag)


def _magnitude_of(real: torch.Tensor, imag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(nonzero, safe amplitude): the amplitude is replaced by 1 where it is (almost) zero."""
    power = real * real + imag * imag
    nonzero = power > _TINY_MAGNITUDE**2
    return nonzero, torch.sqrt(torch.where(nonzero, power, torch.ones_like(power)))


def _rescaled(
    real: torch.Tensor, imag: torch.Tensor, nonzero: torch.Tensor, safe: torch.Tensor, new: torch.Tensor
) -> torch.Tensor:
    scale = new / safe
    # Off the support the imaginary part is below _TINY_MAGNITUDE, so imag * scale is negligible.
    return join_parts(torch.where(nonzero, real * scale, new), imag * scale)


def parts_amplitude(parts: torch.Tensor) -> torch.Tensor:
    """The amplitude (...) of a spectrum given as parts (..., 2), with a finite gradient at zero."""
    nonzero, safe = _magnitude_of(*split_parts(parts))
    return torch.where(nonzero, safe, torch.zeros_like(safe))


def parts_with_amplitude(parts: torch.Tensor, new_amplitude: torch.Tensor) -> torch.Tensor:
    """The spectrum (..., 2) with its amplitude replaced by ``new_amplitude`` (...) and its phase kept.

    Equivalent to ``new_amplitude * exp(i * angle(spectrum))`` but scales the real and imaginary parts
    instead of going through angle, cos and sin. Where the amplitude is (almost) zero the phase is taken
    as 0 (as ``torch.angle(0) == 0``) and no gradient flows through it, so gradients stay finite on
    all-black images. ``new_amplitude`` may be negative (the phase then turns by pi).
    """
    real, imag = split_parts(parts)
    nonzero, safe = _magnitude_of(real, imag)
    return _rescaled(real, imag, nonzero, safe, new_amplitude)


def fourier_amplitude_mlp(x: torch.Tensor, mlp: nn.Module) -> torch.Tensor:
    """Transform the Fourier amplitude of ``x`` with ``mlp`` and keep its phase (DarkIR's FreMLP).

    Equivalent to ``irfft2(mlp(|X|) * exp(i * angle(X)))`` with ``X = rfft2(x)``, computed with
    :func:`parts_with_amplitude` on the real and imaginary parts of X.

    Args:
        x: real features (B, C, H, W).
        mlp: maps the amplitude (B, C, H, W // 2 + 1) to the same shape; may return negative values.

    Returns:
        Real tensor (B, C, H, W) in the dtype of the FFT (float32 unless ``x`` is float64).
    """
    height, width = x.shape[-2:]
    if not (torch.is_grad_enabled() or torch.compiler.is_compiling() or torch.jit.is_tracing()):
        return _fourier_amplitude_mlp_eager_inference(x, mlp)
    # The whole block runs in float32: the amplitude of a large image overflows float16.
    with torch.autocast(device_type=x.device.type, enabled=False):
        real, imag = split_parts(rfft2_parts(x))
        nonzero, safe = _magnitude_of(real, imag)
        amplitude = torch.where(nonzero, safe, torch.zeros_like(safe))
        new_amplitude = mlp(amplitude.to(_mlp_dtype(mlp, safe.dtype))).to(safe.dtype)
        return irfft2_parts(_rescaled(real, imag, nonzero, safe, new_amplitude), (height, width))


def _fourier_amplitude_mlp_eager_inference(x: torch.Tensor, mlp: nn.Module) -> torch.Tensor:
    """:func:`fourier_amplitude_mlp` in five passes over the spectrum instead of fourteen, for eager inference.

    The complex spectrum is scaled in place (no real and imaginary planes: each is a copy, and the join another),
    and the amplitude is ``abs``; bins of (almost) zero amplitude get phase 0 afterwards, as in the autograd
    path, in a pass that only runs when there are any (flat or black inputs). Same values to float rounding
    (the amplitudes fed to the MLP differ by at most ``_TINY_MAGNITUDE``). Compiled code fuses the other
    path's passes itself, and training needs its gradients.
    """
    height, width = x.shape[-2:]
    with torch.autocast(device_type=x.device.type, enabled=False):
        spectrum = rfft2(x)
        amplitude = spectrum.abs()
        new_amplitude = contiguous_nchw(mlp(amplitude.to(_mlp_dtype(mlp, amplitude.dtype))).to(amplitude.dtype))
        empty = amplitude <= _TINY_MAGNITUDE
        parts = torch.view_as_real(spectrum)
        parts.mul_(torch.div(new_amplitude, amplitude.clamp_min_(_TINY_MAGNITUDE)).unsqueeze(-1))
        if empty.any():
            parts[..., 0] = torch.where(empty, new_amplitude, parts[..., 0])
            parts[..., 1].masked_fill_(empty, 0.0)
        return irfft2(spectrum, (height, width))


def _mlp_dtype(mlp: nn.Module, default: torch.dtype) -> torch.dtype:
    first = next(mlp.parameters(), None)
    return first.dtype if first is not None and first.is_floating_point() else default


class FourierAmplitudeMLP(nn.Module):
    """DarkIR's FreMLP: 1x1 conv -> LeakyReLU(0.1) -> 1x1 conv on the Fourier amplitude.

    State dict keys ``process1.0.*`` and ``process1.2.*`` match the official checkpoints.
    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, expand: int = 2) -> None:
        super().__init__()
        hidden = channels * expand
        self.process1 = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = fourier_amplitude_mlp(x, self.process1).to(x.dtype)
        if torch.compiler.is_compiling() or not is_channels_last(x):
            return out
        # The inverse FFT returns NCHW; the caller multiplies the result into channels_last features, and an
        # element-wise pass over two layouts took 35 ms where one copy and a matching pass take 10 (32 x
        # 400 x 600, one thread, AMD EPYC).
        return out.contiguous(memory_format=torch.channels_last)


def parts_amplitude_phase(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude and phase (radians, in [-pi + 1e-4, pi + 1e-4)) of a spectrum given as parts (..., 2).

    The phase of (almost) zero bins is 0 with zero gradient, so gradients stay finite. Phases within
    1e-4 of -pi are moved up by 2 pi: ONNX's atan2 gives -pi where torch gives +pi (imaginary part
    +0, negative real part, as in the DC and Nyquist bins of a real signal), and a convolution on the
    phase would see the difference; with the guard both runtimes give the same phase.
    """
    real, imag = split_parts(parts)
    nonzero, safe = _magnitude_of(real, imag)
    phase = torch.atan2(
        torch.where(nonzero, imag, torch.zeros_like(safe)), torch.where(nonzero, real, torch.ones_like(safe))
    )
    amplitude = torch.where(nonzero, safe, torch.zeros_like(safe))
    return amplitude, torch.where(phase < _PHASE_WRAP_BELOW, phase + 2 * math.pi, phase)


def spectrum_amplitude_phase(spectrum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`parts_amplitude_phase` of a complex spectrum."""
    return parts_amplitude_phase(torch.view_as_real(spectrum))


def amplitude_and_phase(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fourier amplitude and phase of a real (..., H, W) tensor, see :func:`parts_amplitude_phase`.

    Returns:
        ``(amplitude, phase)``, both real (..., H, W // 2 + 1), float32 (float64 for float64 input).

    >>> amplitude, phase = amplitude_and_phase(torch.ones(1, 3, 4, 6))
    >>> tuple(amplitude.shape), round(amplitude[0, 0, 0, 0].item())  # all energy at DC: H * W
    ((1, 3, 4, 4), 24)
    """
    return parts_amplitude_phase(rfft2_parts(x))


def parts_from_polar(amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """The spectrum ``amplitude * exp(i * phase)`` as parts (..., 2)."""
    return join_parts(amplitude * torch.cos(phase), amplitude * torch.sin(phase))


def combine_amplitude_phase(amplitude_source: torch.Tensor, phase_source: torch.Tensor) -> torch.Tensor:
    """The image with the Fourier amplitude of one image and the phase of another, IFFT(A(a), P(b)).

    Both (..., H, W) real. Rescales the spectrum of ``phase_source`` (no angle round trip),
    so the result has exactly that phase wherever its amplitude is non-zero.

    >>> x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    >>> torch.allclose(combine_amplitude_phase(x, x), x)
    True
    """
    if amplitude_source.shape != phase_source.shape:
        raise ValueError(f"shapes differ: {tuple(amplitude_source.shape)} vs {tuple(phase_source.shape)}")
    amplitude = parts_amplitude(rfft2_parts(amplitude_source))
    spectrum = rfft2_parts(phase_source)
    return irfft2_parts(parts_with_amplitude(spectrum, amplitude), tuple(phase_source.shape[-2:]))
