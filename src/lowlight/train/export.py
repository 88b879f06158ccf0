"""Export the weights of a training run as a safetensors file with its provenance in the metadata."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from lowlight._version import __version__
from lowlight.errors import CheckpointError, TrainingError
from lowlight.train.state import load_state


def _checkpoint_of(run: Path, which: str) -> Path:
    if run.is_file():
        return run
    path = run / "checkpoints" / f"{which}.pt"
    if not path.is_file():
        raise CheckpointError(f"{run}: no {which} checkpoint (expected {path})")
    return path


def export_weights(run: str | Path, output: str | Path, which: str = "best", use_ema: bool = True, half: bool = False):
    """Write a run's (EMA) weights to ``output`` (safetensors); returns the metadata written.

    Args:
        run: a run folder (``checkpoints/{best,last}.pt`` inside) or a training checkpoint file.
        output: the .safetensors file to write (atomically; an existing file is replaced).
        which: ``best`` or ``last`` checkpoint of a run folder.
        use_ema: take the EMA weights when the run kept them.
        half: store float16 tensors (half the size; check the metrics after).
    """
    from safetensors.torch import save_file

    run, output = Path(run), Path(output)
    checkpoint = _checkpoint_of(run, which)
    state = load_state(checkpoint)
    weights = state["ema"] if use_ema and state.get("ema") is not None else state["model"]
    dtype = torch.float16 if half else None
    tensors = {k: (v.to(dtype) if dtype and v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    config = state.get("config", {})
    metadata = {
        "lowlight.model": str(state.get("model_name") or config.get("model", {}).get("name", "")),
        "lowlight.model_args": json.dumps(config.get("model", {}).get("args", {})),
        "lowlight.steps": str(state["step"]),
        "lowlight.weights": "ema" if weights is state.get("ema") else "raw",
        "lowlight.val_metrics": json.dumps(state.get("metrics") or {}),
        "lowlight.data": json.dumps(config.get("data", {}).get("train", [])),
        "lowlight.config": json.dumps(config),
        "lowlight.source": str(checkpoint),
        "lowlight.version": __version__,
        "format": "pt",
    }
    from safetensors import SafetensorError

    temp = None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
        os.close(handle)
        save_file(tensors, temp, metadata=metadata)
        os.replace(temp, output)
    except (OSError, SafetensorError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise TrainingError(f"{output}: could not write the weights ({reason}); nothing was written") from None
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
    return metadata
