"""Fourier helpers with gradients that stay finite where the spectrum is zero.

All transforms run in float32 (or float64) even under autocast: cuFFT in half precision only
supports power-of-two sizes, and the amplitude of a dark image spans many orders of magnitude.
"""

from __future__ import annotations

import torch
from torch import nn

# Bins with a smaller magnitude are treated as having phase 0 (their phase is ill-conditioned
# and its gradient would be ~1/|X|).
_TINY_MAGNITUDE = 1e-12


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


def unit_phasor(spectrum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a complex spectrum into its amplitude and its unit phasor exp(i * phase).

    Where the amplitude is (almost) zero the phasor is 1 (phase 0, as ``torch.angle(0) == 0``),
    and no gradient flows through it, so gradients stay finite on all-black images.

    Returns:
        ``(amplitude, phasor)``: real (...), complex (...), with ``spectrum == amplitude * phasor``
        up to rounding.
    """
    amplitude = spectrum.abs()
    nonzero = amplitude > _TINY_MAGNITUDE
    safe_amplitude = torch.where(nonzero, amplitude, torch.ones_like(amplitude))
    phasor = torch.where(nonzero, spectrum / safe_amplitude, torch.ones_like(spectrum))
    return amplitude, phasor


# Inductor cannot lower the backward of complex abs/division (it views complex as real with a
# stride it does not support), so compiled models run this block eagerly behind a graph break.
@torch.compiler.disable
def fourier_amplitude_mlp(x: torch.Tensor, mlp: nn.Module) -> torch.Tensor:
    """Transform the Fourier amplitude of ``x`` with ``mlp`` and keep its phase (DarkIR's FreMLP).

    Equivalent to ``irfft2(mlp(|X|) * exp(i * angle(X)))`` with ``X = rfft2(x)``, but multiplies
    by the unit phasor instead of going through angle, cos and sin.

    Args:
        x: real features (B, C, H, W).
        mlp: maps the amplitude (B, C, H, W // 2 + 1) to the same shape; may return negative values.

    Returns:
        Real tensor (B, C, H, W) in the dtype of the FFT (float32 unless ``x`` is float64).
    """
    height, width = x.shape[-2:]
    # The whole block runs in float32: the amplitude of a large image overflows float16.
    with torch.autocast(device_type=x.device.type, enabled=False):
        amplitude, phasor = unit_phasor(rfft2(x))
        new_amplitude = mlp(amplitude.to(_mlp_dtype(mlp, amplitude.dtype)))
        return irfft2(new_amplitude.to(amplitude.dtype) * phasor, (height, width))


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
    """Amplitude and phase (radians, in (-pi, pi]) of a complex spectrum.

    The phase of (almost) zero bins is 0 with zero gradient, so gradients stay finite.
    """
    amplitude = spectrum.abs()
    nonzero = amplitude > _TINY_MAGNITUDE
    real = torch.where(nonzero, spectrum.real, torch.ones_like(spectrum.real))
    imag = torch.where(nonzero, spectrum.imag, torch.zeros_like(spectrum.imag))
    return amplitude, torch.atan2(imag, real)


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

    Both (..., H, W) real. Multiplies by the unit phasor of ``phase_source`` (no angle round trip),
    so the result has exactly that phase wherever its amplitude is non-zero.
    """
    if amplitude_source.shape != phase_source.shape:
        raise ValueError(f"shapes differ: {tuple(amplitude_source.shape)} vs {tuple(phase_source.shape)}")
    amplitude = rfft2(amplitude_source).abs()
    _, phasor = unit_phasor(rfft2(phase_source))
    return irfft2(amplitude * phasor, tuple(phase_source.shape[-2:]))
