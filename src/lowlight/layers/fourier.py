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


def rfft2_parts(x: torch.Tensor) -> torch.Tensor:
    """:func:`rfft2` as a real tensor (..., H, W // 2 + 1, 2) of real and imaginary parts.

    Fourier blocks work on this view with real arithmetic only: ``torch.compile`` fuses it (complex
    abs, angle and division break the graph, and inductor cannot differentiate through them).
    """
    return torch.view_as_real(rfft2(x))


def irfft2_parts(parts: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`rfft2_parts`; ``size`` is the (H, W) of the real output."""
    return irfft2(torch.view_as_complex(parts.contiguous()), size)


def _magnitude(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(nonzero, safe amplitude): the amplitude is replaced by 1 where it is (almost) zero."""
    real, imag = parts[..., 0], parts[..., 1]
    power = real * real + imag * imag
    nonzero = power > _TINY_MAGNITUDE**2
    return nonzero, torch.sqrt(torch.where(nonzero, power, torch.ones_like(power)))


def _rescaled(parts: torch.Tensor, nonzero: torch.Tensor, safe: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    scale = new / safe
    # Off the support the imaginary part is below _TINY_MAGNITUDE, so imag * scale is negligible.
    return torch.stack([torch.where(nonzero, parts[..., 0] * scale, new), parts[..., 1] * scale], dim=-1)


def parts_amplitude(parts: torch.Tensor) -> torch.Tensor:
    """The amplitude (...) of a spectrum given as parts (..., 2), with a finite gradient at zero."""
    nonzero, safe = _magnitude(parts)
    return torch.where(nonzero, safe, torch.zeros_like(safe))


def parts_with_amplitude(parts: torch.Tensor, new_amplitude: torch.Tensor) -> torch.Tensor:
    """The spectrum (..., 2) with its amplitude replaced by ``new_amplitude`` (...) and its phase kept.

    Equivalent to ``new_amplitude * exp(i * angle(spectrum))`` but scales the real and imaginary parts
    instead of going through angle, cos and sin. Where the amplitude is (almost) zero the phase is taken
    as 0 (as ``torch.angle(0) == 0``) and no gradient flows through it, so gradients stay finite on
    all-black images. ``new_amplitude`` may be negative (the phase then turns by pi).
    """
    nonzero, safe = _magnitude(parts)
    return _rescaled(parts, nonzero, safe, new_amplitude)


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
    # The whole block runs in float32: the amplitude of a large image overflows float16.
    with torch.autocast(device_type=x.device.type, enabled=False):
        parts = rfft2_parts(x)
        nonzero, safe = _magnitude(parts)
        amplitude = torch.where(nonzero, safe, torch.zeros_like(safe))
        new_amplitude = mlp(amplitude.to(_mlp_dtype(mlp, safe.dtype))).to(safe.dtype)
        return irfft2_parts(_rescaled(parts, nonzero, safe, new_amplitude), (height, width))


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


def parts_amplitude_phase(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude and phase (radians, in [-pi + 1e-4, pi + 1e-4)) of a spectrum given as parts (..., 2).

    The phase of (almost) zero bins is 0 with zero gradient, so gradients stay finite. Phases within
    1e-4 of -pi are moved up by 2 pi: ONNX's atan2 gives -pi where torch gives +pi (imaginary part
    +0, negative real part, as in the DC and Nyquist bins of a real signal), and a convolution on the
    phase would see the difference; with the guard both runtimes give the same phase.
    """
    nonzero, safe = _magnitude(parts)
    real = torch.where(nonzero, parts[..., 0], torch.ones_like(safe))
    imag = torch.where(nonzero, parts[..., 1], torch.zeros_like(safe))
    phase = torch.atan2(imag, real)
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
    return torch.stack([amplitude * torch.cos(phase), amplitude * torch.sin(phase)], dim=-1)


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
