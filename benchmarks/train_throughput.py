"""Training throughput (images/s) of a model at a crop size on this machine, as a table.

Times full optimizer steps (forward with the side output, DarkIR's loss without VGG, backward,
AdamW) on random data, after warm-up steps. Compare rows measured in one run: machines are noisy.

    python benchmarks/train_throughput.py --model darkir_m --crop 256 --batch 1 2 4 [--channels-last] [--compile]
"""

from __future__ import annotations

import argparse
import time

import torch

import lowlight
from lowlight.losses import CombinedLoss


def steps_per_second(model, loss, batch: int, crop: int, steps: int, warmup: int, channels_last: bool) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    low, high = torch.rand(batch, 3, crop, crop), torch.rand(batch, 3, crop, crop)
    if channels_last:
        low, high = (t.contiguous(memory_format=torch.channels_last) for t in (low, high))
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        side, out = model(low, side_loss=True)
        total, _ = loss(out, high, side)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="darkir_m")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--channels-last", action="store_true", help="also time channels_last memory format")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow first steps)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    variants = [("eager", False, False)]
    if args.channels_last:
        variants.append(("channels_last", True, False))
    if args.compile:
        variants.append(("compiled", False, True))
    loss = CombinedLoss({"l1": 1.0, "edge": 50.0, "side.l1": 0.8})
    print(f"{args.model}, {args.crop}x{args.crop} crops, {torch.get_num_threads()} threads, {args.steps} timed steps")
    print("| variant | batch | steps/s | images/s |")
    print("|---|---|---|---|")
    for name, channels_last, compiled in variants:
        for batch in args.batch:
            torch.manual_seed(0)
            model = lowlight.create_model(args.model).train()
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            if compiled:
                model = torch.compile(model)
            rate = steps_per_second(model, loss, batch, args.crop, args.steps, args.warmup, channels_last)
            print(f"| {name} | {batch} | {rate:.3f} | {rate * batch:.2f} |", flush=True)


if __name__ == "__main__":
    main()
