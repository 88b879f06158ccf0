"""Peak resident memory of `lowlight enhance` on a large photo (default 4000x3000, darkir_m).

Runs the real CLI in a child process on a synthetic dark photo and prints a table of peak RSS,
the tile size chosen and the wall time. Usage:

    python benchmarks/large_image_memory.py [--size 3000x4000] [--model darkir_m] [--max-memory 2]

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
        for budget in args.max_memory:
            tile = Enhancer(lowlight.create_model(args.model), device="cpu", max_memory_gb=budget).tile_size_for(
                height, width
            )
            start = time.perf_counter()
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lowlight",
                    "enhance",
                    str(folder / "photo.jpg"),
                    "-o",
                    str(folder / f"out_{budget}.jpg"),
                    "--model",
                    args.model,
                    "--max-memory",
                    str(budget),
                    "-q",
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            stderr = child.stderr.read()
            # wait4 gives this child's own peak RSS (kilobytes on Linux)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(stderr.decode(errors="replace"))
            rows.append((budget, tile or "whole", usage.ru_maxrss / 1024**2, seconds))
    print("| model | image | --max-memory (GB) | tile | peak RSS (GiB) | time (s) |")
    print("|---|---|---|---|---|---|")
    for budget, tile, peak_gib, seconds in rows:
        print(f"| {args.model} | {width}x{height} | {budget} | {tile} | {peak_gib:.2f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
