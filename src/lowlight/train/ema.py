"""Exponential moving average of model weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEma(nn.Module):
    """A frozen copy of a model whose floating-point tensors track ``decay * ema + (1 - decay) * model``."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        super().__init__()
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        ema_tensors, model_tensors = [], []
        for ema_value, value in zip(self.module.state_dict().values(), model.state_dict().values(), strict=True):
            if ema_value.is_floating_point():
                ema_tensors.append(ema_value)
                model_tensors.append(value.detach())
            else:
                ema_value.copy_(value)
        torch._foreach_lerp_(ema_tensors, model_tensors, 1 - self.decay)
