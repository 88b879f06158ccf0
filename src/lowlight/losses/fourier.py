"""Fourier losses: L1 between amplitude spectra and between phase spectra (rfft2), and two lattice losses.

``lattice`` (paired) penalises the lattice frequencies of ``pred - target``; ``lattice_excess`` (no target)
penalises an output whose lattice stands out of its spectrum more than the input's, the differentiable twin
of the grid-artifact figure of :mod:`lowlight.metrics.grid`, for training on real photos without ground truth.
"""

from __future__ import annotations

import torch
from torch import nn

from lowlight.layers.fourier import amplitude_and_phase, rfft2_parts
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


def _lattice_bins(size: int, period: int) -> torch.Tensor:
    """Indices of the bins at and beside k / period cycles per pixel (k = 0 .. period / 2) along one axis."""
    centres = [round(k * size / period) for k in range(period // 2 + 1)]
    return torch.tensor(sorted({(c + d) % size for c in centres for d in (-1, 0, 1)}))


def lattice_loss(pred: torch.Tensor, target: torch.Tensor, period: int = 8) -> torch.Tensor:
    """Mean Fourier amplitude of ``pred - target`` at the lattice frequencies of a ``period``-pixel grid.

    The bins at and beside ``(ky / period, kx / period)`` cycles per pixel (``0 <= ky, kx <= period / 2``,
    DC excluded), orthonormal FFT, per channel. A network that downsamples three times by 2 can lay a faint
    period-8 lattice over smooth areas; plain L1 barely sees it, while this term measures exactly what the
    grid-artifact figure (:mod:`lowlight.metrics.grid`) reports. Inputs (B, C, H, W), H and W >= 2 * period.

    >>> flat = torch.full((1, 1, 64, 64), 0.5)
    >>> noisy = flat + 0.002 * torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> grid = 0.02 * ((torch.arange(64) % 8 == 0)[:, None] | (torch.arange(64) % 8 == 0)[None, :]).float()
    >>> bool(lattice_loss(noisy + grid, flat) > 3 * lattice_loss(noisy, flat))
    True
    """
    _check_pair(pred, target)
    height, width = pred.shape[-2:]
    if min(height, width) < 2 * period:
        raise ValueError(f"lattice_loss needs images of at least {2 * period}x{2 * period}, got {height}x{width}")
    residual = pred - target
    residual = residual if residual.dtype == torch.float64 else residual.float()
    parts = rfft2_parts(residual) / (height * width) ** 0.5
    rows = _lattice_bins(height, period).to(pred.device)
    cols = _lattice_bins(width, period).to(pred.device)
    cols = cols[cols <= width // 2]  # rfft keeps the non-negative horizontal frequencies
    picked = parts.index_select(-3, rows).index_select(-2, cols)
    amplitude = (picked.pow(2).sum(-1) + 1e-12).sqrt()
    dc = (rows == 0)[:, None] & (cols == 0)[None, :]
    return amplitude[..., ~dc].mean()


class LatticeLoss(nn.Module):
    """See :func:`lattice_loss`."""

    def __init__(self, period: int = 8) -> None:
        super().__init__()
        self.period = period

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return lattice_loss(pred, target, self.period)


def _lattice_blocks(height: int, width: int, period: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices (F, 5) of the 5x5 bins around each lattice frequency (DC excluded)."""
    offsets = torch.arange(-2, 3)
    centres = [(ky, kx) for ky in range(period // 2 + 1) for kx in range(period // 2 + 1) if ky or kx]
    rows = torch.stack([(round(ky * height / period) + offsets) % height for ky, _ in centres])
    cols = torch.stack([(round(kx * width / period) + offsets) % width for _, kx in centres])
    return rows, cols


def lattice_peak_db(image: torch.Tensor, period: int = 8) -> torch.Tensor:
    """Per-image lattice figure in dB of (B, 3, H, W) or (B, 1, H, W) images (H, W >= 16): shape (B,).

    The same figure as :func:`lowlight.metrics.grid.lattice_peak_db`, differentiable: gray level over its
    mean, 2-D Hann window, power spectrum; at each lattice frequency ``(ky / period, kx / period)``, the peak
    of the 3x3 bins around it over the median of their 16-bin ring, in dB; the mean over the frequencies.

    >>> flat = 0.5 + 0.01 * torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> lines = torch.arange(64) % 8 == 0
    >>> lattice = flat + 0.05 * (lines[:, None] | lines[None, :]).float()
    >>> bool(lattice_peak_db(lattice) - lattice_peak_db(flat) > 10)
    True
    """
    if image.ndim != 4 or image.shape[1] not in (1, 3):
        raise ValueError(f"expected a (B, 1 or 3, H, W) tensor, got shape {tuple(image.shape)}")
    height, width = image.shape[-2:]
    if min(height, width) < 2 * period:
        raise ValueError(f"lattice_peak_db needs images of at least {2 * period}x{2 * period}, got {height}x{width}")
    gray = image.mean(1) if image.dtype == torch.float64 else image.float().mean(1)
    gray = gray / gray.mean((-2, -1), keepdim=True).clamp_min(1e-8)
    window = torch.outer(
        torch.hann_window(height, periodic=False, dtype=gray.dtype, device=gray.device),
        torch.hann_window(width, periodic=False, dtype=gray.dtype, device=gray.device),
    )
    spectrum = torch.view_as_real(torch.fft.fft2(gray * window))
    power = spectrum.pow(2).sum(-1)
    rows, cols = (index.to(image.device) for index in _lattice_blocks(height, width, period))
    blocks = power[:, rows[:, :, None], cols[:, None, :]]  # (B, F, 5, 5)
    peak = blocks[..., 1:4, 1:4].amax((-2, -1))
    ring = torch.ones(5, 5, dtype=torch.bool, device=image.device)
    ring[1:4, 1:4] = False
    around = blocks[..., ring].sort(-1).values
    floor = (around[..., 7] + around[..., 8]) / 2  # the median of 16 values, as numpy takes it
    return (10 * torch.log10(peak.clamp_min(1e-30) / floor.clamp_min(1e-30))).mean(-1)


def lattice_excess_loss(pred: torch.Tensor, input: torch.Tensor, period: int = 8) -> torch.Tensor:
    """Mean over the batch of max(0, lattice figure of ``pred`` - that of ``input``), in dB.

    Needs no target: on real photos without ground truth it penalises only the lattice a network adds
    (the input's own, JPEG blocking included, is allowed). Inputs (B, C, H, W), H and W >= 2 * period.

    >>> low = 0.2 + 0.01 * torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> lines = torch.arange(64) % 8 == 0
    >>> grid = 0.05 * (lines[:, None] | lines[None, :]).float()
    >>> lattice_excess_loss(2 * low, low).item() < 0.5 < lattice_excess_loss(2 * low + grid, low).item()
    True
    """
    _check_pair(pred, input)
    return (lattice_peak_db(pred, period) - lattice_peak_db(input, period).detach()).clamp_min(0).mean()


class LatticeExcessLoss(nn.Module):
    """See :func:`lattice_excess_loss`."""

    def __init__(self, period: int = 8) -> None:
        super().__init__()
        self.period = period

    def forward(self, pred: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        return lattice_excess_loss(pred, input, self.period)
