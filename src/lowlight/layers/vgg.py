"""VGG feature stacks laid out like torchvision's ``vgg*().features`` (same indices, same state_dict keys)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def vgg_features(layout: Sequence[int | str], depth: int | None = None) -> nn.Sequential:
    """3x3 conv + ReLU per channel count, 2x2 max-pool per "M"; the first ``depth`` layers."""
    layers: list[nn.Module] = []
    channels = 3
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU()]
            channels = int(item)
    return nn.Sequential(*layers[:depth])
