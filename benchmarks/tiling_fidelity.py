"""How much does tiling change a model's output? PSNR of tiled vs whole-image output.

DarkIR's Fourier blocks see the whole image, so tiles change the result. This script enhances
every image of a folder (default: LOL eval15 low, 600x400) whole and tiled with several tile
sizes and overlaps, and prints the mean PSNR (dB, RGB, [0, 1]) of tiled vs whole output, and,
when a ground-truth folder exists beside it, the PSNR of each against the ground truth.

    python benchmarks/tiling_fidelity.py --model darkir_m --weights W.safetensors
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from lowlight.inference.pipeline import Enhancer
from lowlight.inference.tiling import tiled_apply
from lowlight.io import read_image


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="darkir_m")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/lol-eval15")
    parser.add_argument("--tiles", default="128:32,192:32,256:32,256:64,384:64,384:96")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    args = parser.parse_args()

    enhancer = Enhancer(args.model, weights=args.weights, device="cpu", tile=0)
    settings = [tuple(int(v) for v in item.split(":")) for item in args.tiles.split(",")]
    low_dir = args.data / "low" if (args.data / "low").is_dir() else args.data
    high_dir = args.data / "high"
    paths = sorted(p for p in low_dir.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if args.limit:
        paths = paths[: args.limit]
    align = int(getattr(enhancer.model, "pad_multiple", 1))

    vs_whole = {s: [] for s in settings}
    vs_gt = {s: [] for s in [None, *settings]}
    with torch.inference_mode():
        for path in paths:
            x = torch.from_numpy(read_image(path).rgb).permute(2, 0, 1)[None]
            whole = enhancer(x)
            gt = None
            if (high_dir / path.name).is_file():
                gt = torch.from_numpy(read_image(high_dir / path.name).rgb).permute(2, 0, 1)[None]
                vs_gt[None].append(psnr(whole, gt))
            for tile, overlap in settings:
                tiled = tiled_apply(enhancer._run_model, x, tile, overlap, align=align).clamp(0, 1)
                vs_whole[(tile, overlap)].append(psnr(tiled, whole))
                if gt is not None:
                    vs_gt[(tile, overlap)].append(psnr(tiled, gt))

    size = f"{x.shape[-1]}x{x.shape[-2]}"
    print(f"model {args.model}, weights {args.weights}, {len(paths)} images of {size} from {low_dir}")
    print("| tile | overlap | PSNR tiled vs whole (dB) | PSNR vs GT (dB) |")
    print("|---|---|---|---|")
    if vs_gt[None]:
        print(f"| whole image | - | - | {np.mean(vs_gt[None]):.2f} |")
    for setting in settings:
        gt_text = f"{np.mean(vs_gt[setting]):.2f}" if vs_gt[setting] else "-"
        print(f"| {setting[0]} | {setting[1]} | {np.mean(vs_whole[setting]):.2f} | {gt_text} |")


if __name__ == "__main__":
    main()
