"""Command line: ``lowlight enhance | list-models | train | evaluate | serve | ...``.

Errors meant for the user (:class:`~lowlight.errors.LowlightError`) are printed on one line with
no traceback; the exit code is 0 on success, 1 when some input failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lowlight._version import __version__
from lowlight.argtypes import finite_float, non_empty, non_negative_int, positive_int
from lowlight.errors import LowlightError
from lowlight.evaluation.cli import add_benchmark, add_evaluate, add_inspect_frequency, add_profile
from lowlight.experiments.cli import add_ablate
from lowlight.runtime import tune_malloc
from lowlight.train.cli import add_export, add_train
from lowlight.web.cli import add_serve


def _add_enhance(subparsers: argparse._SubParsersAction) -> None:
    from lowlight.inference.cli_options import add_resource_options
    from lowlight.inference.ensemble import ENSEMBLE_SIZES
    from lowlight.inference.pipeline import DEFAULT_TILE_OVERLAP
    from lowlight.inference.video import DEFAULT_TEMPORAL_SMOOTHING

    p = subparsers.add_parser(
        "enhance",
        help="enhance image files, folders or globs",
        description="Enhance low-light images. Outputs never replace inputs; existing outputs are skipped "
        "unless --overwrite is given; every file is written atomically.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        help="output folder (or output file when there is a single input file)",
    )
    p.add_argument("-r", "--recursive", action="store_true", help="look for images in subfolders too")
    p.add_argument("-m", "--model", type=non_empty, default=None, help="model name (see `lowlight list-models`)")
    p.add_argument("-w", "--weights", type=Path, default=None, help="checkpoint for --model")
    add_resource_options(p)
    p.add_argument("--half", action="store_true", help="float16 convolutions on GPU (Fourier parts stay float32)")
    p.add_argument(
        "--backend",
        choices=("torch", "onnxruntime"),
        default="torch",
        help="torch (default) or onnxruntime (CPU; exports the model once into ~/.cache/lowlight, or runs --onnx)",
    )
    p.add_argument("--onnx", type=Path, default=None, help="with --backend onnxruntime: a `lowlight export-onnx` file")
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch backend: torch.compile the model (about 25 %% faster for darkir_m on CPU once compiled; "
        "the first image, and the first of a second size, compile for a minute or more); pays off for many "
        "images of one size and for videos",
    )
    p.add_argument(
        "--self-ensemble",
        choices=list(ENSEMBLE_SIZES),
        default="none",
        help="average over flipped/rotated passes: flip (2x the time) or x8 (8x), often a little cleaner; or "
        "shift (4x): passes moved by 4 px, which cancels most of a grid pattern locked to the network",
    )
    p.add_argument("--suffix", default="", help="appended to output file names, e.g. _enhanced")
    p.add_argument(
        "--format",
        dest="image_format",
        default=None,
        help="output format: png, jpg, webp, tif, bmp (default: same as the input)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument(
        "--tile-overlap",
        type=non_negative_int,
        default=DEFAULT_TILE_OVERLAP,
        help=f"overlap of neighbouring tiles in pixels (default {DEFAULT_TILE_OVERLAP})",
    )
    p.add_argument(
        "--exposure", type=finite_float(-4.0, 4.0), default=0.0,
        help="brightness of the result in EV stops, -4..4, for every model (0 = the model's own choice; "
        "highlights roll off instead of clipping)",
    )  # fmt: skip
    p.add_argument(
        "--target-exposure", type=finite_float(0.0, 1.0, inclusive=False),
        help="pick the brightness per image so the mean level reaches this (0-1), for every model",
    )  # fmt: skip
    curves = p.add_argument_group("curve models (zero_dce, zero_dce_pp, lucentvision)")
    curves.add_argument(
        "--strength", type=finite_float(0.0, 3.0), help="curve strength: 1 as trained, lower darker, higher brighter"
    )
    curves.add_argument(
        "--zero-shot-steps",
        type=non_negative_int,
        default=0,
        help="fine-tune the model on each image for N steps before enhancing it (default model: lucentvision)",
    )
    video = p.add_argument_group("video (.mp4, .mov, .mkv, .avi, .webm; needs PyAV)")
    video.add_argument("--batch-size", type=positive_int, default=4, help="frames per forward pass (default 4)")
    video.add_argument(
        "--temporal-smoothing",
        type=finite_float(0.0, 1.0),
        default=DEFAULT_TEMPORAL_SMOOTHING,
        help="0-1: make each frame's mean brightness follow a moving average, against flicker (0 = off)",
    )
    p.add_argument(
        "--shard",
        help="process only shard K of N (K/N), e.g. one per machine; under torchrun RANK/WORLD_SIZE are used",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=_run_enhance)


def _enhance_options(args: argparse.Namespace):
    """The one place CLI flags become :class:`~lowlight.inference.options.EnhanceOptions`."""
    from lowlight.inference.options import EnhanceOptions

    return EnhanceOptions(
        model=args.model,
        weights=args.weights,
        device=args.device,
        half=args.half,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        max_memory_gb=args.max_memory,
        strength=args.strength,
        target_exposure=args.target_exposure,
        exposure=args.exposure,
        zero_shot_steps=args.zero_shot_steps,
        backend=args.backend,
        onnx_file=args.onnx,
        compile_model=args.compile,
        self_ensemble=args.self_ensemble,
        precision=args.precision,
    )


def _run_enhance(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tqdm import tqdm

    from lowlight.inference.batch import (
        plan_jobs,
        printable,
        run_jobs,
        shard_device,
        shard_from_environment,
        shard_jobs,
    )
    from lowlight.inference.video import is_video_path
    from lowlight.io import format_for_suffix
    from lowlight.registry import model_info, pretrained_weights

    output: Path = args.output
    videos = [Path(spec) for spec in args.inputs if is_video_path(spec)]
    if videos:
        if len(videos) != len(args.inputs):
            raise LowlightError("give videos and images in separate calls")
        return _run_enhance_videos(args, videos)
    plan = plan_jobs(args.inputs, output, recursive=args.recursive, suffix=args.suffix, image_format=args.image_format)
    for problem in plan.problems:
        print(f"lowlight: {printable(problem)}", file=sys.stderr)
    if not plan.jobs:
        print("lowlight: nothing to enhance", file=sys.stderr)
        return 1
    if format_for_suffix(output) is not None and len(plan.jobs) > 1:
        raise LowlightError(f"-o {output} looks like a file name but {len(plan.jobs)} images were found; give a folder")
    _check_writable(plan.jobs[0].target.parent)
    shard, shards = shard_from_environment(args.shard)
    jobs = shard_jobs(plan.jobs, shard, shards) if shards > 1 else plan.jobs
    prefix = f"[shard {shard}/{shards}] " if shards > 1 else ""
    options = _enhance_options(args)
    enhancer = replace(options, device=shard_device(options.device, shard, shards)).enhancer()
    info = model_info(enhancer.name)
    origin = (
        f"weights {args.weights}"
        if args.weights
        else "shipped weights"
        if pretrained_weights(info.name)
        else "classical baseline, no weights needed"
        if not info.learned
        else "no weights: trained from scratch on each image"
    )
    if args.zero_shot_steps:
        origin += f", adapted to each image for {args.zero_shot_steps} zero-reference steps"
    print(f"lowlight: {prefix}model {info.name} ({origin}) on {enhancer.device}", file=sys.stderr)

    overall = tqdm(total=len(jobs), unit="img", disable=args.quiet or shard > 0, desc="images", position=0)
    tiles = None

    def on_tile(done: int, total: int) -> None:
        nonlocal tiles
        if total == 1 or args.quiet:
            return
        if done == 1:
            tiles = tqdm(total=total, unit="tile", desc="  tiles", position=1, leave=False)
        if tiles is not None:
            tiles.update(1)
            if done == total:
                tiles.close()
                tiles = None

    def on_image(job) -> None:
        overall.set_postfix_str(job.source.name)
        overall.update(1)

    summary = run_jobs(
        jobs,
        enhancer,
        overwrite=args.overwrite,
        quality=args.quality,
        max_pixels=int(args.max_pixels * 1e6),
        report=tqdm.write,
        on_image=on_image,
        on_tile=on_tile,
    )
    overall.close()
    failed = summary.failed + len(plan.problems)
    print(
        f"lowlight: {prefix}{summary.line()}"
        + (f", {len(plan.problems)} input problem(s)" if plan.problems else "")
        + f"; model {info.name}",
        file=sys.stderr,
    )
    return 1 if failed else 0


def _run_enhance_videos(args: argparse.Namespace, videos: list[Path]) -> int:
    from tqdm import tqdm

    from lowlight.inference.batch import printable
    from lowlight.inference.video import enhance_videos

    bars: dict[Path, tqdm] = {}

    def on_frame(source: Path, done: int, total: int) -> None:
        bar = bars.setdefault(source, tqdm(unit="frame", desc=source.name, disable=args.quiet))
        bar.total = total or None
        bar.update(done - bar.n)

    def report(line: str) -> None:
        for bar in bars.values():
            bar.close()
        print(printable(f"lowlight: {line}"), file=sys.stderr)

    failed = enhance_videos(
        videos,
        args.output,
        _enhance_options(args),
        suffix=args.suffix,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        smoothing=args.temporal_smoothing,
        report=report,
        on_frame=on_frame,
    )
    return 1 if failed else 0


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LowlightError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise LowlightError(f"{folder}: output path exists and is not a folder")

    if not os.access(folder, os.W_OK):
        raise LowlightError(f"{folder}: output folder is not writable")


def _add_list_models(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("list-models", help="list the registered models")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'darkir*'")
    p.set_defaults(handler=_run_list_models)


def _run_list_models(args: argparse.Namespace) -> int:
    from lowlight.registry import create_model, list_models, model_info, shipped_weights

    rows = [("name", "params", "task", "weights (* default; NAME.TAG)", "description")]
    for name in list_models(args.pattern):
        info = model_info(name)
        params = sum(p.numel() for p in create_model(name).parameters())
        tags = [entry.tag + ("*" if entry.default else "") for entry in shipped_weights() if entry.model == name]
        shipped = ", ".join(tags) if tags else ("not needed" if not info.learned else "no")
        rows.append((name, f"{params:,}", info.task, shipped, info.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _add_export_onnx(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export-onnx",
        help="export a model to ONNX with dynamic batch, height and width",
        description="Export a model to ONNX (opset 20, dynamo exporter) with dynamic batch, height and width, "
        "then check it against PyTorch with ONNX Runtime on random inputs of several sizes, odd ones included. "
        "Run it with `lowlight enhance --backend onnxruntime --onnx FILE` or any ONNX Runtime; create sessions "
        "with enable_mem_reuse = False (see the README).",
    )
    p.add_argument("--model", type=non_empty, required=True, help="model name (see `lowlight list-models`)")
    p.add_argument("-w", "--weights", type=Path, default=None, help="checkpoint (default: the shipped weights)")
    p.add_argument("-o", "--output", required=True, type=Path, help="the .onnx file to write")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime vs PyTorch check")
    p.set_defaults(handler=_run_export_onnx)


def _run_export_onnx(args: argparse.Namespace) -> int:
    from lowlight.inference.onnx import export_onnx, onnx_tolerance, verify_onnx
    from lowlight.inference.pipeline import build_model

    if args.output.suffix.lower() != ".onnx":
        raise LowlightError(f"{args.output}: the output file name must end in .onnx")
    if args.output.exists() and not args.overwrite:
        raise LowlightError(f"{args.output} exists (use --overwrite to replace it)")
    model = build_model(args.model, args.weights)
    metadata = {"model": args.model, "weights": str(args.weights) if args.weights else "shipped"}
    print(f"lowlight: exporting {args.model} to {args.output} ...", file=sys.stderr)
    export_onnx(model, args.output, metadata=metadata)
    if not args.no_verify:
        results = verify_onnx(model, args.output)
        sizes = ", ".join(f"{r.height}x{r.width}: {r.max_abs_diff:.1e}" for r in results)
        print(f"lowlight: ONNX Runtime matches PyTorch (max abs diff {sizes}; tolerance "
              f"{onnx_tolerance(model):.0e})", file=sys.stderr)  # fmt: skip
    print(f"lowlight: wrote {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lowlight", description="Low-light image enhancement and restoration.")
    parser.add_argument("--version", action="version", version=f"lowlight {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_enhance(subparsers)
    _add_list_models(subparsers)
    add_train(subparsers)
    add_export(subparsers)
    _add_export_onnx(subparsers)
    add_evaluate(subparsers)
    add_profile(subparsers)
    add_benchmark(subparsers)
    add_inspect_frequency(subparsers)
    add_serve(subparsers)
    add_ablate(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    tune_malloc()
    try:
        return args.handler(args)
    except LowlightError as exc:
        from lowlight.inference.batch import printable

        print(f"lowlight: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lowlight: interrupted; finished outputs are complete, none is half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
