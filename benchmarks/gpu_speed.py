"""GPU inference throughput of lowlight models: fp32 eager against fp16 / bf16 autocast, batched, up to 4K.

For every model, image size, batch size and precision the table gives the median time per batch,
megapixels per second, peak GPU memory, the speed-up over fp32 eager of the same model, size and batch,
and the largest difference from that fp32 output. Fourier transforms stay in float32 under autocast
(the models do that themselves: amplitudes reach H*W times the mean, beyond float16's range).

    python benchmarks/gpu_speed.py                                  # all shipped models, cuda
    python benchmarks/gpu_speed.py --models darkir_m --sizes 2160x3840 --batches 1 --precisions fp32 fp16
    python benchmarks/gpu_speed.py --device cpu --sizes 64x96 --batches 2 --precisions fp32 bf16   # smoke run

A configuration that runs out of memory is reported as such and the benchmark goes on. Models without
shipped weights run with random weights (speed does not depend on the weight values).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import torch

import lowlight
from lowlight.registry import pretrained_weights

PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class Row:
    model: str
    size: str
    batch: int
    precision: str
    ms: float | None = None
    megapixels_per_s: float | None = None
    peak_mb: float | None = None
    speedup: float | None = None
    max_abs_diff: float | None = None
    note: str = ""


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def time_model(
    model: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype | None, warmup: int, repeats: int
) -> tuple[float, torch.Tensor]:
    """Median seconds per call and the last output (float32), under autocast to ``dtype`` if given."""
    device = x.device
    autocast = torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)
    times = []
    with torch.inference_mode(), autocast:
        for i in range(warmup + repeats):
            _synchronize(device)
            start = time.perf_counter()
            out = model(x)
            _synchronize(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times), out.float()


def build_model(name: str, device: torch.device) -> torch.nn.Module:
    model = lowlight.create_model(name, pretrained=pretrained_weights(name) is not None)
    return model.eval().to(device, memory_format=torch.channels_last)


def benchmark_one(
    model: torch.nn.Module, name: str, size: tuple[int, int], batch: int, args: argparse.Namespace
) -> list[Row]:
    device = torch.device(args.device)
    height, width = size
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, height, width, generator=generator).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    rows, reference, reference_s = [], None, None
    for precision in args.precisions:
        row = Row(name, f"{height}x{width}", batch, precision)
        _reset_peak(device)
        try:
            seconds, out = time_model(model, x, PRECISIONS[precision], args.warmup, args.repeats)
        except torch.OutOfMemoryError:
            row.note = "out of memory"
            rows.append(row)
            continue
        row.ms = 1000 * seconds
        row.megapixels_per_s = batch * height * width / 1e6 / seconds
        row.peak_mb = _peak_mb(device)
        if reference is None and precision == "fp32":
            reference, reference_s = out, seconds
        if reference is not None:
            row.speedup = reference_s / seconds
            row.max_abs_diff = (out - reference).abs().max().item()
        rows.append(row)
    return rows


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def print_table(rows: list[Row], device: str) -> None:
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU"
    print(f"lowlight GPU benchmark on {name}, torch {torch.__version__}; median time per batch")
    print("| model | size | batch | precision | ms / batch | MP / s | peak memory (MB) | vs fp32 | max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        speedup = "-" if r.speedup is None else f"{r.speedup:.2f}x"
        cells = [r.model, r.size, str(r.batch), r.precision, r.note or _cell(r.ms, ".1f")]
        cells += [_cell(r.megapixels_per_s, ".1f"), _cell(r.peak_mb, ".0f"), speedup, _cell(r.max_abs_diff, ".1e")]
        print("| " + " | ".join(cells) + " |")


def parse_size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 2160x3840, got {text!r}") from None
    return height, width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["darkir_m", "fsidnet", "lucentvision", "zero_dce"])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(400, 600), (1080, 1920), (2160, 3840)])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--precisions", nargs="+", choices=sorted(PRECISIONS), default=["fp32", "fp16", "bf16"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here; use --device cpu for a smoke run")
    if "fp32" in args.precisions:
        args.precisions = ["fp32"] + [p for p in args.precisions if p != "fp32"]

    rows: list[Row] = []
    for name in args.models:
        model = build_model(name, torch.device(args.device))
        for size in args.sizes:
            for batch in args.batches:
                rows += benchmark_one(model, name, size, batch, args)
        del model
    print_table(rows, args.device)


if __name__ == "__main__":
    main()
