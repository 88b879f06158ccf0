"""What one press of "Enhance" on the web page does, without any web framework.

Uploads are linked into a fresh job folder under names made here (``01_photo.png``: letters, digits, ``-`` and
``_`` of the uploaded name, at most 40), so no name or path from the browser reaches the file system. Images go
through :func:`lowlight.inference.batch.run_jobs` and videos through :func:`lowlight.inference.video.enhance_videos`
with an :class:`~lowlight.inference.options.EnhanceOptions`, exactly as ``lowlight enhance`` runs them: tiling,
memory budget, bit depth, ICC profile and EXIF are kept the same way.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lowlight.errors import LowlightError
from lowlight.inference.api import cached_enhancer
from lowlight.inference.batch import Job, run_jobs
from lowlight.inference.options import EnhanceOptions
from lowlight.inference.pipeline import default_model_name
from lowlight.inference.video import DEFAULT_TEMPORAL_SMOOTHING, enhance_videos, is_video_path
from lowlight.io import DEFAULT_MAX_PIXELS, format_for_suffix, is_image_path, read_image
from lowlight.registry import list_models, model_info, pretrained_weights, shipped_weights

__all__ = ["ServeSettings", "WebResult", "model_choices", "run_uploads", "safe_name"]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ServeSettings:
    """How the server runs every job; the page chooses only the model and the brightness.

    options: the base :class:`EnhanceOptions` (device, tiling, memory budget, ...).
    max_pixels: images with more pixels are refused (message on the page).
    max_upload_mb: files larger than this are refused (also enforced by the server on upload).
    max_files: files accepted per job.
    quality: JPEG/WebP quality of the results.
    """

    options: EnhanceOptions = field(default_factory=EnhanceOptions)
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_upload_mb: float = 200.0
    max_files: int = 16
    quality: int = 95


@dataclass
class WebResult:
    """What the page shows after a job."""

    outputs: list[Path]
    comparison: tuple[np.ndarray, np.ndarray] | None
    video: Path | None
    message: str


def model_choices() -> list[str]:
    """Everything the page offers: ``NAME.TAG`` for each set of shipped weights, then the classical methods."""
    tagged = sorted(f"{entry.model}.{entry.tag}" for entry in shipped_weights())
    classical = sorted(name for name in list_models() if not model_info(name).learned)
    return tagged + classical


def default_choice() -> str:
    """The choice the page starts with: the default model with its default weights."""
    name = default_model_name()
    entry = pretrained_weights(name)
    return f"{name}.{entry.tag}" if entry is not None else name


def safe_name(index: int, uploaded: str) -> str:
    """A file name for the ``index``-th upload made only of safe characters, keeping its extension.

    >>> safe_name(1, "../../etc/passwd")
    '01_passwd'
    >>> safe_name(2, "Été à Paris (1).JPG")
    '02_t_Paris_1.jpg'
    """
    path = Path(uploaded.replace("\\", "/").split("/")[-1])
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_")[:40] or "upload"
    suffix = path.suffix.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", path.suffix) else ""
    return f"{index:02d}_{stem}{suffix}"


def _check_uploads(paths: list[Path], settings: ServeSettings) -> list[str]:
    if not paths:
        raise LowlightError("no file uploaded: drop one or more photos or a video first")
    if len(paths) > settings.max_files:
        raise LowlightError(f"{len(paths)} files uploaded; at most {settings.max_files} per job")
    problems = []
    for path in paths:
        size_mb = path.stat().st_size / 1e6
        if size_mb > settings.max_upload_mb:
            problems.append(f"{path.name}: {size_mb:.0f} MB is over the {settings.max_upload_mb:.0f} MB upload limit")
        elif not (is_image_path(path) or is_video_path(path)):
            problems.append(f"{path.name}: not an image or video file lowlight reads")
    return problems


def _link_uploads(paths: list[Path], inputs: Path) -> list[Path]:
    inputs.mkdir(parents=True)
    linked = []
    for index, path in enumerate(paths, start=1):
        target = inputs / safe_name(index, path.name)
        try:
            target.hardlink_to(path)
        except OSError:
            shutil.copyfile(path, target)
        linked.append(target)
    return linked


def _image_target(source: Path, outputs: Path) -> Path:
    extension = source.suffix if format_for_suffix(source) is not None else ".png"
    return outputs / f"{source.stem}_enhanced{extension}"


def _preview(path: Path, max_pixels: int) -> np.ndarray:
    return (read_image(path, max_pixels=max_pixels).rgb * 255.0 + 0.5).astype(np.uint8)


def run_uploads(
    uploads: list[str | Path],
    choice: str,
    exposure: float,
    settings: ServeSettings,
    workdir: Path,
    progress: Progress | None = None,
) -> WebResult:
    """Enhance the uploaded files into a new job folder under ``workdir``.

    Args:
        uploads: server-side paths of the uploaded files (as the web framework stored them).
        choice: one of :func:`model_choices`.
        exposure: brightness in EV stops (0 = the model's own choice).
        settings: the server's :class:`ServeSettings`.
        workdir: folder for job folders (the caller removes old ones).
        progress: called with (fraction done, description).

    Raises:
        LowlightError: for a job that cannot start (nothing uploaded, unknown model, too many files).
    """
    if choice not in model_choices():
        raise LowlightError(f"unknown model {choice!r}")
    report = progress or (lambda fraction, text: None)
    paths = [Path(p) for p in uploads]
    problems = _check_uploads(paths, settings)
    accepted = [p for p in paths if not any(msg.startswith(f"{p.name}:") for msg in problems)]
    job = workdir / f"job-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    sources = _link_uploads(accepted, job / "inputs")
    outputs_dir = job / "outputs"
    outputs_dir.mkdir()
    options = replace(settings.options, model=choice, exposure=float(exposure))
    started = time.perf_counter()
    images = [s for s in sources if not is_video_path(s)]
    videos = [s for s in sources if is_video_path(s)]
    lines: list[str] = []
    done_images: list[Path] = []
    if images:
        jobs = [Job(source, _image_target(source, outputs_dir)) for source in images]

        def on_image(finished: Job) -> None:
            done_images.append(finished.source)
            report(len(done_images) / (len(images) + len(videos)), f"image {len(done_images)} of {len(images)}")

        summary = run_jobs(
            jobs, cached_enhancer(options), quality=settings.quality, max_pixels=settings.max_pixels,
            report=lines.append, on_image=on_image,
        )  # fmt: skip
        problems.extend(summary.failures)
    if videos:

        def on_frame(source: Path, done: int, total: int) -> None:
            report(len(images) / (len(images) + len(videos)) + done / max(total, 1) / len(videos), f"frame {done}")

        before = len(lines)
        enhance_videos(
            videos, outputs_dir, options, suffix="_enhanced", smoothing=DEFAULT_TEMPORAL_SMOOTHING,
            report=lines.append, on_frame=on_frame, enhancer=cached_enhancer(options),
        )  # fmt: skip
        problems.extend(line for line in lines[before:] if line.startswith("failed"))
    seconds = time.perf_counter() - started
    written = sorted(p for p in outputs_dir.iterdir() if not p.name.startswith("."))
    written_videos = [p for p in written if is_video_path(p)]
    video_out = written_videos[0] if written_videos else None
    comparison = _comparison(written, settings.max_pixels)
    message = _message(choice, written, problems, seconds)
    return WebResult(written, comparison, video_out, message)


def _comparison(written: list[Path], max_pixels: int) -> tuple[np.ndarray, np.ndarray] | None:
    for output in written:
        if is_video_path(output):
            continue
        source = next(p for p in (output.parent.parent / "inputs").iterdir() if p.stem + "_enhanced" == output.stem)
        return _preview(source, max_pixels), _preview(output, max_pixels)
    return None


def _message(model: str, written: list[Path], problems: list[str], seconds: float) -> str:
    head = f"**{model}**: {len(written)} file(s) enhanced in {seconds:.1f} s"
    return "\n".join([head, *(f"- {p}" for p in problems)])
