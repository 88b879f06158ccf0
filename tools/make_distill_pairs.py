"""Pairs for lattice-free self-distillation: photo crops and a model's translation-ensemble outputs for them.

    python tools/make_distill_pairs.py ../shared/data/sice-part1 ~/datasets/sice_distill \\
        --model darkir_m --weights src/lowlight/weights/darkir_m_robust.safetensors \\
        --exclude configs/splits/sice_part1_heldout.txt --count 200

A network that downsamples by 8 can draw a lattice locked to its own 8-pixel grid. Averaging its outputs
over the input moved by every offset in ``range(0, 8, step)`` (both directions; ``step`` 2 gives 16 passes)
cancels that lattice, except its period-2 components, while the picture, which moves with the input, stays.
So the average is a target the model could produce without the lattice, and everything else about it (its
brightness, colour, denoising) is the model's own. Each photo gives one crop, the one with the largest
standard deviation of grey on a 32-pixel grid of positions, because the lattice sits at strong edges.

Written as ``OUTPUT/low/STEM.png`` (the crop) and ``OUTPUT/high/STEM.png`` (the target), 8-bit, each file
written atomically; photos whose two files exist are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import torch

from lowlight.data.pairs import list_images, read_stem_list
from lowlight.errors import LowlightError
from lowlight.inference.ensemble import grid_offsets
from lowlight.inference.pipeline import build_model
from lowlight.io import read_image, write_image


def busiest_crop(rgb: np.ndarray, size: int, margin: int = 0, stride: int = 32) -> tuple[int, int]:
    """(top, left) of the ``size`` x ``size`` window of an (H, W, 3) image with the largest grey standard
    deviation, over positions on a ``stride`` grid at least ``margin`` pixels from every border."""
    height, width = rgb.shape[:2]
    if height < size + 2 * margin or width < size + 2 * margin:
        raise ValueError(f"image {height}x{width} is smaller than the crop {size} with margins {margin}")
    grey = rgb.mean(axis=2)
    tops = sorted({*range(margin, height - size - margin + 1, stride), height - size - margin})
    lefts = sorted({*range(margin, width - size - margin + 1, stride), width - size - margin})
    spread = {(t, x): float(grey[t : t + size, x : x + size].std()) for t in tops for x in lefts}
    return max(spread, key=spread.get)


def distill_target(model, rgb: np.ndarray, top: int, left: int, size: int, step: int, period: int = 8) -> np.ndarray:
    """The mean of the model's outputs over the crop ``rgb[top:top+size, left:left+size]`` when it sits at
    each (down, right) offset of ``grid_offsets(step, period)`` inside a window of the photo ``period``
    pixels larger: every pass sees real pixels of the same window size (a multiple of the period when
    ``size`` is), so only the crop's phase against the network's grid changes, not its borders or padding.
    Needs ``top, left >= period - step`` and ``period`` pixels beyond the crop's far edges."""
    image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float()[None]
    total = torch.zeros(1, 3, size, size)
    offsets = grid_offsets(step, period)
    with torch.inference_mode():
        for down, right in offsets:
            row, column = max(top - down, 0), max(left - right, 0)
            window = image[..., row : row + size + period, column : column + size + period]
            if min(top - down, left - right) < 0 or window.shape[-2:] != (size + period, size + period):
                raise ValueError(f"crop at ({top}, {left}) is too close to the border for offset {down, right}")
            total += model(window).float().clamp(0, 1)[..., down : down + size, right : right + size]
    return (total / len(offsets))[0].permute(1, 2, 0).numpy()


def write_pair(low: Path, high: Path, crop: np.ndarray, target: np.ndarray) -> None:
    """Both PNGs encoded under temporary names first, then moved into place one after the other, so a kill
    leaves at most a finished pair, never a target without its input (a dataset with unmatched files)."""
    staged = []
    for path, pixels in ((low, crop), (high, target)):
        path.parent.mkdir(parents=True, exist_ok=True)
        staged.append((write_image(path.with_name(f".{path.stem}.part.png"), pixels, image_format="PNG"), path))
    for temporary, path in staged:
        temporary.replace(path)


def chosen_photos(folder: Path, exclude: Path | None, count: int, seed: int) -> list[Path]:
    """``count`` photos of ``folder`` not listed in ``exclude``, drawn with a fixed seed (sorted)."""
    skipped = read_stem_list(exclude) if exclude else set()
    photos = [p for p in list_images(folder) if p.stem not in skipped]
    if not photos:
        raise LowlightError(f"{folder}: no photos left after the exclude list")
    return sorted(random.Random(seed).sample(photos, min(count, len(photos))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--model", default="darkir_m")
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--exclude", type=Path, help="file of stems never to use (held-out photos)")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--step", type=int, default=2, help="offset step of the ensemble (2: 16 passes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        torch.set_num_threads(args.threads)
        model = build_model(args.model, args.weights).eval()
        photos = chosen_photos(args.photos, args.exclude, args.count, args.seed)
        for number, photo in enumerate(photos, 1):
            low, high = args.output / "low" / f"{photo.stem}.png", args.output / "high" / f"{photo.stem}.png"
            if low.exists() and high.exists():
                continue
            rgb = read_image(photo).rgb
            top, left = busiest_crop(rgb, args.crop, margin=8)
            crop = np.ascontiguousarray(rgb[top : top + args.crop, left : left + args.crop])
            target = distill_target(model, rgb, top, left, args.crop, args.step)
            write_pair(low, high, crop, target)
            print(f"{number}/{len(photos)} {photo.name} crop at ({top}, {left})", flush=True)
    except (LowlightError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
