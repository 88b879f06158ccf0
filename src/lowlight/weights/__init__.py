"""Weights that ship with the package, described as data (see :class:`PretrainedWeights`).

Empty until trained weights are added: each entry names its file in this folder, its sha256,
the data and recipe it was trained with and the scores measured with ``lowlight evaluate``.
"""

from __future__ import annotations

from lowlight.registry import PretrainedWeights

SHIPPED_WEIGHTS: tuple[PretrainedWeights, ...] = ()

# Model used by ``lowlight enhance`` when none is given; None falls back to the best classical
# baseline until trained weights ship.
DEFAULT_ENHANCE_MODEL: str | None = None
