"""Fourier helpers with gradients that stay finite where the spectrum is zero.

All transforms run in float32 (or float64) even under autocast: cuFFT in half precision only
supports power-of-two sizes, and the amplitude of a dark image spans many orders of magnitude.
"""

from __future__ import annotations

import math

import torch
from torch import nn

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
        return torch.fft.rfft2(_as_fft_dtype(x), norm="backward")


def irfft2(spectrum: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`rfft2`; ``size`` is the (H, W) of the real output."""
    with torch.autocast(device_type=spectrum.device.type, enabled=False):
        return torch.fft.irfft2(spectrum, s=size, norm="backward")


def with_amplitude(spectrum: torch.Tensor, amplitude: torch.Tensor, new_amplitude: torch.Tensor) -> torch.Tensor:
    """The spectrum with its amplitude replaced by ``new_amplitude`` and its phase kept.

    ``amplitude`` must be ``spectrum.abs()``. Equivalent to ``new_amplitude * exp(i * angle(spectrum))``
    but scales the real and imaginary parts instead of going through angle, cos and sin, and uses no
    complex arithmetic besides building the result (which keeps it exportable to ONNX). Where the
    amplitude is (almost) zero the phase is taken as 0 (as ``torch.angle(0) == 0``) and no gradient flows
    through it, so gradients stay finite on all-black images.

    Args:
        spectrum: complex (...).
        amplitude: real (...), ``spectrum.abs()``.
        new_amplitude: real (...), may be negative (the phase then turns by pi).

    Returns:
        Complex tensor of the shape of ``spectrum``.
    """
    nonzero = amplitude > _TINY_MAGNITUDE
    scale = new_amplitude * torch.where(nonzero, amplitude, torch.ones_like(amplitude)).reciprocal()
    # Off the support the imaginary part is below _TINY_MAGNITUDE, so imag * scale is negligible.
    return torch.complex(torch.where(nonzero, spectrum.real * scale, new_amplitude), spectrum.imag * scale)


def fourier_amplitude_mlp(x: torch.Tensor, mlp: nn.Module) -> torch.Tensor:
    """Transform the Fourier amplitude of ``x`` with ``mlp`` and keep its phase (DarkIR's FreMLP).

    Equivalent to ``irfft2(mlp(|X|) * exp(i * angle(X)))`` with ``X = rfft2(x)``, but rescales the real
    and imaginary parts of X instead of going through angle, cos and sin. Between the two transforms
    everything is real arithmetic on ``view_as_real(X)``, which ``torch.compile`` fuses into a few loops
    (complex abs and division would break the graph). Bins of (almost) zero amplitude get phase 0 and no
    gradient through the amplitude, so gradients stay finite on all-black images.

    Args:
        x: real features (B, C, H, W).
        mlp: maps the amplitude (B, C, H, W // 2 + 1) to the same shape; may return negative values.

    Returns:
        Real tensor (B, C, H, W) in the dtype of the FFT (float32 unless ``x`` is float64).
    """
    height, width = x.shape[-2:]
    # The whole block runs in float32: the amplitude of a large image overflows float16.
    with torch.autocast(device_type=x.device.type, enabled=False):
        parts = torch.view_as_real(rfft2(x))
        real, imag = parts[..., 0], parts[..., 1]
        power = real * real + imag * imag
        nonzero = power > _TINY_MAGNITUDE**2
        safe_amplitude = torch.sqrt(torch.where(nonzero, power, torch.ones_like(power)))
        amplitude = torch.where(nonzero, safe_amplitude, torch.zeros_like(power))
        new_amplitude = mlp(amplitude.to(_mlp_dtype(mlp, power.dtype))).to(power.dtype)
        scale = new_amplitude / safe_amplitude
        rescaled = torch.stack([torch.where(nonzero, real * scale, new_amplitude), imag * scale], dim=-1)
        return irfft2(torch.view_as_complex(rescaled), (height, width))


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
        return fourier_amplitude_mlp(x, self.process1).to(x.dtype)


def spectrum_amplitude_phase(spectrum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude and phase (radians, in [-pi + 1e-4, pi + 1e-4)) of a complex spectrum.

    The phase of (almost) zero bins is 0 with zero gradient, so gradients stay finite. Phases within
    1e-4 of -pi are moved up by 2 pi: ONNX's atan2 gives -pi where torch gives +pi (imaginary part
    +0, negative real part, as in the DC and Nyquist bins of a real signal), and a convolution on the
    phase would see the difference; with the guard both runtimes give the same phase.
    """
    amplitude = spectrum.abs()
    nonzero = amplitude > _TINY_MAGNITUDE
    real = torch.where(nonzero, spectrum.real, torch.ones_like(spectrum.real))
    imag = torch.where(nonzero, spectrum.imag, torch.zeros_like(spectrum.imag))
    phase = torch.atan2(imag, real)
    return amplitude, torch.where(phase < _PHASE_WRAP_BELOW, phase + 2 * math.pi, phase)


def amplitude_and_phase(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fourier amplitude and phase of a real (..., H, W) tensor, see :func:`spectrum_amplitude_phase`.

    Returns:
        ``(amplitude, phase)``, both real (..., H, W // 2 + 1), float32 (float64 for float64 input).
    """
    return spectrum_amplitude_phase(rfft2(x))


def from_polar(amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """The complex spectrum ``amplitude * exp(i * phase)``."""
    return torch.complex(amplitude * torch.cos(phase), amplitude * torch.sin(phase))


def combine_amplitude_phase(amplitude_source: torch.Tensor, phase_source: torch.Tensor) -> torch.Tensor:
    """The image with the Fourier amplitude of one image and the phase of another, IFFT(A(a), P(b)).

    Both (..., H, W) real. Rescales the spectrum of ``phase_source`` (no angle round trip),
    so the result has exactly that phase wherever its amplitude is non-zero.
    """
    if amplitude_source.shape != phase_source.shape:
        raise ValueError(f"shapes differ: {tuple(amplitude_source.shape)} vs {tuple(phase_source.shape)}")
    amplitude = rfft2(amplitude_source).abs()
    spectrum = rfft2(phase_source)
    return irfft2(with_amplitude(spectrum, spectrum.abs(), amplitude), tuple(phase_source.shape[-2:]))
