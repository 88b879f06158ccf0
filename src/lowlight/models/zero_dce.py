"""Zero-DCE and Zero-DCE++: the zero-reference curve-estimation baselines of LucentVisionNet's lineage.

Guo et al., "Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement", CVPR 2020, and
Li et al., "Learning to Enhance Low-Light Image via Zero-Reference Deep Curve Estimation", TPAMI 2021.
Written from ``specs/lucentvision.md`` (section 2, lineage nets): Zero-DCE has 7 3x3 conv layers with
symmetric skips and 24 curve maps (one per iteration, 79,416 parameters); Zero-DCE++ has the same
topology with depthwise-separable convolutions, one shared 3-channel map (10,561 parameters) and
estimates the map on a downscaled input at test time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lowlight._registry import PretrainedWeights, register_model, register_weights
from lowlight.layers._checks import check_image_batch
from lowlight.layers.curve import CurveModelMixin, DepthwiseSeparableConv
from lowlight.models.base import EnhancementModel, TrainOutput
from lowlight.models.lucentvision import ZERO_SHOT_SELECTION


class CurveEstimator(nn.Module):
    """The 7-layer curve network: conv1..4, then conv5..7 on concatenated symmetric skips, tanh."""

    def __init__(self, width: int = 32, out_channels: int = 24, separable: bool = False) -> None:
        super().__init__()

        def conv(cin: int, cout: int) -> nn.Module:
            return DepthwiseSeparableConv(cin, cout) if separable else nn.Conv2d(cin, cout, 3, padding=1)

        self.conv1, self.conv2 = conv(3, width), conv(width, width)
        self.conv3, self.conv4 = conv(width, width), conv(width, width)
        self.conv5, self.conv6 = conv(2 * width, width), conv(2 * width, width)
        self.conv7 = conv(2 * width, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.conv1(x))
        x2 = F.relu(self.conv2(x1))
        x3 = F.relu(self.conv3(x2))
        x4 = F.relu(self.conv4(x3))
        x5 = F.relu(self.conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.conv7(torch.cat([x1, x6], 1)))


class ZeroDCE(CurveModelMixin, EnhancementModel):
    """Curve-estimation enhancer: (B, 3, H, W) in [0, 1] -> same shape in [0, 1].

    ``forward(x, return_maps=True)`` also returns the curve maps (for the illumination smoothness loss).

    Args:
        width: channels of the estimator.
        iterations: curve applications.
        shared_map: one 3-channel map for every iteration (Zero-DCE++) instead of one per iteration.
        separable: depthwise-separable convolutions (Zero-DCE++).
        map_scale: at inference, estimate the maps on the input downscaled by this factor and
            upsample them (Zero-DCE++ uses 12 for speed); training always uses scale 1.
    """

    aux_outputs = frozenset({"maps"})

    def __init__(
        self,
        *,
        width: int = 32,
        iterations: int = 8,
        shared_map: bool = False,
        separable: bool = False,
        map_scale: int = 1,
    ) -> None:
        super().__init__()
        self.iterations = iterations
        self.map_scale = map_scale
        self.estimator = CurveEstimator(width, 3 if shared_map else 3 * iterations, separable)

    def forward(self, x: torch.Tensor, return_maps: bool = False):
        check_image_batch(x)
        source = x
        if self.map_scale > 1 and not self.training:
            size = (max(1, x.shape[-2] // self.map_scale), max(1, x.shape[-1] // self.map_scale))
            source = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        maps = self.estimator(source)
        if maps.shape[-2:] != x.shape[-2:]:
            maps = F.interpolate(maps, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out = self.curve(x, maps)
        return (out, maps) if return_maps else out

    def forward_train(self, x: torch.Tensor) -> TrainOutput:
        out, maps = self(x, return_maps=True)
        return TrainOutput(out, {"maps": maps})


@register_model(task="enhance (zero-reference)", paper="Zero-DCE (CVPR 2020)", description="Zero-DCE, 24 curve maps")
def zero_dce(**overrides: object) -> ZeroDCE:
    return ZeroDCE(**{"width": 32, "iterations": 8, "shared_map": False, "separable": False, **overrides})


@register_model(
    task="enhance (zero-reference)", paper="Zero-DCE++ (TPAMI 2021)", description="Zero-DCE++, separable, shared map"
)
def zero_dce_pp(**overrides: object) -> ZeroDCE:
    return ZeroDCE(
        **{"width": 32, "iterations": 8, "shared_map": True, "separable": True, "map_scale": 12, **overrides}
    )


# ----------------------------------------------------------------------------- shipped weights
ZERO_DCE_SICE = PretrainedWeights(
    model="zero_dce",
    file="zero_dce_sice.safetensors",
    sha256="9f1db8346b6beec09565c9673c686ea2594701fd320909d1a91a09017e9b8f89",
    data="SICE Part 1 (2,002 multi-exposure images, resized to 128x128) plus darkened copies of the same "
    "images (lowlight's low-light simulation), no reference images",
    recipe="configs/zero_dce_sice_dark_cpu.yaml (the LucentVisionNet recipe; TV weight 200 for 24 curve "
    "maps), a 6,000-step cosine schedule; checkpoint of step 3,000 (validation 17.44 dB)",
    steps=3000,
    training="2-core CPU (AMD EPYC, AVX-512), one thread, shared with other jobs: 1.55 h for the 6,000 steps",
    selection=ZERO_SHOT_SELECTION,
    metrics={"psnr": 17.7116, "ssim": 0.5382, "ssim_skimage": 0.5441},
    logs="training_logs/zero_dce_sice",
    tag="sice",
)

register_weights(ZERO_DCE_SICE)
