"""Training checkpoints: atomic writes that survive SIGKILL and full disks, safe loading."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from lowlight.errors import TrainingError

log = logging.getLogger(__name__)


def save_atomic(state: dict[str, Any], path: Path) -> bool:
    """Write ``state`` with torch.save to a temp file, fsync, then rename over ``path``.

    A kill at any moment leaves either the old or the new file, never a partial one. If writing
    fails (disk full, permissions) the temp file is removed, the previous checkpoint (if any) is kept, a
    warning is logged and False is returned, so a long run is not lost to a transient problem; the
    trainer refuses to finish without its final checkpoint.
    """
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        log.warning("could not save checkpoint %s (%s)", path, save_failure_reason(exc))
        return False
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        kept = "the previous checkpoint is kept" if existed else "no earlier checkpoint of it exists"
        log.warning("could not save checkpoint %s (%s); %s", path, save_failure_reason(exc), kept)
        return False
    return True


def save_failure_reason(exc: OSError) -> str:
    return "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))


def load_state(path: Path) -> dict[str, Any]:
    """Read a training checkpoint without unpickling arbitrary objects."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainingError(f"{path}: no checkpoint to resume from") from None
    except Exception as exc:  # torch raises several types for corrupt files
        raise TrainingError(f"{path}: unreadable checkpoint ({str(exc).splitlines()[0]})") from None
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise TrainingError(f"{path}: not a lowlight training checkpoint")
    return state
