"""Where the CPU time of one inference goes: self time per operator, grouped into kinds.

    python benchmarks/cpu_profile.py --model darkir_m --size 400x600
    python benchmarks/cpu_profile.py --model fsidnet --variant compiled

Runs the model as ``lowlight enhance`` does (``channels_last``, or ``compiled`` = ``--compile``; ``eager`` =
NCHW; ``compiled_nchw`` = compiled on NCHW tensors) under ``torch.profiler`` for a few calls after a warm-up,
then prints two tables: the kinds (convolution, normalisation, FFT, elementwise, layout copies, padding,
reductions, compiled kernels, other) with their share of the total self time, and the operators that take the
most. Shares are meaningful on a busy machine; the absolute milliseconds are not (use ``cpu_speed.py`` for those).

    python benchmarks/cpu_profile.py --model darkir_m --per-convolution

times each convolution module of the channels_last model alone on the input it receives in a real pass (median
of a few calls, thread CPU time) and prints them grouped by kind and shape, with their FLOPs and GFLOP/s: which
convolutions run near the machine's GEMM rate and which are bound by memory traffic.
"""

from __future__ import annotations

import argparse
import collections
import platform
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

KINDS = (
    ("convolution", ("conv", "mkldnn_convolution", "addmm", "mm", "linear")),
    ("normalisation", ("layer_norm", "native_layer_norm", "rsqrt", "var", "mean")),
    ("FFT", ("fft",)),
    ("layout copy", ("copy_", "contiguous", "clone", "permute", "empty_like", "to", "_to_copy", "cat", "stack")),
    ("padding", ("pad", "constant_pad", "zero_", "fill_")),
    ("reduction / pooling", ("adaptive_avg_pool", "sum", "amax", "max")),
    (
        "elementwise",
        (
            "mul",
            "add",
            "sub",
            "div",
            "sqrt",
            "where",
            "leaky_relu",
            "relu",
            "sigmoid",
            "tanh",
            "clamp",
            "abs",
            "hypot",
            "atan2",
            "cos",
            "sin",
            "exp",
            "pow",
            "square",
        ),
    ),
    ("compiled kernel", ("graph_", "cpp_fused", "torch-compiled", "compiled", "inductor")),
)


def kind_of(name: str) -> str:
    """The kind of an operator name such as ``aten::mkldnn_convolution`` (first kind whose key it contains)."""
    short = name.split("::")[-1].lower()
    for kind, keys in KINDS:
        if any(short == key or short.startswith(key + "_") or key in short for key in keys):
            return kind
    return "other"


def profile_model(model_name: str, size: tuple[int, int], variant: str, threads: int, calls: int) -> list:
    import lowlight
    from lowlight.runtime import compile_frozen, tune_malloc

    tune_malloc()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = lowlight.create_model(model_name, pretrained=False).eval()
    x = torch.rand(1, 3, *size)
    if variant in ("channels_last", "compiled"):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if variant in ("compiled", "compiled_nchw"):
        model = compile_frozen(model, dynamic=False)
    with torch.inference_mode():
        for _ in range(2):
            model(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(calls):
                model(x)
    return [(e.key, e.self_cpu_time_total / calls, e.count // calls) for e in prof.key_averages()]


def convolution_rows(model_name: str, size: tuple[int, int], threads: int, calls: int) -> list[tuple]:
    """(kind and shape, modules, ms, GFLOP) per convolution shape of the channels_last model, slowest first."""
    import lowlight
    from lowlight.evaluation.profile import record_convolution_inputs
    from lowlight.runtime import tune_malloc

    tune_malloc()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = lowlight.create_model(model_name, pretrained=False).eval().to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, *size).contiguous(memory_format=torch.channels_last)
    convolutions, _ = record_convolution_inputs(model, x)
    recorded = [(module, x) for module, x in convolutions if not isinstance(module, torch.nn.ConvTranspose2d)]
    with torch.inference_mode():
        groups: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])
        for module, x in recorded:
            times = []
            for _ in range(calls + 1):
                start = time.thread_time()
                out = module(x)
                times.append(time.thread_time() - start)
            row = groups[_convolution_label(module, x)]
            row[0] += 1
            row[1] += 1000 * statistics.median(times[1:])
            row[2] += 2 * out.numel() * module.weight[0].numel() / 1e9
    return sorted(((label, *row) for label, row in groups.items()), key=lambda row: -row[2])


def _convolution_label(module: torch.nn.Conv2d, x: torch.Tensor) -> str:
    k, dilation, groups = module.kernel_size[0], module.dilation[0], module.groups
    kind = "depthwise" if groups == module.in_channels > 1 else f"grouped /{groups}" if groups > 1 else "dense"
    return (f"{kind} {k}x{k}" + (f" dil {dilation}" if dilation > 1 else "")
            + f" {module.in_channels}->{module.out_channels} at {x.shape[-2]}x{x.shape[-1]}")  # fmt: skip


def print_convolutions(args: argparse.Namespace, size: tuple[int, int]) -> None:
    rows = convolution_rows(args.model, size, args.threads, args.calls)
    total_ms, total_gflop = sum(row[2] for row in rows), sum(row[3] for row in rows)
    print(f"{args.model} convolutions, channels_last, {args.size}, {args.threads} threads, torch {torch.__version__}; "
          f"{total_ms:.0f} ms, {total_gflop:.1f} GFLOP in all")  # fmt: skip
    print("\n| convolution | modules | ms | share of time | GFLOP | share of FLOPs | GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for label, count, ms, gflop in rows:
        rate = gflop / ms * 1000 if ms else 0.0
        print(f"| {label} | {count} | {ms:.1f} | {100 * ms / total_ms:.1f} % | {gflop:.2f} | "
              f"{100 * gflop / total_gflop:.1f} % | {rate:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="darkir_m")
    parser.add_argument("--size", default="400x600")
    parser.add_argument(
        "--variant", choices=("eager", "channels_last", "compiled", "compiled_nchw"), default="channels_last"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--per-convolution", action="store_true", help="time each convolution alone instead")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    if args.per_convolution:
        print_convolutions(args, (height, width))
        return
    rows = profile_model(args.model, (height, width), args.variant, args.threads, args.calls)
    total = sum(ms for _, ms, _ in rows) or 1.0
    by_kind: dict[str, float] = collections.defaultdict(float)
    for name, us, _ in rows:
        by_kind[kind_of(name)] += us
    print(f"{args.model} {args.variant} {args.size}, {args.threads} threads, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}; self CPU time per call {total / 1000:.0f} ms")  # fmt: skip
    print("\n| kind | ms / call | share |\n|---|---|---|")
    for kind, us in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"| {kind} | {us / 1000:.1f} | {100 * us / total:.1f} % |")
    print("\n| operator | kind | calls | ms / call | share |\n|---|---|---|---|---|")
    for name, us, count in sorted(rows, key=lambda row: -row[1])[: args.top]:
        print(f"| {name} | {kind_of(name)} | {count} | {us / 1000:.1f} | {100 * us / total:.1f} % |")


if __name__ == "__main__":
    main()
