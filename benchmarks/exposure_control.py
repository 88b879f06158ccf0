"""How well a brightness setting in EV stops works on real dark photos, for two ways of applying it.

For each model and each setting, over the photos: the mean luminance of the result (sRGB Y, 0-1), the hue
shift against the model's own result (mean absolute hue difference in degrees over pixels with saturation
above 0.15 in both), the saturation change (mean HSV saturation, relative), and the share of clipped pixels
(any channel at 254/255 or more). Two ways:

- ``output``: what lowlight does (``--exposure``): the model runs once, then the luminance curve of
  :mod:`lowlight.inference.exposure` is applied to its result;
- ``input``: the photo is multiplied by ``2 ** ev`` in linear light before the model (one model run per
  setting), the alternative the issue named.

    python benchmarks/exposure_control.py --photos ../shared/data/dicm --count 8 --models darkir_m fsidnet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from lowlight.inference.exposure import apply_exposure, linear_to_srgb, srgb_to_linear
from lowlight.inference.options import EnhanceOptions
from lowlight.io import is_image_path, read_image

LUMA = torch.tensor([0.2126, 0.7152, 0.0722])


def hue_saturation(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """HSV hue in degrees and saturation of (3, H, W) sRGB in [0, 1]."""
    high, low = rgb.max(0).values, rgb.min(0).values
    delta = high - low
    saturation = torch.where(high > 0, delta / high.clamp(min=1e-6), torch.zeros_like(high))
    r, g, b = rgb
    safe = delta.clamp(min=1e-6)
    hue = torch.where(high == r, ((g - b) / safe) % 6, torch.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4))
    return hue * 60.0, saturation


def scores(result: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    luminance = (result * LUMA[:, None, None]).sum(0).mean().item()
    hue, sat = hue_saturation(result)
    hue0, sat0 = hue_saturation(reference)
    colourful = (sat > 0.15) & (sat0 > 0.15)
    difference = (hue - hue0).abs()
    difference = torch.minimum(difference, 360 - difference)
    return {
        "luminance": luminance,
        "hue_shift": difference[colourful].mean().item() if colourful.any() else 0.0,
        "saturation": (sat.mean() / sat0.mean().clamp(min=1e-6)).item(),
        "clipped": (result.max(0).values >= 254 / 255).float().mean().item(),
    }


def run(photos: list[Path], model: str, settings: list[float]) -> dict[tuple[str, float], list[dict[str, float]]]:
    enhancer = EnhanceOptions(model=model, device="cpu", max_memory_gb=2.0).enhancer()
    table: dict[tuple[str, float], list[dict[str, float]]] = {}
    for path in photos:
        x = torch.from_numpy(read_image(path).rgb).permute(2, 0, 1)[None]
        with torch.inference_mode():
            own = enhancer(x)
            for ev in settings:
                by_output = apply_exposure(own, ev)[0]
                gained = linear_to_srgb((srgb_to_linear(x) * 2.0**ev).clamp(0, 1))
                by_input = own[0] if ev == 0 else enhancer(gained)[0]
                table.setdefault(("output", ev), []).append(scores(by_output, own[0]))
                table.setdefault(("input", ev), []).append(scores(by_input, own[0]))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--models", nargs="+", default=["darkir_m", "fsidnet"])
    parser.add_argument("--settings", nargs="+", type=float, default=[-2.0, -1.0, 0.0, 1.0, 2.0])
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if is_image_path(p))[: args.count]
    print(f"{len(photos)} photos from {args.photos}; settings {args.settings} EV")
    print("| model | way | EV | mean luminance | hue shift (deg) | saturation (x own) | clipped % |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models:
        table = run(photos, model, args.settings)
        for way in ("output", "input"):
            for ev in args.settings:
                rows = table[(way, ev)]
                mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
                print(
                    f"| {model} | {way} | {ev:+.0f} | {mean['luminance']:.3f} | {mean['hue_shift']:.1f} | "
                    f"{mean['saturation']:.2f} | {100 * mean['clipped']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
