"""Fourier losses: L1 between amplitude spectra and between phase spectra (rfft2, 'backward' norm)."""

from __future__ import annotations

import torch
from torch import nn

from lowlight.layers.fourier import amplitude_and_phase
from lowlight.metrics.functional import _check_pair


def amplitude_loss(pred: torch.Tensor, target: torch.Tensor, norm: str = "ortho") -> torch.Tensor:
    """mean | |F(pred)| - |F(target)| | over all bins. Inputs (B, C, H, W); FFT in float32.

    ``norm="ortho"`` (default) divides the spectra by sqrt(H W), so the loss does not grow with the
    crop size and sits on the scale of an L1 loss; ``"backward"`` uses the raw rfft2 amplitudes.
    """
    _check_pair(pred, target)
    if norm not in ("ortho", "backward"):
        raise ValueError(f"norm must be ortho or backward, got {norm!r}")
    difference = (amplitude_and_phase(pred)[0] - amplitude_and_phase(target)[0]).abs().mean()
    return difference / (pred.shape[-2] * pred.shape[-1]) ** 0.5 if norm == "ortho" else difference


def phase_loss(pred: torch.Tensor, target: torch.Tensor, wrap: bool = False) -> torch.Tensor:
    """mean | angle F(pred) - angle F(target) | (radians).

    With ``wrap=True`` the difference is taken on the circle (at most pi), so phases of -3.1 and 3.1
    count as close; the default is the plain difference used by FECNet-style training code.
    """
    _check_pair(pred, target)
    difference = amplitude_and_phase(pred)[1] - amplitude_and_phase(target)[1]
    if wrap:
        difference = torch.atan2(torch.sin(difference), torch.cos(difference))
    return difference.abs().mean()


class FourierAmplitudeLoss(nn.Module):
    """See :func:`amplitude_loss`."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return amplitude_loss(pred, target)


class FourierPhaseLoss(nn.Module):
    """See :func:`phase_loss`."""

    def __init__(self, wrap: bool = False) -> None:
        super().__init__()
        self.wrap = wrap

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return phase_loss(pred, target, self.wrap)
