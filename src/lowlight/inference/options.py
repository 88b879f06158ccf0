"""One options object for enhancing: built once (from CLI flags, API keywords or a web form), used everywhere.

``lowlight enhance`` (images and videos), :func:`lowlight.enhance`, ``lowlight evaluate`` and the web app all
describe what to run with an :class:`EnhanceOptions` and get their :class:`~lowlight.inference.pipeline.Enhancer`
from :meth:`EnhanceOptions.enhancer`, so an option cannot be honoured by one entry point and dropped by another.

>>> options = EnhanceOptions(model="gamma", device="cpu")
>>> options.enhancer().name
'gamma'
>>> replace(options, tile=256).tile
256
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from lowlight.errors import LowlightError
from lowlight.inference.pipeline import DEFAULT_MAX_MEMORY_GB, DEFAULT_TILE_OVERLAP, Enhancer

__all__ = ["DEFAULT_MAX_MEMORY_GB", "DEFAULT_TILE_OVERLAP", "EnhanceOptions", "replace"]


@dataclass(frozen=True)
class EnhanceOptions:
    """What to run and how; every field is an :class:`~lowlight.inference.pipeline.Enhancer` argument.

    model: registered name (``NAME`` or ``NAME.TAG``), None for the default model.
    weights: checkpoint file for ``model`` (None: the shipped weights).
    device: "auto", "cpu", "cuda", "cuda:N" or "mps"; half: float16 convolutions on a GPU.
    tile / tile_overlap / max_memory_gb: tiling (None: chosen from the memory budget; 0: never).
    exposure: brightness change in EV stops for every model (0: the model's choice); target_exposure: pick it
        per image for this mean brightness. strength / zero_shot_steps: curve models' controls.
    backend / onnx_file / compile_model: how the network runs.
    self_ensemble: "none", "flip", "x8" or "shift" (see :mod:`lowlight.inference.ensemble`).
    precision: "fp32" or "bf16" (bfloat16 convolutions; on the CPU compiled, with avx512_bf16 or AMX).
    """

    model: str | None = None
    weights: str | None = None
    device: str = "auto"
    half: bool = False
    tile: int | None = None
    tile_overlap: int = DEFAULT_TILE_OVERLAP
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB
    strength: float | None = None
    target_exposure: float | None = None
    exposure: float = 0.0
    zero_shot_steps: int = 0
    backend: str = "torch"
    onnx_file: str | None = None
    compile_model: bool = False
    self_ensemble: str = "none"
    precision: str = "fp32"

    def __post_init__(self) -> None:
        # paths are kept as strings so that options hash and compare by value (enhancer caches)
        for name in ("weights", "onnx_file"):
            value = getattr(self, name)
            if isinstance(value, Path):
                object.__setattr__(self, name, str(value))

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> EnhanceOptions:
        """Options from a mapping of field names (unknown names are an error)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise LowlightError(f"unknown enhance option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def enhancer(self) -> Enhancer:
        """The :class:`~lowlight.inference.pipeline.Enhancer` these options describe."""
        values = asdict(self)
        return Enhancer(values.pop("model"), **values)
