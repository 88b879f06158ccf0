"""The one image path shared by the CLI, the Python API and evaluation.

tensor (B, 3, H, W) in [0, 1] -> device -> model (tiled when large) -> clamped tensor on the CPU.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lowlight.device import cpu_bf16_instructions, resolve_device
from lowlight.errors import LowlightError
from lowlight.inference.ensemble import ENSEMBLE_SIZES, self_ensemble
from lowlight.inference.exposure import EV_RANGE, apply_exposure, exposure_for_target
from lowlight.inference.tiling import auto_tile_size, tiled_apply
from lowlight.layers.curve import CurveModelMixin
from lowlight.models.base import as_enhancement_model
from lowlight.registry import create_model, model_info, pretrained_weights
from lowlight.runtime import bound_heap_growth, compile_frozen

ZERO_SHOT_MODEL = "lucentvision"  # default for --zero-shot-steps
FALLBACK_MODEL = "adaptive_gamma"  # best classical baseline on LOL eval15 (16.34 dB)
DEFAULT_MAX_MEMORY_GB = 2.0
DEFAULT_TILE_OVERLAP = 64
PRECISIONS = ("fp32", "bf16")


# Model used by ``lowlight enhance`` when none is given (None: the best classical baseline). darkir_m
# looked best on the real photos of DICM: it brightens without lifting the sensor noise of dark skies,
# where the curve models and adaptive gamma amplify it (README, "Trained weights").
DEFAULT_ENHANCE_MODEL: str | None = "darkir_m"


def default_model_name() -> str:
    """The model ``lowlight enhance`` uses when none is given."""
    return DEFAULT_ENHANCE_MODEL or FALLBACK_MODEL


# tiled images of at least this many pixels switch the allocator to bounded heap growth
BOUNDED_HEAP_PIXELS = 4_000_000


class Enhancer:
    """A model ready to enhance images of any size on a device, with bounded memory.

    Args:
        model: registered model name, or an ``nn.Module`` mapping (B, 3, H, W) to the same shape.
        weights: checkpoint path; None uses the weights that ship with the package, if any.
        device: "auto", "cpu", "cuda", "cuda:N" or "mps".
        half: run convolutions in float16 (GPU only; Fourier blocks stay float32).
        tile: tile side in pixels, 0 for never, or None to choose from ``max_memory_gb``.
        tile_overlap: overlap between tiles in pixels.
        max_memory_gb: activation memory budget used to pick the tile size.
        strength: curve models only: scale of the curve maps (1 = as trained, lower is darker).
        target_exposure: choose the brightness per image so the output's mean sRGB level reaches this
            value (0-1): curve models through their strength, the others through ``exposure``.
        exposure: brightness change of the result in EV stops (0 = the model's own choice), for every
            model; see :mod:`lowlight.inference.exposure`.
        zero_shot_steps: curve models only: fine-tune a copy of the model on each image for this many
            steps with the zero-reference losses before enhancing it (works without weights, too).
        backend: "torch", or "onnxruntime" to run an ONNX export of the model (CPU).
        onnx_file: with the onnxruntime backend, an exported file to run; None exports the model
            once into the cache (``LOWLIGHT_CACHE`` or ~/.cache/lowlight) and checks it against PyTorch.
        compile_model: torch backend: run the model through ``torch.compile`` (each new input size
            compiles first; not with ``zero_shot_steps``, which fine-tunes a copy per image).
        self_ensemble: "none", "flip" (average with the mirrored pass), "x8" (average over the 8
            flips and quarter turns) or "shift" (over 4 passes translated by 4 pixels, against lattices
            locked to the network's grid), see :mod:`lowlight.inference.ensemble`.
        precision: "fp32", or "bf16": convolutions and matrix products in bfloat16 under autocast, Fourier
            transforms, amplitude MLPs and normalisation statistics in float32. On the CPU it needs bfloat16
            instructions (avx512_bf16 or AMX) and implies ``compile_model``: frozen weights are converted
            to bfloat16 once, at compilation, and oneDNN runs its bfloat16 kernels.
    """

    def __init__(
        self,
        model: str | nn.Module | None = None,
        *,
        weights: str | Path | None = None,
        device: str = "auto",
        half: bool = False,
        tile: int | None = None,
        tile_overlap: int = DEFAULT_TILE_OVERLAP,
        max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
        strength: float | None = None,
        target_exposure: float | None = None,
        exposure: float = 0.0,
        zero_shot_steps: int = 0,
        backend: str = "torch",
        onnx_file: str | Path | None = None,
        compile_model: bool = False,
        self_ensemble: str = "none",
        precision: str = "fp32",
    ) -> None:
        if self_ensemble not in ENSEMBLE_SIZES:
            raise LowlightError(f"unknown self-ensemble {self_ensemble!r}; use one of {', '.join(ENSEMBLE_SIZES)}")
        if backend not in ("torch", "onnxruntime"):
            raise LowlightError(f"unknown backend {backend!r}; use torch or onnxruntime")
        if backend == "onnxruntime":
            _check_onnx_options(device, half, strength, target_exposure, zero_shot_steps)
        elif onnx_file is not None:
            raise LowlightError("--onnx needs --backend onnxruntime")
        if compile_model and (backend != "torch" or zero_shot_steps):
            raise LowlightError("--compile works with the torch backend and without --zero-shot-steps")
        self.device = resolve_device("cpu" if backend == "onnxruntime" else device)
        if half and self.device.type == "cpu":
            raise LowlightError("--half needs a GPU (cuda or mps); on the CPU lowlight runs in float32")
        _check_precision(precision, self.device, half, backend, zero_shot_steps)
        # on the CPU, bfloat16 pays only compiled: freezing folds the weight casts into constants
        compile_model = compile_model or (precision == "bf16" and self.device.type == "cpu")
        if tile is not None and tile != 0 and tile <= tile_overlap:
            raise LowlightError(f"--tile ({tile}) must be larger than --tile-overlap ({tile_overlap})")
        if max_memory_gb <= 0:
            raise LowlightError(f"--max-memory must be positive, got {max_memory_gb}")
        self.name = model if isinstance(model, str) else type(model).__name__ if model is not None else None
        if backend == "onnxruntime" and onnx_file is not None:
            model = _load_onnx(onnx_file, model if isinstance(model, str) else None)
            self.name = model.metadata.get("model", self.name or Path(onnx_file).stem)
        if model is None or isinstance(model, str):
            self.name = model or (ZERO_SHOT_MODEL if zero_shot_steps else default_model_name())
            model = build_model(self.name, weights, from_scratch_ok=zero_shot_steps > 0)
        if backend == "onnxruntime" and onnx_file is None:
            from lowlight.inference.onnx import OnnxModule, cached_export

            model = OnnxModule(cached_export(model, self.name))
        # channels_last: fused layer norms and oneDNN convolutions avoid layout copies (about 5 % faster
        # for darkir_m on CPU, benchmarks/cpu_speed.py)
        self.model = as_enhancement_model(model).eval().to(self.device, memory_format=torch.channels_last)
        self.zero_shot_steps = zero_shot_steps
        self.last_adaptation: list[float] = []
        _configure_curve(self.model, self.name, strength, target_exposure, zero_shot_steps)
        if target_exposure is not None and exposure:
            raise LowlightError("give --exposure or --target-exposure, not both")
        if not EV_RANGE[0] <= exposure <= EV_RANGE[1]:
            raise LowlightError(f"--exposure must be within {EV_RANGE[0]:g}..{EV_RANGE[1]:g} EV, got {exposure}")
        self.exposure = exposure
        # curve models reach a target through their own strength; the others through the exposure curve
        self.target_exposure = None if isinstance(self.model, CurveModelMixin) else target_exposure
        # frozen weights: oneDNN pre-packs them; they do not change while enhancing
        self.compiled = compile_frozen(self.model) if compile_model else None
        align = self.model.pad_multiple
        if tile and tile - tile_overlap < align:
            raise LowlightError(
                f"--tile ({tile}) minus --tile-overlap ({tile_overlap}) must be at least {align} for this model"
            )
        self.half = half
        self.precision = precision
        self.self_ensemble = self_ensemble
        self.tile = tile
        self.tile_overlap = tile_overlap
        self.budget_bytes = max_memory_gb * 1024**3
        self.bytes_per_pixel = float(self.model.inference_bytes_per_pixel)

    def tile_size_for(self, height: int, width: int) -> int | None:
        """Tile side used for an image of this size, or None for whole-image processing."""
        if self.tile == 0:
            return None
        if self.tile is not None:
            return self.tile if max(height, width) > self.tile else None
        return auto_tile_size(height, width, self.bytes_per_pixel, self.budget_bytes)

    def _run_model(self, x: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        dtype = torch.float16 if self.half else torch.bfloat16 if self.precision == "bf16" else None
        autocast = torch.autocast(self.device.type, dtype=dtype) if dtype is not None else nullcontext()
        with autocast:
            out = self_ensemble(self.model if model is None else model, x, self.self_ensemble)
            return out.float().clamp_(0, 1).to("cpu")

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor, on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """(B, 3, H, W) float in [0, 1] -> enhanced (B, 3, H, W) float32 on the CPU, clamped.

        Values outside [0, 1] are clipped to it first; NaN or infinite values raise :class:`LowlightError`.
        """
        if x.ndim != 4 or x.shape[1] != 3:
            raise LowlightError(f"expected an image batch of shape (B, 3, H, W), got {tuple(x.shape)}")
        x = x.float().cpu()
        if not torch.isfinite(x).all():
            raise LowlightError("the image holds NaN or infinite values")
        x = x.clamp(0, 1)
        model = self.model if self.compiled is None else self.compiled
        if self.zero_shot_steps:
            from lowlight.inference.zero_shot import adapt_to_image

            model, self.last_adaptation = adapt_to_image(self.model, x[:1], self.zero_shot_steps)
        run = functools.partial(self._run_model, model=model)
        tile = self.tile_size_for(*x.shape[-2:])
        if tile is None:
            out = run(x)
            if on_tile:
                on_tile(1, 1)
        else:
            if x.shape[-2] * x.shape[-1] >= BOUNDED_HEAP_PIXELS:
                # many tiles and blending buffers fragment the reused heap like a folder of mixed sizes: a 12 MP
                # photo peaked at 3.94 GiB, 3.21 with large blocks mapped (14 % slower; README "Any size")
                bound_heap_growth()
            out = tiled_apply(run, x, tile, self.tile_overlap, on_tile, align=self.model.pad_multiple).clamp_(0, 1)
        return self._adjust_exposure(out)

    def _adjust_exposure(self, out: torch.Tensor) -> torch.Tensor:
        if self.target_exposure is not None:
            return torch.cat(
                [apply_exposure(image[None], exposure_for_target(image[None], self.target_exposure)) for image in out]
            )
        return apply_exposure(out, self.exposure) if self.exposure else out

    def enhance_array(self, rgb: np.ndarray, on_tile: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1] -> enhanced (H, W, 3) float32 in [0, 1]."""
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        return self(x, on_tile)[0].permute(1, 2, 0).numpy()


def _configure_curve(
    model: nn.Module, name: str, strength: float | None, target_exposure: float | None, zero_shot_steps: int
) -> None:
    from lowlight.layers.curve import CurveModelMixin

    wanted = [flag for flag, value in (("--strength", strength), ("--zero-shot-steps", zero_shot_steps)) if value]
    if wanted and not isinstance(model, CurveModelMixin):
        raise LowlightError(
            f"{', '.join(wanted)} applies to curve models (zero_dce, zero_dce_pp, lucentvision), not {name}; "
            "--exposure and --target-exposure work for every model"
        )
    if strength is not None:
        if not 0 <= strength <= 3:
            raise LowlightError(f"--strength must be between 0 and 3, got {strength}")
        model.strength = strength
    if target_exposure is not None:
        if not 0 < target_exposure < 1:
            raise LowlightError(f"--target-exposure must be between 0 and 1, got {target_exposure}")
        if isinstance(model, CurveModelMixin):
            model.target_exposure = target_exposure
    if zero_shot_steps < 0:
        raise LowlightError("--zero-shot-steps must be >= 0")


def _check_precision(precision: str, device: torch.device, half: bool, backend: str, zero_shot_steps: int) -> None:
    if precision not in PRECISIONS:
        raise LowlightError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return
    if half or backend != "torch":
        raise LowlightError("--precision bf16 works with the torch backend and without --half")
    if device.type == "cpu":
        if cpu_bf16_instructions() is None:
            raise LowlightError(
                "--precision bf16: this CPU has no bfloat16 instructions (avx512_bf16 or AMX), where bfloat16 is "
                "slower than float32; lowlight keeps float32 here: drop --precision bf16"
            )
        if zero_shot_steps:
            raise LowlightError("--precision bf16 on the CPU compiles the model, which --zero-shot-steps cannot use")


def _check_onnx_options(
    device: str, half: bool, strength: float | None, target_exposure: float | None, zero_shot_steps: int
) -> None:
    if device not in ("auto", "cpu"):
        raise LowlightError("--backend onnxruntime runs on the CPU; drop --device or use --device cpu")
    options = {"--half": half, "--strength": strength, "--target-exposure": target_exposure,
               "--zero-shot-steps": zero_shot_steps}  # fmt: skip
    unsupported = [flag for flag, value in options.items() if value]
    if unsupported:
        raise LowlightError(f"{', '.join(unsupported)} cannot be used with --backend onnxruntime")


def _load_onnx(onnx_file: str | Path, name: str | None) -> nn.Module:
    from lowlight.inference.onnx import OnnxModule

    runner = OnnxModule(onnx_file)
    exported = runner.metadata.get("model")
    if name and exported and exported != name:
        raise LowlightError(f"{onnx_file}: exported from model {exported!r}, not {name!r}")
    return runner


def build_model(name: str, weights: str | Path | None, from_scratch_ok: bool = False) -> nn.Module:
    """A model ready for inference: ``weights`` if given, else the shipped weights (an error if a
    learned model has none, unless ``from_scratch_ok``)."""
    info = model_info(name)
    if weights is not None:
        return create_model(name, weights=weights)
    if from_scratch_ok and info.learned and pretrained_weights(name) is None:
        return create_model(name)  # zero-shot adaptation trains it on each image
    if info.learned and pretrained_weights(name) is None:
        raise LowlightError(
            f"model {name!r} has no weights shipped with lowlight yet; pass --weights PATH "
            "(or pick a model marked 'yes' in `lowlight list-models`)"
        )
    return create_model(name, pretrained=info.learned)
