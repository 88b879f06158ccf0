"""Overlapping tiles blended with a smooth window, for images too large to process whole.

A tile's contribution is weighted by a raised-cosine ramp across the overlap on every side that
has a neighbour, so seams vanish for local models. Models with global operators (DarkIR's
Fourier blocks, adaptive curves) see only their tile, so tiled output differs from whole-image
output; ``benchmarks/tiling_fidelity.py`` measures by how much.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

TILE_MULTIPLE = 64  # tile sides are multiples of this (and so of every model's stride)
# Smallest automatic tile: with DarkIR, 384-px tiles differ from the whole-image output by about
# 34.5 dB PSNR on LOL eval15, 128-px tiles by 25 dB (benchmarks/tiling_fidelity.py).
MIN_TILE = 384


def tile_spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """(start, end) spans of tiles covering ``[0, length)``, neighbours overlapping by >= ``overlap``.

    Starts are multiples of ``align`` (a strided network then sees every tile on the same pixel
    grid as the whole image); the last tile runs to the end, so it may be up to ``align - 1``
    pixels longer than ``tile``.
    """
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than the overlap ({overlap})")
    if align < 1 or tile - overlap < align:
        raise ValueError(f"tile ({tile}) minus overlap ({overlap}) must be at least the alignment ({align})")
    if length <= tile:
        return [(0, length)]
    step = (tile - overlap) // align * align
    last = (length - tile) // align * align
    starts = list(range(0, last, step))
    return [(start, start + tile) for start in starts] + [(last, length)]


def _ramp(length: int, overlap: int, rise: bool, fall: bool, dtype: torch.dtype) -> torch.Tensor:
    weights = torch.ones(length, dtype=dtype)
    ramp_len = min(overlap, length // 2)
    if ramp_len == 0:
        return weights
    ramp = torch.sin(0.5 * math.pi * (torch.arange(ramp_len, dtype=dtype) + 0.5) / ramp_len).square()
    if rise:
        weights[:ramp_len] = ramp
    if fall:
        weights[length - ramp_len :] = ramp.flip(0)
    return weights


def blend_window(
    height: int, width: int, overlap: int, edges: tuple[bool, bool, bool, bool], dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """(1, 1, height, width) weights; ``edges`` = neighbour above, below, left, right."""
    above, below, left, right = edges
    rows = _ramp(height, overlap, above, below, dtype)
    cols = _ramp(width, overlap, left, right, dtype)
    return (rows[:, None] * cols[None, :])[None, None]


def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int,
    overlap: int,
    on_tile: Callable[[int, int], None] | None = None,
    align: int = 1,
) -> torch.Tensor:
    """Apply an image-to-image ``fn`` tile by tile and blend the results.

    Args:
        fn: maps (B, C, h, w) to (B, C, h, w); called once per tile.
        image: (B, C, H, W) on any device; the blend buffers stay on that device.
        tile: tile side in pixels.
        overlap: minimum overlap between neighbouring tiles, in pixels.
        on_tile: called as ``on_tile(done, total)`` after each tile (progress bars).
        align: tile starts are multiples of this (use the network's total stride).

    Returns:
        (B, C, H, W) tensor.
    """
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    height, width = image.shape[-2:]
    rows = tile_spans(height, tile, overlap, align)
    cols = tile_spans(width, tile, overlap, align)
    if len(rows) == 1 and len(cols) == 1:
        out = fn(image)
        if on_tile:
            on_tile(1, 1)
        return out
    total = len(rows) * len(cols)
    out = torch.zeros_like(image, dtype=torch.float32)
    weight_sum = torch.zeros((1, 1, height, width), dtype=torch.float32, device=image.device)
    done = 0
    for top, bottom in rows:
        for left, right in cols:
            result = fn(image[..., top:bottom, left:right]).float()
            edges = (top > 0, bottom < height, left > 0, right < width)
            # the real overlap with a neighbour can exceed ``overlap`` for the last tile; the
            # ramp uses the nominal overlap, which stays inside the shared region
            window = blend_window(bottom - top, right - left, overlap, edges).to(image.device)
            out[..., top:bottom, left:right] += result * window
            weight_sum[..., top:bottom, left:right] += window
            done += 1
            if on_tile:
                on_tile(done, total)
    return out / weight_sum


def auto_tile_size(height: int, width: int, bytes_per_pixel: float, budget_bytes: float) -> int | None:
    """Largest tile side whose activations fit ``budget_bytes``; None when the whole image fits."""
    if height * width * bytes_per_pixel <= budget_bytes:
        return None
    side = int(math.sqrt(budget_bytes / bytes_per_pixel)) // TILE_MULTIPLE * TILE_MULTIPLE
    return max(side, MIN_TILE)
