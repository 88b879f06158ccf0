"""Training losses, combined by name and weight from a config.

A weight map such as ``{"l1": 1, "perceptual": 0.01, "edge": 50, "side.l1": 0.8, "side.perceptual": 0.01}``
builds DarkIR's loss. A ``side.`` prefix applies the term to the model's low-resolution side output,
upsampled (nearest) to the target size: DarkIR's low-resolution guide loss. A ``stage1.`` prefix
applies it to a two-stage model's first-stage output (FSIDNet) against the stage-1 target
T1 = IFFT(A(target), P(input)) (or the target itself with ``stage1_target="gt"``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lowlight.errors import ConfigError
from lowlight.layers.fourier import combine_amplitude_phase
from lowlight.losses.fourier import FourierAmplitudeLoss, FourierPhaseLoss, amplitude_loss, phase_loss
from lowlight.losses.perceptual import MISSING_WEIGHTS_HINT, VGGPerceptualLoss
from lowlight.losses.pixel import CharbonnierLoss, L1Loss, charbonnier_loss
from lowlight.losses.structural import EdgeLoss, SSIMLoss, laplacian

log = logging.getLogger(__name__)
SIDE_PREFIX = "side."
STAGE1_PREFIX = "stage1."
_PREFIXES = (SIDE_PREFIX, STAGE1_PREFIX)

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
        stage1_target: "t1" (amplitude of the target, phase of the input) or "gt" for ``stage1.`` terms.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        vgg_weights: str | Path | None = None,
        side_scale: int = 8,
        stage1_target: str = "t1",
    ) -> None:
        super().__init__()
        if stage1_target not in ("t1", "gt"):
            raise ConfigError(f"stage1_target must be t1 or gt, got {stage1_target!r}")
        self.side_scale = side_scale
        self.stage1_target = stage1_target
        self.weights: dict[str, float] = {}
        self.dropped: list[str] = []
        self.terms = nn.ModuleDict()
        for name, weight in weights.items():
            base = _base(name)
            if base not in LOSSES and base not in NEEDS_WEIGHTS:
                known = ", ".join(sorted([*LOSSES, *NEEDS_WEIGHTS]))
                raise ConfigError(f"unknown loss {name!r}; known: {known} (prefixes: side., stage1.)")
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

    @property
    def uses_stage1(self) -> bool:
        return any(name.startswith(STAGE1_PREFIX) for name in self.weights)

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        side: torch.Tensor | None = None,
        stage1: torch.Tensor | None = None,
        input: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        pairs = {"": (pred, target)}
        if self.uses_side_output:
            if side is None:
                raise ValueError("side.* loss terms need the model's side output")
            pairs[SIDE_PREFIX] = (upsample_side(side, target.shape[-2:], self.side_scale), target)
        if self.uses_stage1:
            if stage1 is None or (input is None and self.stage1_target == "t1"):
                raise ValueError("stage1.* loss terms need the model's stage-1 output (and the input for T1)")
            stage1_target = target if self.stage1_target == "gt" else combine_amplitude_phase(target, input)
            pairs[STAGE1_PREFIX] = (stage1, stage1_target)
        parts: dict[str, torch.Tensor] = {}
        total = pred.new_zeros((), dtype=torch.float32)
        for name, weight in self.weights.items():
            prefix = next((p for p in _PREFIXES if name.startswith(p)), "")
            source, goal = pairs[prefix]
            value = self.terms[_base(name)](source.float(), goal.float())
            parts[name] = value.detach()
            total = total + weight * value
        return total, parts


def _base(name: str) -> str:
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    return name
