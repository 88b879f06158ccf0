"""Enhancing videos with PyAV: same frame rate and size, audio copied, frames in batches, less flicker.

Frames are divided by 255 (the official DarkIR script normalises each frame by its own min and max,
which makes the output flicker). Per-frame models still react to noise and auto-exposure, so the
mean brightness of the output can jump between frames; ``smoothing`` in [0, 1) scales every output
frame so that its mean brightness follows an exponential moving average of the raw outputs'
(0 = off). The flicker figure is the mean absolute change of mean brightness between frames.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from lowlight.errors import ImageReadError, ImageWriteError, LowlightError
from lowlight.inference.batch import check_suffix
from lowlight.inference.options import EnhanceOptions
from lowlight.inference.pipeline import Enhancer
from lowlight.io import temporary_sibling

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
DEFAULT_TEMPORAL_SMOOTHING = 0.8


def is_video_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _require_av():
    try:
        import av
    except ImportError:
        raise LowlightError("video needs PyAV: pip install 'lowlight[video]' (or pip install av)") from None
    return av


@dataclass
class VideoSummary:
    frames: int
    fps: float
    width: int
    height: int
    audio_streams: int
    seconds: float
    flicker_input: float
    flicker_raw: float
    flicker_output: float

    def line(self) -> str:
        return (
            f"{self.frames} frames {self.width}x{self.height} at {self.fps:.2f} fps in {self.seconds:.1f} s; "
            f"flicker (mean |frame-to-frame brightness change|) input {self.flicker_input:.4f}, "
            f"raw output {self.flicker_raw:.4f}, output {self.flicker_output:.4f}"
        )


def flicker(brightness: list[float]) -> float:
    """Mean absolute change of per-frame mean brightness (0-1 scale) between consecutive frames."""
    return float(np.mean(np.abs(np.diff(brightness)))) if len(brightness) > 1 else 0.0


class BrightnessSmoother:
    """Rescale frames so their mean brightness follows an exponential moving average."""

    def __init__(self, smoothing: float) -> None:
        if not 0 <= smoothing < 1:
            raise LowlightError(f"--temporal-smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self.level: float | None = None

    def __call__(self, frame: torch.Tensor) -> torch.Tensor:
        mean = frame.mean().item()
        self.level = mean if self.level is None else self.smoothing * self.level + (1 - self.smoothing) * mean
        if self.smoothing == 0 or mean <= 1e-6:
            return frame
        return (frame * (self.level / mean)).clamp_(0, 1)


def enhance_video(
    source: str | Path,
    target: str | Path,
    enhancer: Enhancer,
    *,
    batch_size: int = 4,
    smoothing: float = 0.0,
    crf: int = 18,
    on_frame: Callable[[int, int], None] | None = None,
) -> VideoSummary:
    """Enhance every frame of ``source`` into ``target`` (written atomically); audio is copied as is."""
    av = _require_av()
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise ImageWriteError(f"{target}: refusing to write the output over the input video")
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise ImageReadError(f"{source}: not a readable video ({exc})") from None
    with container:
        if not container.streams.video:
            raise ImageReadError(f"{source}: contains no video stream")
        video = container.streams.video[0]
        fps = video.average_rate or Fraction(25)
        total = video.frames or 0
        target.parent.mkdir(parents=True, exist_ok=True)
        temp_name = temporary_sibling(target, suffix=".part" + target.suffix)
        try:
            summary = _transcode(av, container, video, fps, total, Path(temp_name), enhancer, batch_size,
                                 smoothing, crf, on_frame)  # fmt: skip
            os.replace(temp_name, target)
        except av.error.FFmpegError as exc:
            # a truncated or corrupt stream fails mid-decode: one line for this video, the batch goes on
            raise ImageReadError(
                f"{source}: video is truncated or corrupt ({_first_line(exc)}); nothing written"
            ) from None
        except OSError as exc:
            raise ImageWriteError(f"{target}: cannot write the video ({exc.strerror or exc})") from None
        finally:
            Path(temp_name).unlink(missing_ok=True)
    return summary


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _transcode(av, container, video, fps, total, path, enhancer, batch_size, smoothing, crf, on_frame):
    started = time.perf_counter()
    smoother = BrightnessSmoother(smoothing)
    brightness = {"input": [], "raw": [], "output": []}
    audio_in = list(container.streams.audio)
    with av.open(str(path), "w") as output:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        out_video = output.add_stream(codec, rate=fps)
        out_video.width, out_video.height = video.codec_context.width, video.codec_context.height
        out_video.pix_fmt = "yuv420p"
        if codec == "libx264":
            out_video.options = {"crf": str(crf)}
        audio_map = {stream.index: output.add_stream_from_template(stream) for stream in audio_in}
        pending: list = []

        def flush() -> None:
            if not pending:
                return
            batch = torch.from_numpy(np.stack([f.to_ndarray(format="rgb24") for f in pending]))
            x = batch.permute(0, 3, 1, 2).float().div_(255)
            out = enhancer(x)
            for frame_in, frame_out in zip(x, out, strict=True):
                brightness["input"].append(frame_in.mean().item())
                brightness["raw"].append(frame_out.mean().item())
                frame_out = smoother(frame_out)
                brightness["output"].append(frame_out.mean().item())
                rgb = (frame_out.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
                encoded = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                encoded.pts = None
                for packet in out_video.encode(encoded):
                    output.mux(packet)
                if on_frame:
                    on_frame(len(brightness["input"]), total)
            pending.clear()

        for packet in container.demux(video, *audio_in):
            if packet.stream.type == "audio":
                if packet.dts is not None:
                    packet.stream = audio_map[packet.stream.index]
                    output.mux(packet)
                continue
            for frame in packet.decode():
                pending.append(frame)
                if len(pending) >= batch_size:
                    flush()
        flush()
        for packet in out_video.encode():
            output.mux(packet)
    return VideoSummary(
        frames=len(brightness["input"]),
        fps=float(fps),
        width=video.codec_context.width,
        height=video.codec_context.height,
        audio_streams=len(audio_in),
        seconds=time.perf_counter() - started,
        flicker_input=flicker(brightness["input"]),
        flicker_raw=flicker(brightness["raw"]),
        flicker_output=flicker(brightness["output"]),
    )


def enhance_videos(
    videos: list[Path],
    output: Path,
    options: EnhanceOptions,
    *,
    suffix: str = "",
    overwrite: bool = False,
    batch_size: int = 4,
    smoothing: float = 0.0,
    report: Callable[[str], None] = print,
    on_frame: Callable[[Path, int, int], None] | None = None,
    enhancer: Enhancer | None = None,
) -> int:
    """Enhance several videos with one model; returns how many failed (each one is reported on one line).

    ``output`` is a folder (``NAME{suffix}.mp4`` inside), or a video file name for a single video. Existing
    outputs are skipped unless ``overwrite``; a video that fails (truncated, unreadable) does not stop the others.
    ``enhancer``: one already built for ``options`` (a server keeps one per model); built here when None.
    """
    missing = [str(v) for v in videos if not Path(v).is_file()]
    if missing:
        raise LowlightError(f"{missing[0]}: no such video file")
    single_target = is_video_path(output)
    if single_target and len(videos) > 1:
        raise LowlightError(f"-o {output} is one file but {len(videos)} videos were given; give a folder")
    check_suffix(suffix)
    enhancer = enhancer or options.enhancer()
    report(f"model {enhancer.name} on {enhancer.device}")
    failed = 0
    for source in map(Path, videos):
        target = Path(output) if single_target else Path(output) / f"{source.stem}{suffix}.mp4"
        if target.exists() and not overwrite:
            report(f"skipped {source}: {target} exists (use --overwrite to replace it)")
            continue
        try:
            summary = enhance_video(
                source, target, enhancer, batch_size=batch_size, smoothing=smoothing,
                on_frame=None if on_frame is None else functools.partial(on_frame, source),
            )  # fmt: skip
        except LowlightError as exc:
            failed += 1
            report(f"failed {source}: {exc}")
            continue
        report(f"{source} -> {target}: {summary.line()}")
    return failed
