"""Zero-reference losses (Zero-DCE, SGZ, LucentVisionNet): training without ground truth.

Default weights (Zero-DCE / SGZ code; ``specs/lucentvision.md`` section 3): spatial 1, exposure 10,
colour 5, illumination smoothness 1600 for a 3-channel map (200 for 24 maps), segmentation 0.1 and
no-reference quality 0.1, the last two only when their networks are given.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

_AXIAL = ((0, 1), (2, 1), (1, 0), (1, 2))  # up, down, left, right neighbours in a 3x3 window
_DIAGONAL = ((0, 0), (0, 2), (2, 0), (2, 2))


def _difference_kernels(positions) -> torch.Tensor:
    kernels = torch.zeros(len(positions), 1, 3, 3)
    for index, (row, col) in enumerate(positions):
        kernels[index, 0, 1, 1] = 1.0
        kernels[index, 0, row, col] = -1.0
    return kernels


class SpatialConsistencyLoss(nn.Module):
    """Keep the differences between neighbouring regions of the input in the output.

    Both images are averaged over channels and pooled into 4x4 regions; for each region the
    difference to its 4 (Zero-DCE) or 8 (SGZ, diagonals weighted 0.5) neighbours is taken in both
    images (zero padding at the border); loss = mean over regions of sum_dirs (d_in - d_out)^2.
    """

    def __init__(self, neighbours: int = 8, region: int = 4) -> None:
        super().__init__()
        if neighbours not in (4, 8):
            raise ValueError("neighbours must be 4 or 8")
        self.region = region
        positions = _AXIAL + (_DIAGONAL if neighbours == 8 else ())
        self.register_buffer("kernels", _difference_kernels(positions), persistent=False)
        weights = [1.0] * 4 + [0.5] * (len(positions) - 4)
        self.register_buffer("weights", torch.tensor(weights).view(1, -1, 1, 1), persistent=False)

    def forward(self, enhanced: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        def differences(x: torch.Tensor) -> torch.Tensor:
            pooled = F.avg_pool2d(x.mean(1, keepdim=True), self.region)
            return F.conv2d(pooled, self.kernels.to(x.dtype), padding=1)

        squared = (differences(original) - differences(enhanced)) ** 2
        return (squared * self.weights.to(squared.dtype)).sum(1).mean()


class ExposureControlLoss(nn.Module):
    """mean over 16x16 patches of (patch mean brightness - level)^2, level 0.6 (zero for a uniform 0.6 image)."""

    def __init__(self, level: float = 0.6, patch: int = 16) -> None:
        super().__init__()
        self.level, self.patch = level, patch

    def forward(self, enhanced: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(enhanced.mean(1, keepdim=True), self.patch)
        return ((pooled - self.level) ** 2).mean()


class ColorConstancyLoss(nn.Module):
    """Grey-world: sqrt((mR-mG)^4 + (mR-mB)^4 + (mB-mG)^4 + eps), mean over the batch (m: channel means)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, enhanced: torch.Tensor) -> torch.Tensor:
        r, g, b = enhanced.mean(dim=(2, 3)).unbind(1)
        return torch.sqrt((r - g) ** 4 + (r - b) ** 4 + (b - g) ** 4 + self.eps).mean()


class IlluminationSmoothnessLoss(nn.Module):
    """Total variation of the curve maps A (B, C, H, W), Zero-DCE's form.

    2 (sum (dh A)^2 / ((H - 1) W) + sum (dw A)^2 / (H (W - 1))) / B, summed over channels: the weight
    depends on the number of maps (1600 for 3, 200 for 24).
    """

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = maps.shape
        vertical = (maps[:, :, 1:] - maps[:, :, :-1]).pow(2).sum() / max(1, (height - 1) * width)
        horizontal = (maps[..., 1:] - maps[..., :-1]).pow(2).sum() / max(1, height * (width - 1))
        return 2 * (vertical + horizontal) / batch


class SegmentationGuidedLoss(nn.Module):
    """SGZ's semantic loss: focal loss (gamma 2) of a segmentation network against its own argmax.

    ``seg_model`` maps images in [0, 1] to class logits (B, K, h, w). It is frozen (never optimised);
    ``bn_train`` keeps its batch-norm layers in train mode as SGZ does. No pretrained network is
    available offline, so the term is off unless a model is given.
    """

    def __init__(self, seg_model: nn.Module, gamma: float = 2.0, bn_train: bool = True) -> None:
        super().__init__()
        self.seg_model, self.gamma, self.bn_train = seg_model, gamma, bn_train
        seg_model.requires_grad_(False)

    def forward(self, enhanced: torch.Tensor) -> torch.Tensor:
        self.seg_model.train(self.bn_train)
        logits = self.seg_model(enhanced)
        log_probs = F.log_softmax(logits, dim=1)
        target = logits.detach().argmax(1, keepdim=True)
        log_p = log_probs.gather(1, target)
        return (-((1 - log_p.exp()) ** self.gamma) * log_p).mean()


class NoReferenceQualityLoss(nn.Module):
    """L_NR = offset - mean(score(enhanced)) for any differentiable no-reference scorer (higher = better).

    LucentVisionNet uses MUSIQ-AVA with offset 100; any callable mapping (B, 3, H, W) in [0, 1] to
    per-image scores fits. Off unless a scorer is given.
    """

    def __init__(self, scorer: Callable[[torch.Tensor], torch.Tensor], offset: float = 100.0) -> None:
        super().__init__()
        self.scorer, self.offset = scorer, offset
        if isinstance(scorer, nn.Module):
            scorer.eval().requires_grad_(False)

    def forward(self, enhanced: torch.Tensor) -> torch.Tensor:
        return self.offset - self.scorer(enhanced).mean()
