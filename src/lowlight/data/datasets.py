"""Datasets for training and evaluation: paired folders, unpaired folders, synthetic pairs.

Every item is looked up with a key ``(index, epoch)``: its crop, flips and (for synthetic pairs) its
degradation are drawn from a generator seeded with ``(seed, epoch, index)``. A sample is therefore
the same whatever the number of worker processes, and a resumed run sees the same data as an
uninterrupted one. A plain integer key means epoch 0 (used for validation).

A file that fails to decode in the middle of training is reported once with a warning and replaced
by the next sample, so a single bad file cannot end a long run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from lowlight.data.augment import centre_zoom, paired_random_crop, random_flip_rotate, random_zoom_crop
from lowlight.data.degradation import DegradationConfig, degrade
from lowlight.errors import DatasetError, ImageReadError
from lowlight.io import read_image

log = logging.getLogger(__name__)
Key = int | tuple[int, int]


def load_array(path: Path) -> np.ndarray:
    """Decode an image to (H, W, 3): uint8 for 8-bit files, float32 in [0, 1] otherwise."""
    loaded = read_image(path)
    if loaded.bit_depth == 8:
        return np.round(loaded.rgb * 255).astype(np.uint8)
    return loaded.rgb


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 or float array to a (3, H, W) float32 tensor in [0, 1]."""
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(scale)


def _split_key(key: Key) -> tuple[int, int]:
    return (key, 0) if isinstance(key, int) else (int(key[0]), int(key[1]))


class _ImageFolderBase(Dataset):
    """Shared machinery: per-item generator, optional cache, skipping of files that fail to decode."""

    def __init__(self, sources: list[tuple[Path, ...]], seed: int, cache: bool) -> None:
        if not sources:
            raise DatasetError("dataset is empty")
        self.sources = sources
        self.seed = seed
        self._cache: dict[int, tuple[np.ndarray, ...]] | None = None
        self._bad: set[int] = set()
        if cache:
            self._cache = {i: self._decode(i) for i in range(len(sources))}

    def __len__(self) -> int:
        return len(self.sources)

    def generator(self, index: int, epoch: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def _decode(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(load_array(path) for path in self.sources[index])

    def arrays(self, index: int) -> tuple[np.ndarray, ...]:
        if self._cache is not None:
            return self._cache[index]
        return self._decode(index)

    def __getitem__(self, key: Key) -> dict:
        index, epoch = _split_key(key)
        for attempt in range(len(self)):
            candidate = (index + attempt) % len(self)
            if candidate in self._bad:
                continue
            try:
                images = self.arrays(candidate)
            except (ImageReadError, DatasetError) as exc:
                self._bad.add(candidate)
                log.warning("skipping a file that failed to decode: %s", exc)
                continue
            return self.make_sample(candidate, epoch, images)
        raise DatasetError(f"no file of the dataset could be decoded (first: {self.sources[0][0]})")

    def make_sample(self, index: int, epoch: int, images: tuple[np.ndarray, ...]) -> dict:
        raise NotImplementedError


def check_pair_sizes(pairs: list[tuple[Path, Path]]) -> None:
    """Raise naming every pair whose two files differ in size (reads only the file headers)."""
    mismatched = []
    for low, high in pairs:
        try:
            with Image.open(low) as a, Image.open(high) as b:
                if a.size != b.size:
                    mismatched.append(f"{low} {a.size[0]}x{a.size[1]} vs {high} {b.size[0]}x{b.size[1]}")
        except (OSError, SyntaxError):
            continue  # unreadable files are reported (and skipped) when decoded
    if mismatched:
        more = f" and {len(mismatched) - 5} more" if len(mismatched) > 5 else ""
        raise DatasetError(f"{len(mismatched)} pair(s) differ in size: {'; '.join(mismatched[:5])}{more}")


class PairedDataset(_ImageFolderBase):
    """(low, high) pairs: random aligned crops when ``crop`` is set (whole images otherwise) and flips.

    Items are dicts: ``low`` and ``high`` (3, H, W) float tensors in [0, 1], ``name`` (low file stem).
    """

    def __init__(
        self,
        pairs: list[tuple[Path, Path]],
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        cache: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__([tuple(p) for p in pairs], seed, cache)
        self.crop, self.flip, self.rot90 = crop, flip, rot90

    def make_sample(self, index: int, epoch: int, images: tuple[np.ndarray, ...]) -> dict:
        low, high = images
        if low.shape != high.shape:
            raise DatasetError(f"{self.sources[index][0]}: size {low.shape[:2]} differs from its pair {high.shape[:2]}")
        if self.crop or self.flip or self.rot90:
            rng = self.generator(index, epoch)
            low, high = random_flip_rotate(rng, [low, high], self.flip, self.rot90)
            if self.crop:
                low, high = paired_random_crop(rng, [low, high], self.crop)
        return {"low": to_tensor(low), "high": to_tensor(high), "name": self.sources[index][0].stem}


class UnpairedDataset(_ImageFolderBase):
    """Images without ground truth, optionally resized to ``resize`` x ``resize`` and/or randomly cropped.

    ``zoom`` (low, high) enlarges each crop by a random factor in that range
    (:func:`~lowlight.data.augment.random_zoom_crop`), as for synthetic sources. Items are dicts: ``low``
    (3, H, W) float tensor in [0, 1] and ``name``.
    """

    def __init__(
        self,
        files: list[Path],
        resize: int | None = None,
        crop: int | None = None,
        flip: bool = True,
        cache: bool = False,
        seed: int = 0,
        zoom: tuple[float, float] | None = None,
    ) -> None:
        if zoom is not None and not crop:
            raise ValueError("zoom on unpaired photos needs a crop size")
        self.resize, self.zoom = resize, zoom
        self.crop, self.flip = crop, flip
        super().__init__([(Path(f),) for f in files], seed, cache)

    def _decode(self, index: int) -> tuple[np.ndarray, ...]:
        (image,) = super()._decode(index)
        return (_square_resize(image, self.resize),)

    def make_sample(self, index: int, epoch: int, images: tuple[np.ndarray, ...]) -> dict:
        (image,) = images
        if self.crop or self.flip:
            rng = self.generator(index, epoch)
            (image,) = random_flip_rotate(rng, [image], self.flip)
            if self.crop and self.zoom:
                image = random_zoom_crop(rng, image, self.crop, self.zoom)
            elif self.crop:
                (image,) = paired_random_crop(rng, [image], self.crop)
        return {"low": to_tensor(image), "name": self.sources[index][0].stem}


def _square_resize(image: np.ndarray, size: int | None) -> np.ndarray:
    return image if not size else cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    if not size:
        return image
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return image[top : top + size, left : left + size]


class SyntheticPairDataset(_ImageFolderBase):
    """Pairs made from clean photos with :mod:`lowlight.data.degradation`; the clean crop is the target.

    ``resize`` scales each photo to ``resize`` x ``resize`` before cropping and degrading (large photo
    collections such as SICE then fit in the cache); ``zoom`` (low, high) enlarges each training crop by a
    random factor in that range (:func:`~lowlight.data.augment.random_zoom_crop`) before degrading it. Without
    ``crop`` (validation), ``zoom`` needs ``centre_crop``: the central ``centre_crop / high`` pixels are enlarged
    to ``centre_crop`` (:func:`~lowlight.data.augment.centre_zoom`), the same window every epoch.
    """

    def __init__(
        self,
        files: list[Path],
        degradation: DegradationConfig | None = None,
        resize: int | None = None,
        centre_crop: int | None = None,
        crop: int | None = None,
        flip: bool = False,
        rot90: bool = False,
        cache: bool = False,
        seed: int = 0,
        zoom: tuple[float, float] | None = None,
    ) -> None:
        if zoom is not None and not (crop or centre_crop):
            raise ValueError("zoom needs a crop size (training) or a centre_crop (validation)")
        self.resize, self.centre_crop, self.zoom = resize, centre_crop, zoom
        self.crop, self.flip, self.rot90 = crop, flip, rot90
        super().__init__([(Path(f),) for f in files], seed, cache)
        self.degradation = degradation or DegradationConfig()

    def _decode(self, index: int) -> tuple[np.ndarray, ...]:
        (image,) = super()._decode(index)
        image = _square_resize(image, self.resize)
        if self.zoom and not self.crop:
            try:
                return (centre_zoom(image, self.centre_crop, self.zoom[1]),)
            except ValueError as exc:
                raise DatasetError(f"{self.sources[index][0]}: {exc}") from None
        return (_centre_crop(image, self.centre_crop),)

    def make_sample(self, index: int, epoch: int, images: tuple[np.ndarray, ...]) -> dict:
        (clean,) = images
        rng = self.generator(index, epoch)
        (clean,) = random_flip_rotate(rng, [clean], self.flip, self.rot90)
        if self.crop and self.zoom:
            clean = random_zoom_crop(rng, clean, self.crop, self.zoom)
        elif self.crop:
            (clean,) = paired_random_crop(rng, [clean], self.crop)
        clean = clean.astype(np.float32) / 255 if clean.dtype == np.uint8 else clean
        dark, _ = degrade(clean, rng, self.degradation)
        return {"low": to_tensor(dark), "high": to_tensor(clean), "name": self.sources[index][0].stem}
