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
from lowlight.losses.equivariance import (
    GridLockedLoss,
    ShiftConsistencyLoss,
    grid_locked_loss,
    grid_locked_residual,
    shift_consistency_loss,
    shifted_views,
)
from lowlight.losses.fourier import (
    FourierAmplitudeLoss,
    FourierPhaseLoss,
    LatticeExcessLoss,
    LatticeLoss,
    amplitude_loss,
    lattice_excess_loss,
    lattice_loss,
    phase_loss,
)
from lowlight.losses.perceptual import MISSING_WEIGHTS_HINT, VGGPerceptualLoss
from lowlight.losses.pixel import CharbonnierLoss, L1Loss, MSELoss, charbonnier_loss
from lowlight.losses.structural import EdgeLoss, laplacian
from lowlight.losses.zero_reference import (
    ColorConstancyLoss,
    ExposureControlLoss,
    IlluminationSmoothnessLoss,
    NoReferenceQualityLoss,
    SegmentationGuidedLoss,
    SpatialConsistencyLoss,
)
from lowlight.metrics.registry import create_metric

log = logging.getLogger(__name__)
SIDE_PREFIX = "side."
STAGE1_PREFIX = "stage1."
_PREFIXES = (SIDE_PREFIX, STAGE1_PREFIX)

ZERO_REFERENCE = {"spatial", "exposure", "color", "tv", "segmentation", "nr", "lattice_excess"}
INPUT_REFERENCE = {"spatial", "lattice_excess"}  # zero-reference terms that compare the output with the input
LOSSES: dict[str, Callable[[], nn.Module]] = {
    "l1": L1Loss,
    "charbonnier": CharbonnierLoss,
    "mse": MSELoss,
    # metrics used as losses go through the one metric-as-loss path: -PSNR (per image, averaged), 1 - SSIM
    "psnr": lambda: create_metric("psnr", as_loss=True),
    "ssim": lambda: create_metric("ssim", as_loss=True),
    "edge": EdgeLoss,
    "amplitude": FourierAmplitudeLoss,
    "phase": FourierPhaseLoss,
    "lattice": LatticeLoss,
    "grid_locked": GridLockedLoss,
}

__all__ = [
    "LOSSES",
    "CharbonnierLoss",
    "ColorConstancyLoss",
    "CombinedLoss",
    "EdgeLoss",
    "ExposureControlLoss",
    "FourierAmplitudeLoss",
    "FourierPhaseLoss",
    "GridLockedLoss",
    "IlluminationSmoothnessLoss",
    "L1Loss",
    "LatticeExcessLoss",
    "LatticeLoss",
    "MSELoss",
    "NoReferenceQualityLoss",
    "SegmentationGuidedLoss",
    "ShiftConsistencyLoss",
    "SpatialConsistencyLoss",
    "VGGPerceptualLoss",
    "amplitude_loss",
    "charbonnier_loss",
    "grid_locked_loss",
    "grid_locked_residual",
    "laplacian",
    "lattice_excess_loss",
    "lattice_loss",
    "phase_loss",
    "shift_consistency_loss",
    "shifted_views",
    "upsample_side",
]


def upsample_side(side: torch.Tensor, size: tuple[int, int], scale: int = 8) -> torch.Tensor:
    """Nearest-upsample a low-resolution side output by ``scale``, then crop to ``size`` (H, W)."""
    up = F.interpolate(side, scale_factor=scale, mode="nearest")
    return up[..., : size[0], : size[1]]


class CombinedLoss(nn.Module):
    """Weighted sum of named loss terms; returns ``(total, {name: value})``.

    Paired terms compare an output with the target; zero-reference terms (``spatial``, ``exposure``,
    ``color``, ``tv``, ``segmentation``, ``nr``, ``lattice_excess``) need no target: ``spatial`` and
    ``lattice_excess`` compare the output with the input, ``tv`` smooths the curve maps, the others score
    the output alone.

    Args:
        weights: term name (optionally ``side.``/``stage1.``-prefixed) to weight; zero weights are skipped.
        vgg_weights: torchvision VGG-19 file for ``perceptual`` terms. When it is None those terms are
            dropped with a warning (listed in :attr:`dropped`); a path that does not exist is an error.
        side_scale: resolution ratio between the output and the side output (8 for DarkIR).
        stage1_target: "t1" (amplitude of the target, phase of the input) or "gt" for ``stage1.`` terms.
        seg_model, nr_scorer: networks for the ``segmentation`` and ``nr`` terms; without them those
            terms are dropped with a warning.
        exposure_level, spatial_neighbours: options of the exposure and spatial-consistency terms.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        vgg_weights: str | Path | None = None,
        side_scale: int = 8,
        stage1_target: str = "t1",
        *,
        seg_model: nn.Module | None = None,
        nr_scorer: Callable[[torch.Tensor], torch.Tensor] | None = None,
        exposure_level: float = 0.6,
        spatial_neighbours: int = 8,
    ) -> None:
        super().__init__()
        if stage1_target not in ("t1", "gt"):
            raise ConfigError(f"stage1_target must be t1 or gt, got {stage1_target!r}")
        self.side_scale = side_scale
        self.stage1_target = stage1_target
        self.weights: dict[str, float] = {}
        self.dropped: list[str] = []
        self.terms = nn.ModuleDict()
        builders: dict[str, Callable[[], nn.Module] | None] = {
            **LOSSES,
            "perceptual": (lambda: VGGPerceptualLoss(vgg_weights)) if vgg_weights is not None else None,
            "spatial": lambda: SpatialConsistencyLoss(spatial_neighbours),
            "lattice_excess": LatticeExcessLoss,
            "exposure": lambda: ExposureControlLoss(exposure_level),
            "color": ColorConstancyLoss,
            "tv": IlluminationSmoothnessLoss,
            "segmentation": (lambda: SegmentationGuidedLoss(seg_model)) if seg_model is not None else None,
            "nr": (lambda: NoReferenceQualityLoss(nr_scorer)) if nr_scorer is not None else None,
        }
        for name, weight in weights.items():
            base = _base(name)
            if base not in builders:
                raise ConfigError(
                    f"unknown loss {name!r}; known: {', '.join(sorted(builders))} (prefixes: side., stage1.)"
                )
            if base in ZERO_REFERENCE and base != name:
                raise ConfigError(f"{name!r}: zero-reference terms take no side./stage1. prefix")
            if not weight:
                continue
            if builders[base] is None:
                self.dropped.append(name)
                continue
            if base not in self.terms:
                self.terms[base] = builders[base]()
            self.weights[name] = float(weight)
        if self.dropped:
            log.warning("loss terms %s dropped: %s", ", ".join(self.dropped), _why_dropped(self.dropped))
        if not self.weights:
            raise ConfigError("no loss term with a non-zero weight")

    @property
    def uses_side_output(self) -> bool:
        return any(name.startswith(SIDE_PREFIX) for name in self.weights)

    @property
    def uses_stage1(self) -> bool:
        return any(name.startswith(STAGE1_PREFIX) for name in self.weights)

    @property
    def uses_maps(self) -> bool:
        return "tv" in self.weights

    @property
    def aux_inputs(self) -> tuple[str, ...]:
        """Names of the model's auxiliary outputs (``forward_train``) that these terms read."""
        used = (("side", self.uses_side_output), ("stage1", self.uses_stage1), ("maps", self.uses_maps))
        return tuple(name for name, needed in used if needed)

    @property
    def needs_target(self) -> bool:
        return any(_base(name) not in ZERO_REFERENCE for name in self.weights)

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor | None = None,
        side: torch.Tensor | None = None,
        stage1: torch.Tensor | None = None,
        input: torch.Tensor | None = None,
        maps: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.needs_target and target is None:
            raise ValueError("paired loss terms need a target: use zero-reference terms for unpaired data")
        compared = sorted(INPUT_REFERENCE & set(self.weights))
        if compared and input is None:
            raise ValueError(f"the {' and '.join(compared)} loss needs the input image")
        if self.uses_maps and maps is None:
            raise ValueError("the tv loss needs the model's curve maps")
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
            base = _base(name)
            if base == "tv":
                value = self.terms[base](maps.float())
            elif base in INPUT_REFERENCE:
                value = self.terms[base](pred.float(), input.float())
            elif base in ZERO_REFERENCE:
                value = self.terms[base](pred.float())
            else:
                prefix = next((p for p in _PREFIXES if name.startswith(p)), "")
                source, goal = pairs[prefix]
                value = self.terms[base](source.float(), goal.float())
            parts[name] = value.detach()
            total = total + weight * value
        return total, parts


def _why_dropped(names: list[str]) -> str:
    reasons = {
        "perceptual": MISSING_WEIGHTS_HINT,
        "segmentation": "no segmentation network given (no pretrained one is available offline)",
        "nr": "no no-reference scorer given (e.g. MUSIQ weights are not available offline)",
    }
    return "; ".join(dict.fromkeys(reasons[_base(n)] for n in names))


def _base(name: str) -> str:
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    return name
