"""`lowlight train` and `lowlight export-weights`."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lowlight.errors import LowlightError


def add_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a model. Multi-process: torchrun --nproc_per_node N -m lowlight train CONFIG ...",
    )
    p.add_argument("config", type=Path, help="YAML config (see configs/)")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. steps=2000 data.batch_size=4")
    p.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from lowlight.config import load_config
    from lowlight.train.config import TrainConfig
    from lowlight.train.trainer import Trainer

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for override in args.overrides:
        if "=" not in override:
            raise LowlightError(f"{override!r}: overrides are key=value (options such as --resume go before them)")
    config = load_config(TrainConfig, args.config, args.overrides)
    trainer = Trainer(config, resume=args.resume, progress=not args.quiet)
    run_dir = trainer.fit()
    if trainer.ctx.is_main:
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in trainer.last_metrics.items())
        print(f"done: {run_dir} (step {trainer.step}{', ' + metrics if metrics else ''})")
    return 0


def add_export(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export-weights", help="write a run's weights as .safetensors with metadata")
    p.add_argument("run", type=Path, help="run folder (or a training checkpoint file)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .safetensors file")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint of the run")
    p.add_argument("--no-ema", action="store_true", help="export the raw weights even if the run kept an EMA")
    p.add_argument("--half", action="store_true", help="store float16 tensors")
    p.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from lowlight.train.export import export_weights

    if args.output.suffix != ".safetensors":
        raise LowlightError(f"{args.output}: the output must be a .safetensors file")
    metadata = export_weights(args.run, args.output, args.checkpoint, use_ema=not args.no_ema, half=args.half)
    metrics = json.loads(metadata["lowlight.val_metrics"])
    shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()) or "no validation metrics"
    print(
        f"wrote {args.output}: {metadata['lowlight.model']}, {metadata['lowlight.weights']} weights, "
        f"step {metadata['lowlight.steps']}, {shown}"
    )
    return 0
