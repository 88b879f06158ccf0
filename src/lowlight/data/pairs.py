"""Find (low, high) image pairs in the folder layouts of the public low-light benchmarks.

Recognised from a root folder (checked in this order):

=============  ====================================================  =====================
layout         folders                                               train / test split
=============  ====================================================  =====================
plain          ``low/`` + ``high/`` (also ``Low/`` + ``Normal/``)    whole folder
LOL-v1         ``our485/`` and ``eval15/``, each plain               our485 / eval15
LOL-v2         ``Real_captured/`` and/or ``Synthetic/``, each with   Train / Test
               ``Train/`` and ``Test/`` holding ``Low/``+``Normal/``
LSRW           ``Huawei/`` and/or ``Nikon/``, each plain             whole folders
LOL-Blur       ``low_blur/<sequence>/`` + ``high_sharp_scaled/...``  ``train/`` / ``test/``
=============  ====================================================  =====================

Pairs are matched by file path relative to the low/high folder, without the suffix; names that
differ only by a ``low``/``normal``/``high`` prefix (LOL-v2-real: ``low00001`` and ``normal00001``)
match too. Unmatched files are an error that lists them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lowlight.errors import DatasetError
from lowlight.io import IMAGE_SUFFIXES

SPLITS = ("train", "test", "all")
_LOW_NAMES = ("low", "Low", "low_blur", "input", "Input")
_HIGH_NAMES = ("high", "Normal", "normal", "high_sharp_scaled", "gt", "GT", "target")
_NAME_PREFIX = re.compile(r"^(low|normal|high|gt)[_-]?", re.IGNORECASE)


@dataclass
class PairList:
    """Matched (low, high) files and where they came from."""

    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    layout: str = "plain"

    def __len__(self) -> int:
        return len(self.pairs)

    def extend(self, other: PairList) -> None:
        self.pairs.extend(other.pairs)


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` (sorted; hidden files skipped)."""
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _key(path: Path, folder: Path) -> str:
    return path.relative_to(folder).with_suffix("").as_posix()


def _loose_key(key: str) -> str:
    parent, _, name = key.rpartition("/")
    name = _NAME_PREFIX.sub("", name)
    return f"{parent}/{name}" if parent else name


def match_pairs(low_dir: Path, high_dir: Path, recursive: bool = False) -> list[tuple[Path, Path]]:
    """Pair the images of two folders by name; raise listing the files that have no partner."""
    low = {_key(p, low_dir): p for p in list_images(low_dir, recursive)}
    high = {_key(p, high_dir): p for p in list_images(high_dir, recursive)}
    if not low and not high:
        raise DatasetError(f"{low_dir.parent}: no images in {low_dir.name}/ or {high_dir.name}/")
    exact = sorted(low.keys() & high.keys())
    pairs = {k: (low[k], high[k]) for k in exact}
    low_left = {_loose_key(k): k for k in low.keys() - high.keys()}
    high_left = {_loose_key(k): k for k in high.keys() - low.keys()}
    for loose in low_left.keys() & high_left.keys():
        pairs[low_left[loose]] = (low[low_left[loose]], high[high_left[loose]])
    unmatched = [low[low_left[k]] for k in low_left.keys() - high_left.keys()]
    unmatched += [high[high_left[k]] for k in high_left.keys() - low_left.keys()]
    if unmatched:
        shown = ", ".join(str(p) for p in sorted(unmatched)[:8])
        more = f" and {len(unmatched) - 8} more" if len(unmatched) > 8 else ""
        raise DatasetError(f"{low_dir.parent}: {len(unmatched)} file(s) without a partner: {shown}{more}")
    return [pairs[k] for k in sorted(pairs)]


def _plain_dirs(root: Path) -> tuple[Path, Path] | None:
    low = next((root / n for n in _LOW_NAMES if (root / n).is_dir()), None)
    high = next((root / n for n in _HIGH_NAMES if (root / n).is_dir()), None)
    return (low, high) if low and high else None


def _existing(root: Path, names: Iterable[str]) -> list[Path]:
    return [root / n for n in names if (root / n).is_dir()]


def _pick_split(root: Path, split: str, train: str, test: str, layout: str) -> PairList:
    chosen = {"train": [train], "test": [test], "all": [train, test]}[split]
    found = PairList(layout=layout)
    for name in chosen:
        if (root / name).is_dir():
            found.extend(find_pairs(root / name, "all"))
    return found


def find_pairs(root: str | Path, split: str = "all") -> PairList:
    """All (low, high) pairs under ``root`` for a split ("train", "test" or "all").

    Raises:
        DatasetError: the folder is missing, has an unknown layout, no pairs, or unmatched files.
    """
    root = Path(root).expanduser()
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if not root.is_dir():
        raise DatasetError(f"{root}: data folder does not exist")
    found = _find(root, split)
    if found is None:
        raise DatasetError(
            f"{root}: unknown layout; expected low/ + high/ folders, or a LOL-v1, LOL-v2, LSRW or LOL-Blur root"
        )
    if not found.pairs:
        raise DatasetError(f"{root}: no image pairs found for split {split!r} ({found.layout} layout)")
    return found


def _find(root: Path, split: str) -> PairList | None:
    dirs = _plain_dirs(root)
    if dirs is not None:
        recursive = dirs[0].name == "low_blur"
        return PairList(match_pairs(*dirs, recursive=recursive), "LOL-Blur" if recursive else "plain")
    if (root / "our485").is_dir() or (root / "eval15").is_dir():
        return _pick_split(root, split, "our485", "eval15", "LOL-v1")
    if (root / "Train").is_dir() or (root / "Test").is_dir():
        return _pick_split(root, split, "Train", "Test", "LOL-v2")
    groups = _existing(root, ("Real_captured", "Synthetic"))
    if groups:
        found = PairList(layout="LOL-v2")
        for group in groups:
            found.extend(_pick_split(group, split, "Train", "Test", "LOL-v2"))
        return found
    cameras = _existing(root, ("Huawei", "Nikon"))
    if cameras:
        found = PairList(layout="LSRW")
        for camera in cameras:
            found.extend(find_pairs(camera, "all"))
        return found
    if (root / "train" / "low_blur").is_dir() or (root / "test" / "low_blur").is_dir():
        return _pick_split(root, split, "train", "test", "LOL-Blur")
    return None


def read_stem_list(path: str | Path) -> set[str]:
    """Stems listed one per line in a text file (``#`` starts a comment)."""
    path = Path(path).expanduser()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read list of file names ({exc.strerror})") from None
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def filter_pairs(pairs: list[tuple[Path, Path]], include: set[str] | None, exclude: set[str] | None) -> list:
    """Keep pairs whose low file stem is in ``include`` (if given) and not in ``exclude``."""
    kept = [p for p in pairs if (include is None or p[0].stem in include) and not (exclude and p[0].stem in exclude)]
    return kept
