"""Fit the camera model's noise and exposure to real low-light photos, and draw the fit.

    python tools/fit_camera_model.py --lol ~/datasets/lol --dicm ../shared/data/dicm -o docs/images/noise_fit.png

1. Exposure: the linear-light ratio mean(low^2.2) / mean(high^2.2) of every LOL our485 pair.
2. Noise, per channel: the same estimator (:mod:`lowlight.data.noise_stats`) runs on LOL ``low`` images and on
   synthetic ones made from their ``high`` partners at the pair's own exposure; a grid search picks the
   linear-light variance ``alpha_c * I + beta_c`` per channel whose synthetic curve is closest (log RMS) to
   the real one. Green gives the shot noise ``a = alpha_g`` and read noise ``b = sqrt(beta_g)``; red and blue
   give the white-balance gains ``alpha_c / alpha_g``.
3. Spread: a per-image noise scale (measured variance over the fitted model's prediction, bins above 0.06)
   on LOL and on DICM (no reference; flatness judged on the image itself) gives the ranges of
   :data:`lowlight.data.degradation.CALIBRATED`.

Prints the fitted numbers and writes the plot: variance against intensity for LOL ``low`` and for the
synthetic images of the calibrated model (same estimator, same flat places).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

from lowlight.data.degradation import CALIBRATED, DegradationParams, apply_degradation, degrade
from lowlight.data.noise_stats import NoiseSamples, curve_distance, noise_curve, noise_samples

GAMMA = 2.2
EDGES = np.array([0, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 176, 255]) / 255


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255


def _pairs(lol: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    lows = sorted((lol / "our485" / "low").glob("*.png"))
    chosen = lows[:: max(1, len(lows) // count)][:count]
    return [(_read(p), _read(lol / "our485" / "high" / p.name)) for p in chosen]


def _ratio(low: np.ndarray, high: np.ndarray) -> float:
    return float((low**GAMMA).mean() / max((high**GAMMA).mean(), 1e-6))


def _synthetic(high: np.ndarray, ratio: float, alpha: float, beta: float, seed: int) -> np.ndarray:
    params = DegradationParams(
        exposure=ratio,
        gamma=GAMMA,
        shot_noise=alpha,
        read_noise=math.sqrt(beta),
        gains=(1, 1, 1),
        blur_length=1,
        blur_angle=0.0,
        tone="srgb",
    )
    return apply_degradation(high, params, np.random.default_rng(seed))


def fit_channels(pairs, alphas, betas) -> np.ndarray:
    """Best (alpha, beta) per channel: (3, 2)."""
    real = NoiseSamples.concatenate([noise_samples(low, high) for low, high in pairs])
    _, real_curve = noise_curve(real, EDGES)
    best = np.zeros((3, 2))
    scores = np.full((len(alphas), len(betas), 3), np.inf)
    for i, alpha in enumerate(alphas):
        for j, beta in enumerate(betas):
            synth = [
                noise_samples(_synthetic(high, _ratio(low, high), alpha, beta, k), high)
                for k, (low, high) in enumerate(pairs)
            ]
            _, curve = noise_curve(NoiseSamples.concatenate(synth), EDGES)
            for c in range(3):
                scores[i, j, c] = curve_distance(real_curve[:, c], curve[:, c])
    for c in range(3):
        i, j = np.unravel_index(np.argmin(scores[:, :, c]), scores.shape[:2])
        best[c] = alphas[i], betas[j]
        print(f"channel {'RGB'[c]}: alpha {alphas[i]:.2e} beta {betas[j]:.2e} log-RMS {scores[i, j, c]:.3f}")
    return best


def noise_scale(samples: NoiseSamples, alpha: float, beta: float) -> float:
    """Median of measured / predicted variance (green channel, local means above 0.06)."""
    mean, variance = samples.means[:, 1], samples.variances[:, 1]
    keep = mean > 0.06
    if keep.sum() < 30:
        return float("nan")
    m = mean[keep]
    linear = ((m + 0.055) / 1.055) ** 2.4
    slope = 1.055 / 2.4 * linear ** (1 / 2.4 - 1)  # d(sRGB) / d(linear), above the sRGB toe
    predicted = (alpha * linear + beta) * slope**2 + 1 / (12 * 255**2)
    return float(np.median(variance[keep] / predicted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lol", type=Path, required=True, help="folder holding our485/")
    parser.add_argument("--dicm", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG plot")
    args = parser.parse_args()

    pairs = _pairs(args.lol, args.pairs)
    all_pairs = _pairs(args.lol, 485)
    ratios = np.array([_ratio(low, high) for low, high in all_pairs])
    print("LOL linear exposure ratio percentiles 5/25/50/75/95:", np.percentile(ratios, [5, 25, 50, 75, 95]).round(4))

    best = fit_channels(pairs, np.logspace(-6, -3.5, 11), np.logspace(-8.5, -6, 6))
    alpha_g, beta_g = best[1]
    print(f"shot noise a = {alpha_g:.2e}, read noise b = {math.sqrt(beta_g):.2e}")
    # red and blue noise is the green noise amplified by the white-balance gain: variance x gain^2
    red, blue = math.sqrt(best[0, 1] / beta_g), math.sqrt(best[2, 1] / beta_g)
    print(f"white balance from the read noise: red {red:.2f}, blue {blue:.2f}")

    lol_scales = [noise_scale(noise_samples(low, high), alpha_g, beta_g) for low, high in all_pairs[::4]]
    dicm_scales = []
    for path in sorted(p for p in args.dicm.iterdir() if p.suffix.lower() in {".jpg", ".png", ".bmp"}):
        image = _read(path)
        dicm_scales.append(
            noise_scale(noise_samples(image, None, 0.004 * max(image.mean() / 0.4, 0.1)), alpha_g, beta_g)
        )
    for name, scales in (("LOL", lol_scales), ("DICM", dicm_scales)):
        print(f"{name} per-image noise scale 10/50/90 %:", np.nanpercentile(scales, [10, 50, 90]).round(3))

    _plot(pairs, args.output)


def _plot(pairs, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = NoiseSamples.concatenate([noise_samples(low, high) for low, high in pairs])
    centres, real_curve = noise_curve(real, EDGES)
    rng = np.random.default_rng(0)
    synth = []
    for _low, high in pairs:
        dark, _ = degrade(high, rng, CALIBRATED)
        synth.append(noise_samples(dark, high))
    _, synth_curve = noise_curve(NoiseSamples.concatenate(synth), EDGES)
    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for c, colour in enumerate(("tab:red", "tab:green", "tab:blue")):
        axis.plot(centres * 255, real_curve[:, c] * 255**2, "o-", color=colour, label=f"LOL our485/low, {'RGB'[c]}")
        axis.plot(
            centres * 255, synth_curve[:, c] * 255**2, "x--", color=colour, label=f"synthetic (CALIBRATED), {'RGB'[c]}"
        )
    axis.set_yscale("log")
    axis.set_xlabel("local mean (8-bit sRGB)")
    axis.set_ylabel("noise variance (8-bit units squared)")
    axis.set_title("Noise vs intensity: real LOL low images and the camera model")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
