"""Peak resident memory of `lowlight enhance` on a large photo (default 4000x3000, darkir_m).

Runs the real CLI in a child process on a synthetic dark photo and prints a table of peak RSS,
the tile size chosen and the wall time. With ``--mixed N`` it also runs a folder of N photos of mixed
sizes (up to 1920x1080, as phones and web photos come) with the tuned allocator and with glibc's
default (``LOWLIGHT_DEFAULT_MALLOC=1``), against the worst of those photos alone (each size run once): a folder must not
need more than 10 % above the peak of its worst image alone. Usage:

    python benchmarks/large_image_memory.py [--size 3000x4000] [--model darkir_m] [--max-memory 2] [--mixed 16]

Learned models without shipped weights get random weights written to a temporary file
(memory does not depend on the weight values).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from safetensors.torch import save_file

import lowlight
from lowlight.inference.pipeline import Enhancer
from lowlight.registry import model_info, pretrained_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3000x4000", help="HxW")
    parser.add_argument("--model", default="darkir_m")
    parser.add_argument("--max-memory", type=float, nargs="+", default=[2.0])
    parser.add_argument("--mixed", type=int, default=0, help="also run a folder of this many mixed-size photos")
    parser.add_argument("--skip-large", action="store_true", help="only the mixed-size case")
    parser.add_argument("--allocators", nargs="+", choices=["tuned", "glibc"], default=["tuned", "glibc"])
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        photo = (rng.random((height, width, 3)) * 40).astype(np.uint8)
        Image.fromarray(photo).save(folder / "photo.jpg", quality=90)
        del photo
        extra: list[str] = []
        if model_info(args.model).learned and pretrained_weights(args.model) is None:
            save_file(lowlight.create_model(args.model).state_dict(), str(folder / "w.safetensors"))
            extra = ["--weights", str(folder / "w.safetensors")]
        rows = []
        for budget in [] if args.skip_large else args.max_memory:
            tile = Enhancer(lowlight.create_model(args.model), device="cpu", max_memory_gb=budget).tile_size_for(
                height, width
            )
            arguments = [
                str(folder / "photo.jpg"),
                "-o",
                str(folder / f"out_{budget}.jpg"),
                "--max-memory",
                str(budget),
            ]
            peak_gib, seconds = run_enhance([*arguments, "--model", args.model, *extra])
            rows.append((budget, tile or "whole", peak_gib, seconds))
        if rows:
            print("| model | image | --max-memory (GB) | tile | peak RSS (GiB) | time (s) |")
            print("|---|---|---|---|---|---|")
        for budget, tile, peak_gib, seconds in rows:
            print(f"| {args.model} | {width}x{height} | {budget} | {tile} | {peak_gib:.2f} | {seconds:.0f} |")
        if args.mixed:
            mixed_folder_table(folder, args.mixed, args.model, extra, args.allocators)


ALLOCATORS = {"tuned": {}, "glibc": {"LOWLIGHT_DEFAULT_MALLOC": "1"}}
MIXED_SIZES = [(1080, 1920), (480, 640), (720, 1280), (1080, 1440), (600, 400), (768, 1024), (1920, 1080), (900, 1600)]


def run_enhance(arguments: list[str], environment: dict[str, str] | None = None) -> tuple[float, float]:
    """Run `lowlight enhance` in a child process: (its peak RSS in GiB, wall seconds)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "lowlight", "enhance", *arguments, "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(environment or {})},
    )
    stderr = child.stderr.read()
    # wait4 gives this child's own peak RSS (kilobytes on Linux)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(stderr.decode(errors="replace"))
    return usage.ru_maxrss / 1024**2, seconds


def mixed_folder_table(folder: Path, count: int, model: str, extra: list[str], allocators: list[str]) -> None:
    """A folder of ``count`` photos cycling through MIXED_SIZES, against the worst of its photos alone.

    The reference is the highest peak of any single photo of the folder run alone (each distinct size once):
    a landscape and a portrait photo of the same area need different amounts of memory.
    """
    photos = folder / "mixed"
    photos.mkdir()
    rng = np.random.default_rng(1)
    first_of_size: dict[tuple[int, int], Path] = {}
    for index in range(count):
        height, width = MIXED_SIZES[index % len(MIXED_SIZES)]
        path = photos / f"p{index:02d}.jpg"
        Image.fromarray((rng.random((height, width, 3)) * 40).astype(np.uint8)).save(path)
        first_of_size.setdefault((height, width), path)
    print()
    print("| allocator | input | photos | peak RSS (GiB) | vs worst photo alone | time (s) |")
    print("|---|---|---|---|---|---|")
    for label in allocators:
        environment = ALLOCATORS[label]
        singles = {}
        for (height, width), path in first_of_size.items():
            target = folder / f"single_{label}_{height}x{width}.jpg"
            arguments = [str(path), "-o", str(target), "--model", model, *extra]
            singles[(height, width)] = run_enhance(arguments, environment)
        worst = max(singles, key=lambda size: singles[size][0])
        peak, seconds = run_enhance([str(photos), "-o", str(folder / f"out_{label}"), "--model", model, *extra],
                                    environment)  # fmt: skip
        for (height, width), (single, single_seconds) in sorted(singles.items(), key=lambda kv: -kv[1][0]):
            mark = " (worst)" if (height, width) == worst else ""
            print(f"| {label} | {width}x{height} alone{mark} | 1 | {single:.2f} | "
                  f"{single / singles[worst][0]:.2f} | {single_seconds:.0f} |")  # fmt: skip
        print(f"| {label} | mixed folder | {count} | {peak:.2f} | {peak / singles[worst][0]:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
