"""``lowlight benchmark``: every model that can run, on every folder given, in one markdown report.

The report holds the results table (with its protocol), a speed/size table from :mod:`.profile`, and a
visual comparison grid (input, each model, ground truth) saved as PNG beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from lowlight.device import resolve_device
from lowlight.evaluation.evaluate import Evaluator, open_dataset
from lowlight.evaluation.profile import profile_model
from lowlight.inference.pipeline import Enhancer
from lowlight.io import atomic_write_bytes, encode_image, read_image
from lowlight.registry import create_model, list_models, model_info, pretrained_weights

CELL_WIDTH = 240


def runnable_models(tags: bool = False) -> list[str]:
    """Registered models that need no weights or ship with weights; with ``tags`` every shipped ``NAME.TAG``."""
    names = [name for name in list_models() if not model_info(name).learned or pretrained_weights(name) is not None]
    if not tags:
        return names
    tagged = list_models(pretrained=True)
    return [name for name in names if model_info(name).learned is False] + tagged


def labelled_cell(rgb: np.ndarray, label: str) -> Image.Image:
    image = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    height = round(image.height * CELL_WIDTH / image.width)
    image = image.resize((CELL_WIDTH, height), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, CELL_WIDTH, 14), fill=(0, 0, 0))
    draw.text((3, 1), label, fill=(255, 255, 255))
    return image


def comparison_grid(pairs, models: dict[str, Enhancer], rows: int = 3) -> np.ndarray:
    """Rows of (input, each model's output, ground truth) as one float RGB image."""
    lines = []
    for low_path, high_path in pairs[:rows]:
        low = read_image(low_path).rgb
        cells = [labelled_cell(low, f"input {low_path.stem}")]
        x = torch.from_numpy(low).permute(2, 0, 1)[None]
        cells += [labelled_cell(enhancer(x)[0].permute(1, 2, 0).numpy(), name) for name, enhancer in models.items()]
        if high_path is not None:
            cells.append(labelled_cell(read_image(high_path).rgb, "ground truth"))
        lines.append(np.concatenate([np.asarray(c) for c in cells], axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0))) for line in lines]
    return np.concatenate(lines, axis=0).astype(np.float32) / 255


def build_report(
    data: list[str],
    output: Path,
    models: list[tuple[str, str | None]] | None = None,
    device: str = "auto",
    speed_size: tuple[int, int] = (400, 600),
    limit: int | None = None,
    grid_rows: int = 3,
) -> Path:
    """Evaluate, profile and draw; returns the path of ``report.md``."""
    models = models or [(name, None) for name in runnable_models()]
    datasets = [open_dataset(path) for path in data]
    evaluator = Evaluator(device=device, limit=limit)
    for name, weights in models:
        for dataset in datasets:
            evaluator.run(name, weights, dataset)
    torch_device = resolve_device(device)
    speed = ["| model | params | MACs (G, ptflops) | FFT MACs (G) | latency (ms) |", "|---|---|---|---|---|"]
    for name, weights in models:
        model = create_model(name, weights=weights)
        p = profile_model(model, name, *speed_size, torch_device, repeats=3, warmup=1)
        speed.append(
            f"| {name} | {p.params:,} | {p.ptflops_macs / 1e9:.2f} | {p.fft_macs / 1e9:.2f} | {p.latency_ms:.1f} |"
        )
    enhancers = {name: Enhancer(name, weights=weights, device=device) for name, weights in models}
    grid_path = output / "comparison.png"
    grid = comparison_grid(datasets[0].pairs, enhancers, grid_rows)
    atomic_write_bytes(grid_path, encode_image(grid, "PNG"))
    evaluator.write(output)
    height, width = speed_size
    text = [
        "# lowlight benchmark report",
        "",
        "## Results",
        "",
        evaluator.markdown(),
        f"## Speed and size ({height}x{width}, batch 1, {torch_device})",
        "",
        *speed,
        "",
        "## Visual comparison",
        "",
        f"![input, each model, ground truth]({grid_path.name})",
        "",
    ]
    report = output / "report.md"
    atomic_write_bytes(report, "\n".join(text).encode())
    return report
