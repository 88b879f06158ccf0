"""Learning-rate schedules with linear warm-up, as multipliers of the base rate."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable


def lr_multiplier(
    name: str,
    total_steps: int,
    base_lr: float,
    warmup_steps: int = 0,
    min_lr: float = 0.0,
    milestones: list[int] | None = None,
    gamma: float = 0.5,
) -> Callable[[int], float]:
    """``f(step)`` such that the learning rate at ``step`` is ``base_lr * f(step)``.

    cosine: from base_lr (after warm-up) down to min_lr at ``total_steps``.
    multistep: multiplied by ``gamma`` at each milestone. constant: base_lr.
    Warm-up ramps linearly from base_lr / warmup_steps over the first ``warmup_steps`` steps.
    """
    milestones = sorted(milestones or [])
    floor = min_lr / base_lr if base_lr > 0 else 0.0

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if name == "cosine":
            span = max(1, total_steps - warmup_steps)
            progress = min(1.0, (step - warmup_steps) / span)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        if name == "multistep":
            return gamma ** bisect.bisect_right(milestones, step)
        if name == "constant":
            return 1.0
        raise ValueError(f"unknown schedule {name!r}")

    return multiplier
