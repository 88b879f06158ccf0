"""``create_metric(name, as_loss=False)``: image quality metrics with metadata, in the style of pyiqa.

Every metric maps batches of (B, 3, H, W) RGB tensors in [0, 1] to one score per image, shape (B,).
Full-reference metrics take ``(pred, target)``, no-reference ones ``(pred)``, and LOE, which compares
the output with the low-light input, ``(pred, input=...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lowlight.errors import LowlightError
from lowlight.metrics import functional as fn
from lowlight.metrics.color import rgb_to_y_matlab

FULL_REFERENCE, NO_REFERENCE, INPUT_REFERENCE = "full-reference", "no-reference", "input-reference"
# compared with the target when there is one, else with the low-light input
RELATIVE = "target-or-input"


@dataclass(frozen=True)
class MetricInfo:
    name: str
    kind: str
    lower_better: bool
    differentiable: bool
    protocol: str
    input_range: tuple[float, float] = (0.0, 1.0)


class Metric(nn.Module):
    """A metric with its metadata (see :class:`MetricInfo`); call it on (B, 3, H, W) tensors in [0, 1]."""

    def __init__(self, info: MetricInfo, compute: Callable, gt_mean: bool = False) -> None:
        super().__init__()
        self.info = info
        self.compute = compute
        self.gt_mean = gt_mean
        if isinstance(compute, nn.Module):
            self.module = compute

    @property
    def name(self) -> str:
        return f"{self.info.name}_gtmean" if self.gt_mean else self.info.name

    @property
    def lower_better(self) -> bool:
        return self.info.lower_better

    @property
    def kind(self) -> str:
        return self.info.kind

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor | None = None, input: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.info.kind == FULL_REFERENCE:
            if target is None:
                raise ValueError(f"{self.name} is a full-reference metric: it needs a target")
            if self.gt_mean:
                pred = fn.gt_mean_scale(pred, target)
            return self.compute(pred, target)
        if self.info.kind == RELATIVE:
            reference = target if target is not None else input
            if reference is None:
                raise ValueError(f"{self.name} compares the output with the target or the input: pass one")
            return self.compute(pred, reference)
        if self.info.kind == INPUT_REFERENCE:
            if input is None:
                raise ValueError(f"{self.name} compares the output with the low-light input: pass input=")
            return self.compute(pred, input)
        return self.compute(pred)


class MetricLoss(nn.Module):
    """A differentiable metric turned into a loss to minimise: ``1 - ssim``, ``-psnr``, ``lpips``."""

    def __init__(self, metric: Metric) -> None:
        super().__init__()
        self.metric = metric

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        value = self.metric(pred, target).mean()
        if self.metric.lower_better:
            return value
        return 1 - value if self.metric.info.name.startswith("ssim") else -value


def _y(x: torch.Tensor, crop_border: int) -> torch.Tensor:
    y = rgb_to_y_matlab(x)
    return y[..., crop_border:-crop_border, crop_border:-crop_border] if crop_border else y


def _per_image_numpy(function: Callable[..., float]) -> Callable[..., torch.Tensor]:
    def compute(*images: torch.Tensor) -> torch.Tensor:
        arrays = [image.detach().double().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() for image in images]
        values = [function(*(a[i] for a in arrays)) for i in range(arrays[0].shape[0])]
        return torch.tensor(values, dtype=torch.float64)

    return compute


def _builders(crop_border: int, lpips_backbone: str | Path | None, lpips_heads: str | Path | None) -> dict:
    from lowlight.metrics.grid import grid_artifact_db
    from lowlight.metrics.loe import loe
    from lowlight.metrics.niqe import niqe

    def lpips(net: str):
        def build():
            from lowlight.metrics.lpips import LPIPS

            if lpips_backbone is None or lpips_heads is None:
                raise LowlightError(
                    f"lpips_{net} needs local weights: lpips_backbone=PATH (torchvision {net} state_dict) and "
                    "lpips_heads=PATH (lpips v0.1 linear heads)"
                )
            return LPIPS(net, lpips_backbone, lpips_heads)

        return build

    rgb, y = "RGB", f"MATLAB BT.601 Y channel (16-235), border crop {crop_border}"
    return {
        "psnr": (MetricInfo("psnr", FULL_REFERENCE, False, True, f"PSNR (dB), {rgb}, peak 1"), lambda: fn.psnr),
        "psnr_y": (
            MetricInfo("psnr_y", FULL_REFERENCE, False, True, f"PSNR (dB), {y}, peak 255"),
            lambda: lambda p, t: fn.psnr(_y(p, crop_border), _y(t, crop_border), data_range=255.0),
        ),
        "ssim": (
            MetricInfo("ssim", FULL_REFERENCE, False, True, f"SSIM, Gaussian 11x11 sigma 1.5 window, {rgb}"),
            lambda: fn.ssim,
        ),
        "ssim_y": (
            MetricInfo("ssim_y", FULL_REFERENCE, False, True, f"SSIM, Gaussian 11x11 sigma 1.5 window, {y}"),
            lambda: lambda p, t: fn.ssim(_y(p, crop_border), _y(t, crop_border), data_range=255.0),
        ),
        "ssim_skimage": (
            MetricInfo(
                "ssim_skimage",
                FULL_REFERENCE,
                False,
                True,
                f"SSIM, scikit-image default (7x7 uniform, sample cov), {rgb}",
            ),
            lambda: fn.ssim_skimage,
        ),
        "lpips_alex": (
            MetricInfo("lpips_alex", FULL_REFERENCE, True, True, "LPIPS v0.1, AlexNet, inputs mapped to [-1, 1]"),
            lpips("alex"),
        ),
        "lpips_vgg": (
            MetricInfo("lpips_vgg", FULL_REFERENCE, True, True, "LPIPS v0.1, VGG-16, inputs mapped to [-1, 1]"),
            lpips("vgg"),
        ),
        "niqe": (
            MetricInfo(
                "niqe",
                NO_REFERENCE,
                True,
                False,
                f"NIQE, MATLAB release parameters, rounded Y, 96x96 blocks, border crop {crop_border}",
            ),
            lambda: _per_image_numpy(lambda image: niqe(image, crop_border)),
        ),
        "grid_db": (
            MetricInfo(
                "grid_db",
                RELATIVE,
                True,
                False,
                "grid-artifact figure: mean lattice peak (period 8 px harmonics) over its 5x5 ring in the power "
                "spectrum, dB, output minus target (or minus input without a target)",
                (0.0, 1.0),
            ),
            lambda: _per_image_numpy(grid_artifact_db),
        ),
        "loe": (
            MetricInfo("loe", INPUT_REFERENCE, True, False, "LOE, lightness max(RGB), bicubic resize to short side 50"),
            lambda: _per_image_numpy(loe_against_input(loe)),
        ),
    }


def loe_against_input(loe: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[np.ndarray, np.ndarray], float]:
    return lambda output, low: loe(low, output)


def list_metrics() -> list[str]:
    return sorted(_builders(0, None, None))


def metric_info(name: str, crop_border: int = 0) -> MetricInfo:
    """Metadata of metric ``name``; its protocol text names the ``crop_border`` it is used with."""
    builders = _builders(crop_border, None, None)
    if name not in builders:
        raise LowlightError(f"unknown metric {name!r}; known: {', '.join(sorted(builders))}")
    return builders[name][0]


def create_metric(
    name: str,
    as_loss: bool = False,
    *,
    gt_mean: bool = False,
    crop_border: int = 0,
    lpips_backbone: str | Path | None = None,
    lpips_heads: str | Path | None = None,
) -> nn.Module:
    """Build a metric by name (see :func:`list_metrics`).

    Args:
        as_loss: return a loss to minimise instead (differentiable metrics only).
        gt_mean: full-reference metrics score the output after scaling its mean gray level to the
            target's (reported under ``NAME_gtmean``).
        crop_border: pixels removed at each edge for ``psnr_y``, ``ssim_y`` and ``niqe``.
        lpips_backbone, lpips_heads: weight files for ``lpips_alex`` / ``lpips_vgg``.
    """
    builders = _builders(crop_border, lpips_backbone, lpips_heads)
    if name not in builders:
        raise LowlightError(f"unknown metric {name!r}; known: {', '.join(sorted(builders))}")
    info, build = builders[name]
    if gt_mean and info.kind != FULL_REFERENCE:
        raise LowlightError(f"gt_mean applies to full-reference metrics only, not {name}")
    if as_loss and not info.differentiable:
        raise LowlightError(f"{name} is not differentiable and cannot be used as a loss")
    compute = build()
    if as_loss and name == "psnr":
        # an exact match would give -inf; 1e-8 caps the loss at 80 dB and keeps its gradient finite
        compute = functools.partial(fn.psnr, eps=1e-8)
    metric = Metric(info, compute, gt_mean)
    return MetricLoss(metric) if as_loss else metric
