"""Train every config of an ablation group on the same budget and seeds, score each run, write one table.

A group is a folder of training configs; ``full.yaml`` (the unablated model) comes first and is the row the
others are compared with. Every (config, seed) run trains with ``name=<config>_s<seed>``, ``seed=<seed>`` and
the shared overrides (e.g. ``steps=3000``) into ``WORK/runs``, resumes from its last checkpoint after a kill,
and once scored leaves ``result.json`` beside its logs in ``OUTPUT/<run>/``, so a re-run skips it. Scores:
LOL eval15 PSNR / SSIM, the wild68 *dark* variant of the generalisation benchmark (PSNR, SSIM, grid-artifact
figure), parameters, MACs and CPU latency at 400x600 (``latency_size``; :func:`remeasure_latency` times all
runs again in one interleaved run, so that rows trained beside other jobs compare fairly). The table gives
each metric's mean over seeds with the spread (max - min); a difference from ``full`` is starred when it is
larger than both rows' spreads.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lowlight.config import load_config
from lowlight.device import cpu_model_and_flags
from lowlight.errors import LowlightError
from lowlight.evaluation.evaluate import Evaluator, Protocol, open_dataset
from lowlight.evaluation.profile import count_macs, measure_latency
from lowlight.evaluation.robustness import make_synthetic_pairs
from lowlight.io import atomic_write_bytes
from lowlight.registry import create_model
from lowlight.train.config import TrainConfig
from lowlight.train.export import export_weights
from lowlight.train.trainer import Trainer

BASELINE = "full"
KEPT_LOGS = ("config.yaml", "train_log.csv", "val_log.csv")
COLUMNS = {
    "eval15_psnr": ("eval15 PSNR", "{:.2f}"),
    "eval15_ssim": ("SSIM", "{:.3f}"),
    "wild_psnr": ("wild68 dark PSNR", "{:.2f}"),
    "wild_ssim": ("SSIM", "{:.3f}"),
    "wild_grid_db": ("grid dB", "{:+.2f}"),
}


@dataclass(frozen=True)
class AblationSettings:
    """What every run of a group shares.

    seeds: training seeds (each config runs once per seed).
    overrides: ``key=value`` training overrides applied to every config (the common budget).
    work: folder for run folders with checkpoints (not committed).
    output: folder for the logs, per-run results and the table (committed, e.g. ``training_logs/ablations/X``).
    eval15: LOL eval15 folder (None: skipped); wild: clean photos for the *dark* variant (None: skipped).
    wild_limit: photos of the *dark* variant scored; latency_size: (H, W) of the latency and MACs input;
    latency_threads: torch threads of the latency passes (1: one core, so a busy second core matters less).
    cache: where the synthetic pairs are written once (shared with ``lowlight benchmark``).
    """

    seeds: tuple[int, ...] = (0, 1)
    overrides: tuple[str, ...] = ()
    work: Path = Path("~/runs/ablations")
    output: Path = Path("training_logs/ablations")
    eval15: Path | None = None
    wild: Path | None = None
    wild_limit: int = 16
    latency_size: tuple[int, int] = (400, 600)
    latency_threads: int = 1
    cache: Path = Path("~/.cache/lowlight/synthetic")


@dataclass
class RunResult:
    config: str
    seed: int
    model: str
    params: int
    macs: int
    latency_ms: float
    scores: dict[str, float] = field(default_factory=dict)
    latency_size: tuple[int, int] = (400, 600)  # results written before this field existed used 400x600
    latency_cpu: str = ""  # CPU model name of the latency measurement
    latency_threads: int | None = None  # None: not recorded (runs scored before it was)
    latency_interleaved: bool = False  # timed with every other run of its group in one interleaved run

    def __post_init__(self) -> None:
        self.latency_size = tuple(self.latency_size)  # a list when read back from JSON


def group_configs(folder: Path) -> list[Path]:
    """The group's configs, ``full.yaml`` first."""
    configs = sorted(Path(folder).glob("*.yaml"))
    if not configs:
        raise LowlightError(f"{folder}: no .yaml training configs in this ablation group")
    if not any(c.stem == BASELINE for c in configs):
        raise LowlightError(f"{folder}: an ablation group needs {BASELINE}.yaml, the unablated model")
    return sorted(configs, key=lambda c: (c.stem != BASELINE, c.stem))


def run_group(
    folder: Path, settings: AblationSettings, report: Callable[[str], None] = print, device: str = "cpu"
) -> list[RunResult]:
    """Train and score every (config, seed) of the group that has no result yet; returns all results."""
    configs = group_configs(folder)
    output = settings.output.expanduser()
    results = []
    # Seed by seed, so that a group stopped part-way already has one run of every config, and the table is
    # rewritten after every run.
    for seed in settings.seeds:
        for config_path in configs:
            results.append(_run_one(config_path, seed, settings, output, report, device))
            write_table(_by_config(results, configs), output, folder, settings)
    return _by_config(results, configs)


def _by_config(results: list[RunResult], configs: list[Path]) -> list[RunResult]:
    order = {c.stem: i for i, c in enumerate(configs)}
    return sorted(results, key=lambda r: (order.get(r.config, len(order)), r.seed))


def _run_one(
    config_path: Path, seed: int, settings: AblationSettings, output: Path, report: Callable[[str], None], device: str
) -> RunResult:
    name = f"{config_path.stem}_s{seed}"
    result_file = output / name / "result.json"
    if result_file.exists():
        kept = RunResult(**json.loads(result_file.read_text()))
        if kept.latency_size != tuple(settings.latency_size):
            size = "x".join(map(str, kept.latency_size))
            raise LowlightError(
                f"{result_file}: MACs and latency were measured at {size}; rerun with --latency-size {size}, "
                "or time every scored run at the new size first with --remeasure-latency"
            )
        report(f"{name}: done before, result kept")
        return kept
    work = settings.work.expanduser() / "runs" / config_path.parent.name  # groups share config names (full)
    overrides = [*settings.overrides, f"name={name}", f"seed={seed}", f"output_dir={work}"]
    config = load_config(TrainConfig, config_path, overrides)
    resume = (work / name / "checkpoints" / "last.pt").exists()
    report(f"{name}: {'resuming' if resume else 'training'} ({config.steps} steps)")
    run_dir = Trainer(config, resume=resume, progress=False).fit()
    weights = run_dir / "weights.safetensors"
    export_weights(run_dir, weights, "last")
    result = score_run(config.model.name, weights, settings, device)
    result.config, result.seed = config_path.stem, seed
    (output / name).mkdir(parents=True, exist_ok=True)
    for log in KEPT_LOGS:
        if (run_dir / log).exists():
            shutil.copyfile(run_dir / log, output / name / log)
    atomic_write_bytes(result_file, json.dumps(asdict(result), indent=1).encode())
    report(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.scores.items()))
    return result


def score_run(model: str, weights: Path, settings: AblationSettings, device: str = "cpu") -> RunResult:
    """Params, MACs, CPU latency and the benchmark scores of one set of weights."""
    network = create_model(model, weights=weights).eval()
    height, width = settings.latency_size
    x = torch.rand(1, 3, height, width)
    params = sum(p.numel() for p in network.parameters())
    with torch.inference_mode(), _threads(settings.latency_threads):
        macs, _ = count_macs(network, x)
        latency = measure_latency(network, x, repeats=3, warmup=1)
    result = RunResult("", 0, model, params, macs, latency * 1000, latency_size=(height, width))
    result.latency_cpu, result.latency_threads = cpu_model_and_flags()[0], settings.latency_threads
    if settings.eval15 is not None:
        evaluator = Evaluator(["psnr", "ssim"], Protocol(), device=device)
        means = evaluator.run(model, str(weights), open_dataset(settings.eval15)).means
        result.scores |= {"eval15_psnr": means["psnr"], "eval15_ssim": means["ssim"]}
    if settings.wild is not None:
        pairs = make_synthetic_pairs(settings.wild, "dark", settings.cache.expanduser())
        evaluator = Evaluator(["psnr", "ssim", "grid_db"], Protocol(), device=device, limit=settings.wild_limit)
        means = evaluator.run(model, str(weights), open_dataset(pairs)).means
        result.scores |= {"wild_psnr": means["psnr"], "wild_ssim": means["ssim"], "wild_grid_db": means["grid_db"]}
    return result


def remeasure_latency(
    folder: Path, settings: AblationSettings, rounds: int = 5, report: Callable[[str], None] = print
) -> list[RunResult]:
    """Time every scored run of the group again, in one interleaved run, and rewrite results and table.

    Each run's latency is first measured when it finishes training, while whatever else runs then shares the
    CPU; here every network runs once per round, round after round (after one warm-up pass each), so the rows
    are compared under the same load. The latency is the median of ``rounds`` passes at
    ``settings.latency_size`` (MACs are counted again at that size); scores and parameters are kept.
    """
    configs = group_configs(folder)
    output, work = settings.output.expanduser(), settings.work.expanduser() / "runs" / Path(folder).name
    results, networks = [], []
    for seed in settings.seeds:
        for config_path in configs:
            name = f"{config_path.stem}_s{seed}"
            result_file = output / name / "result.json"
            if not result_file.exists():
                continue
            weights = _weights_to_time(work, config_path.stem, seed, settings.seeds, report)
            result = RunResult(**json.loads(result_file.read_text()))
            results.append(result)
            networks.append(create_model(result.model, weights=weights).eval())
    if not results:
        raise LowlightError(f"{folder}: no scored runs in {output} to time")
    height, width = settings.latency_size
    x = torch.rand(1, 3, height, width)
    times: list[list[float]] = [[] for _ in networks]
    with torch.inference_mode(), _threads(settings.latency_threads):
        for network in networks:
            network(x)
        for round_index in range(rounds):
            for network, samples in zip(networks, times, strict=True):
                start = time.perf_counter()
                network(x)
                samples.append(time.perf_counter() - start)
            report(f"latency round {round_index + 1}/{rounds} done")
        macs = [count_macs(network, x)[0] for network in networks]
    cpu = cpu_model_and_flags()[0]
    for result, samples, count in zip(results, times, macs, strict=True):
        result.latency_ms, result.macs = float(np.median(samples)) * 1000, count
        result.latency_size, result.latency_cpu, result.latency_interleaved = (height, width), cpu, True
        result.latency_threads = settings.latency_threads
        name = f"{result.config}_s{result.seed}"
        atomic_write_bytes(output / name / "result.json", json.dumps(asdict(result), indent=1).encode())
    results = _by_config(results, configs)
    write_table(results, output, Path(folder), settings)
    return results


def _weights_to_time(work: Path, config: str, seed: int, seeds: list[int], report: Callable[[str], None]) -> Path:
    """The run's exported weights, or those of another seed of the same config when the run folder is gone.

    A config's seeds share one architecture, so the time of a pass does not depend on which seed's weights it
    runs; the run folders are not committed and may be lost with the machine that trained them.
    """
    own = work / f"{config}_s{seed}" / "weights.safetensors"
    if own.is_file():
        return own
    for other in seeds:
        stand_in = work / f"{config}_s{other}" / "weights.safetensors"
        if stand_in.is_file():
            report(f"{config}_s{seed}: its weights are gone ({own}); timed with those of seed {other}")
            return stand_in
    raise LowlightError(f"{own}: missing, and no other seed of {config} has weights; re-timing needs them")


def _summary(results: list[RunResult], key: str) -> tuple[float, float]:
    values = [r.scores[key] for r in results if key in r.scores]
    return (float(np.mean(values)), float(np.ptp(values))) if values else (float("nan"), float("nan"))


def table_lines(results: list[RunResult]) -> list[str]:
    """Markdown rows: per config the mean (spread) of each score, then params, MACs and latency."""
    by_config: dict[str, list[RunResult]] = {}
    for result in results:
        by_config.setdefault(result.config, []).append(result)
    keys = [k for k in COLUMNS if any(k in r.scores for r in results)]
    header = ["config", *(COLUMNS[k][0] for k in keys), "params", "GMACs", "CPU ms", "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    baseline = by_config.get(BASELINE, [])
    for config, runs in by_config.items():
        cells = [config]
        for key in keys:
            mean, spread = _summary(runs, key)
            base_mean, base_spread = _summary(baseline, key)
            # a spread needs two seeds on both sides; one seed each would star every difference
            seeded = len(runs) > 1 and len(baseline) > 1
            star = "*" if config != BASELINE and seeded and abs(mean - base_mean) > max(spread, base_spread) else ""
            cells.append(f"{COLUMNS[key][1].format(mean)} ({spread:.2f}){star}")
        first = runs[0]
        cells += [f"{first.params:,}", f"{first.macs / 1e9:.2f}", f"{np.median([r.latency_ms for r in runs]):.0f}"]
        cells.append(",".join(str(r.seed) for r in runs))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@contextmanager
def _threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _cpus(results: list[RunResult]) -> str:
    return " / ".join(sorted({r.latency_cpu or "an unrecorded CPU" for r in results}))


def _thread_counts(results: list[RunResult]) -> str:
    counts = sorted({str(r.latency_threads) if r.latency_threads else "unrecorded" for r in results})
    return "/".join(counts) + (" thread" if counts == ["1"] else " threads")


def _latency_protocol(results: list[RunResult]) -> str:
    if all(r.latency_interleaved for r in results):
        return "all runs timed in one interleaved run (`--remeasure-latency`), median of its rounds."
    return (
        "median of 3 passes when each run finished, whatever else shared the CPU then; `--remeasure-latency` "
        "times all rows again in one interleaved run."
    )


def write_table(results: list[RunResult], output: Path, folder: Path, settings: AblationSettings) -> Path:
    """``table.md`` (table plus protocol) and ``results.json`` in ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    height, width = settings.latency_size
    protocol = [
        f"Group `{folder}`; every config trained with seeds {list(settings.seeds)} and overrides "
        f"`{' '.join(settings.overrides) or 'none'}`; the last EMA weights are scored.",
        "Cells: mean over seeds (spread = max - min); * = differs from `full` by more than both spreads (only when "
        "both rows have at least two seeds).",
        "eval15: LOL eval15, outputs clamped and rounded to 8 bits; wild68 dark: the generalisation benchmark's "
        f"dark variant, first {settings.wild_limit} photos; grid dB: lattice figure of output minus target.",
        f"MACs and CPU latency at {height}x{width} on {_cpus(results)}, {_thread_counts(results)}: "
        + _latency_protocol(results),
    ]
    text = "\n".join([*table_lines(results), "", *protocol]) + "\n"
    atomic_write_bytes(output / "table.md", text.encode())
    atomic_write_bytes(output / "results.json", json.dumps([asdict(r) for r in results], indent=1).encode())
    return output / "table.md"
