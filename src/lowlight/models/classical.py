"""Classical low-light baselines as parameter-free models (B, 3, H, W) -> (B, 3, H, W) in [0, 1].

- ``gamma``: fixed power law x ** (1 / 2.2).
- ``adaptive_gamma``: per-image power law that maps the mean intensity to 0.5.
- ``histogram_equalization``: global histogram equalisation of the luma (BT.601 Y), chroma kept.
- ``clahe``: contrast-limited adaptive histogram equalisation of the luma (OpenCV's algorithm:
  8x8 tiles, clip limit 2, bilinear blending of the tile mappings).

None of them needs weights; they are deterministic and make honest table rows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lowlight._registry import register_model
from lowlight.layers._checks import check_image_batch
from lowlight.models.base import EnhancementModel

_LEVELS = 256
# BT.601 full-range RGB <-> YCbCr (JPEG convention).
_RGB_TO_Y = (0.299, 0.587, 0.114)


def gamma_curve(x: torch.Tensor, gamma: float = 1 / 2.2) -> torch.Tensor:
    """x ** gamma on (B, 3, H, W) in [0, 1]."""
    check_image_batch(x, channels=3)
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    return x.clamp(0, 1).pow(gamma)


def adaptive_gamma_curve(x: torch.Tensor, target_mean: float = 0.5) -> torch.Tensor:
    """Per-image x ** g with g = log(target) / log(mean(x)), so the mean moves to about ``target``.

    Args:
        x: (B, 3, H, W) in [0, 1].
        target_mean: desired mean intensity, in (0, 1).
    """
    check_image_batch(x, channels=3)
    if not 0 < target_mean < 1:
        raise ValueError(f"target_mean must be in (0, 1), got {target_mean}")
    x = x.clamp(0, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True).clamp(1e-4, 1 - 1e-4)
    exponent = math.log(target_mean) / torch.log(mean)
    return x.pow(exponent)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """Full-range BT.601 (JPEG) RGB -> YCbCr, all in [0, 1], chroma centred on 0.5."""
    r, g, b = x.unbind(1)
    y = _RGB_TO_Y[0] * r + _RGB_TO_Y[1] * g + _RGB_TO_Y[2] * b
    cb = (b - y) / 1.772 + 0.5
    cr = (r - y) / 1.402 + 0.5
    return torch.stack((y, cb, cr), 1)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    y, cb, cr = x.unbind(1)
    r = y + 1.402 * (cr - 0.5)
    b = y + 1.772 * (cb - 0.5)
    g = (y - _RGB_TO_Y[0] * r - _RGB_TO_Y[2] * b) / _RGB_TO_Y[1]
    return torch.stack((r, g, b), 1)


def _quantise(channel: torch.Tensor) -> torch.Tensor:
    return (channel.clamp(0, 1) * (_LEVELS - 1)).round().long()


def equalize_levels(levels: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of integer levels (B, H, W) in [0, 255] (OpenCV ``equalizeHist``).

    Returns the equalised levels as float in [0, 1].
    """
    batch = levels.shape[0]
    flat = levels.reshape(batch, -1)
    hist = torch.zeros(batch, _LEVELS, dtype=torch.float64, device=levels.device)
    hist.scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float64))
    cdf = hist.cumsum(1)
    total = flat.shape[1]
    # first occupied level maps to 0 (as OpenCV); a constant image stays unchanged
    first = torch.gather(cdf, 1, (hist > 0).to(torch.uint8).argmax(1, keepdim=True))
    span = (total - first).clamp_min(1)
    lut = ((cdf - first) * (_LEVELS - 1) / span).round().clamp(0, _LEVELS - 1)
    constant = (total - first) == 0
    lut = torch.where(constant, torch.arange(_LEVELS, device=levels.device, dtype=lut.dtype), lut)
    out = torch.gather(lut, 1, flat).reshape(levels.shape)
    return (out / (_LEVELS - 1)).float()


def _clahe_tile_luts(levels: torch.Tensor, grid: tuple[int, int], clip_limit: float) -> torch.Tensor:
    """Per-tile mapping tables (B, gy, gx, 256) of padded levels (B, gy*th, gx*tw)."""
    batch, height, width = levels.shape
    grid_y, grid_x = grid
    tile_h, tile_w = height // grid_y, width // grid_x
    tiles = levels.reshape(batch, grid_y, tile_h, grid_x, tile_w).permute(0, 1, 3, 2, 4)
    tiles = tiles.reshape(batch, grid_y, grid_x, tile_h * tile_w)
    hist = torch.zeros(batch, grid_y, grid_x, _LEVELS, dtype=torch.int64, device=levels.device)
    hist.scatter_add_(3, tiles, torch.ones_like(tiles))
    area = tile_h * tile_w
    if clip_limit > 0:
        limit = max(int(clip_limit * area / _LEVELS), 1)
        excess = (hist - limit).clamp_min(0).sum(3, keepdim=True)
        hist = hist.clamp_max(limit) + excess // _LEVELS
        residual = excess % _LEVELS
        # OpenCV spreads the remainder over every step-th bin, starting at bin 0
        step = (_LEVELS // residual.clamp_min(1)).clamp_min(1)
        bins = torch.arange(_LEVELS, device=levels.device)
        hist = hist + ((bins % step == 0) & (bins // step < residual)).long()
    cdf = hist.cumsum(3).double()
    return (cdf * ((_LEVELS - 1) / area)).round().clamp(0, _LEVELS - 1)


def clahe_levels(levels: torch.Tensor, grid: tuple[int, int] = (8, 8), clip_limit: float = 2.0) -> torch.Tensor:
    """CLAHE of integer levels (B, H, W) in [0, 255]; returns float levels in [0, 1].

    Follows OpenCV's ``createCLAHE(clipLimit, tileGridSize)``: the image is padded (reflect-101)
    to a multiple of the grid, each tile's histogram is clipped at ``clip_limit * area / 256``
    with the excess redistributed, and every pixel blends the four nearest tile mappings.
    """
    batch, height, width = levels.shape
    grid_y, grid_x = grid
    pad_h, pad_w = (-height) % grid_y, (-width) % grid_x
    padded = levels
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        padded = F.pad(levels[:, None].float(), (0, pad_w, 0, pad_h), mode=mode)[:, 0].long()
    luts = _clahe_tile_luts(padded, grid, clip_limit)
    tile_h, tile_w = padded.shape[1] // grid_y, padded.shape[2] // grid_x

    def neighbours(size: int, tile: int, count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pos = torch.arange(size, device=levels.device, dtype=torch.float64) / tile - 0.5
        low = pos.floor()
        frac = pos - low
        low = low.long()
        return low.clamp(0, count - 1), (low + 1).clamp(0, count - 1), frac

    y0, y1, fy = neighbours(height, tile_h, grid_y)
    x0, x1, fx = neighbours(width, tile_w, grid_x)
    flat_luts = luts.reshape(batch, grid_y * grid_x * _LEVELS)

    def lookup(ty: torch.Tensor, tx: torch.Tensor) -> torch.Tensor:
        index = (ty[:, None] * grid_x + tx[None, :]) * _LEVELS
        index = index[None] + levels
        return torch.gather(flat_luts, 1, index.reshape(batch, -1)).reshape(batch, height, width)

    fy, fx = fy[None, :, None], fx[None, None, :]
    top = lookup(y0, x0) * (1 - fx) + lookup(y0, x1) * fx
    bottom = lookup(y1, x0) * (1 - fx) + lookup(y1, x1) * fx
    out = (top * (1 - fy) + bottom * fy).round()
    return (out / (_LEVELS - 1)).float()


def _replace_luma(x: torch.Tensor, new_luma: torch.Tensor) -> torch.Tensor:
    ycbcr = rgb_to_ycbcr(x.clamp(0, 1))
    ycbcr = torch.cat((new_luma[:, None].to(x.dtype), ycbcr[:, 1:]), 1)
    return ycbcr_to_rgb(ycbcr).clamp(0, 1)


class GammaCorrection(EnhancementModel):
    """Fixed gamma curve (no parameters)."""

    def __init__(self, *, gamma: float = 1 / 2.2) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gamma_curve(x, self.gamma)


class AdaptiveGamma(EnhancementModel):
    """Per-image gamma moving the mean intensity to ``target_mean``."""

    def __init__(self, *, target_mean: float = 0.5) -> None:
        super().__init__()
        self.target_mean = target_mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return adaptive_gamma_curve(x, self.target_mean)


class HistogramEqualization(EnhancementModel):
    """Global histogram equalisation of the BT.601 luma; chroma (Cb, Cr) kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, channels=3)
        luma = rgb_to_ycbcr(x.clamp(0, 1))[:, 0]
        return _replace_luma(x, equalize_levels(_quantise(luma)))


class CLAHE(EnhancementModel):
    """Contrast-limited adaptive histogram equalisation of the luma; chroma kept."""

    def __init__(self, *, grid: tuple[int, int] = (8, 8), clip_limit: float = 2.0) -> None:
        super().__init__()
        if min(grid) < 1:
            raise ValueError(f"grid must be positive, got {grid}")
        self.grid = tuple(grid)
        self.clip_limit = clip_limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_batch(x, channels=3)
        luma = rgb_to_ycbcr(x.clamp(0, 1))[:, 0]
        return _replace_luma(x, clahe_levels(_quantise(luma), self.grid, self.clip_limit))


@register_model(task="enhance", paper="classical", description="gamma curve x^(1/2.2)", learned=False)
def gamma(**overrides: object) -> GammaCorrection:
    return GammaCorrection(**overrides)


@register_model(task="enhance", paper="classical", description="per-image gamma, mean to 0.5", learned=False)
def adaptive_gamma(**overrides: object) -> AdaptiveGamma:
    return AdaptiveGamma(**overrides)


@register_model(task="enhance", paper="classical", description="histogram equalisation of luma", learned=False)
def histogram_equalization(**overrides: object) -> HistogramEqualization:
    return HistogramEqualization(**overrides)


@register_model(task="enhance", paper="classical", description="CLAHE of luma (8x8, clip 2)", learned=False)
def clahe(**overrides: object) -> CLAHE:
    return CLAHE(**overrides)
