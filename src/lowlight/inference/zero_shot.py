"""Test-time adaptation: fine-tune a zero-reference curve model on the very image it will enhance.

The zero-reference losses need no ground truth, so a curve model (Zero-DCE family, LucentVisionNet)
can be trained for a few steps on the input photo itself, from its shipped or given weights or from
scratch. The image is downscaled for the adaptation (curves are smooth, the estimate transfers) and
the adapted copy then enhances it at full resolution; the original model is left untouched.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from lowlight.errors import LowlightError
from lowlight.losses import CombinedLoss

DEFAULT_WEIGHTS = {"spatial": 1.0, "exposure": 10.0, "color": 5.0, "tv": 1600.0}


def supports_zero_shot(model: nn.Module) -> bool:
    """Curve models that can return their maps."""
    from lowlight.layers.curve import CurveModelMixin

    return isinstance(model, CurveModelMixin)


def adapt_to_image(
    model: nn.Module,
    image: torch.Tensor,
    steps: int,
    lr: float = 1e-3,
    size: int = 256,
    weights: dict[str, float] | None = None,
    exposure_level: float = 0.6,
) -> tuple[nn.Module, list[float]]:
    """A copy of ``model`` trained ``steps`` Adam steps on ``image`` (1, 3, H, W) with zero-reference losses.

    Returns the adapted copy (in eval mode) and the loss at every step.
    """
    if not supports_zero_shot(model):
        raise LowlightError(f"zero-shot adaptation needs a curve model (zero_dce, zero_dce_pp, lucentvision), "
                            f"not {type(model).__name__}")  # fmt: skip
    # The caller may be in inference mode: copy and train outside it, on normal tensors.
    with torch.inference_mode(False), torch.enable_grad():
        adapted = copy.deepcopy(model).train().requires_grad_(True)
        device = next(adapted.parameters()).device
        small = image.to(device).clone()
        scale = size / max(image.shape[-2:])
        if scale < 1:
            target = (max(16, round(image.shape[-2] * scale)), max(16, round(image.shape[-1] * scale)))
            small = F.interpolate(small, size=target, mode="area")
        loss_fn = CombinedLoss(weights or DEFAULT_WEIGHTS, exposure_level=exposure_level).to(device)
        optimizer = torch.optim.Adam(adapted.parameters(), lr=lr)
        history = []
        for _ in range(steps):
            result = adapted.forward_train(small)
            loss, _ = loss_fn(result.out, input=small, maps=result.aux["maps"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(adapted.parameters(), 0.1)  # as in the Zero-DCE family's training
            optimizer.step()
            history.append(loss.item())
    return adapted.eval(), history
