"""Model registry in the style of timm: registered variant functions, weights described as data.

>>> import lowlight
>>> model = lowlight.create_model("darkir_m")
>>> "darkir_m" in lowlight.list_models()
True
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from lowlight.errors import CheckpointError, UnknownModelError


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
    """

    model: str
    file: str
    sha256: str
    data: str
    recipe: str
    steps: int = 0
    training: str = ""
    selection: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    logs: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model variant."""

    name: str
    builder: Callable[..., nn.Module]
    task: str
    paper: str
    description: str
    learned: bool


_MODELS: dict[str, ModelInfo] = {}


def register_model(
    *, task: str, paper: str = "", description: str = "", learned: bool = True
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a variant function under its own name."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = ModelInfo(name, builder, task, paper, description, learned)
        return builder

    return decorate


def _ensure_models_registered() -> None:
    # Importing the model modules runs their @register_model decorators (explicit, no file scan).
    import lowlight.models  # noqa: F401


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching a shell-style ``pattern``."""
    _ensure_models_registered()
    return sorted(name for name in _MODELS if fnmatch.fnmatch(name, pattern))


def model_info(name: str) -> ModelInfo:
    """Registry entry of ``name``; raises :class:`UnknownModelError` listing the known names."""
    _ensure_models_registered()
    try:
        return _MODELS[name]
    except KeyError:
        close = [known for known in _MODELS if name.split("_")[0] in known]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownModelError(f"unknown model {name!r}{hint}; available: {', '.join(sorted(_MODELS))}") from None


def pretrained_weights(name: str) -> PretrainedWeights | None:
    """The shipped weights of model ``name``, or None when none ship."""
    from lowlight.weights import SHIPPED_WEIGHTS

    return next((entry for entry in SHIPPED_WEIGHTS if entry.model == name), None)


def create_model(
    name: str,
    pretrained: bool = False,
    weights: str | Path | None = None,
    **overrides: object,
) -> nn.Module:
    """Build a registered model in eval mode.

    Args:
        name: a name from :func:`list_models`.
        pretrained: load the weights that ship with the package (error if none ship).
        weights: path of a checkpoint to load strictly (safetensors, or a torch file holding a
            state dict, possibly under ``params`` / ``state_dict`` / ``model_state_dict`` and with
            a ``module.`` prefix). Takes precedence over ``pretrained``.
        **overrides: keyword arguments of the model constructor.

    Returns:
        The model, in eval mode, on the CPU.
    """
    from lowlight.checkpoint import load_weights

    info = model_info(name)
    if weights is not None:
        overrides = _check_weights_metadata(name, weights, overrides)
    try:
        model = info.builder(**overrides)
    except TypeError as exc:
        raise UnknownModelError(f"bad arguments for model {name!r}: {exc}") from None
    if weights is not None:
        load_weights(model, weights, model_name=name)
    elif pretrained:
        entry = pretrained_weights(name)
        if entry is None:
            if not info.learned:
                return model.eval()
            raise UnknownModelError(
                f"no weights ship with lowlight for {name!r}; pass weights=PATH "
                f"(models with shipped weights: {', '.join(_models_with_weights()) or 'none yet'})"
            )
        load_weights(model, Path(__file__).parent / "weights" / entry.file, model_name=name, sha256=entry.sha256)
    return model.eval()


def _check_weights_metadata(name: str, weights: str | Path, overrides: dict) -> dict:
    """Refuse weights exported for another model; take the exported model arguments if none are given."""
    import json

    from lowlight.checkpoint import read_metadata

    metadata = read_metadata(weights)
    trained_for = metadata.get("lowlight.model")
    if trained_for and trained_for != name:
        raise CheckpointError(f"{weights}: these weights are for model {trained_for!r}, not {name!r}")
    if not overrides and metadata.get("lowlight.model_args"):
        return json.loads(metadata["lowlight.model_args"])
    return overrides


def _models_with_weights() -> list[str]:
    from lowlight.weights import SHIPPED_WEIGHTS

    return sorted(entry.model for entry in SHIPPED_WEIGHTS)
