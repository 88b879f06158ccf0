"""VGG-19 perceptual loss with ImageNet weights read from a local file (no torchvision needed).

The file is a torchvision ``vgg19`` state_dict (``vgg19-dcbb9e9d.pth`` from the torchvision model zoo,
or the same tensors in safetensors). Only ``features.*`` keys are used.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from lowlight.checkpoint import read_checkpoint
from lowlight.errors import CheckpointError
from lowlight.layers.vgg import VGG19_LAYOUT, vgg_features
from lowlight.metrics.functional import _check_pair

# Feature slices ending after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (indices into `features`).
DARKIR_SLICES = (2, 7, 12, 21, 30)
DARKIR_LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
MISSING_WEIGHTS_HINT = (
    "the perceptual loss needs ImageNet VGG-19 weights: download torchvision's vgg19-dcbb9e9d.pth once "
    "(https://download.pytorch.org/models/vgg19-dcbb9e9d.pth) and pass its path"
)


def vgg19_features(depth: int = 30) -> nn.Sequential:
    """The first ``depth`` layers of torchvision's ``vgg19().features`` (same indices, same keys)."""
    return vgg_features(VGG19_LAYOUT, depth)


def load_vgg19_features(path: str | Path, depth: int = 30) -> nn.Sequential:
    """VGG-19 features with weights from a torchvision-format file; frozen, in eval mode.

    Raises:
        CheckpointError: the file is missing, unreadable, or lacks the needed ``features.*`` tensors.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: VGG-19 weights file not found; {MISSING_WEIGHTS_HINT}")
    state = read_checkpoint(path)
    features = vgg19_features(depth)
    wanted = features.state_dict().keys()
    found = {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
    missing = [key for key in wanted if key not in found]
    if missing:
        raise CheckpointError(f"{path}: not a torchvision VGG-19 state_dict (missing features.{missing[0]} and others)")
    try:
        features.load_state_dict({key: found[key] for key in wanted})
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: VGG-19 tensors have the wrong shapes ({str(exc).splitlines()[-1].strip()})"
        ) from None
    return features.eval().requires_grad_(False)


class VGGPerceptualLoss(nn.Module):
    """Weighted L1 between VGG-19 features of prediction and target (DarkIR's recipe by default).

    Args:
        weights_path: torchvision VGG-19 state_dict file.
        slices: end indices of the feature slices compared.
        layer_weights: weight of each slice's L1.
        imagenet_normalize: normalise inputs with ImageNet mean/std first (DarkIR does not).
    """

    def __init__(
        self,
        weights_path: str | Path,
        slices: Sequence[int] = DARKIR_SLICES,
        layer_weights: Sequence[float] = DARKIR_LAYER_WEIGHTS,
        imagenet_normalize: bool = False,
    ) -> None:
        super().__init__()
        if len(slices) != len(layer_weights):
            raise ValueError("slices and layer_weights must have the same length")
        features = load_vgg19_features(weights_path, depth=max(slices))
        bounds = (0, *slices)
        self.stages = nn.ModuleList(features[start:end] for start, end in itertools.pairwise(bounds))
        self.layer_weights = tuple(float(w) for w in layer_weights)
        self.imagenet_normalize = imagenet_normalize
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGGPerceptualLoss:
        return super().train(False)  # the backbone is frozen: always eval

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target)
        if self.imagenet_normalize:
            pred, target = (pred - self.mean) / self.std, (target - self.mean) / self.std
        loss = pred.new_zeros(())
        for stage, weight in zip(self.stages, self.layer_weights, strict=True):
            pred = stage(pred)
            with torch.no_grad():
                target = stage(target)
            loss = loss + weight * (pred - target).abs().mean()
        return loss
