"""CPU inference speed of lowlight models against the official DarkIR code and our own eager baseline.

Every variant runs in a fresh child process (so peak memory is its own), on the same random input,
with the same weights; the table gives the median latency, images/s, peak RSS, the speed-up over the
reference row and the largest output difference from it.

    python benchmarks/cpu_speed.py --model darkir_m --size 400x600 --official ~/ref/DarkIR
    python benchmarks/cpu_speed.py --model fsidnet --size 400x600

Variants: ``official`` (the authors' DarkIR, eager, NCHW, as shipped; needs --official, never imported by
lowlight), ``official_malloc`` (the same with the allocator setting that lowlight applies, for fairness),
``eager`` (ours, NCHW), ``channels_last`` (what ``lowlight enhance`` runs), ``compiled`` (channels_last +
torch.compile with weight freezing, as ``lowlight enhance --compile``; its first call, the compilation, is
reported separately), ``onnxruntime`` (the ``lowlight export-onnx`` graph in ONNX Runtime; the export is
reported as the first call), ``bf16`` (channels_last under CPU autocast to bfloat16; its error is the
price), ``compiled_bf16`` (both: what ``lowlight enhance --precision bf16`` runs on the CPU; freezing folds the
weights' casts to bfloat16 into constants) and ``baseline`` (our eager NCHW path from another checkout,
``--baseline-src OLD/src``: a before/after comparison in one interleaved run) and ``convolutions`` (a lower
bound, not a way to run the model: only our model's convolutions, channels_last, each on the input it gets in a
real pass, one after another; everything else a forward pass does costs on top of this). Our variants run with
``lowlight.runtime.tune_malloc`` applied, as every ``lowlight`` command does, unless --default-malloc.

Above the table: the CPU model, its ISA flags that matter (avx2, avx512f, avx512_bf16, amx), the measured
fp32 and bf16 throughput of a 2048x2048 matmul on the same threads, and the model's FLOPs at this size; each
variant's time is also given as a multiple of the fp32 floor (FLOPs / fp32 GEMM rate).

Shared machines are noisy (the same variant was seen at 894 and 1236 ms in two runs a minute apart), so
the variants run in ``--rounds`` interleaved rounds; the table gives each variant's best round and the
speed-up of every round against the reference row of the same round. It also gives the process CPU time per
image (all threads): with one thread and other jobs on the machine, CPU time moves far less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CHANNELS_LAST_VARIANTS = ("channels_last", "compiled", "bf16", "compiled_bf16", "convolutions")
COMPILED_VARIANTS = ("compiled", "compiled_bf16")
BF16_VARIANTS = ("bf16", "compiled_bf16")


def _official_model(path: Path, state: dict) -> torch.nn.Module:
    sys.path.insert(0, str(path / "archs"))
    sys.path.insert(0, str(path))
    from DarkIR import DarkIR

    model = DarkIR(width=32, enc_blk_nums=[1, 2, 3], middle_blk_num_enc=2, middle_blk_num_dec=2,
                   dec_blk_nums=[3, 1, 1], dilations=[1, 4, 9], extra_depth_wise=True)  # fmt: skip
    model.load_state_dict(state)
    return model.eval()


def run_variant(args: argparse.Namespace) -> dict:
    import lowlight
    from lowlight.runtime import compile_frozen, tune_malloc

    official = args.variant.startswith("official")
    if args.variant == "official_malloc" or (not official and not args.default_malloc):
        tune_malloc()
    torch.set_num_threads(args.threads)
    state = torch.load(args.state, weights_only=True)
    height, width = args.height, args.width
    x = torch.load(args.input, weights_only=True)
    if official:
        model = _official_model(Path(args.official).expanduser(), state)
    else:
        model = lowlight.create_model(args.model)
        model.load_state_dict(state)
        model.eval()
    first_call = None
    if args.variant == "onnxruntime":  # exported by the parent, so that peak memory is ONNX Runtime's own
        from lowlight.inference.onnx import OnnxModule

        model = OnnxModule(args.onnx_file, threads=args.threads)
        first_call = args.export_s
    if args.variant in CHANNELS_LAST_VARIANTS:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if args.variant in COMPILED_VARIANTS:
        model = compile_frozen(model, dynamic=False)
    if args.variant == "convolutions":
        model = _convolutions_alone(model, x)
    times, cpu_times = [], []
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.variant in BF16_VARIANTS)
    with torch.inference_mode(), autocast:
        for i in range(args.warmup + args.repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            out = model(x)
            out = out[-1] if isinstance(out, (tuple, list)) else out
            elapsed = time.perf_counter() - start
            if i == 0 and args.variant in COMPILED_VARIANTS:
                first_call = elapsed
            if i >= args.warmup:
                times.append(elapsed)
                cpu_times.append(time.process_time() - cpu_start)
    torch.save(out.contiguous(), args.output)
    return {
        "variant": args.variant,
        "ms": 1000 * statistics.median(times),
        "cpu_ms": 1000 * statistics.median(cpu_times),
        "first_call_s": first_call,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "size": f"{height}x{width}",
    }


def _convolutions_alone(model: torch.nn.Module, x: torch.Tensor):
    """A callable that runs only ``model``'s convolutions, each on the input it received in one real pass.

    The callable returns that pass's output, so the difference column stays meaningful.
    """
    from lowlight.evaluation.profile import record_convolution_inputs

    calls, out = record_convolution_inputs(model, x)

    def run(_x: torch.Tensor) -> torch.Tensor:
        for module, inputs in calls:
            module(inputs)
        return out

    return run


def _export_for_benchmark(model: torch.nn.Module, folder: Path) -> list[str]:
    from lowlight.inference.onnx import export_onnx

    start = time.perf_counter()
    path = export_onnx(model, folder / "model.onnx")
    return ["--onnx-file", str(path), "--export-s", str(time.perf_counter() - start)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="darkir_m")
    parser.add_argument("--size", default="400x600")
    parser.add_argument("--official", help="folder of the official DarkIR repository (for the 'official' row)")
    parser.add_argument("--variants", nargs="+", default=["eager", "channels_last", "compiled"])
    parser.add_argument("--baseline-src", help="src folder of another lowlight checkout, for the 'baseline' row")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all variants")
    parser.add_argument("--default-malloc", action="store_true", help="run our variants without tune_malloc")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--onnx-file", help=argparse.SUPPRESS)
    parser.add_argument("--export-s", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.height, args.width = (int(v) for v in args.size.lower().split("x"))
    if args.variant:
        print(json.dumps(run_variant(args)))
        return

    import lowlight

    variants = (["official", "official_malloc"] if args.official else []) + args.variants
    if args.baseline_src and "baseline" not in variants:
        variants.insert(0, "baseline")
    if "baseline" in variants and not args.baseline_src:
        parser.error("the baseline variant needs --baseline-src")
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        model = lowlight.create_model(args.model)
        for p in model.parameters():  # non-trivial weights: open DarkIR's zero-initialised gates
            if p.ndim == 4 and p.shape[0] == 1:
                torch.nn.init.uniform_(p, 0.05, 0.2)
        state_path, input_path = Path(tmp) / "state.pt", Path(tmp) / "input.pt"
        torch.save(model.state_dict(), state_path)
        torch.save(torch.rand(1, 3, args.height, args.width), input_path)
        onnx_args = _export_for_benchmark(model, Path(tmp)) if "onnxruntime" in variants else []
        rounds = [
            [_run_child(args, variant, Path(tmp), state_path, input_path, onnx_args) for variant in variants]
            for _ in range(args.rounds)
        ]
    _print_table(args, rounds)


def _run_child(
    args: argparse.Namespace, variant: str, tmp: Path, state_path: Path, input_path: Path, onnx_args: list[str]
) -> dict:
    out_path = tmp / f"{variant}.pt"
    command = [sys.executable, __file__, "--variant", variant, "--model", args.model, "--size", args.size,
               "--threads", str(args.threads), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--state", str(state_path), "--input", str(input_path), "--output", str(out_path)]  # fmt: skip
    if args.official:
        command += ["--official", args.official]
    if args.default_malloc:
        command.append("--default-malloc")
    if variant == "onnxruntime":
        command += onnx_args
    env = None
    if variant == "baseline":
        paths = [args.baseline_src, os.environ.get("PYTHONPATH")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"{variant} failed:\n{result.stderr[-2000:]}")
    row = json.loads(result.stdout.strip().splitlines()[-1])
    row["out"] = torch.load(out_path, weights_only=True)
    return row


def gemm_gflops(dtype: torch.dtype, threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Best-of-``repeats`` throughput of an n x n matmul in GFLOP/s on ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.rand(n, n).to(dtype), torch.rand(n, n).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def model_gflop(model_name: str, height: int, width: int) -> float:
    """Floating-point operations of one forward pass (2 x MACs, FFTs included), in GFLOP."""
    import lowlight
    from lowlight.evaluation.profile import count_macs

    with torch.inference_mode():
        macs, fft_macs = count_macs(lowlight.create_model(model_name).eval(), torch.rand(1, 3, height, width))
    return 2 * (macs + fft_macs) / 1e9


def machine_lines(args: argparse.Namespace) -> tuple[list[str], float]:
    """A description of the machine and the model's fp32 floor on it (ms): GFLOP / measured fp32 GEMM rate."""
    from lowlight.device import ISA_FLAGS, cpu_model_and_flags

    model, flags = cpu_model_and_flags()
    fp32 = gemm_gflops(torch.float32, args.threads)
    bf16 = gemm_gflops(torch.bfloat16, args.threads)
    gflop = model_gflop(args.model, args.height, args.width)
    floor_ms = gflop / fp32 * 1000
    lines = [
        f"CPU: {model}; ISA: {', '.join(flags) or 'none of ' + ', '.join(ISA_FLAGS)}; {args.threads} threads",
        f"2048^2 GEMM: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s; {args.model} at {args.size}: {gflop:.1f} "
        f"GFLOP, so the fp32 floor is {floor_ms:.0f} ms and the bf16 floor {gflop / bf16 * 1000:.0f} ms",
    ]
    return lines, floor_ms


def _print_table(args: argparse.Namespace, rounds: list[list[dict]]) -> None:
    lines, floor_ms = machine_lines(args)
    print("\n".join(lines))
    reference_name = rounds[0][0]["variant"]
    print(f"{args.model}, {args.size}, {args.threads} threads, best of {args.rounds} interleaved rounds, each the "
          f"median of {args.repeats} after {args.warmup} warm-up")  # fmt: skip
    print(f"| variant | ms / image | x fp32 floor | images / s | peak RSS (MB) | speed-up vs {reference_name} | "
          f"speed-up per round | CPU ms / image | CPU time vs {reference_name} | max abs diff |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    reference_cpu = min(rows[0]["cpu_ms"] for rows in rounds)
    reference_best = min(rows[0]["ms"] for rows in rounds)
    for column in range(len(rounds[0])):
        runs = [rows[column] for rows in rounds]
        best = min(runs, key=lambda row: row["ms"])
        best_cpu = min(row["cpu_ms"] for row in runs)
        per_round = ", ".join(f"{rows[0]['ms'] / rows[column]['ms']:.2f}" for rows in rounds)
        diff = (best["out"].float() - rounds[0][0]["out"].float()).abs().max().item()
        what = "export" if best["variant"] == "onnxruntime" else "first call"
        first = [row["first_call_s"] for row in runs if row["first_call_s"]]
        note = f" ({what} {first[0]:.0f} s)" if first else ""
        print(f"| {best['variant']}{note} | {best['ms']:.0f} | {best['ms'] / floor_ms:.2f} | {1000 / best['ms']:.2f} | "
              f"{best['peak_mb']:.0f} | "
              f"{reference_best / best['ms']:.2f}x | {per_round} | {best_cpu:.0f} | {best_cpu / reference_cpu:.2f} | "
              f"{diff:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
