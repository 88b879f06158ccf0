"""`lowlight evaluate`, `lowlight profile` and `lowlight benchmark`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from lowlight.argtypes import image_size, non_empty, non_negative_int, positive_int
from lowlight.errors import LowlightError


def add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    from lowlight.inference.cli_options import add_precision_option
    from lowlight.inference.ensemble import ENSEMBLE_SIZES

    p = subparsers.add_parser(
        "evaluate",
        help="score models on paired or unpaired folders",
        description="Score models on benchmark folders and print one comparison table with its protocol.",
    )
    p.add_argument(
        "--model",
        nargs="+",
        type=non_empty,
        required=True,
        action="extend",
        help="model names, each optionally NAME=WEIGHTS",
    )
    p.add_argument("--weights", help="weights for a single --model")
    p.add_argument("--data", nargs="+", required=True, action="extend", help="dataset folders (repeatable)")
    p.add_argument(
        "--metrics", nargs="+", action="extend", help="default: psnr ssim_skimage ssim (paired), niqe loe (unpaired)"
    )
    p.add_argument("--gt-mean", action="store_true", help="also report GT-mean-corrected scores (*_gtmean)")
    p.add_argument("--no-quantize", action="store_true", help="score float outputs instead of 8-bit-rounded ones")
    p.add_argument("--crop-border", type=non_negative_int, default=0, help="border crop for psnr_y, ssim_y and niqe")
    p.add_argument("--split", choices=["train", "test", "all"], default="test", help="split of benchmark roots")
    p.add_argument("--save-images", type=Path, help="also write the outputs under this folder")
    p.add_argument("-o", "--output", type=Path, default=Path("eval_results"), help="folder for md/json/csv files")
    p.add_argument("--device", default="auto")
    p.add_argument("--tile", type=int, default=None, help="tile size (default: whole image when it fits)")
    p.add_argument(
        "--self-ensemble", choices=list(ENSEMBLE_SIZES), default="none",
        help="average each output over flipped/rotated passes (flip: 2, x8: 8); reported in the protocol",
    )  # fmt: skip
    add_precision_option(p)
    p.add_argument("--lpips-backbone", help="torchvision alexnet/vgg16 state_dict for lpips_alex/lpips_vgg")
    p.add_argument("--lpips-heads", help="lpips v0.1 linear heads (alex.pth / vgg.pth)")
    p.add_argument("--limit", type=positive_int, help="only the first N images of each folder")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from lowlight.evaluation.evaluate import Evaluator, Protocol, open_dataset, parse_model_spec

    if args.weights and len(args.model) > 1:
        raise LowlightError("--weights goes with a single --model; use NAME=WEIGHTS for several models")
    models = [parse_model_spec(spec, args.weights) for spec in args.model]
    datasets = [open_dataset(path, args.split) for path in args.data]
    protocol = Protocol(
        quantize_8bit=not args.no_quantize,
        gt_mean=args.gt_mean,
        crop_border=args.crop_border,
        split=args.split,
        self_ensemble=args.self_ensemble,
        precision=args.precision,
    )
    evaluator = Evaluator(
        args.metrics, protocol, args.device, args.tile, args.lpips_backbone, args.lpips_heads, args.save_images,
        args.limit,
    )  # fmt: skip
    total = len(models) * sum(min(len(d.pairs), args.limit or len(d.pairs)) for d in datasets)
    with tqdm(total=total, unit="img", disable=args.quiet, file=sys.stderr) as bar:
        for name, weights in models:
            for dataset in datasets:
                bar.set_description(f"{name} on {dataset.name}")
                evaluator.run(name, weights, dataset, on_image=lambda: bar.update(1))
    print(evaluator.markdown())
    paths = evaluator.write(args.output)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def add_profile(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("profile", help="parameters, MACs (incl. FFT), latency and memory of a model")
    p.add_argument("--model", type=non_empty, required=True)
    p.add_argument("--weights", help="optional weights (speed does not depend on them)")
    p.add_argument("--size", type=image_size, default=(256, 256), help="HxW of the input (default 256x256)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=positive_int, default=5)
    p.add_argument("--warmup", type=non_negative_int, default=2)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run_profile)


def run_profile(args: argparse.Namespace) -> int:
    from lowlight.device import resolve_device
    from lowlight.evaluation.profile import profile_model
    from lowlight.registry import create_model

    model = create_model(args.model, weights=args.weights)
    result = profile_model(model, args.model, *args.size, resolve_device(args.device), args.repeats, args.warmup)
    print(json.dumps(result.as_dict(), indent=2) if args.json else result.markdown())
    return 0


def add_benchmark(subparsers: argparse._SubParsersAction) -> None:
    from lowlight.inference.ensemble import ENSEMBLE_SIZES

    p = subparsers.add_parser(
        "benchmark", help="evaluate and profile every runnable model into one markdown report with a visual grid"
    )
    p.add_argument("--data", nargs="+", action="extend", help="dataset folders")
    p.add_argument(
        "--model",
        nargs="+",
        type=non_empty,
        action="extend",
        help="NAME or NAME=WEIGHTS (default: every model that can run)",
    )
    p.add_argument(
        "--wild", type=Path, help="clean photos (e.g. ../shared/data/wild68) for the generalisation table: "
        "darkened by fixed-seed camera models (dark, dark-blur, dark-other), scored against the originals",
    )  # fmt: skip
    p.add_argument("--real", type=Path, help="real dark photos without reference (e.g. DICM): grid-artifact figure")
    p.add_argument(
        "--cache", type=Path, default=Path("~/.cache/lowlight/synthetic").expanduser(),
        help="where the synthetic pairs are written once (default ~/.cache/lowlight/synthetic)",
    )  # fmt: skip
    p.add_argument("-o", "--output", type=Path, default=Path("benchmark_report"))
    p.add_argument("--device", default="auto")
    p.add_argument("--speed-size", type=image_size, default=(400, 600), help="HxW for the speed table")
    p.add_argument("--limit", type=positive_int)
    p.add_argument(
        "--self-ensemble", choices=list(ENSEMBLE_SIZES), default="none",
        help="generalisation table only: average every model's passes over flips/turns (flip, x8) or 4-pixel "
        "translations (shift); the protocol says so",
    )  # fmt: skip
    p.set_defaults(handler=run_benchmark)


def run_benchmark(args: argparse.Namespace) -> int:
    from lowlight.evaluation.evaluate import parse_model_spec
    from lowlight.evaluation.report import build_report

    if not (args.data or args.wild or args.real):
        raise LowlightError("give --data, --wild or --real")
    models = [parse_model_spec(spec, None) for spec in args.model] if args.model else None
    if args.wild or args.real:
        _run_robustness(args, models)
    if args.data:
        report = build_report(args.data, args.output, models, args.device, args.speed_size, args.limit)
        print(report.read_text())
        print(f"wrote {report}")
    return 0


def _run_robustness(args: argparse.Namespace, models: list[tuple[str, str | None]] | None) -> None:
    from lowlight.evaluation.report import runnable_models
    from lowlight.evaluation.robustness import robustness_datasets, robustness_table, run_robustness
    from lowlight.io import atomic_write_bytes

    models = models or [(name, None) for name in runnable_models(tags=True)]
    datasets = robustness_datasets(args.wild, args.real, args.cache)
    if args.limit:
        total = len(models) * sum(min(len(d.pairs), args.limit) for d in datasets)
    else:
        total = len(models) * sum(len(d.pairs) for d in datasets)
    with tqdm(total=total, unit="img", file=sys.stderr, desc="generalisation") as bar:
        evaluator = run_robustness(
            models, datasets, args.device, args.limit, on_image=lambda: bar.update(1), self_ensemble=args.self_ensemble
        )
    table = "# Generalisation benchmark\n\n" + robustness_table(evaluator)
    print(table)
    path = args.output / "robustness.md"
    atomic_write_bytes(path, table.encode())
    evaluator.write(args.output / "robustness")
    print(f"wrote {path}")


def add_inspect_frequency(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "inspect-frequency", help="draw amplitude and phase spectra of the input and of each model stage"
    )
    p.add_argument("image", type=Path, help="an image (draws the figure) or a folder (prints the change shares)")
    p.add_argument("--model", default="fsidnet")
    p.add_argument("--weights", help="weights for --model")
    p.add_argument("-o", "--output", type=Path, help="figure to write (.png); needed for an image")
    p.add_argument("--max-side", type=positive_int, default=512, help="downscale larger images first (default 512)")
    p.set_defaults(handler=run_inspect_frequency)


def run_inspect_frequency(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from lowlight.evaluation.frequency import frequency_figure, stage_images
    from lowlight.inference.pipeline import Enhancer
    from lowlight.io import read_image, write_image

    enhancer = Enhancer(args.model, weights=args.weights, device="cpu")
    if args.image.is_dir():
        return _print_change_shares(args, enhancer.model)
    if args.output is None:
        raise LowlightError("-o FIGURE.png is needed when the input is an image")
    if args.output.resolve() == args.image.resolve():
        raise LowlightError(f"{args.output}: refusing to write the figure over the input image")
    rgb = read_image(args.image).rgb
    scale = args.max_side / max(rgb.shape[:2])
    if scale < 1:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        image = Image.fromarray(np.round(rgb * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
        rgb = np.asarray(image, dtype=np.float32) / 255
    figure = frequency_figure(stage_images(enhancer.model, rgb))
    write_image(args.output, figure)
    print(f"wrote {args.output}")
    return 0


def _print_change_shares(args: argparse.Namespace, model) -> int:
    from lowlight.evaluation.evaluate import open_dataset
    from lowlight.evaluation.frequency import stage_change_shares
    from lowlight.io import read_image

    dataset = open_dataset(args.image)
    images = [read_image(low).rgb for low, _ in dataset.pairs]
    shares = stage_change_shares(model, images)
    print(f"{args.model} on {len(images)} images of {args.image}: share of each step's change (gray, 2-D FFT)")
    print("| step | amplitude | phase |")
    print("|---|---|---|")
    for step, (amplitude, phase) in shares.items():
        print(f"| {step} | {amplitude:.3f} | {phase:.3f} |")
    return 0
