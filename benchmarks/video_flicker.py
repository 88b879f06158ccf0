"""Flicker of enhanced video with and without temporal smoothing.

Builds a test clip from a dark photo: a slow pan across it, sensor noise, and a light source that
flickers (frame gain alternating around 1, as mains-powered lamps do with some shutter speeds). Then
runs ``lowlight enhance`` on it at several ``--temporal-smoothing`` values and prints flicker (mean
absolute change of mean frame brightness between consecutive frames, 0-1 scale) of the input, of the raw
enhanced frames and of the written output, plus the speed.

    python benchmarks/video_flicker.py --image ../shared/data/dicm/01.jpg --model adaptive_gamma
    python benchmarks/video_flicker.py --model darkir_m --smoothing 0 0.5 0.8 0.95
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def make_clip(image_path: Path, target: Path, frames: int, size: tuple[int, int], fps: int, seed: int) -> None:
    import av

    from lowlight.io import read_image

    rgb = read_image(image_path).rgb
    rng = np.random.default_rng(seed)
    height, width = size
    if rgb.shape[0] < height or rgb.shape[1] < width + frames:
        raise SystemExit(f"{image_path}: needs at least {height}x{width + frames} pixels for this clip")
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12"}
        for i in range(frames):
            crop = rgb[:height, i : i + width]  # one pixel of pan per frame
            gain = 1.0 + (0.12 if i % 2 else -0.12) + rng.normal(0, 0.03)
            noisy = crop * gain + rng.normal(0, 0.01, crop.shape)
            pixels = (np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main() -> None:
    from lowlight.inference.pipeline import Enhancer
    from lowlight.inference.video import enhance_video

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=Path("../shared/data/dicm/01.jpg"))
    parser.add_argument("--model", default="adaptive_gamma")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--smoothing", type=float, nargs="+", default=[0.0, 0.5, 0.8, 0.95])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="240x320", help="HxW of the clip")
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    enhancer = Enhancer(args.model, weights=args.weights, device="cpu")
    print(f"{args.model}, {args.frames} frames of {args.size} from {args.image.name}, batch {args.batch_size}")
    print("| --temporal-smoothing | flicker input | flicker raw output | flicker output | frames / s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        make_clip(args.image, clip, args.frames, size, fps=24, seed=0)
        for smoothing in args.smoothing:
            summary = enhance_video(clip, Path(tmp) / f"out_{smoothing}.mp4", enhancer,
                                    batch_size=args.batch_size, smoothing=smoothing)  # fmt: skip
            print(f"| {smoothing:g} | {summary.flicker_input:.4f} | {summary.flicker_raw:.4f} | "
                  f"{summary.flicker_output:.4f} | {summary.frames / summary.seconds:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
