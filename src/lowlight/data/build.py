"""Build datasets from :class:`lowlight.train.config.DataSource` entries."""

from __future__ import annotations

import bisect
import os
from pathlib import Path

from torch.utils.data import Dataset, default_collate

from lowlight.data.datasets import PairedDataset, SyntheticPairDataset, UnpairedDataset, check_pair_sizes
from lowlight.data.pairs import filter_pairs, find_pairs, list_images, read_stem_list
from lowlight.errors import DatasetError


def expand_path(path: str) -> Path:
    """``~`` and ``$VARS`` expanded."""
    return Path(os.path.expandvars(os.path.expanduser(path)))


def _stems(path: str | None) -> set[str] | None:
    return None if path is None else read_stem_list(expand_path(path))


def _images(source) -> list[Path]:
    folder = expand_path(source.path)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: data folder does not exist")
    files = list_images(folder, recursive=True)
    include, exclude = _stems(source.include), _stems(source.exclude)
    files = [f for f in files if (include is None or f.stem in include) and not (exclude and f.stem in exclude)]
    if not files:
        raise DatasetError(f"{folder}: no images found")
    return files


def build_dataset(source, crop: int | None, flip: bool, rot90: bool, cache: bool, seed: int) -> Dataset:
    """One dataset for a source; ``crop=None`` gives whole images (validation)."""
    if source.kind == "paired":
        found = find_pairs(expand_path(source.path), source.split)
        pairs = filter_pairs(found.pairs, _stems(source.include), _stems(source.exclude))
        if not pairs:
            raise DatasetError(f"{source.path}: include/exclude lists leave no pairs")
        check_pair_sizes(pairs)
        return PairedDataset(pairs, crop=crop, flip=flip, rot90=rot90, cache=cache, seed=seed)
    if source.kind == "unpaired":
        return UnpairedDataset(
            _images(source), resize=source.resize, crop=crop, flip=flip, cache=cache, seed=seed, zoom=source.zoom
        )
    return SyntheticPairDataset(
        _images(source),
        degradation=source.degradation,
        resize=source.resize,
        centre_crop=source.centre_crop,
        crop=crop,
        flip=flip,
        rot90=rot90,
        cache=cache,
        seed=seed,
        zoom=source.zoom,
    )


class MixedDataset(Dataset):
    """Concatenation of datasets, each repeated ``repeat`` times, addressed by ``(index, epoch)`` keys.

    Copies of a repeated dataset get distinct epochs for their generators, so they draw different crops.
    With ``inputs_only`` items keep no target (``high``), so paired or synthetic sources can be batched
    with unpaired ones for zero-reference training.
    """

    def __init__(self, parts: list[tuple[Dataset, int]], inputs_only: bool = False) -> None:
        self.parts = parts
        self.inputs_only = inputs_only
        self.ends: list[int] = []
        total = 0
        for dataset, repeat in parts:
            total += len(dataset) * repeat
            self.ends.append(total)

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def __getitem__(self, key):
        index, epoch = (key, 0) if isinstance(key, int) else key
        part = bisect.bisect_right(self.ends, index)
        start = self.ends[part - 1] if part else 0
        dataset, repeat = self.parts[part]
        copy, local = divmod(index - start, len(dataset))
        item = dataset[(local, epoch * repeat + copy)]
        if self.inputs_only:
            item.pop("high", None)
        return item


def _mixture(sources, data, seed: int) -> Dataset:
    """Training crops of several sources, each repeated ``repeat`` times (one source: that dataset)."""
    parts = [
        (build_dataset(source, data.crop, data.flip, data.rot90, data.cache, seed + i), source.repeat)
        for i, source in enumerate(sources)
    ]
    if len(parts) == 1 and parts[0][1] == 1:
        return parts[0][0]
    return MixedDataset(parts, inputs_only=any(source.kind == "unpaired" for source in sources))


def build_train_dataset(data, seed: int) -> Dataset:
    """The training mixture of ``data.train`` sources."""
    return _mixture(data.train, data, seed)


def build_unpaired_dataset(data, seed: int) -> Dataset:
    """The mixture of ``data.unpaired`` photos (no targets), trained beside the pairs."""
    return _mixture(data.unpaired, data, seed)


def build_val_datasets(data, seed: int) -> list[tuple[str | None, Dataset]]:
    """(name, whole-image dataset) per validation source; the name is None for a single unnamed source."""
    return [(source.name, build_dataset(source, None, False, False, data.cache, seed)) for source in data.val_sources]


def collate_batch(items: list[dict]) -> dict:
    """``default_collate`` that names the files when whole images of different sizes meet in one batch."""
    sizes = {tuple(item["low"].shape[-2:]) for item in items}
    if len(sizes) > 1:
        names = ", ".join(str(item["name"]) for item in items)
        raise DatasetError(
            f"one batch mixes image sizes {sorted(sizes)} ({names}): "
            "set data.crop, or data.batch_size 1 for whole images"
        )
    return default_collate(items)
