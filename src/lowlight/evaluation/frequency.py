"""Fourier spectra of a model's stages next to the images: does stage 1 change lightness and stage 2 structure?

For a two-stage model (FSIDNet) the rows are the input, the stage-1 output Y1 and the final output Y2;
for other models the input and the output. Columns: the image, its log-amplitude spectrum (same
scale in every row, centred) and its phase spectrum (of the BT.601 gray image).
"""

from __future__ import annotations

import itertools

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


def change_shares(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """How much of the change from ``before`` to ``after`` (gray images) lies in the amplitude vs the phase.

    The amplitude-only change keeps ``before``'s phase with ``after``'s amplitude, the phase-only change the
    reverse; each one's squared distance from ``before`` over their sum gives the two shares (they add to 1).

    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((32, 32))
    >>> amplitude, phase = change_shares(image, 3 * image)  # a pure gain changes only the amplitude
    >>> round(amplitude, 3), round(phase, 3)
    (1.0, 0.0)
    """
    if before.shape != after.shape or before.ndim != 2:
        raise ValueError(f"change_shares needs two gray images of one shape, got {before.shape} and {after.shape}")
    spectrum_before, spectrum_after = np.fft.fft2(before), np.fft.fft2(after)
    phase_before, phase_after = np.exp(1j * np.angle(spectrum_before)), np.exp(1j * np.angle(spectrum_after))
    amplitude_only = np.fft.ifft2(np.abs(spectrum_after) * phase_before).real
    phase_only = np.fft.ifft2(np.abs(spectrum_before) * phase_after).real
    amplitude_change = float(np.sum((amplitude_only - before) ** 2))
    phase_change = float(np.sum((phase_only - before) ** 2))
    total = amplitude_change + phase_change
    return (amplitude_change / total, phase_change / total) if total > 0 else (0.0, 0.0)


def stage_change_shares(model: torch.nn.Module, images: list[np.ndarray]) -> dict[str, tuple[float, float]]:
    """Mean amplitude and phase shares of each step of a two-stage model over ``images``: input -> Y1, Y1 -> Y2."""
    steps: dict[str, list[tuple[float, float]]] = {}
    for rgb in images:
        rows = stage_images(model, rgb)
        for (name_a, image_a), (name_b, image_b) in itertools.pairwise(rows):
            key = f"{name_a.split(' (')[0]} -> {name_b.split(' (')[0]}"
            steps.setdefault(key, []).append(change_shares(_gray(image_a), _gray(image_b)))
    return {key: tuple(np.mean(values, axis=0).tolist()) for key, values in steps.items()}
