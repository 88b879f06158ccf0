"""Geometric augmentation of image pairs: aligned random crops, flips and 90-degree rotations.

Arrays are (H, W, C) numpy images of any dtype; every function takes a ``numpy.random.Generator``
so that a sample is reproducible from its seed.
"""

from __future__ import annotations

import cv2
import numpy as np


def pad_to_at_least(image: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad bottom/right so both sides are at least ``size``."""
    height, width = image.shape[:2]
    if height >= size and width >= size:
        return image
    pad = ((0, max(0, size - height)), (0, max(0, size - width))) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pad)


def paired_random_crop(rng: np.random.Generator, images: list[np.ndarray], size: int) -> list[np.ndarray]:
    """The same random ``size`` x ``size`` window of each image (all must have the same H and W).

    Images smaller than the crop are zero-padded first, as in the DarkIR training code.
    """
    shapes = {image.shape[:2] for image in images}
    if len(shapes) != 1:
        raise ValueError(f"paired images differ in size: {sorted(shapes)}")
    images = [pad_to_at_least(image, size) for image in images]
    height, width = images[0].shape[:2]
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return [image[top : top + size, left : left + size] for image in images]


def random_flip_rotate(
    rng: np.random.Generator, images: list[np.ndarray], flip: bool = True, rot90: bool = False
) -> list[np.ndarray]:
    """Apply the same random horizontal/vertical flips (p=0.5 each) and k*90-degree rotation to all."""
    hflip, vflip = (rng.random(2) < 0.5) if flip else (False, False)
    turns = int(rng.integers(0, 4)) if rot90 else 0
    out = []
    for image in images:
        if hflip:
            image = image[:, ::-1]
        if vflip:
            image = image[::-1]
        if turns:
            image = np.rot90(image, turns)
        out.append(np.ascontiguousarray(image))
    return out


def centre_zoom(image: np.ndarray, size: int, factor: float) -> np.ndarray:
    """The central window of ``size / factor`` pixels enlarged to ``size`` x ``size`` (bicubic, as
    :func:`random_zoom_crop`): the deterministic form, for validation sets.

    >>> centre_zoom(np.zeros((300, 400, 3), np.float32), 120, 3.0).shape
    (120, 120, 3)
    """
    if not factor >= 1.0:
        raise ValueError(f"zoom factor must be >= 1, got {factor}")
    window = max(8, round(size / factor))
    if window > min(image.shape[:2]):
        raise ValueError(f"a {size}-pixel centre zoomed {factor}x needs {window} pixels, image is {image.shape[:2]}")
    top, left = (image.shape[0] - window) // 2, (image.shape[1] - window) // 2
    return _enlarge(image[top : top + window, left : left + window], size)


def _enlarge(patch: np.ndarray, size: int) -> np.ndarray:
    """``patch`` resized to ``size`` x ``size``, bicubic; float images clipped to [0, 1]."""
    if patch.shape[0] == size:
        return patch
    enlarged = cv2.resize(np.ascontiguousarray(patch), (size, size), interpolation=cv2.INTER_CUBIC)
    return enlarged if enlarged.dtype == np.uint8 else enlarged.clip(0, 1)


def random_zoom_crop(rng: np.random.Generator, image: np.ndarray, size: int, zoom: tuple[float, float]) -> np.ndarray:
    """A random window of ``size / z`` pixels enlarged to ``size`` x ``size``, ``z`` log-uniform in ``zoom``.

    Enlarged content is smoother per pixel, like the large, smooth areas of high-resolution photos; bicubic
    interpolation, float images clipped to [0, 1]. ``zoom`` (1, 1) is :func:`paired_random_crop`.

    >>> rng = np.random.default_rng(0)
    >>> random_zoom_crop(rng, np.zeros((300, 400, 3), np.float32), 128, (1.0, 2.0)).shape
    (128, 128, 3)
    """
    low, high = zoom
    if not 1.0 <= low <= high:
        raise ValueError(f"zoom must satisfy 1 <= low <= high, got {zoom}")
    factor = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    window = max(8, round(size / factor))
    (patch,) = paired_random_crop(rng, [image], window)
    return _enlarge(patch, size)
