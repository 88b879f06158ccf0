"""Peak resident memory of `lowlight enhance` on a large photo (default 4000x3000, darkir_m).

Runs the real CLI in a child process on a synthetic dark photo and prints a table of peak RSS,
the tile size chosen and the wall time. With ``--mixed N`` it also runs a folder of N photos of mixed
sizes (up to 1920x1080, as phones and web photos come) with the tuned allocator and with glibc's
default (``LOWLIGHT_DEFAULT_MALLOC=1``), against the largest of those photos alone: a folder must not
need more than 10 % above its largest image's peak. Usage:

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
            mixed_folder_table(folder, args.mixed, args.model, extra)


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


def mixed_folder_table(folder: Path, count: int, model: str, extra: list[str]) -> None:
    """A folder of ``count`` photos cycling through MIXED_SIZES, against its largest photo alone."""
    photos = folder / "mixed"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for index in range(count):
        height, width = MIXED_SIZES[index % len(MIXED_SIZES)]
        Image.fromarray((rng.random((height, width, 3)) * 40).astype(np.uint8)).save(photos / f"p{index:02d}.jpg")
    largest = max(photos.iterdir(), key=lambda p: Image.open(p).size[0] * Image.open(p).size[1])
    print()
    print("| allocator | input | photos | peak RSS (GiB) | vs largest alone | time (s) |")
    print("|---|---|---|---|---|---|")
    for label, environment in (("tuned (default)", {}), ("glibc default", {"LOWLIGHT_DEFAULT_MALLOC": "1"})):
        single, single_seconds = run_enhance([str(largest), "-o", str(folder / f"single_{len(label)}.jpg"),
                                              "--model", model, *extra], environment)  # fmt: skip
        peak, seconds = run_enhance([str(photos), "-o", str(folder / f"out_{len(label)}"), "--model", model, *extra],
                                    environment)  # fmt: skip
        size = "x".join(map(str, Image.open(largest).size))
        print(f"| {label} | largest photo alone ({size}) | 1 | {single:.2f} | 1.00 | {single_seconds:.0f} |")
        print(f"| {label} | mixed folder | {count} | {peak:.2f} | {peak / single:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
