"""ONNX export with dynamic batch, height and width, and an ONNX Runtime backend.

Export uses the dynamo exporter (``torch.onnx.export(dynamo=True)``): the TorchScript exporter has no
``rfft2``. Three traps of Fourier models are handled (``../shared/specs/metrics-and-export.md`` §5):

* ONNX's atan2 returns -pi where torch returns +pi; the phase helpers of
  :mod:`lowlight.layers.fourier` move phases near -pi up by 2 pi, so both runtimes agree.
* The DFT nodes of a dynamic-size export carry wrong shape annotations, and ONNX Runtime then reuses
  buffers of the wrong size; sessions are created with ``enable_mem_reuse = False``.
* Padding to a multiple of 8 must not branch on the size while tracing (see
  :func:`lowlight.layers.pad_to_multiple`), and the example input has an odd size, or the export
  would silently be valid for one class of sizes only.

Shapes: the exported graph maps ``x`` (B, 3, H, W) float32 in [0, 1] to ``y`` (B, 3, H, W), not clamped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from lowlight._version import __version__
from lowlight.errors import LowlightError
from lowlight.io import atomic_write_bytes
from lowlight.models.base import (
    EXPORT_TOLERANCE,
    PHASE_EXPORT_TOLERANCE,
    EnhancementModel,
    as_enhancement_model,
)

if TYPE_CHECKING:
    import onnxruntime

# An odd size, so that no divisibility of H or W can be baked into the graph.
EXAMPLE_SIZE = (67, 93)
VERIFY_SIZES = ((64, 96), (47, 81), (128, 128), (33, 200), (251, 97))
# Models that convolve the Fourier phase (FSIDNet) are ill-conditioned in bins of tiny amplitude;
# the DFT of ONNX Runtime rounds differently from pocketfft, so they need a looser tolerance.
AMPLITUDE_ONLY_TOLERANCE = EXPORT_TOLERANCE
PHASE_CONV_TOLERANCE = PHASE_EXPORT_TOLERANCE
OPSET = 20


class OnnxExportError(LowlightError):
    """A model could not be exported to ONNX, or the export does not match PyTorch."""


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise OnnxExportError(
            f"{module} is not installed; install the ONNX extra: pip install 'lowlight[onnx]'"
        ) from None


class _MainOutput(nn.Module):
    """The enhanced image only (FSIDNet may also return its stage-1 output)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out[-1] if isinstance(out, (tuple, list)) else out


def onnx_tolerance(model: nn.Module) -> float:
    """Max absolute difference allowed between ONNX Runtime and PyTorch outputs (the model's ``export_tolerance``)."""
    return as_enhancement_model(model).export_tolerance


def export_onnx(model: nn.Module, path: str | Path, *, metadata: dict[str, str] | None = None) -> Path:
    """Export ``model`` to ``path`` with dynamic batch, height and width; the file is written atomically.

    Args:
        model: maps (B, 3, H, W) to (B, 3, H, W) (or a tuple ending with it).
        path: the ``.onnx`` file to write.
        metadata: string key/values stored in the file (model name, weights checksum...).

    Returns:
        The path written.
    """
    _require("onnxscript")
    path = Path(path)
    wrapped = _MainOutput(model).eval().float()
    example = torch.rand(1, 3, *EXAMPLE_SIZE)
    dynamic = torch.export.Dim.DYNAMIC
    try:
        program = torch.onnx.export(
            wrapped,
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=["x"],
            output_names=["y"],
            dynamic_shapes={"x": {0: dynamic, 2: dynamic, 3: dynamic}},
            external_data=False,
            verbose=False,
        )
    except Exception as exc:  # the exporter raises many kinds of errors
        raise OnnxExportError(f"ONNX export of {type(model).__name__} failed: {str(exc).splitlines()[0]}") from None
    proto = program.model_proto
    fields = {"lowlight_version": __version__, "torch_version": torch.__version__, **(metadata or {})}
    contract = as_enhancement_model(model)
    fields["pad_multiple"] = str(contract.pad_multiple)
    fields["inference_bytes_per_pixel"] = str(float(contract.inference_bytes_per_pixel))
    fields["tolerance"] = str(onnx_tolerance(model))
    del proto.metadata_props[:]
    for key, value in fields.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    atomic_write_bytes(path, proto.SerializeToString())
    return path


def session_options(threads: int | None = None) -> onnxruntime.SessionOptions:
    """ONNX Runtime options that are correct for dynamic-size Fourier graphs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_mem_reuse = False  # wrong DFT shape annotations would make reused buffers mismatch
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    return options


class OnnxModule(EnhancementModel):
    """An exported model run by ONNX Runtime, usable where a PyTorch model is expected (CPU tensors).

    Attributes ``pad_multiple`` and ``inference_bytes_per_pixel`` come from the file's metadata, so
    tiling works as with the PyTorch model.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        _require("onnxruntime")
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise OnnxExportError(f"{self.path}: no such ONNX file")
        try:
            self.session = ort.InferenceSession(
                str(self.path), session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise OnnxExportError(f"{self.path}: not a usable ONNX model ({str(exc).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = dict(meta)
        self.pad_multiple = int(meta.get("pad_multiple", 1))
        bytes_per_pixel = float(meta.get("inference_bytes_per_pixel", 0.0))
        if bytes_per_pixel > 0:  # files exported by other tools keep the contract's default
            self.inference_bytes_per_pixel = bytes_per_pixel
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        (out,) = self.session.run(None, {self.input_name: array})
        return torch.from_numpy(out)


@dataclass(frozen=True)
class ParityResult:
    """Largest absolute difference between ONNX Runtime and PyTorch at one input size."""

    height: int
    width: int
    max_abs_diff: float


def verify_onnx(
    model: nn.Module, path: str | Path, sizes: tuple[tuple[int, int], ...] = VERIFY_SIZES, seed: int = 0
) -> list[ParityResult]:
    """Run the export and the PyTorch model on random inputs of several sizes and compare.

    Raises:
        OnnxExportError: if any size differs by more than :func:`onnx_tolerance`.
    """
    runner = OnnxModule(path)
    reference = _MainOutput(model).eval().float()
    generator = torch.Generator().manual_seed(seed)
    results = []
    for height, width in sizes:
        x = torch.rand(1, 3, height, width, generator=generator)
        with torch.inference_mode():
            expected = reference(x)
        got = runner(x)
        if got.shape != expected.shape:
            raise OnnxExportError(f"{path}: output shape {tuple(got.shape)} at {height}x{width}, "
                                  f"expected {tuple(expected.shape)}")  # fmt: skip
        results.append(ParityResult(height, width, float((got - expected).abs().max())))
    tolerance = onnx_tolerance(model)
    worst = max(results, key=lambda r: r.max_abs_diff)
    if not worst.max_abs_diff <= tolerance:
        raise OnnxExportError(
            f"{path}: ONNX Runtime differs from PyTorch by {worst.max_abs_diff:.2e} at "
            f"{worst.height}x{worst.width} (tolerance {tolerance:.0e})"
        )
    return results


def cache_dir() -> Path:
    """Where ``--backend onnxruntime`` keeps its exports (``LOWLIGHT_CACHE`` or ~/.cache/lowlight)."""
    root = os.environ.get("LOWLIGHT_CACHE") or Path.home() / ".cache" / "lowlight"
    return Path(root) / "onnx"


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the model's weights and of the software that exports it."""
    digest = hashlib.sha256(json.dumps([__version__, torch.__version__, type(model).__name__]).encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def cached_export(model: nn.Module, name: str) -> Path:
    """Export ``model`` once per weights into :func:`cache_dir`, verify it, and return the file."""
    path = cache_dir() / f"{name}-{model_fingerprint(model)}.onnx"
    if not path.is_file():
        export_onnx(model, path, metadata={"model": name})
        try:
            verify_onnx(model, path, sizes=VERIFY_SIZES[:2])
        except OnnxExportError:
            path.unlink(missing_ok=True)
            raise
    return path
