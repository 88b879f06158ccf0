"""``lowlight.enhance``: one call for a path, a PIL image, a numpy array or a tensor."""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from lowlight.errors import LowlightError
from lowlight.inference.options import EnhanceOptions
from lowlight.inference.pipeline import Enhancer
from lowlight.io import read_image, write_image


@functools.lru_cache(maxsize=4)
def cached_enhancer(options: EnhanceOptions) -> Enhancer:
    """The enhancer for ``options``, kept for the next call with equal options (the last four are kept)."""
    return options.enhancer()


def enhance(
    image: str | Path | Image.Image | np.ndarray | torch.Tensor,
    model: str | None = None,
    *,
    options: EnhanceOptions | None = None,
    output: str | Path | None = None,
    **option_values: Any,
) -> Any:
    """Enhance one image and return it in the kind it came in.

    Args:
        image: a file path (returns a PIL image, or writes ``output`` and returns its path);
            a PIL image (returns a PIL image, alpha kept); a numpy array (H, W, 3) or (H, W) of
            uint8, uint16 or float in [0, 1] (returns (H, W, 3) of the same dtype); or a tensor
            (3, H, W) or (B, 3, H, W) float in [0, 1] (returns the same shape, dtype and device).
        model: registered model name (``NAME`` or ``NAME.TAG``); None uses the default of ``lowlight enhance``.
        options: an :class:`~lowlight.inference.options.EnhanceOptions`; keywords below override its fields.
        output: for path inputs only, write the result there (atomically, keeping bit depth,
            alpha, ICC profile and EXIF) and return the output path.
        **option_values: any field of :class:`~lowlight.inference.options.EnhanceOptions`: ``weights``,
            ``device``, ``half``, ``tile``, ``tile_overlap``, ``max_memory_gb``, ``strength``,
            ``target_exposure``, ``zero_shot_steps``, ``backend``, ``onnx_file``, ``compile_model``,
            ``self_ensemble``, ``precision``.
    """
    base = options or EnhanceOptions()
    if model is not None:
        option_values["model"] = model
    merged = EnhanceOptions.from_mapping({**asdict(base), **option_values})
    enhancer = cached_enhancer(merged)
    if isinstance(image, (str, Path)):
        return _enhance_path(enhancer, Path(image), output)
    if output is not None:
        raise LowlightError("output= is only supported when the input is a file path")
    if isinstance(image, Image.Image):
        return _enhance_pil(enhancer, image)
    if isinstance(image, np.ndarray):
        return _enhance_numpy(enhancer, image)
    if isinstance(image, torch.Tensor):
        return _enhance_tensor(enhancer, image)
    raise LowlightError(f"cannot enhance an object of type {type(image).__name__}")


def _enhance_path(enhancer: Enhancer, path: Path, output: str | Path | None) -> Path | Image.Image:
    loaded = read_image(path)
    result = enhancer.enhance_array(loaded.rgb)
    if output is None:
        return _to_pil(result, loaded.alpha)
    output = Path(output)
    if output.exists() and output.resolve() == path.resolve():
        raise LowlightError(f"{output}: refusing to overwrite the input image")
    return write_image(
        output, result, alpha=loaded.alpha, bit_depth=loaded.bit_depth, icc_profile=loaded.icc_profile, exif=loaded.exif
    )


def _to_pil(rgb: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    pixels = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if alpha is not None:
        image.putalpha(Image.fromarray(np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8), "L"))
    return image


def _enhance_pil(enhancer: Enhancer, image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    rgba = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    alpha = rgba[:, :, 3] if has_alpha else None
    return _to_pil(enhancer.enhance_array(rgba[:, :, :3]), alpha)


def _enhance_numpy(enhancer: Enhancer, array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise LowlightError(f"numpy images must be (H, W), (H, W, 1) or (H, W, 3); got shape {array.shape}")
    if array.dtype == np.uint8:
        scale = 255.0
    elif array.dtype == np.uint16:
        scale = 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        scale = 1.0
    else:
        raise LowlightError(f"numpy images must be uint8, uint16 or float; got {array.dtype}")
    rgb = np.broadcast_to(array, (*array.shape[:2], 3)).astype(np.float32) / scale
    result = enhancer.enhance_array(np.clip(rgb, 0.0, 1.0))
    if scale == 1.0:
        return result.astype(array.dtype)
    return np.rint(result * scale).astype(array.dtype)


def _enhance_tensor(enhancer: Enhancer, tensor: torch.Tensor) -> torch.Tensor:
    if not tensor.is_floating_point():
        raise LowlightError(f"tensor images must be floating point in [0, 1], got {tensor.dtype}")
    batched = tensor if tensor.ndim == 4 else tensor[None] if tensor.ndim == 3 else None
    if batched is None or batched.shape[1] != 3:
        raise LowlightError(f"tensor images must be (3, H, W) or (B, 3, H, W); got {tuple(tensor.shape)}")
    result = enhancer(batched)
    result = result if tensor.ndim == 4 else result[0]
    return result.to(device=tensor.device, dtype=tensor.dtype)
