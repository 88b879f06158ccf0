"""Choosing the torch device from a user's string (bottom layer: imports nothing of lowlight but errors)."""

from __future__ import annotations

from pathlib import Path

import torch

from lowlight.errors import LowlightError


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an unavailable device is an error."""
    name = name.lower()
    mps_ok = hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_ok else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LowlightError("--device cuda: no CUDA device is available (this torch build or machine has none)")
    if name == "mps" and not mps_ok:
        raise LowlightError("--device mps: Apple MPS is not available on this machine")
    if not (name == "cpu" or name == "mps" or name.startswith("cuda")):
        raise LowlightError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return torch.device(name)


ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    """The CPU's model name and which of the ISA flags that matter for speed it has (Linux ``/proc/cpuinfo``)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU", []
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "?")
    flags_line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    present = set(flags_line.split(":", 1)[-1].split())
    return model, [flag for flag in ISA_FLAGS if flag in present]


def cpu_bf16_instructions() -> str | None:
    """The bfloat16 instructions of this CPU that oneDNN uses ("amx_bf16" or "avx512_bf16"), None without any."""
    flags = cpu_model_and_flags()[1]
    return next((flag for flag in ("amx_bf16", "avx512_bf16") if flag in flags), None)
