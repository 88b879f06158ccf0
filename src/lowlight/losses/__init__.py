"""Training losses, combined by name and weight from a config.

A weight map such as ``{"l1": 1, "perceptual": 0.01, "edge": 50, "side.l1": 0.8, "side.perceptual": 0.01}``
builds DarkIR's loss. A ``side.`` prefix applies the term to the model's low-resolution side output,
upsampled (nearest) to the target size: DarkIR's low-resolution guide loss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lowlight.errors import ConfigError
from lowlight.losses.fourier import FourierAmplitudeLoss, FourierPhaseLoss, amplitude_loss, phase_loss
from lowlight.losses.perceptual import MISSING_WEIGHTS_HINT, VGGPerceptualLoss
from lowlight.losses.pixel import CharbonnierLoss, L1Loss, charbonnier_loss
from lowlight.losses.structural import EdgeLoss, SSIMLoss, laplacian

log = logging.getLogger(__name__)
SIDE_PREFIX = "side."

LOSSES: dict[str, Callable[[], nn.Module]] = {
    "l1": L1Loss,
    "charbonnier": CharbonnierLoss,
    "ssim": SSIMLoss,
    "edge": EdgeLoss,
    "amplitude": FourierAmplitudeLoss,
    "phase": FourierPhaseLoss,
}
NEEDS_WEIGHTS = {"perceptual"}

__all__ = [
    "LOSSES",
    "CharbonnierLoss",
    "CombinedLoss",
    "EdgeLoss",
    "FourierAmplitudeLoss",
    "FourierPhaseLoss",
    "L1Loss",
    "SSIMLoss",
    "VGGPerceptualLoss",
    "amplitude_loss",
    "charbonnier_loss",
    "laplacian",
    "phase_loss",
    "upsample_side",
]


def upsample_side(side: torch.Tensor, size: tuple[int, int], scale: int = 8) -> torch.Tensor:
    """Nearest-upsample a low-resolution side output by ``scale``, then crop to ``size`` (H, W)."""
    up = F.interpolate(side, scale_factor=scale, mode="nearest")
    return up[..., : size[0], : size[1]]


class CombinedLoss(nn.Module):
    """Weighted sum of named loss terms; returns ``(total, {name: value})``.

    Args:
        weights: term name (optionally ``side.``-prefixed) to weight; zero weights are skipped.
        vgg_weights: torchvision VGG-19 file for ``perceptual`` terms. When it is None those terms are
            dropped with a warning (listed in :attr:`dropped`); a path that does not exist is an error.
        side_scale: resolution ratio between the output and the side output (8 for DarkIR).
    """

    def __init__(
        self, weights: Mapping[str, float], vgg_weights: str | Path | None = None, side_scale: int = 8
    ) -> None:
        super().__init__()
        self.side_scale = side_scale
        self.weights: dict[str, float] = {}
        self.dropped: list[str] = []
        self.terms = nn.ModuleDict()
        for name, weight in weights.items():
            base = name.removeprefix(SIDE_PREFIX)
            if base not in LOSSES and base not in NEEDS_WEIGHTS:
                known = ", ".join(sorted([*LOSSES, *NEEDS_WEIGHTS]))
                raise ConfigError(f"unknown loss {name!r}; known: {known} (prefix side. for the side output)")
            if not weight:
                continue
            if base == "perceptual" and vgg_weights is None:
                self.dropped.append(name)
                continue
            if base not in self.terms:
                self.terms[base] = VGGPerceptualLoss(vgg_weights) if base == "perceptual" else LOSSES[base]()
            self.weights[name] = float(weight)
        if self.dropped:
            log.warning(
                "loss terms %s dropped: no VGG-19 weights given; %s", ", ".join(self.dropped), MISSING_WEIGHTS_HINT
            )
        if not self.weights:
            raise ConfigError("no loss term with a non-zero weight")

    @property
    def uses_side_output(self) -> bool:
        return any(name.startswith(SIDE_PREFIX) for name in self.weights)

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, side: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.uses_side_output and side is None:
            raise ValueError("side-output loss terms need the model's side output")
        side_up = (
            upsample_side(side, target.shape[-2:], self.side_scale)
            if side is not None and self.uses_side_output
            else None
        )
        parts: dict[str, torch.Tensor] = {}
        total = pred.new_zeros((), dtype=torch.float32)
        for name, weight in self.weights.items():
            base = name.removeprefix(SIDE_PREFIX)
            source = side_up if name.startswith(SIDE_PREFIX) else pred
            value = self.terms[base](source.float(), target.float())
            parts[name] = value.detach()
            total = total + weight * value
        return total, parts
