"""The registry's data, as a leaf module: it imports nothing of lowlight (model files import it).

Model files register their variants with :func:`register_model` and describe their shipped weights with
:func:`register_weights`, next to the classes; :mod:`lowlight.registry` builds models from this data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PretrainedWeights:
    """Weights that ship inside the package, described as data.

    Attributes:
        model: registered model name the weights belong to.
        file: file name inside ``lowlight/weights/``.
        sha256: checksum of that file.
        data: what the model was trained on.
        recipe: training config (path inside the repository) and overrides.
        steps: optimizer steps of the run.
        training: hardware and wall time.
        selection: how the checkpoint was chosen (never on the test set).
        metrics: scores measured with ``lowlight evaluate`` on LOL eval15, e.g. ``{"psnr": 21.3}``.
        logs: folder of the run's config and logs inside the repository (``training_logs/...``).
        tag: selects these weights as ``model.tag``.
        default: these are the weights a bare ``model`` name loads (one entry per model).
        model_args: constructor arguments the weights were trained with (an architecture option such as
            ``{"upsample_blur": True}``); explicit overrides given to ``create_model`` replace them.
    """

    model: str
    file: str
    sha256: str
    data: str
    recipe: str
    tag: str = "default"
    default: bool = True
    steps: int = 0
    training: str = ""
    selection: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    logs: str = ""
    model_args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model variant."""

    name: str
    builder: Callable[..., Any]
    task: str
    paper: str
    description: str
    learned: bool


_MODELS: dict[str, ModelInfo] = {}
_WEIGHTS: list[PretrainedWeights] = []


def register_model(
    *, task: str, paper: str = "", description: str = "", learned: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a variant function under its own name."""

    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        name = builder.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = ModelInfo(name, builder, task, paper, description, learned)
        return builder

    return decorate


def register_weights(*entries: PretrainedWeights) -> None:
    """Add shipped weights; a model has unique tags and at most one default entry."""
    for entry in entries:
        same_model = [known for known in _WEIGHTS if known.model == entry.model]
        if any(known.tag == entry.tag for known in same_model):
            raise ValueError(f"weights {entry.model}.{entry.tag} are registered twice")
        if entry.default and any(known.default for known in same_model):
            raise ValueError(f"{entry.model} already has default weights")
        _WEIGHTS.append(entry)


def registered_models() -> dict[str, ModelInfo]:
    return dict(_MODELS)


def registered_weights() -> tuple[PretrainedWeights, ...]:
    return tuple(_WEIGHTS)


def split_tag(name: str) -> tuple[str, str | None]:
    """``"darkir_m.lol_v1"`` -> ``("darkir_m", "lol_v1")``; ``"darkir_m"`` -> ``("darkir_m", None)``."""
    model, _, tag = name.partition(".")
    return model, tag or None
