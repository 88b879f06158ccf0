"""Command-line options shared by every command that enhances (``enhance``, ``serve``)."""

from __future__ import annotations

import argparse

from lowlight.argtypes import finite_float, int_in_range, non_negative_int
from lowlight.inference.pipeline import DEFAULT_MAX_MEMORY_GB, PRECISIONS
from lowlight.io import DEFAULT_MAX_PIXELS


def add_resource_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--device``, ``--precision``, ``--tile``, ``--max-memory``, ``--max-pixels`` and ``--quality``."""
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    add_precision_option(parser)
    parser.add_argument(
        "--tile", type=non_negative_int, default=None,
        help="tile side in pixels; 0 = never tile; default: chosen from --max-memory",
    )  # fmt: skip
    parser.add_argument(
        "--max-memory", type=finite_float(minimum=0.0, inclusive=False), default=DEFAULT_MAX_MEMORY_GB,
        help=f"activation memory budget in GB used to choose tiles (default {DEFAULT_MAX_MEMORY_GB})",
    )  # fmt: skip
    parser.add_argument(
        "--max-pixels", type=finite_float(minimum=0.0, inclusive=False), default=DEFAULT_MAX_PIXELS / 1e6,
        help=f"refuse images larger than this many megapixels (default {DEFAULT_MAX_PIXELS / 1e6:.0f})",
    )  # fmt: skip
    parser.add_argument("--quality", type=int_in_range(1, 100), default=95, help="JPEG/WebP quality 1-100 (default 95)")


def add_precision_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--precision fp32 | bf16``."""
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32",
        help="bf16: bfloat16 convolutions, Fourier parts and normalisation statistics in float32; on the CPU it "
        "needs avx512_bf16 or AMX and compiles the model like --compile (default fp32)",
    )  # fmt: skip
