"""``lowlight ablate``: train and score an ablation group, write its table."""

from __future__ import annotations

import argparse
from pathlib import Path

from lowlight.argtypes import image_size, positive_int


def add_ablate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ablate",
        help="train every config of an ablation group on one budget and seed list, then write one table",
        description="Train every config in GROUP (a folder of training configs with full.yaml, the unablated "
        "model) once per seed with the same overrides, score each run (LOL eval15, wild68 dark, grid figure, "
        "params, MACs, CPU latency) and write OUTPUT/table.md. Killed runs resume; scored runs are skipped.",
    )
    p.add_argument("group", type=Path, help="folder of configs, e.g. configs/ablations/fsidnet")
    p.add_argument("overrides", nargs="*", help="key=value applied to every config, e.g. steps=3000")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    p.add_argument("--output", type=Path, help="logs, results and table (default training_logs/ablations/GROUP)")
    p.add_argument("--work", type=Path, default=Path("~/runs/ablations"), help="run folders with checkpoints")
    p.add_argument("--eval15", type=Path, help="LOL eval15 folder (e.g. ../shared/data/lol-eval15)")
    p.add_argument("--wild", type=Path, help="clean photos for the wild68 dark variant (../shared/data/wild68)")
    p.add_argument("--wild-limit", type=positive_int, default=16, help="photos of the dark variant scored")
    p.add_argument("--latency-size", type=image_size, default=(400, 600), help="HxW of the MACs and latency input")
    p.add_argument("--latency-threads", type=positive_int, default=1, help="torch threads of the latency passes")
    p.add_argument(
        "--remeasure-latency",
        action="store_true",
        help="train nothing: time every scored run again in one interleaved run and rewrite the table",
    )
    p.add_argument(
        "--cache", type=Path, default=Path("~/.cache/lowlight/synthetic"), help="where synthetic pairs are written once"
    )
    p.set_defaults(handler=_run_ablate)


def _run_ablate(args: argparse.Namespace) -> int:
    from lowlight.experiments.ablation import AblationSettings, remeasure_latency, run_group

    settings = AblationSettings(
        seeds=tuple(args.seeds),
        overrides=tuple(args.overrides),
        work=args.work,
        output=args.output or Path("training_logs/ablations") / args.group.name,
        eval15=args.eval15,
        wild=args.wild,
        wild_limit=args.wild_limit,
        cache=args.cache,
        latency_size=args.latency_size,
        latency_threads=args.latency_threads,
    )
    if args.remeasure_latency:
        remeasure_latency(args.group, settings)
    else:
        run_group(args.group, settings)
    print(f"table: {settings.output / 'table.md'}")
    return 0
