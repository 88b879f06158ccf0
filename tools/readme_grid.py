"""Draw the README's before/after grid.

The photos are scikit-image's bundled sample images (public domain), darkened with lowlight's own
low-light simulation (exposure, inverse tone curve, shot and read noise), so the grid can live in the
repository; the visual check on real low-light photos (DICM) is run locally with
``lowlight benchmark --data ../shared/data/dicm --limit 6 -o dicm_report/``.

    python tools/readme_grid.py -o docs/images/before_after.jpg --model darkir_m lucentvision adaptive_gamma
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from lowlight.data.degradation import DegradationParams, apply_degradation
from lowlight.evaluation.report import labelled_cell
from lowlight.inference.pipeline import Enhancer
from lowlight.io import atomic_write_bytes, encode_image

PHOTOS = {"coffee": 0.05, "chelsea": 0.08, "astronaut": 0.04}  # name -> exposure of the simulated shot


def dark_version(clean: np.ndarray, exposure: float, seed: int) -> np.ndarray:
    params = DegradationParams(exposure=exposure, gamma=2.2, shot_noise=4e-3, read_noise=2e-3,
                               gains=(1.0, 1.0, 1.0), blur_length=1, blur_angle=0.0)  # fmt: skip
    return apply_degradation(clean, params, np.random.default_rng(seed))


def main() -> None:
    from skimage import data
    from skimage.transform import resize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--model", nargs="+", default=["darkir_m", "lucentvision", "adaptive_gamma"],
                        help="NAME or NAME=WEIGHTS")  # fmt: skip
    parser.add_argument("--width", type=int, default=300)
    args = parser.parse_args()
    enhancers = {}
    for spec in args.model:
        name, _, weights = spec.partition("=")
        enhancers[name] = Enhancer(name, weights=weights or None, device="cpu")
    rows = []
    for seed, (photo, exposure) in enumerate(PHOTOS.items()):
        clean = getattr(data, photo)().astype(np.float32) / 255
        height = round(clean.shape[0] * args.width / clean.shape[1] / 8) * 8
        clean = resize(clean, (height, args.width), anti_aliasing=True).astype(np.float32)
        low = dark_version(clean, exposure, seed)
        x = torch.from_numpy(low).permute(2, 0, 1)[None]
        cells = [labelled_cell(low, "input (simulated)")]
        cells += [labelled_cell(enhancer(x)[0].permute(1, 2, 0).numpy(), name) for name, enhancer in enhancers.items()]
        cells.append(labelled_cell(clean, "original"))
        rows.append(np.concatenate([np.asarray(c) for c in cells], axis=1))
    width = max(row.shape[1] for row in rows)
    grid = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    atomic_write_bytes(args.output, encode_image(grid.astype(np.float32) / 255, "JPEG", quality=88))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
