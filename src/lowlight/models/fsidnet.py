"""FSIDNet: frequency-spatial interaction driven two-stage low-light enhancement.

Tao, Tao and Xiang, "Frequency-Spatial Interaction Driven Network for Low-Light Image Enhancement",
arXiv 2510.22154 (2025). No official code exists: this follows ``specs/fsidnet.md``, whose open
choices are constructor arguments (defaults = the spec's defaults).

Stage 1, a U-Net of FSIA blocks (amplitude mode), restores lightness: Y1. The stage-2 input keeps
the Fourier amplitude of Y1 and the exact phase of the input, X2 = IFFT(A(Y1), P(X)). Stage 2, a
U-Net of FSIP blocks (phase mode), restores structure, with the Information Exchange Module (IEM):
stage-1 features injected into the stage-2 encoder (CSFF), cross-scale fusion of the stage-2 encoder
and stage-1 decoder features, and Dynamic Filter Blocks (DFB) in the stage-2 decoder: Y2.

Layout: Fourier and spatial blocks -> FSI block -> dynamic filter -> cross-scale fusion -> stages ->
network -> registered variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from lowlight._registry import PretrainedWeights, register_model, register_weights
from lowlight.layers import binomial_blur2d, crop_to
from lowlight.layers._checks import check_image_batch
from lowlight.layers.fourier import (
    combine_amplitude_phase,
    irfft2_parts,
    parts_amplitude,
    parts_amplitude_phase,
    parts_from_polar,
    parts_with_amplitude,
    rfft2_parts,
)
from lowlight.layers.layout import contiguous_nchw
from lowlight.models.base import PHASE_EXPORT_TOLERANCE, EnhancementModel, TrainOutput

FourierMode = Literal["amplitude", "phase", "both"]


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    pad_h, pad_w = (-x.shape[-2]) % multiple, (-x.shape[-1]) % multiple
    if torch.compiler.is_compiling():
        # no branch on the size: an export must stay valid for every height and width >= multiple
        return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    if not pad_h and not pad_w:
        return x
    mode = "reflect" if pad_h < x.shape[-2] and pad_w < x.shape[-1] else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def _pointwise_mlp(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, 1), nn.LeakyReLU(0.1), nn.Conv2d(channels, channels, 1))


class FourierBlock(nn.Module):
    """A 1x1 MLP on the amplitude (FSIA), the phase (FSIP) or both of a spectrum.

    The spectrum is given and returned as real and imaginary parts, (B, c, H, W', 2). The amplitude
    mode rescales the parts (no angle, cos and sin); the others go through the polar form.
    """

    def __init__(self, channels: int, mode: FourierMode) -> None:
        super().__init__()
        self.mode = mode
        self.amplitude = _pointwise_mlp(channels) if mode in ("amplitude", "both") else None
        self.phase = _pointwise_mlp(channels) if mode in ("phase", "both") else None

    def forward(self, parts: torch.Tensor) -> torch.Tensor:
        # Amplitudes reach H*W*mean(x): keep this block in float32 under autocast.
        with torch.autocast(device_type=parts.device.type, enabled=False):
            if self.phase is None:
                return parts_with_amplitude(parts, _apply(self.amplitude, parts_amplitude(parts)))
            amplitude, phase = parts_amplitude_phase(parts)
            if self.amplitude is not None:
                amplitude = _apply(self.amplitude, amplitude)
            return parts_from_polar(amplitude, _apply(self.phase, phase))


def _apply(mlp: nn.Sequential, values: torch.Tensor) -> torch.Tensor:
    """Run ``mlp`` in its own dtype and return the result in the dtype and (eager) the layout of ``values``."""
    out = mlp(values.to(mlp[0].weight.dtype)).to(values.dtype)
    if torch.is_grad_enabled() or torch.compiler.is_compiling() or not values.is_contiguous():
        return out
    # channels_last weights give a channels_last result; mixing it with the NCHW planes in element-wise
    # passes is slower than one blocked copy
    return contiguous_nchw(out)


class SpatialBlock(nn.Module):
    """x + LReLU(Conv3x3(LReLU(Conv3x3(x))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(0.1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class FSIBlock(nn.Module):
    """Frequency-spatial interaction block (FECNet's mutual form): FSIA, FSIP or both at once.

    A spatial branch and a Fourier branch run side by side and exchange information both ways
    (frequency to spatial after the first pair of blocks, spatial to frequency after that), then are
    fused by a 1x1 convolution with a residual. (B, c, H, W) -> (B, c, H, W).

    Args:
        channels: feature channels c.
        mode: what the Fourier branch restores: "amplitude" (FSIA), "phase" (FSIP) or "both".
        freq_to_spatial / spatial_to_freq: the two interaction directions (ablation switches).
    """

    def __init__(
        self, channels: int, mode: FourierMode, *, freq_to_spatial: bool = True, spatial_to_freq: bool = True
    ) -> None:
        super().__init__()
        self.entry = nn.Conv2d(channels, channels, 1)
        self.spatial1, self.spatial2 = SpatialBlock(channels), SpatialBlock(channels)
        self.fourier1, self.fourier2 = FourierBlock(channels, mode), FourierBlock(channels, mode)
        self.to_spatial = nn.Conv2d(channels, channels, 3, padding=1) if freq_to_spatial else None
        self.to_freq = nn.Conv2d(channels, channels, 3, padding=1) if spatial_to_freq else None
        self.fuse = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = tuple(x.shape[-2:])
        spectrum = rfft2_parts(self.entry(x))
        spatial = self.spatial1(x)
        spectrum = self.fourier1(spectrum)
        if self.to_spatial is not None:
            spatial = spatial + self.to_spatial(irfft2_parts(spectrum, size).to(x.dtype))
        if self.to_freq is not None:
            spectrum = spectrum + rfft2_parts(self.to_freq(spatial))
        spatial = self.spatial2(spatial)
        spectrum = self.fourier2(spectrum)
        return self.fuse(torch.cat([spatial, irfft2_parts(spectrum, size).to(x.dtype)], 1)) + x


def _stack(channels: int, count: int, mode: FourierMode, **switches: bool) -> nn.Sequential:
    return nn.Sequential(*[FSIBlock(channels, mode, **switches) for _ in range(count)])


class ChannelContext(nn.Module):
    """ECA: global average pool, a 1-D convolution across channels, added back (broadcast)."""

    def __init__(self, kernel: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3))[:, None, :]  # (B, 1, c)
        return x + self.conv(pooled)[:, 0, :, None, None]


class DynamicFilter(nn.Module):
    """Dynamic Filter Block: per-pixel, per-channel k x k kernels predicted from fused features.

    ``forward(u, guide)``: kernels come from ``guide`` (B, c, H, W) and filter ``u`` (B, c, H, W);
    returns ``u + filtered``. With ``dynamic=False`` a static 3x3 convolution of ``guide`` takes
    the place of the filtered term (the ablation "IEM with a static convolution").
    """

    def __init__(self, channels: int, kernel: int = 3, dynamic: bool = True) -> None:
        super().__init__()
        self.kernel, self.dynamic = kernel, dynamic
        if dynamic:
            self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
            self.context = ChannelContext()
            self.predict = nn.Conv2d(channels, channels * kernel * kernel, 1)
        else:
            self.static = nn.Conv2d(channels, channels, 3, padding=1)

    def _tap_parameters(self, tap: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weight and bias of ``predict`` for one tap, as new tensors.

        A strided view (or ``.contiguous()``, which the tracer drops) is packed wrongly by inductor's
        weight freezing in torch 2.13 (outputs off by 0.3); an explicit clone is packed right.
        """
        taps = self.kernel**2
        weight = self.predict.weight[tap::taps].clone(memory_format=torch.contiguous_format)
        bias = self.predict.bias
        return weight, None if bias is None else bias[tap::taps].clone()

    def forward(self, u: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        if not self.dynamic:
            return u + self.static(guide)
        height, width = u.shape[-2:]
        context = self.depthwise(guide) + self.context(guide)
        # Tap by tap: kernel weight t of channel ch is output channel ch * k*k + t of ``predict``, and u
        # is read through shifted views. Predicting all k*k kernels at once and unfolding u would write
        # two (B, c*k*k, H, W) tensors: 138 MB each for 16 x 400 x 600, 3x the time of this loop.
        taps, radius = self.kernel**2, self.kernel // 2
        padded = F.pad(u, (radius, radius, radius, radius))
        out = u.clone()
        for tap in range(taps):
            dy, dx = divmod(tap, self.kernel)
            kernel = F.conv2d(context, *self._tap_parameters(tap))
            out.addcmul_(padded[..., dy : dy + height, dx : dx + width], kernel)
        return out


class Resample(nn.Module):
    """Move features ``steps`` scales down (avg-pool + 1x1 doubling channels) or up (1x1 halving + bilinear)."""

    def __init__(self, channels: int, steps: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(abs(steps)):
            if steps > 0:
                layers += [
                    nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
                    nn.Conv2d(channels, 2 * channels, 1),
                ]
                channels *= 2
            else:
                upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
                layers += [nn.Conv2d(channels, channels // 2, 1), upsample]
                channels //= 2
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CrossScaleFusion(nn.Module):
    """Fuse a pyramid of features (high to low resolution): every level sees every other level.

    Level s becomes Conv1x1(concat[Conv3x3(f_s), resample_{j->s}(Conv3x3(f_j)) for j != s]), for the
    first ``outputs`` levels (default all; the stage-2 decoder needs all but the lowest).
    """

    def __init__(self, widths: Sequence[int], outputs: int | None = None) -> None:
        super().__init__()
        levels = len(widths)
        outputs = levels if outputs is None else outputs
        self.pre = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for c in widths)
        self.resample = nn.ModuleList(
            nn.ModuleList(Resample(widths[j], s - j) if j != s else nn.Identity() for j in range(levels))
            for s in range(outputs)
        )
        self.fuse = nn.ModuleList(nn.Conv2d(levels * c, c, 1) for c in widths[:outputs])

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        prepared = [conv(f) for conv, f in zip(self.pre, features, strict=True)]
        fused = []
        for s, (resamplers, fuse) in enumerate(zip(self.resample, self.fuse, strict=True)):
            size = features[s].shape[-2:]
            moved = [resampler(f) for resampler, f in zip(resamplers, prepared, strict=True)]
            moved = [m if m.shape[-2:] == size else F.interpolate(m, size=size, mode="bilinear") for m in moved]
            fused.append(fuse(torch.cat(moved, 1)))
        return fused


class Stage1(nn.Module):
    """U-Net of FSI blocks: X -> Y1 = X + head(decoder); keeps encoder and decoder features for stage 2."""

    def __init__(
        self,
        width: int,
        blocks: Sequence[int],
        mode: FourierMode,
        down_kernel: int,
        upsample_blur: bool = False,
        **switches: bool,
    ):
        super().__init__()
        widths = [width * 2**i for i in range(len(blocks))]
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        self.encoders = nn.ModuleList(_stack(c, n, mode, **switches) for c, n in zip(widths, blocks, strict=True))
        self.downs = nn.ModuleList(_down(c, down_kernel) for c in widths[:-1])
        self.ups = nn.ModuleList(_up(c, upsample_blur) for c in widths[:-1])
        self.merges = nn.ModuleList(nn.Conv2d(2 * c, c, 1) for c in widths[:-1])
        self.decoders = nn.ModuleList(_stack(c, n, mode, **switches) for c, n in zip(widths[:-1], blocks, strict=False))
        self.head = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        feature = self.intro(x)
        encoded = []
        for level, encoder in enumerate(self.encoders):
            feature = encoder(feature)
            encoded.append(feature)
            if level < len(self.downs):
                feature = self.downs[level](feature)
        decoded = [feature]
        for level in reversed(range(len(self.ups))):
            feature = self.ups[level](feature)
            feature = self.decoders[level](self.merges[level](torch.cat([feature, encoded[level]], 1)))
            decoded.insert(0, feature)
        return x + self.head(feature), encoded, decoded


class BlurredConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (kernel 2, stride 2) followed by the fixed binomial filter: same keys, no 2x2 pattern.

    A stride-2, kernel-2 transposed convolution computes the four pixels of each 2x2 output cell with their own
    weights, so unequal gains draw a 2x2 pattern (a lattice locked to the network's grid after several levels);
    :func:`~lowlight.layers.binomial_blur2d` removes it exactly.
    """

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        return binomial_blur2d(super().forward(x, output_size))


def _up(channels: int, blur: bool) -> nn.ConvTranspose2d:
    kind = BlurredConvTranspose2d if blur else nn.ConvTranspose2d
    return kind(2 * channels, channels, 2, stride=2)


def _down(channels: int, kernel: int) -> nn.Conv2d:
    if kernel == 2:
        return nn.Conv2d(channels, 2 * channels, 2, stride=2)
    return nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1)


class Stage2(nn.Module):
    """U-Net of FSIP blocks with the Information Exchange Module (CSFF, cross-scale fusion, DFB)."""

    def __init__(
        self,
        width: int,
        blocks: Sequence[int],
        down_kernel: int,
        iem: Literal["dynamic", "static", "off"],
        csff: bool,
        filter_kernel: int,
        upsample_blur: bool = False,
        **switches: bool,
    ) -> None:
        super().__init__()
        widths = [width * 2**i for i in range(len(blocks))]
        self.iem = iem
        self.intro = nn.Conv2d(3, width, 3, padding=1)
        self.encoders = nn.ModuleList(_stack(c, n, "phase", **switches) for c, n in zip(widths, blocks, strict=True))
        self.downs = nn.ModuleList(_down(c, down_kernel) for c in widths[:-1])
        use_csff = csff and iem != "off"
        self.csff_enc = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for c in widths) if use_csff else None
        self.csff_dec = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for c in widths) if use_csff else None
        if iem != "off":
            levels = len(widths) - 1  # the decoder levels
            self.fuse_encoder, self.fuse_stage1 = CrossScaleFusion(widths, levels), CrossScaleFusion(widths, levels)
            self.guides = nn.ModuleList(nn.Conv2d(3 * c, c, 1) for c in widths[:-1])
            self.filters = nn.ModuleList(DynamicFilter(c, filter_kernel, iem == "dynamic") for c in widths[:-1])
        self.ups = nn.ModuleList(_up(c, upsample_blur) for c in widths[:-1])
        self.merges = nn.ModuleList(nn.Conv2d(2 * c, c, 1) for c in widths[:-1])
        self.decoders = nn.ModuleList(
            _stack(c, n, "phase", **switches) for c, n in zip(widths[:-1], blocks, strict=False)
        )
        self.head = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x2: torch.Tensor, stage1_encoded: list[torch.Tensor], stage1_decoded: list[torch.Tensor]):
        feature = self.intro(x2)
        encoded = []
        for level, encoder in enumerate(self.encoders):
            feature = encoder(feature)
            if self.csff_enc is not None:
                feature = (
                    feature + self.csff_enc[level](stage1_encoded[level]) + self.csff_dec[level](stage1_decoded[level])
                )
            encoded.append(feature)
            if level < len(self.downs):
                feature = self.downs[level](feature)
        skips = encoded
        if self.iem != "off":
            fused_encoder, fused_stage1 = self.fuse_encoder(encoded), self.fuse_stage1(stage1_decoded)
        for level in reversed(range(len(self.ups))):
            up = self.ups[level](feature)
            if self.iem == "off":
                partner = skips[level]
            else:
                guide = self.guides[level](torch.cat([up, fused_encoder[level], fused_stage1[level]], 1))
                partner = self.filters[level](up, guide)
            feature = self.decoders[level](self.merges[level](torch.cat([up, partner], 1)))
        return x2 + self.head(feature)


class FSIDNet(EnhancementModel):
    """FSIDNet: (B, 3, H, W) RGB in [0, 1] -> enhanced (B, 3, H, W), any H and W.

    ``forward(x, return_stages=True)`` returns ``(y1, x2, y2)``: the stage-1 output (lightness), the
    stage-2 input IFFT(A(y1), P(x)) and the final output; ``(None, None, y)`` for ``two_stage=False``.

    Args:
        width: channels at full resolution (doubled per scale).
        blocks: FSI blocks per scale; its length is the number of scales.
        two_stage: False gives the single-stage ablation: one U-Net restoring amplitude and phase together.
        iem: "dynamic" (dynamic filters), "static" (static convolutions instead) or "off" (plain skips,
            no cross-stage exchange).
        csff: inject stage-1 encoder/decoder features into the stage-2 encoder.
        freq_to_spatial / spatial_to_freq: interaction directions inside every FSI block.
        down_kernel: 2 (Conv k2 s2) or 4 (Conv k4 s2 p1) down-sampling.
        filter_kernel: size of the dynamic kernels.
        detach_stage2_input: stop stage-2 gradients from reaching stage 1 through X2.
        upsample_blur: follow each transposed-convolution upsampling with a fixed 3x3 binomial filter
            (no parameters; same keys), which removes the 2x2 pattern such a layer draws where its four
            kernels' gains differ: the lattice that the LOL-only weights add to smooth areas.
    """

    def __init__(
        self,
        *,
        width: int = 16,
        blocks: Sequence[int] = (1, 1, 1),
        two_stage: bool = True,
        iem: Literal["dynamic", "static", "off"] = "dynamic",
        csff: bool = True,
        freq_to_spatial: bool = True,
        spatial_to_freq: bool = True,
        down_kernel: int = 2,
        filter_kernel: int = 3,
        detach_stage2_input: bool = False,
        upsample_blur: bool = False,
    ) -> None:
        super().__init__()
        if iem not in ("dynamic", "static", "off"):
            raise ValueError(f"iem must be dynamic, static or off, got {iem!r}")
        if down_kernel not in (2, 4):
            raise ValueError(f"down_kernel must be 2 or 4, got {down_kernel}")
        if len(blocks) < 2:
            raise ValueError("blocks needs at least two scales")
        switches = {"freq_to_spatial": freq_to_spatial, "spatial_to_freq": spatial_to_freq}
        self.two_stage = two_stage
        self.detach_stage2_input = detach_stage2_input
        self.pad_multiple = 2 ** (len(blocks) - 1)
        self.aux_outputs = frozenset({"stage1", "stage2_input"}) if two_stage else frozenset()
        self.export_tolerance = PHASE_EXPORT_TOLERANCE  # FSIP blocks convolve the phase
        self.inference_bytes_per_pixel = 180 * width  # peak RSS growth measured: 2.8 kB/px at 1 MP, width 16
        mode = "amplitude" if two_stage else "both"
        self.stage1 = Stage1(width, blocks, mode, down_kernel, upsample_blur, **switches)
        self.stage2 = (
            Stage2(width, blocks, down_kernel, iem, csff, filter_kernel, upsample_blur, **switches)
            if two_stage
            else None
        )

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        check_image_batch(x)
        height, width = x.shape[-2:]
        padded = _pad_to_multiple(x, self.pad_multiple)
        y1, encoded, decoded = self.stage1(padded)
        if self.stage2 is None:
            out = crop_to(y1, height, width)
            return (None, None, out) if return_stages else out
        x2 = combine_amplitude_phase(y1.detach() if self.detach_stage2_input else y1, padded).to(padded.dtype)
        y2 = self.stage2(x2, encoded, decoded)
        out = crop_to(y2, height, width)
        if return_stages:
            return crop_to(y1, height, width), crop_to(x2, height, width), out
        return out

    def forward_train(self, x: torch.Tensor) -> TrainOutput:
        y1, x2, out = self(x, return_stages=True)
        return TrainOutput(out, {} if y1 is None else {"stage1": y1, "stage2_input": x2})


@register_model(task="enhance", paper="FSIDNet (arXiv 2510.22154)", description="FSIDNet, width 16, 3 scales")
def fsidnet(**overrides: object) -> FSIDNet:
    return FSIDNet(**{"width": 16, "blocks": (1, 1, 1), **overrides})


@register_model(task="enhance", paper="FSIDNet (arXiv 2510.22154)", description="FSIDNet-S, width 8, for CPU training")
def fsidnet_s(**overrides: object) -> FSIDNet:
    return FSIDNet(**{"width": 8, "blocks": (1, 1, 1), **overrides})


# ----------------------------------------------------------------------------- shipped weights
FSIDNET_LOL = PretrainedWeights(
    model="fsidnet",
    file="fsidnet_lol.safetensors",
    sha256="491fef7880115732b7389117daf6b0d4344ad582c69361c417e5c813f1ea578f",
    data="LOL-v1 our485 minus the 35 validation pairs of configs/splits/lol_our485_val.txt",
    recipe="two stages (training_logs/fsidnet_lol/README.md): configs/fsidnet_lol_cpu.yaml with "
    "name=fsidnet_lol_ship model.name=fsidnet threads=1 data.val_max_images=35 (128x128 crops, L1 + 0.5 "
    "stage-1 L1 + 0.1 stage-1 amplitude + 0.1 phase, Adam 2e-4, cosine; the schedule length was changed on "
    "resumes), 10,000 steps; then configs/fsidnet_lol_cpu_finetune_psnr.yaml (384x384 crops, per-image PSNR "
    "loss + the stage-1 terms, Adam 3e-5), 750 steps",
    steps=10750,
    training="2-core CPU (AMD EPYC, AVX-512), shared with other jobs: about 4.9 h of optimizer time on one "
    "thread (two for 2,500 steps), then 1.0 h on two",
    selection="best PSNR on the 35 held-out our485 validation pairs at each stage: step 10,000 of the main "
    "run (21.83 dB; 20.23 at 3,000, 21.29 at 5,000, 21.66 at 8,000, 21.80 at 11,000, 21.75 at 14,000), then "
    "step 750 of the fine-tune (21.88 dB; 21.81 at 250, 21.87 at 500, 21.85 at 1,000); EMA weights, float16 "
    "(0.001 dB from float32)",
    metrics={"psnr": 20.6586, "ssim": 0.7715, "ssim_skimage": 0.7667},
    logs="training_logs/fsidnet_lol",
    tag="lol_v1",
)

FSIDNET_ROBUST = PretrainedWeights(
    model="fsidnet",
    file="fsidnet_robust.safetensors",
    sha256="3adaf8e72ed49473858b31813175d0304b80547ccfc4f8135f6f45411aae8407",
    data="LOL-v1 our485 minus the 35 validation pairs, mixed 1:1 per epoch (1:2 in runs 3-4) with synthetic pairs "
    "made on the fly from 556 clean photos (Urban100, Sun-Hays80, Set14, Set5, BSDS500 train+test, minus the "
    "40 validation photos of configs/splits/clean_pool_val.txt) by the calibrated camera model without blur "
    "(docs/camera_model.md; exposure 0.0015-1.0, JPEG on 30 %), and 1,900 real SICE Part 1 photos without "
    "targets (photos 1901-2002 held out, configs/splits/sice_part1_heldout.txt)",
    recipe="from fsidnet.lol_v1, configs/fsidnet_robust_cpu.yaml: L1 + 5 lattice + 0.5 stage-1 L1 + 0.1 stage-1 "
    "amplitude + 0.1 phase on 256x256 crops, batch 2, plus one SICE crop per step with the lattice_excess "
    "loss (weight 0.003); Adam 1e-4 cosine over 1,200 steps (run 1), then the same recipe again from run 1's "
    "last EMA weights with a cosine over 2,000 steps (run 2), then configs/fsidnet_robust_cpu_run3.yaml from "
    "run 2's last EMA weights: pool pairs twice per epoch, the shift-consistency term (weight 1.0) on the SICE "
    "crops, Adam 5e-5 cosine over 600 steps (run 3), then configs/fsidnet_robust_cpu_run4.yaml: run 3's recipe "
    "again from its last EMA weights (the float16 file shipped for run 3) (run 4); EMA 0.998",
    steps=4400,
    training="2-core CPU (AMD EPYC, AVX-512), one thread beside other training runs: 2.0 h (run 1) + 4.9 h "
    "(run 2) + 1.7 h (run 3) + 1.8 h (run 4) of optimizer time",
    selection="best mean validation PSNR (LOL, pool-dark, pool-bright) less the mean validation grid figure "
    "(those three and 40 held-out SICE photos against their inputs): run 4 step 600 (LOL validation 22.41 dB, "
    "pool-dark 22.37, pool-bright 24.38, SICE grid +0.70 dB, mean grid +0.63 dB; score 22.42 against 22.22 "
    "at run 4 step 300 and 22.25 at run 3's step 600, the weights shipped before); EMA weights, float16 "
    "(0.003 dB from float32)",
    # wild68_dark12_*: first 12 wild68 photos, dark variant (tests/test_shipped_weights.py re-measures them)
    metrics={
        "psnr": 20.578,
        "ssim": 0.7867,
        "ssim_skimage": 0.7823,
        "wild68_dark12_psnr": 21.6667,
        "wild68_dark12_grid_db": 0.765,
    },
    logs="training_logs/fsidnet_robust",
    tag="robust",
    default=False,  # below the LOL-only weights on eval15 (20.58 against 20.66 dB)
)

register_weights(FSIDNET_LOL, FSIDNET_ROBUST)
