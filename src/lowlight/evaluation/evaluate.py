"""Evaluate models on paired and unpaired folders with an explicit, recorded protocol.

Protocol (printed with every table and stored in the JSON): outputs are clamped to [0, 1] and, for
8-bit inputs, rounded to 8 bits before scoring (as saved images would be); metrics on RGB unless
named ``*_y``; the SSIM variant is named; GT-mean scores are separate columns named ``*_gtmean``;
no border crop unless ``crop_border`` is set.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lowlight.data.pairs import find_pairs, list_images
from lowlight.errors import DatasetError, LowlightError
from lowlight.inference.ensemble import ENSEMBLE_SIZES
from lowlight.inference.options import EnhanceOptions
from lowlight.io import atomic_write_bytes, encode_image, read_image
from lowlight.metrics.registry import FULL_REFERENCE, create_metric, metric_info

DEFAULT_PAIRED = ("psnr", "ssim_skimage", "ssim")
DEFAULT_UNPAIRED = ("niqe", "loe")


@dataclass
class Protocol:
    clamp: bool = True
    quantize_8bit: bool = True
    gt_mean: bool = False
    crop_border: int = 0
    split: str = "test"
    self_ensemble: str = "none"
    precision: str = "fp32"

    def describe(self, metrics: list[str]) -> list[str]:
        lines = [
            "outputs clamped to [0, 1]" + (", rounded to 8 bits for 8-bit inputs" if self.quantize_8bit else ""),
            f"benchmark roots use their {self.split} split; scores are per image, then averaged",
        ]
        lines += [
            f"{name}: {metric_info(name, self.crop_border).protocol}"
            for name in metrics
            if not name.endswith("_gtmean")
        ]
        if self.self_ensemble != "none":
            passes = ENSEMBLE_SIZES[self.self_ensemble]
            kind = "translated (by 4 px)" if self.self_ensemble == "shift" else "flipped/rotated"
            lines.append(f"self-ensemble {self.self_ensemble}: outputs averaged over {passes} {kind} passes")
        if self.precision != "fp32":
            lines.append(f"precision {self.precision}: convolutions under {self.precision} autocast")
        if self.gt_mean:
            lines.append(
                "*_gtmean: output scaled so its mean BT.601 gray level equals the ground truth's, then clipped"
            )
        return lines


@dataclass
class Dataset:
    path: Path
    name: str
    pairs: list[tuple[Path, Path | None]]

    @property
    def paired(self) -> bool:
        return self.pairs[0][1] is not None


@dataclass
class ModelResult:
    model: str
    weights: str | None
    dataset: str
    images: int
    means: dict[str, float] = field(default_factory=dict)
    seconds_per_image: float = 0.0


def open_dataset(path: str | Path, split: str = "test") -> Dataset:
    """A paired set if the folder has a known low/high layout, otherwise a folder of unpaired images."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetError(f"{path}: data folder does not exist")
    name = path.name
    try:
        found = find_pairs(path, split)
    except DatasetError as exc:
        if "unknown layout" not in str(exc):
            raise
        images = list_images(path, recursive=True)
        if not images:
            raise DatasetError(f"{path}: no images found") from None
        return Dataset(path, name, [(image, None) for image in images])
    return Dataset(path, name, [(low, high) for low, high in found.pairs])


def parse_model_spec(spec: str, weights: str | None) -> tuple[str, str | None]:
    """``NAME`` or ``NAME=WEIGHTS``."""
    name, sep, path = spec.partition("=")
    return (name, path) if sep else (name, weights)


def _as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]


class Evaluator:
    """Runs models over datasets and collects per-image rows and per-(model, dataset) means."""

    def __init__(
        self,
        metrics: list[str] | None = None,
        protocol: Protocol | None = None,
        device: str = "auto",
        tile: int | None = None,
        lpips_backbone: str | None = None,
        lpips_heads: str | None = None,
        save_images: Path | None = None,
        limit: int | None = None,
    ) -> None:
        self.protocol = protocol or Protocol()
        for name in metrics or ():
            metric_info(name)  # unknown names fail before any image is processed
        self.requested = metrics
        self.device, self.tile = device, tile
        self.lpips = (lpips_backbone, lpips_heads)
        self.save_images, self.limit = save_images, limit
        self.rows: list[dict] = []
        self.results: list[ModelResult] = []
        self.notes: dict[str, str] = {}

    def metric_names(self, paired: bool) -> list[str]:
        """Requested (or default) metrics that the dataset allows: full-reference ones need pairs."""
        names = list(self.requested) if self.requested else list(DEFAULT_PAIRED if paired else DEFAULT_UNPAIRED)
        usable = []
        for name in names:
            if paired or metric_info(name).kind != FULL_REFERENCE:
                usable.append(name)
            else:
                self.notes[name] = "skipped on unpaired folders (needs ground truth)"
        return usable

    def _build_metrics(self, names: list[str]) -> dict[str, torch.nn.Module]:
        built = {}
        for name in names:
            try:
                metric = create_metric(
                    name, crop_border=self.protocol.crop_border, lpips_backbone=self.lpips[0], lpips_heads=self.lpips[1]
                )
            except LowlightError as exc:
                self.notes[name] = f"skipped: {exc}"
                continue
            built[name] = metric
            if self.protocol.gt_mean and metric.kind == FULL_REFERENCE:
                built[f"{name}_gtmean"] = create_metric(
                    name, gt_mean=True, crop_border=self.protocol.crop_border, lpips_backbone=self.lpips[0],
                    lpips_heads=self.lpips[1],
                )  # fmt: skip
        return built

    def run(self, model: str, weights: str | None, dataset: Dataset, on_image=None) -> ModelResult:
        enhancer = EnhanceOptions(
            model=model,
            weights=weights,
            device=self.device,
            tile=self.tile,
            self_ensemble=self.protocol.self_ensemble,
            precision=self.protocol.precision,
        ).enhancer()
        metrics = self._build_metrics(self.metric_names(dataset.paired))
        pairs = dataset.pairs[: self.limit] if self.limit else dataset.pairs
        seconds: list[float] = []
        scores: dict[str, list[float]] = {name: [] for name in metrics}
        for low_path, high_path in pairs:
            low = read_image(low_path)
            start = time.perf_counter()
            out = enhancer(_as_tensor(low.rgb))
            if enhancer.device.type == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - start)
            if self.protocol.quantize_8bit and low.bit_depth == 8:
                out = torch.round(out * 255) / 255
            row = {"model": model, "dataset": dataset.name, "image": low_path.name, "seconds": seconds[-1]}
            target = _as_tensor(read_image(high_path).rgb) if high_path is not None else None
            for name, metric in metrics.items():
                try:
                    value = float(metric(out.double(), target.double() if target is not None else None,
                                         input=_as_tensor(low.rgb).double()))  # fmt: skip
                except ValueError as exc:  # e.g. an image too small for NIQE: score the others
                    value = float("nan")
                    self.notes[name] = f"missing for some images ({exc})"
                scores[name].append(value)
                row[name] = value
            self.rows.append(row)
            if self.save_images is not None:
                path = self.save_images / model / dataset.name / f"{low_path.stem}.png"
                atomic_write_bytes(path, encode_image(out[0].permute(1, 2, 0).numpy(), "PNG"))
            if on_image:
                on_image()
        result = ModelResult(
            model, weights, dataset.name, len(pairs), {k: _nanmean(v) for k, v in scores.items()},
            float(np.median(seconds)) if seconds else 0.0,
        )  # fmt: skip
        self.results.append(result)
        return result

    # ------------------------------------------------------------------ reports
    def columns(self) -> list[str]:
        names: list[str] = []
        for result in self.results:
            names += [n for n in result.means if n not in names]
        return names

    def markdown(self) -> str:
        columns = self.columns()
        arrows = {n: (" ↓" if metric_info(n.removesuffix("_gtmean")).lower_better else " ↑") for n in columns}
        header = ["model", "data", "images", *[f"{c}{arrows[c]}" for c in columns], "s/img"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in self.results:
            cells = [r.model, r.dataset, str(r.images)]
            cells += [_format(r.means[c], c) if c in r.means else "-" for c in columns]
            lines.append("| " + " | ".join([*cells, f"{r.seconds_per_image:.3f}"]) + " |")
        notes = [f"- {name}: {note}" for name, note in self.notes.items()]
        protocol = [f"- {line}" for line in self.protocol.describe(columns)]
        return "\n".join(lines + ["", "Protocol:", *protocol] + (["", "Notes:", *notes] if notes else [])) + "\n"

    def to_json(self) -> dict:
        columns = self.columns()
        return {
            "protocol": {**asdict(self.protocol), "description": self.protocol.describe(columns)},
            "metrics": {
                c: {**asdict(metric_info(c.removesuffix("_gtmean"))), "gt_mean": c.endswith("_gtmean")} for c in columns
            },
            "results": [
                {**asdict(r), "means": {k: None if np.isnan(v) else v for k, v in r.means.items()}}
                for r in self.results
            ],
            "notes": self.notes,
        }

    def csv_text(self) -> str:
        buffer = io.StringIO()
        fields = ["model", "dataset", "image", "seconds", *self.columns()]
        writer = csv.DictWriter(buffer, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue()

    def write(self, folder: Path) -> list[Path]:
        paths = [folder / "results.md", folder / "results.json", folder / "per_image.csv"]
        atomic_write_bytes(paths[0], self.markdown().encode())
        atomic_write_bytes(paths[1], json.dumps(self.to_json(), indent=2).encode())
        atomic_write_bytes(paths[2], self.csv_text().encode())
        return paths


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _format(value: float, name: str) -> str:
    if np.isnan(value):
        return "n/a"
    if name.startswith(("psnr", "niqe")):
        return f"{value:.2f}"
    if name.startswith("loe"):
        return f"{value:.1f}"
    return f"{value:.4f}"
