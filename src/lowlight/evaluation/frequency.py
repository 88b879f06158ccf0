"""Fourier spectra of a model's stages next to the images: does stage 1 change lightness and stage 2 structure?

For a two-stage model (FSIDNet) the rows are the input, the stage-1 output Y1 and the final output Y2;
for other models the input and the output. Columns: the image, its log-amplitude spectrum (same
scale in every row, centred) and its phase spectrum (of the BT.601 gray image).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

PANEL = 256


def spectra(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred log(1 + amplitude) and phase of the 2-D FFT of a gray image."""
    spectrum = np.fft.fftshift(np.fft.fft2(gray))
    return np.log1p(np.abs(spectrum)), np.angle(spectrum)


def _gray(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def _panel(values: np.ndarray, label: str) -> np.ndarray:
    image = Image.fromarray(np.round(np.clip(values, 0, 1) * 255).astype(np.uint8))
    image = image.convert("RGB").resize((PANEL, round(PANEL * image.height / image.width)), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, PANEL, 14), fill=(0, 0, 0))
    draw.text((3, 1), label, fill=(255, 255, 255))
    return np.asarray(image)


@torch.inference_mode()
def stage_images(model: torch.nn.Module, rgb: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(label, (H, W, 3) float image) for the input and each stage the model exposes."""
    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    to_array = lambda t: t[0].clamp(0, 1).permute(1, 2, 0).float().numpy()  # noqa: E731
    try:
        y1, _, y2 = model(x, return_stages=True)
    except TypeError:  # models without stages
        return [("input", rgb), ("output", to_array(model(x)))]
    rows = [("input", rgb)]
    if y1 is not None:
        rows.append(("stage 1 (Y1)", to_array(y1)))
    rows.append(("output (Y2)", to_array(y2)))
    return rows


def frequency_figure(rows: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """One row per image: image | log-amplitude | phase; float RGB in [0, 1]."""
    parts = [(label, image, *spectra(_gray(image))) for label, image in rows]
    top = max(p[2].max() for p in parts)
    lines = []
    for label, image, amplitude, phase in parts:
        lines.append(
            np.concatenate(
                [
                    _panel(image, label),
                    _panel(amplitude / top, f"{label}: log amplitude"),
                    _panel((phase + np.pi) / (2 * np.pi), f"{label}: phase"),
                ],
                axis=1,
            )
        )
    return np.concatenate(lines, axis=0).astype(np.float32) / 255
