"""LPIPS (Zhang et al., CVPR 2018) with AlexNet or VGG-16 features, weights read from local files.

Two files are needed, neither ships with lowlight (they are not ours to redistribute):

* the ImageNet backbone as a torchvision state_dict: ``alexnet-owt-7be5be79.pth`` or
  ``vgg16-397923af.pth`` (``features.*`` keys are used);
* the LPIPS linear heads of the ``lpips`` package (v0.1): ``weights/v0.1/alex.pth`` or ``vgg.pth``
  (keys ``lin{k}.model.1.weight``).

Inputs are RGB in [0, 1]; they are mapped to [-1, 1] (``lpips`` with ``normalize=True``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lowlight.checkpoint import read_checkpoint
from lowlight.errors import CheckpointError
from lowlight.layers.vgg import VGG16_LAYOUT, vgg_features
from lowlight.metrics.functional import _check_pair

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def _alexnet_features() -> list[nn.Module]:
    conv = nn.Conv2d
    return [
        conv(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        conv(64, 192, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        conv(192, 384, 3, 1, 1), nn.ReLU(),
        conv(384, 256, 3, 1, 1), nn.ReLU(),
        conv(256, 256, 3, 1, 1), nn.ReLU(),
    ]  # fmt: skip


def _vgg16_features() -> list[nn.Module]:
    return list(vgg_features(VGG16_LAYOUT))


# builder of torchvision's `features` (same indices and keys), indices of the ReLUs LPIPS compares
BACKBONES = {"alex": (_alexnet_features, (1, 4, 7, 9, 11)), "vgg": (_vgg16_features, (3, 8, 15, 22, 29))}


def backbone_features(net: str) -> tuple[nn.Sequential, tuple[int, ...]]:
    """torchvision-compatible ``features`` of AlexNet or VGG-16 (same indices) and the tapped ReLUs."""
    if net not in BACKBONES:
        raise ValueError(f"unknown LPIPS backbone {net!r}; use alex or vgg")
    build, taps = BACKBONES[net]
    return nn.Sequential(*build()[: taps[-1] + 1]), taps


def _load(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: {what} file not found (LPIPS needs local weights; see lowlight.metrics.lpips)")
    return read_checkpoint(path)


class LPIPS(nn.Module):
    """Learned perceptual distance; ``forward(pred, target)`` gives (B,) distances, lower is more similar."""

    def __init__(self, net: str, backbone_path: str | Path, heads_path: str | Path) -> None:
        super().__init__()
        self.features, self.taps = backbone_features(net)
        state = _load(backbone_path, f"{net} backbone")
        wanted = self.features.state_dict()
        try:
            self.features.load_state_dict({k: state[f"features.{k}"] for k in wanted})
        except (KeyError, RuntimeError):
            raise CheckpointError(f"{backbone_path}: not a torchvision {net} state_dict with features.* keys") from None
        heads = _load(heads_path, "LPIPS linear-head")
        widths = [self.features[i - 1].out_channels for i in self.taps]
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in widths)
        try:
            for k, head in enumerate(self.heads):
                head.weight.data.copy_(heads[f"lin{k}.model.1.weight"].view_as(head.weight))
        except (KeyError, RuntimeError):
            raise CheckpointError(f"{heads_path}: not LPIPS v0.1 {net} linear heads (lin0..lin4)") from None
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.eval().requires_grad_(False)

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.taps:
                outputs.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return outputs

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target)
        pred = ((pred * 2 - 1) - self.shift) / self.scale
        target = ((target * 2 - 1) - self.shift) / self.scale
        distance = pred.new_zeros(pred.shape[0])
        for head, a, b in zip(self.heads, self._taps(pred), self._taps(target), strict=True):
            distance = distance + head((a - b) ** 2).mean(dim=(1, 2, 3))
        return distance
