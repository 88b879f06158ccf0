"""Enhancing many files: input discovery, output naming, skip/overwrite rules and a summary.

Rules that protect data: an output never replaces an input file, existing outputs are skipped
unless ``overwrite`` is set, two inputs never write the same output, and every file is written
atomically. One bad file is reported and skipped; the others are processed.
"""

from __future__ import annotations

import gc
import glob
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lowlight.errors import LowlightError
from lowlight.inference.pipeline import Enhancer
from lowlight.io import DEFAULT_MAX_PIXELS, format_for_suffix, is_image_path, read_image, write_image
from lowlight.runtime import bound_heap_growth, release_memory

_GLOB_CHARS = set("*?[")
_EXTENSION_BY_FORMAT = {
    "png": ".png",
    "jpg": ".jpg",
    "jpeg": ".jpg",
    "webp": ".webp",
    "tif": ".tif",
    "tiff": ".tif",
    "bmp": ".bmp",
}


@dataclass(frozen=True)
class Job:
    """One input file and where its result goes."""

    source: Path
    target: Path


@dataclass
class Plan:
    """What :func:`plan_jobs` found: jobs to run, and problems with the inputs themselves."""

    jobs: list[Job] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.done} enhanced, {self.skipped} skipped, {self.failed} failed in {self.seconds:.1f} s"


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _previous_output(file: Path, folder: Path, output: Path, suffix: str) -> bool:
    """Whether ``file`` (found in input ``folder``) may be an output of an earlier run into ``output``.

    Files inside an output folder that lies within the input folder are never inputs (a second run with
    ``-o`` inside a ``-r`` input tree must not enhance the first run's outputs); when the output folder is
    the input folder itself, files named with the ``--suffix`` are skipped for the same reason.
    """
    if not output.is_dir():
        return False
    if output.resolve() == folder.resolve():
        return bool(suffix) and file.stem.endswith(suffix) and file.parent.resolve() == folder.resolve()
    return _inside(output, folder) and _inside(file, output)


def _discover(spec: str, recursive: bool, output: Path, suffix: str) -> tuple[list[tuple[Path, Path]], str | None]:
    """(file, base folder) pairs for one input argument, or a problem message (see :func:`_previous_output`)."""
    path = Path(spec)
    if path.is_file():
        return [(path, path.parent)], None
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(
            p
            for p in path.glob(pattern)
            if p.is_file()
            and is_image_path(p)
            and not _hidden(p, path)
            and not _previous_output(p, path, output, suffix)
        )
        if not files:
            hint = "" if recursive else " (use --recursive to look in subfolders)"
            return (
                [],
                f"{path}: folder contains no images (.bmp, .jpg, .png, .tif, .webp){hint}",
            )
        return [(f, path) for f in files], None
    if _GLOB_CHARS & set(spec):
        matches = sorted(
            Path(m)
            for m in glob.glob(spec, recursive=recursive)
            if Path(m).is_file() and not _previous_output(Path(m), Path(m).parent, output, suffix)
        )
        if not matches:
            return [], f"{spec}: pattern matches no files"
        return [(m, m.parent) for m in matches], None
    return [], f"{path}: no such file or folder"


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def output_path(
    source: Path, base: Path, output: Path, *, single_file: bool, suffix: str, image_format: str | None
) -> Path:
    """Where the result of ``source`` goes."""
    extension = _EXTENSION_BY_FORMAT[image_format] if image_format else source.suffix.lower()
    if format_for_suffix(Path("x" + extension)) is None:
        extension = ".png"  # inputs Pillow reads but lowlight does not write (e.g. .gif)
    if single_file and format_for_suffix(output) is not None:
        return output
    relative = source.relative_to(base).with_suffix("")
    return output / relative.parent / f"{relative.name}{suffix}{extension}"


def plan_jobs(
    inputs: Iterable[str],
    output: Path,
    *,
    recursive: bool = False,
    suffix: str = "",
    image_format: str | None = None,
) -> Plan:
    """Expand inputs (files, folders, globs) and name every output; see the module rules."""
    if image_format is not None and image_format.lower() not in _EXTENSION_BY_FORMAT:
        raise LowlightError(f"--format {image_format!r} is not supported; use one of {', '.join(_EXTENSION_BY_FORMAT)}")
    image_format = image_format.lower() if image_format else None
    check_suffix(suffix)
    plan = Plan()
    found: list[tuple[Path, Path]] = []
    for spec in inputs:
        files, problem = _discover(spec, recursive, output, suffix)
        found.extend(files)
        if problem:
            plan.problems.append(problem)
    unique = list(dict.fromkeys(found))
    single_file = len(unique) == 1 and Path(next(iter(inputs), "")).is_file()
    if single_file:
        _check_single_output(output, image_format)
    input_paths = {source.resolve() for source, _ in unique}
    claimed: dict[Path, Path] = {}
    for source, base in unique:
        target = output_path(source, base, output, single_file=single_file, suffix=suffix, image_format=image_format)
        resolved = target.resolve()
        if not (single_file and target == output) and not _inside(resolved, output):
            plan.problems.append(f"{source}: output {target} would fall outside the output folder {output}; skipped")
        elif resolved in input_paths:
            plan.problems.append(f"{source}: output {target} would overwrite an input; use --suffix or another -o")
        elif resolved in claimed:
            plan.problems.append(f"{source}: output {target} is already the output of {claimed[resolved]}; skipped")
        else:
            claimed[resolved] = source
            plan.jobs.append(Job(source, target))
    return plan


def _check_single_output(output: Path, image_format: str | None) -> None:
    """One input file: ``-o`` is a file of a format lowlight writes (agreeing with --format), or a folder."""
    if output.is_dir() or not output.suffix:
        return
    written = format_for_suffix(output)
    if written is None:
        known = ", ".join(sorted({e for e in _EXTENSION_BY_FORMAT.values()}))
        raise LowlightError(
            f"-o {output}: {output.suffix!r} is not an image format lowlight writes ({known}); "
            "give such a file name, or an existing folder"
        )
    if image_format and format_for_suffix(Path("x" + _EXTENSION_BY_FORMAT[image_format])) != written:
        raise LowlightError(f"--format {image_format} disagrees with the output file name {output}")


def printable(text: str) -> str:
    """``text`` with control characters escaped, so a file name cannot forge or split a log line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def check_suffix(suffix: str) -> None:
    """``--suffix`` is part of a file name: no folder separators, no control characters."""
    if any(sep in suffix for sep in ("/", "\\", "\0")) or (suffix and suffix.strip(".") == ""):
        raise LowlightError(f"--suffix {suffix!r} must be part of a file name (no '/', '\\' or dots only)")
    if any(ord(c) < 32 for c in suffix):
        raise LowlightError(f"--suffix {suffix!r} holds control characters")


def run_jobs(
    jobs: list[Job],
    enhancer: Enhancer,
    *,
    overwrite: bool = False,
    quality: int = 95,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    report: Callable[[str], None] = print,
    on_image: Callable[[Job], None] | None = None,
    on_tile: Callable[[int, int], None] | None = None,
) -> Summary:
    """Enhance every job's source into its target; never raises for a single bad file."""
    summary = Summary()
    started = time.perf_counter()
    previous_size: tuple[int, int] | None = None
    for job in jobs:
        try:
            if job.target.exists() and not overwrite:
                summary.skipped += 1
                report(printable(f"skipped {job.source}: {job.target} exists (use --overwrite to replace it)"))
                continue
            loaded = read_image(job.source, max_pixels=max_pixels)
            for note in loaded.notes:
                report(printable(f"note: {job.source}: {note}"))
            if previous_size is not None and loaded.size != previous_size:
                gc.collect()  # tensors held in reference cycles would otherwise live into the next image
                release_memory()  # a folder of mixed sizes must not grow the heap image after image
                bound_heap_growth()  # nor fragment it: large blocks come from mmap from here on
            previous_size = loaded.size
            result = enhancer.enhance_array(loaded.rgb, on_tile)
            write_image(
                job.target,
                result,
                alpha=loaded.alpha,
                bit_depth=loaded.bit_depth,
                quality=quality,
                icc_profile=loaded.icc_profile,
                exif=loaded.exif,
            )
            summary.done += 1
        except LowlightError as exc:
            summary.failed += 1
            summary.failures.append(str(exc))
            report(printable(f"failed: {exc}"))
        except MemoryError:
            summary.failed += 1
            message = f"{job.source}: out of memory; lower --max-memory or set --tile"
            summary.failures.append(message)
            report(printable(f"failed: {message}"))
        finally:
            if on_image:
                on_image(job)
    summary.seconds = time.perf_counter() - started
    return summary


def shard_from_environment(spec: str | None = None) -> tuple[int, int]:
    """(index, count) of this process's shard: ``--shard K/N`` if given, else torchrun's RANK/WORLD_SIZE."""
    import os

    if spec:
        try:
            index, count = (int(v) for v in spec.split("/"))
        except ValueError:
            raise LowlightError(f"--shard {spec!r}: expected K/N, e.g. 0/4") from None
    else:
        index, count = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if count < 1 or not 0 <= index < count:
        raise LowlightError(f"shard {index}/{count}: need 0 <= K < N")
    return index, count


def shard_device(device: str, index: int, count: int) -> str:
    """The device of shard ``index``: with several shards and CUDA, one GPU per local rank (round robin)."""
    import os

    import torch

    if count > 1 and device == "auto" and torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', index)) % torch.cuda.device_count()}"
    return device


def shard_jobs(jobs: list[Job], index: int, count: int) -> list[Job]:
    """Every ``count``-th job starting at ``index``: disjoint shards that together cover all jobs.

    The job list is sorted by source path first, so every process computes the same split.
    """
    return sorted(jobs, key=lambda job: str(job.source))[index::count]
