"""Generalisation benchmark: clean test photos darkened by camera models, and real dark photos without reference.

Variants made from a folder of clean photos (``../shared/data/wild68``, CBSD68), each photo with its own
fixed seed, so every run scores the same inputs:

- ``dark``: the calibrated camera model (:data:`lowlight.data.degradation.CALIBRATED`), no blur.
- ``dark-blur``: the same plus camera-shake blur on every photo (5-25 px trajectories).
- ``dark-other``: another camera (:data:`OTHER_CAMERA`): pure gamma tone curve, shot-noise dominated, no white
  balance, straight-line blur on half the photos. It checks that results do not depend on our own camera model.

The pairs are written once under a cache folder keyed by the variant's parameters, seed, input files and the
camera model's source code, as
a plain ``low/`` + ``high/`` folder that ``lowlight evaluate`` also reads. Scores: PSNR, both SSIMs, GT-mean
PSNR and the grid-artifact figure (output minus clean target); on real photos without reference (DICM) the
grid-artifact figure against the input.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from lowlight.data import degradation
from lowlight.data.degradation import CALIBRATED, DegradationConfig, degrade
from lowlight.data.pairs import list_images
from lowlight.errors import DatasetError
from lowlight.evaluation.evaluate import Dataset, Evaluator, ModelResult, Protocol, open_dataset
from lowlight.io import atomic_write_bytes, encode_image, read_image

OTHER_CAMERA = DegradationConfig(
    exposure=(0.01, 0.2),
    tone="gamma",
    gamma=(2.0, 2.4),
    shot_noise=(5e-5, 5e-4),
    read_noise=(1e-4, 5e-4),
    cast_probability=0.3,
    cast=0.1,
    blur_probability=0.5,
    blur_kind="line",
    blur_length=(3, 15),
    jpeg_probability=0.0,
)

VARIANTS: dict[str, DegradationConfig] = {
    "dark": CALIBRATED,
    "dark-blur": replace(CALIBRATED, blur_probability=1.0),
    "dark-other": OTHER_CAMERA,
}
PAIRED_METRICS = ["psnr", "ssim", "ssim_skimage", "grid_db"]
SEED = 68


def _fingerprint(variant: str, files: list[Path], seed: int) -> str:
    description = {
        "variant": variant,
        "camera": asdict(VARIANTS[variant]),
        "seed": seed,
        "files": [(f.name, f.stat().st_size) for f in files],
        "camera_code": hashlib.sha256(Path(degradation.__file__).read_bytes()).hexdigest(),
        "format": 1,
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:16]


def make_synthetic_pairs(clean: Path, variant: str, cache_root: Path, seed: int = SEED) -> Path:
    """Write (or reuse) the ``variant`` pairs of the photos in ``clean``; returns the folder with low/ and high/."""
    if variant not in VARIANTS:
        raise DatasetError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    files = list_images(Path(clean))
    if not files:
        raise DatasetError(f"{clean}: no images found")
    folder = Path(cache_root) / f"{Path(clean).name}-{variant}-{_fingerprint(variant, files, seed)}"
    if (folder / "complete").is_file():
        return folder
    for index, path in enumerate(files):
        rgb = read_image(path).rgb
        dark, _ = degrade(rgb, np.random.default_rng([seed, index]), VARIANTS[variant])
        atomic_write_bytes(folder / "low" / f"{path.stem}.png", encode_image(dark, "PNG"))
        atomic_write_bytes(folder / "high" / f"{path.stem}.png", encode_image(rgb, "PNG"))
    atomic_write_bytes(folder / "complete", b"")
    return folder


def robustness_datasets(clean: Path | None, real: Path | None, cache_root: Path) -> list[Dataset]:
    """The synthetic variants of ``clean`` (named ``NAME-VARIANT``) and the real photos of ``real``."""
    datasets = []
    if clean is not None:
        for variant in VARIANTS:
            dataset = open_dataset(make_synthetic_pairs(clean, variant, cache_root))
            dataset.name = f"{Path(clean).name}-{variant}"
            datasets.append(dataset)
    if real is not None:
        datasets.append(open_dataset(real))
    return datasets


def run_robustness(
    models: list[tuple[str, str | None]],
    datasets: list[Dataset],
    device: str = "auto",
    limit: int | None = None,
    on_image=None,
    self_ensemble: str = "none",
) -> Evaluator:
    """Score every model on every dataset: paired sets with PSNR/SSIMs/GT-mean/grid, real photos with grid."""
    protocol = Protocol(gt_mean=True, self_ensemble=self_ensemble)
    paired = Evaluator(PAIRED_METRICS, protocol, device=device, limit=limit)
    for name, weights in models:
        for dataset in datasets:
            paired.run(name, weights, dataset, on_image=on_image)
    return paired


def _worst(evaluator: Evaluator, result: ModelResult) -> float:
    values = [
        row["grid_db"]
        for row in evaluator.rows
        if row["model"] == result.model and row["dataset"] == result.dataset and np.isfinite(row.get("grid_db", np.nan))
    ]
    return max(values) if values else float("nan")


def robustness_table(evaluator: Evaluator, labels: dict[tuple[str, str | None], str] | None = None) -> str:
    """One markdown row per model: each dataset's scores side by side, then the protocol."""
    labels = labels or {}
    datasets = list(dict.fromkeys(r.dataset for r in evaluator.results))
    header = ["model"]
    for dataset in datasets:
        paired = any(r.dataset == dataset and "psnr" in r.means for r in evaluator.results)
        header += (
            [f"{dataset} PSNR ↑", "SSIM ↑", "SSIM sk ↑", "PSNR GT-mean ↑", "grid dB ↓"]
            if paired
            else [f"{dataset} grid dB ↓ (mean)", "grid dB (worst)"]
        )
    rows: dict[tuple[str, str | None], list[str]] = {}
    for result in evaluator.results:
        key = (result.model, result.weights)
        cells = rows.setdefault(
            key, [labels.get(key, result.model if not result.weights else f"{result.model}={result.weights}")]
        )
        m = result.means
        if "psnr" in m:
            cells += [f"{m['psnr']:.2f}", f"{m['ssim']:.4f}", f"{m['ssim_skimage']:.4f}", f"{m['psnr_gtmean']:.2f}"]
            cells.append(f"{m['grid_db']:+.2f}")
        else:
            cells += [f"{m['grid_db']:+.2f}", f"{_worst(evaluator, result):+.2f}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows.values()]
    protocol = [
        "- synthetic variants: " + "; ".join(f"{name}: {_describe(config)}" for name, config in VARIANTS.items()),
        f"- every photo degraded once with numpy seed [{SEED}, index of the sorted file]; pairs cached as PNG",
        "- grid dB: lattice figure of the output minus that of the clean target (synthetic) or of the input (real)",
        *[f"- {line}" for line in evaluator.protocol.describe(["psnr", "ssim", "ssim_skimage", "grid_db"])],
    ]
    return "\n".join([*lines, "", "Protocol:", *protocol]) + "\n"


def _describe(config: DegradationConfig) -> str:
    blur = f"{config.blur_kind} blur {config.blur_length[0]}-{config.blur_length[1]} px p={config.blur_probability:g}"
    return (
        f"{config.tone} tone, exposure {config.exposure[0]:g}-{config.exposure[1]:g}, shot {config.shot_noise[0]:g}-"
        f"{config.shot_noise[1]:g}, read {config.read_noise[0]:g}-{config.read_noise[1]:g}, {blur}, "
        f"JPEG p={config.jpeg_probability:g}"
    )
