"""Reading weights files safely and loading them strictly, with errors that name the keys.

Never unpickles arbitrary objects: safetensors, or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from lowlight.errors import CheckpointError

# Where training frameworks put the state dict inside a checkpoint, in order of preference.
_STATE_DICT_KEYS = ("params_ema", "params", "ema", "model_state_dict", "state_dict", "model")
_SAFETENSORS_SUFFIXES = (".safetensors", ".sft")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_safetensors(path: Path) -> bool:
    if path.suffix.lower() in _SAFETENSORS_SUFFIXES:
        return True
    # safetensors files start with an 8-byte little-endian header length then '{'
    with open(path, "rb") as handle:
        head = handle.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a flat ``{name: tensor}`` state dict from a weights file.

    Accepts safetensors files and torch files holding a state dict, possibly nested under one of
    ``params_ema``, ``params``, ``ema``, ``model_state_dict``, ``state_dict`` or ``model``.
    A ``module.`` prefix (DataParallel / DDP) is removed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: weights file is empty")
    from safetensors import SafetensorError

    try:
        if _is_safetensors(path):
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError, SafetensorError
    ) as exc:  # fmt: skip
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "safetensors" if _is_safetensors(path) else "weights"
        raise CheckpointError(f"{path}: not a readable {kind} file ({first_line})") from None
    state = _strip_prefix(_unwrap(state, path))
    _check_finite(state, path)
    return state


def _check_finite(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Weights with NaN or Inf would turn every output black or NaN: refuse them, naming a tensor."""
    for key, tensor in state.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN or infinite values; the weights are damaged")


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a safetensors file ({} for other files or none)."""
    path = Path(path)
    if not path.is_file() or not _is_safetensors(path):
        return {}
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception:  # unreadable files are reported by read_checkpoint
        return {}


def _unwrap(state: object, path: Path) -> Mapping[str, torch.Tensor]:
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, found {type(state).__name__}")
    for key in _STATE_DICT_KEYS:
        inner = state.get(key)
        if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            return inner
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path}: no tensors found (top-level keys: {', '.join(map(str, list(state)[:8]))})")
    return tensors


def _strip_prefix(state: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    if state and all(key.startswith(prefix) for key in state):
        return {key[len(prefix) :]: value for key, value in state.items()}
    return dict(state)


def _describe(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return f"{shown}, ... ({len(keys)} in all)" if len(keys) > limit else shown


def load_state_dict_strict(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model``; on any mismatch raise one error naming the keys involved."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(
        f"{key} {tuple(state[key].shape)} vs {tuple(expected[key].shape)}"
        for key in set(expected) & set(state)
        if state[key].shape != expected[key].shape
    )
    problems = []
    if missing:
        problems.append(f"missing keys: {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_describe(unexpected)}")
    if wrong_shape:
        problems.append(f"shape mismatch (file vs model): {_describe(wrong_shape, 3)}")
    if problems:
        raise CheckpointError(f"{source}: does not fit the model; " + "; ".join(problems))
    model.load_state_dict({key: value.to(expected[key].dtype) for key, value in state.items()})


def load_weights(model: nn.Module, path: str | Path, model_name: str = "model", sha256: str | None = None) -> None:
    """Read ``path`` (see :func:`read_checkpoint`) and load it strictly into ``model``."""
    path = Path(path)
    if sha256 is not None and path.is_file() and sha256_of(path) != sha256:
        raise CheckpointError(f"{path}: checksum mismatch, the file is damaged or not the shipped one")
    state = read_checkpoint(path)
    load_state_dict_strict(model, state, f"{path} (for {model_name})")
