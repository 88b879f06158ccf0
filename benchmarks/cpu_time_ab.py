"""Interleaved CPU-time comparison of one model across source trees and ways of running it.

    python benchmarks/cpu_time_ab.py --model fsidnet \\
        old=OLD/src:nchw:eager before=HEAD/src:channels_last:eager now=src:channels_last:eager \\
        compiled=src:channels_last:compiled
    python benchmarks/cpu_time_ab.py --model darkir_m plain=src:channels_last:eager \\
        blur=src:channels_last:eager --model-args 'blur={"upsample_blur": true}'

Each variant is LABEL=SRC:LAYOUT:MODE (SRC: a ``src`` folder put first on ``PYTHONPATH``; LAYOUT: ``nchw`` or
``channels_last``; MODE: ``eager`` or ``compiled`` = ``lowlight.runtime.compile_frozen``) and runs in a fresh
process per round, rounds interleaved, so that every variant sees the same machine state. Each process builds the
model with random weights (seed 0; ``--model-args LABEL=JSON`` gives that variant constructor arguments), warms
up, and reports the median process CPU time of ``--calls`` calls: on a machine shared with other jobs CPU time
moves far less than wall time. The table gives every round and each variant's time over the first variant's in
the same round; the last column is the largest difference from the first variant's output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = r"""
import json, os, sys, time, warnings
import torch
warnings.filterwarnings("ignore")
import lowlight
from lowlight.runtime import compile_frozen, tune_malloc

tune_malloc()
torch.set_num_threads(int(os.environ["AB_THREADS"]))
torch.manual_seed(0)
height, width = (int(v) for v in os.environ["AB_SIZE"].split("x"))
model = lowlight.create_model(os.environ["AB_MODEL"], pretrained=False, **json.loads(os.environ["AB_ARGS"])).eval()
x = torch.rand(1, 3, height, width)
if os.environ["AB_LAYOUT"] == "channels_last":
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
run = compile_frozen(model, dynamic=False) if os.environ["AB_MODE"] == "compiled" else model
times = []
with torch.inference_mode():
    for _ in range(int(os.environ["AB_WARMUP"])):
        out = run(x)
    for _ in range(int(os.environ["AB_CALLS"])):
        start = time.process_time()
        run(x)
        times.append(time.process_time() - start)
torch.save(out.contiguous(), os.environ["AB_OUT"])
print(json.dumps(sorted(times)[len(times) // 2] * 1000))
"""

LAYOUTS = ("nchw", "channels_last")
MODES = ("eager", "compiled")


def parse_variant(text: str) -> tuple[str, Path, str, str]:
    try:
        label, rest = text.split("=", 1)
        src, layout, mode = rest.rsplit(":", 2)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=SRC:LAYOUT:MODE") from None
    if layout not in LAYOUTS or mode not in MODES:
        raise argparse.ArgumentTypeError(f"{text!r}: LAYOUT is one of {LAYOUTS}, MODE one of {MODES}")
    if not (Path(src) / "lowlight").is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: {src} holds no lowlight package")
    return label, Path(src).resolve(), layout, mode


def parse_model_args(items: list[str], labels: list[str], parser: argparse.ArgumentParser) -> dict[str, dict]:
    parsed = {}
    for item in items:
        label, _, text = item.partition("=")
        if label not in labels:
            parser.error(f"--model-args {item!r}: no variant is labelled {label!r}")
        try:
            parsed[label] = json.loads(text)
        except json.JSONDecodeError as exc:
            parser.error(f"--model-args {item!r}: not JSON ({exc.msg})")
        if not isinstance(parsed[label], dict):
            parser.error(f"--model-args {item!r}: expected a JSON object")
    return parsed


def run_variant(variant: tuple[str, Path, str, str], args: argparse.Namespace, out: Path) -> float:
    label, src, layout, mode = variant
    env = dict(
        os.environ,
        PYTHONPATH=str(src),
        AB_MODEL=args.model,
        AB_SIZE=args.size,
        AB_THREADS=str(args.threads),
        AB_LAYOUT=layout,
        AB_MODE=mode,
        AB_WARMUP=str(args.warmup),
        AB_CALLS=str(args.calls),
        AB_OUT=str(out),
        AB_ARGS=json.dumps(args.model_args.get(label, {})),
    )
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise SystemExit(f"variant {label} ({src}) failed: {last_line}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", type=parse_variant, help="LABEL=SRC:LAYOUT:MODE; the first is 1.00")
    parser.add_argument("--model", default="fsidnet")
    parser.add_argument("--size", default="400x600", help="HxW")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument(
        "--model-args", nargs="*", default=[], metavar="LABEL=JSON", help="constructor arguments of a variant"
    )
    args = parser.parse_args()
    args.model_args = parse_model_args(args.model_args, [variant[0] for variant in args.variants], parser)
    if args.warmup < 1 or args.calls < 1 or args.rounds < 1:
        parser.error("--warmup, --calls and --rounds must be at least 1")
    import torch

    from lowlight.device import cpu_model_and_flags

    times: dict[str, list[float]] = {variant[0]: [] for variant in args.variants}
    with tempfile.TemporaryDirectory() as folder:
        outputs = {variant[0]: Path(folder) / f"{index}.pt" for index, variant in enumerate(args.variants)}
        for round_index in range(args.rounds):
            for variant in args.variants:
                times[variant[0]].append(run_variant(variant, args, outputs[variant[0]]))
                print(f"round {round_index + 1}: {variant[0]} {times[variant[0]][-1]:.0f} CPU ms", file=sys.stderr)
        first = args.variants[0][0]
        reference = torch.load(outputs[first], weights_only=True)
        diffs = {
            label: (torch.load(path, weights_only=True) - reference).abs().max().item()
            for label, path in outputs.items()
        }
    cpu, flags = cpu_model_and_flags()
    machine = f"{cpu} ({', '.join(flags) or 'no flags found'}), torch {torch.__version__}"
    print(f"{args.model} {args.size}, {args.threads} thread(s), {machine}; CPU ms per image, median of {args.calls} "
          f"calls, {args.rounds} interleaved rounds")  # fmt: skip
    rounds = " | ".join(f"round {index + 1}" for index in range(args.rounds))
    print(f"\n| variant | {rounds} | vs {first}, by round | max abs diff |")
    print("|---" * (args.rounds + 3) + "|")
    for label, values in times.items():
        ratios = ", ".join(f"{value / base:.2f}" for value, base in zip(values, times[first], strict=True))
        cells = " | ".join(f"{value:.0f}" for value in values)
        print(f"| {label} | {cells} | {ratios} | {diffs[label]:.1e} |")


if __name__ == "__main__":
    main()
