"""Model registry in the style of timm: registered variant functions, weights described as data.

A model name may carry a weights tag, ``NAME.TAG`` (``darkir_m.lol_v1``); a bare ``NAME`` means the
model's default weights. ``list_models(pretrained=True)`` lists every ``NAME.TAG`` that ships.

>>> import lowlight
>>> model = lowlight.create_model("darkir_m")
>>> "darkir_m" in lowlight.list_models()
True
>>> "darkir_m.lol_v1" in lowlight.list_models(pretrained=True)
True
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from torch import nn

from lowlight._registry import (
    ModelInfo,
    PretrainedWeights,
    register_model,
    register_weights,
    registered_models,
    registered_weights,
    split_tag,
)
from lowlight.errors import CheckpointError, UnknownModelError

__all__ = [
    "ModelInfo",
    "PretrainedWeights",
    "create_model",
    "list_models",
    "model_info",
    "pretrained_weights",
    "register_model",
    "register_weights",
    "shipped_weights",
    "split_tag",
]


def _ensure_models_registered() -> None:
    # Importing the model modules runs their @register_model decorators (explicit, no file scan).
    import lowlight.models  # noqa: F401


def shipped_weights() -> tuple[PretrainedWeights, ...]:
    """Every set of weights that ships inside the package (declared in the model files)."""
    _ensure_models_registered()
    return registered_weights()


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Sorted names of the registered models matching a shell-style ``pattern``.

    With ``pretrained=True``: one ``NAME.TAG`` per set of shipped weights instead.
    """
    _ensure_models_registered()
    if pretrained:
        names = {f"{entry.model}.{entry.tag}" for entry in shipped_weights()}
        return sorted(n for n in names if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(split_tag(n)[0], pattern))
    return sorted(name for name in registered_models() if fnmatch.fnmatch(name, pattern))


def model_info(name: str) -> ModelInfo:
    """Registry entry of ``name`` (a weights tag is ignored); raises :class:`UnknownModelError`."""
    _ensure_models_registered()
    name = split_tag(name)[0]
    try:
        return registered_models()[name]
    except KeyError:
        known = registered_models()
        close = [other for other in known if name.split("_")[0] in other]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownModelError(f"unknown model {name!r}{hint}; available: {', '.join(sorted(known))}") from None


def pretrained_weights(name: str) -> PretrainedWeights | None:
    """The shipped weights ``NAME.TAG`` (or NAME's default weights), None when none ship for a bare name.

    Raises:
        UnknownModelError: the tag names no shipped weights of that model.
    """
    model, tag = split_tag(name)
    entries = [entry for entry in shipped_weights() if entry.model == model]
    if tag is None:
        return next((entry for entry in entries if entry.default), None)
    found = next((entry for entry in entries if entry.tag == tag), None)
    if found is None:
        known = ", ".join(f"{model}.{entry.tag}" for entry in entries) or "none"
        raise UnknownModelError(f"no weights tagged {tag!r} ship for {model!r}; shipped: {known}")
    return found


def create_model(
    name: str,
    pretrained: bool = False,
    weights: str | Path | None = None,
    **overrides: object,
) -> nn.Module:
    """Build a registered model in eval mode.

    Args:
        name: a name from :func:`list_models`, optionally with a weights tag (``darkir_m.lol_v1``): a tag
            loads those shipped weights (unless ``weights`` is given).
        pretrained: load the default weights that ship with the package (error if none ship).
        weights: path of a checkpoint to load strictly (safetensors, or a torch file holding a
            state dict, possibly under ``params`` / ``state_dict`` / ``model_state_dict`` and with
            a ``module.`` prefix). Takes precedence over ``pretrained``.
        **overrides: keyword arguments of the model constructor.

    Returns:
        The model, in eval mode, on the CPU.
    """
    from lowlight.checkpoint import load_weights

    info = model_info(name)
    tagged = split_tag(name)[1] is not None
    shipped = pretrained_weights(name) if pretrained or tagged else None  # an unknown tag fails here
    name = info.name if weights is not None else name
    if weights is not None:
        overrides = _check_weights_metadata(name, weights, overrides)
    elif shipped is not None:
        overrides = {**shipped.model_args, **overrides}
    try:
        model = info.builder(**overrides)
    except TypeError as exc:
        raise UnknownModelError(f"bad arguments for model {name!r}: {exc}") from None
    if weights is not None:
        load_weights(model, weights, model_name=name)
    elif pretrained or tagged:
        if shipped is None:
            if not info.learned:
                return model.eval()
            raise UnknownModelError(
                f"no weights ship with lowlight for {name!r}; pass weights=PATH "
                f"(models with shipped weights: {', '.join(_models_with_weights()) or 'none yet'})"
            )
        load_weights(
            model, Path(__file__).parent / "weights" / shipped.file, model_name=info.name, sha256=shipped.sha256
        )
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
    return sorted({entry.model for entry in shipped_weights()})
