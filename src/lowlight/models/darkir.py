"""DarkIR: efficient joint low-light enhancement, denoising and deblurring.

Feijoo et al., "DarkIR: Robust Low-Light Image Restoration", CVPR 2025 (arXiv 2412.13443).
Written from the paper and the reimplementation spec; parameter names and shapes match the
official implementation (github.com/cidautai/DarkIR, MIT), so its checkpoints load strictly.

Layout: blocks (EBlock = spatial attention + Fourier amplitude MLP, DBlock = dilated spatial
attention + gated FFN) -> block containers -> U-Net with additive skips -> registered variants.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lowlight._registry import PretrainedWeights, register_model, register_weights
from lowlight.layers import BinomialBlur2d, FourierAmplitudeMLP, LayerNorm2d, SimpleGate, crop_to, pad_to_multiple
from lowlight.layers._checks import check_image_batch
from lowlight.layers.layout import is_channels_last
from lowlight.models.base import EnhancementModel, TrainOutput

# oneDNN's depthwise convolution leaves its fast kernel when the padding exceeds 6: at dilation 9 the
# padded convolution takes 2.5-4x as long as an explicit zero pad followed by an unpadded convolution
# (CPU inference at 600x400, 1 and 2 threads). Training keeps the padded convolution: there the pad's
# backward costs what the forward gains.
_ONEDNN_FAST_PADDING = 6


class PaddedDepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` that zero-pads explicitly for CPU inference when its padding exceeds 6."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.padding[0]
        if x.device.type != "cpu" or pad <= _ONEDNN_FAST_PADDING or torch.is_grad_enabled():
            return super().forward(x)
        return F.conv2d(_zero_pad(x, pad), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class PairGroupedConv2d(nn.Conv2d):
    """3x3 ``nn.Conv2d`` with two input and two output channels per group (the decoder's extra convolution).

    oneDNN runs this grouping about 6x slower per FLOP than a depthwise convolution (73 ms against 11 ms
    for 64 channels at 400x600, one thread, AMD EPYC). For channels_last CPU inference it is computed as
    two depthwise convolutions of the input, one with each output channel's own tap and one with the tap
    through which each channel feeds its partner, the second added into the first pair-swapped (32 ms
    in all there); same keys, same result to float rounding. Training, other devices and compiled graphs keep
    the grouped convolution (compiled, the split bought nothing measurable: interleaved two-thread rounds of
    the whole model differed by -10 to +23 % either way).
    """

    def __init__(self, channels: int) -> None:
        if channels % 2:
            raise ValueError(f"PairGroupedConv2d needs an even number of channels, got {channels}")
        super().__init__(channels, channels, 3, padding=1, groups=channels // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type != "cpu"
            or torch.is_grad_enabled()
            or torch.compiler.is_compiling()
            or not is_channels_last(x)
        ):
            return super().forward(x)
        own, to_partner = _pair_weights(self.weight)
        y = F.conv2d(x, own, self.bias, padding=self.padding, groups=self.in_channels)
        z = F.conv2d(x, to_partner, None, padding=self.padding, groups=self.in_channels)
        y[:, 0::2] += z[:, 1::2]
        y[:, 1::2] += z[:, 0::2]
        return y


def _pair_weights(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Depthwise weights (C, 1, kh, kw) of a pair-grouped (C, 2, kh, kw) weight: each channel's tap on its own
    input channel, and the tap of its partner (channel index XOR 1) on it."""
    channel = torch.arange(weight.shape[0], device=weight.device)
    own = weight[channel, channel % 2]
    to_partner = weight[channel ^ 1, channel % 2]
    return own.unsqueeze(1).contiguous(), to_partner.unsqueeze(1).contiguous()


def _zero_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    if not torch.compiler.is_compiling() or torch.compiler.is_exporting():
        return F.pad(x, (pad, pad, pad, pad))
    # Inductor turns F.pad into one kernel of masked loads that took 35-60 ms on the 64 x 418 x 618
    # full-resolution map inside darkir_m (3.4 ms alone); a zero fill plus a strided copy does not.
    batch, channels, height, width = x.shape
    padded = x.new_zeros(batch, channels, height + 2 * pad, width + 2 * pad)
    padded = padded.contiguous(memory_format=torch.channels_last) if is_channels_last(x) else padded
    padded[..., pad:-pad, pad:-pad] = x
    return padded


class Branch(nn.Module):
    """One depthwise 3x3 convolution with the given dilation (key ``branch.0``)."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            PaddedDepthwiseConv2d(channels, channels, 3, padding=dilation, dilation=dilation, groups=channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(x)


def _channel_attention(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels, 1))


# Inference without autograd updates full-size temporaries in place: at 600x400 this saves about 7 %
# of the CPU time (fewer 60 MB allocations and passes over memory), with bit-identical results.
def _add(total: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
    return total + term if torch.is_grad_enabled() else total.add_(term)


def _mul(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return x * factor if torch.is_grad_enabled() else x.mul_(factor)


def _scaled_add(base: torch.Tensor, scale: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    """``base + scale * update``, in place on ``update`` when autograd is off."""
    return base + scale * update if torch.is_grad_enabled() else update.mul_(scale).add_(base)


class EBlock(nn.Module):
    """Encoder block: spatial attention module (SpAM) then a Fourier amplitude MLP gate.

    (B, c, H, W) -> (B, c, H, W); identity at initialisation (``beta = gamma = 0``).
    """

    def __init__(self, channels: int, *, extra_depth_wise: bool = True) -> None:
        super().__init__()
        hidden = 2 * channels
        self.extra_conv = (
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels) if extra_depth_wise else nn.Identity()
        )
        self.conv1 = nn.Conv2d(channels, hidden, 1)
        self.branches = nn.ModuleList([Branch(hidden, dilation=1)])
        self.sca = _channel_attention(channels)
        self.sg1 = SimpleGate()
        self.conv3 = nn.Conv2d(channels, channels, 1)
        self.norm1 = LayerNorm2d(channels)
        self.norm2 = LayerNorm2d(channels)
        self.freq = FourierAmplitudeMLP(channels, expand=2)
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.extra_conv(self.norm1(inp)))
        z = self.branches[0](x)
        for branch in self.branches[1:]:
            z = _add(z, branch(x))
        z = self.sg1(z)
        y = _scaled_add(inp, self.beta, self.conv3(_mul(z, self.sca(z))))
        return _scaled_add(y, self.gamma, _mul(self.freq(self.norm2(y)), y))


class DBlock(nn.Module):
    """Decoder block: dilated SpAM (sum of depthwise branches) then a gated feed-forward network.

    (B, c, H, W) -> (B, c, H, W); identity at initialisation (``beta = gamma = 0``).
    """

    def __init__(self, channels: int, *, dilations: Sequence[int] = (1, 4, 9), extra_depth_wise: bool = True) -> None:
        super().__init__()
        hidden = 2 * channels
        self.conv1 = nn.Conv2d(channels, hidden, 1)
        self.extra_conv = PairGroupedConv2d(hidden) if extra_depth_wise else nn.Identity()
        self.branches = nn.ModuleList([Branch(hidden, dilation=d) for d in dilations])
        self.sca = _channel_attention(channels)
        self.sg1 = SimpleGate()
        self.sg2 = SimpleGate()
        self.conv3 = nn.Conv2d(channels, channels, 1)
        self.conv4 = nn.Conv2d(channels, hidden, 1)
        self.conv5 = nn.Conv2d(channels, channels, 1)
        self.norm1 = LayerNorm2d(channels)
        self.norm2 = LayerNorm2d(channels)
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.extra_conv(self.conv1(self.norm1(inp)))
        z = self.branches[0](x)
        for branch in self.branches[1:]:
            z = _add(z, branch(x))
        z = self.sg1(z)
        y = _scaled_add(inp, self.beta, self.conv3(_mul(z, self.sca(z))))
        return _scaled_add(y, self.gamma, self.conv5(self.sg2(self.conv4(self.norm2(y)))))


class BlockStack(nn.Module):
    """Blocks applied in order; stored as ``modules_list`` to match the official keys."""

    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        super().__init__()
        self.modules_list = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.modules_list:
            x = block(x)
        return x


class DarkIR(EnhancementModel):
    """DarkIR U-Net: (B, 3, H, W) RGB in [0, 1] -> restored (B, 3, H, W), any H and W.

    ``upsample_blur=True`` smooths each upsampled map with a fixed 3x3 binomial filter before its skip is added
    (no parameters; the official checkpoints load either way). A pixel shuffle computes the four pixels of each
    2x2 cell with their own filters; where their gains differ it draws a 2x2 pattern, and three levels of
    them draw a lattice locked to the network's 8-pixel grid on smooth content. The binomial filter removes
    that pattern exactly (``lowlight.layers.smoothing``); the ``robust`` weights are trained with it.

    ``forward(x, side_loss=True)`` also returns the low-resolution side output used by the
    training loss: ``(side, out)`` with ``side`` of shape (B, 3, ceil(H/8), ceil(W/8)), computed
    on the zero-padded input. The output is not clamped.
    """

    aux_outputs = frozenset({"side"})

    def __init__(
        self,
        *,
        img_channel: int = 3,
        width: int = 32,
        middle_blk_num_enc: int = 2,
        middle_blk_num_dec: int = 2,
        enc_blk_nums: Sequence[int] = (1, 2, 3),
        dec_blk_nums: Sequence[int] = (3, 1, 1),
        dilations: Sequence[int] = (1, 4, 9),
        extra_depth_wise: bool = True,
        upsample_blur: bool = False,
    ) -> None:
        super().__init__()
        if len(enc_blk_nums) != len(dec_blk_nums):
            raise ValueError(f"enc_blk_nums {enc_blk_nums} and dec_blk_nums {dec_blk_nums} differ in length")
        self.img_channel = img_channel
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.decoders = nn.ModuleList()
        self.middle_blks = nn.ModuleList()  # unused; kept so the module tree mirrors the official one
        self.ups = nn.ModuleList()
        self.downs = nn.ModuleList()

        chan = width
        for num in enc_blk_nums:
            self.encoders.append(BlockStack([EBlock(chan, extra_depth_wise=extra_depth_wise) for _ in range(num)]))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, stride=2))
            chan *= 2
        self.middle_blks_enc = BlockStack(
            [EBlock(chan, extra_depth_wise=extra_depth_wise) for _ in range(middle_blk_num_enc)]
        )
        self.middle_blks_dec = BlockStack(
            [DBlock(chan, dilations=dilations, extra_depth_wise=extra_depth_wise) for _ in range(middle_blk_num_dec)]
        )
        for num in dec_blk_nums:
            up = [nn.Conv2d(chan, 2 * chan, 1, bias=False), nn.PixelShuffle(2)]
            self.ups.append(nn.Sequential(*up, BinomialBlur2d()) if upsample_blur else nn.Sequential(*up))
            chan //= 2
            self.decoders.append(
                BlockStack([DBlock(chan, dilations=dilations, extra_depth_wise=extra_depth_wise) for _ in range(num)])
            )
        self.pad_multiple = 2 ** len(enc_blk_nums)
        self.side_output_scale = self.pad_multiple  # the side output is at 1/8 of the padded input
        # Peak activation memory of a float32 eval forward, measured at 1-2 MP for width 32
        # (about 1.6 kB per pixel) and proportional to the width; used to choose tile sizes.
        self.inference_bytes_per_pixel = 50 * width
        self.side_out = nn.Conv2d(width * self.pad_multiple, img_channel, 3, padding=1)

    def forward(self, x: torch.Tensor, side_loss: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        check_image_batch(x, channels=self.img_channel)
        height, width = x.shape[-2:]
        x_in = pad_to_multiple(x, self.pad_multiple)
        feat = self.intro(x_in)

        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            feat = encoder(feat)
            skips.append(feat)
            feat = down(feat)

        light = self.middle_blks_enc(feat)
        side = self.side_out(light) if side_loss else None
        feat = self.middle_blks_dec(light) + light

        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips), strict=True):
            feat = decoder(up(feat) + skip)

        out = crop_to(self.ending(feat) + x_in, height, width)
        if side is not None:
            return side, out
        return out

    def forward_train(self, x: torch.Tensor) -> TrainOutput:
        side, out = self(x, side_loss=True)
        return TrainOutput(out, {"side": side})


@register_model(
    task="enhance+denoise+deblur",
    paper="DarkIR (CVPR 2025)",
    description="DarkIR-m, width 32, 3.32M parameters",
)
def darkir_m(**overrides: object) -> DarkIR:
    return DarkIR(**{"width": 32, **overrides})


@register_model(
    task="enhance+denoise+deblur",
    paper="DarkIR (CVPR 2025)",
    description="DarkIR-l, width 64, 12.96M parameters",
)
def darkir_l(**overrides: object) -> DarkIR:
    return DarkIR(**{"width": 64, **overrides})


# ----------------------------------------------------------------------------- shipped weights
DARKIR_M_LOL = PretrainedWeights(
    model="darkir_m",
    file="darkir_m_lol.safetensors",
    sha256="d3949a16c3ff951ac5657b38b28947cd90b4f2df23f5485eb1698cb22aed5876",
    data="LOL-v1 our485 minus the 35 validation pairs of configs/splits/lol_our485_val.txt",
    recipe="five stages (training_logs/darkir_m_lol/README.md): a 3,500-step L1 warm-up on 128x128 crops; "
    "configs/darkir_m_lolv1_cpu.yaml (L1 + edge + side L1, 128x128 crops), 4,000 steps; "
    "configs/darkir_m_lolv1_cpu_finetune.yaml (L1 + side L1, 256x256 crops, AdamW 1e-4), 1,250 steps; "
    "configs/darkir_m_lolv1_cpu_finetune_psnr.yaml (per-image PSNR loss + side L1, 384x384 crops, AdamW "
    "3e-5), 1,000 steps; then configs/darkir_m_lolv1_cpu_finetune_full.yaml (the same on whole 600x400 "
    "images), 1,000 steps",
    steps=10750,
    training="2-core CPU (AMD EPYC, AVX-512), shared with other jobs: 1.6 h warm-up + 2.2 h + 1.1 h + 1.3 h "
    "on one thread, then 1.25 h on two",
    selection="best PSNR on the 35 held-out our485 validation pairs at each stage: step 4,000 of the main run "
    "(21.45 dB), step 1,250 of the 256x256 fine-tune (21.52 dB), step 1,000 of the PSNR-loss fine-tune "
    "(21.55 dB), then step 1,000 of the whole-image fine-tune (21.58 dB; validations every 250 steps); EMA "
    "weights, float16 (0.0014 dB from float32)",
    metrics={"psnr": 21.0732, "ssim": 0.7901, "ssim_skimage": 0.7881},
    logs="training_logs/darkir_m_lol",
    tag="lol_v1",
    default=False,  # the LOL-only weights stay for comparisons; darkir_m.robust beats them on every benchmark
)


DARKIR_M_ROBUST = PretrainedWeights(
    model="darkir_m",
    file="darkir_m_robust.safetensors",
    sha256="04281d51bbfba2fd81b91903fc2275a9647c160304ffacc19351134d2e122d84",
    data="LOL-v1 our485 minus the 35 validation pairs, mixed 1:1 per epoch with synthetic pairs made on the fly "
    "from 556 clean photos (Urban100, Sun-Hays80, Set14, Set5, BSDS500 train+test, minus the 40 validation "
    "photos of configs/splits/clean_pool_val.txt) by the calibrated camera model (docs/camera_model.md): "
    "sRGB tone curve, exposure 0.0015-0.5 (0.0015-1.0 from stage 5), Poisson-Gaussian noise fitted to LOL "
    "our485/low, white balance and casts, camera-shake blur on half the photos, JPEG on 30 %; in stage 6 also "
    "1,900 real SICE Part 1 photos without targets (photos 1901-2002 held out, configs/splits/sice_part1_heldout.txt); "
    "in stage 10 also 176 SICE crops whose targets are the stage-6 network's 16-offset translation-ensemble outputs "
    "(tools/make_distill_pairs.py); in stage 14 the synthetic crops enlarged 1-3x before darkening (zoom); in stage 15 "
    "also a second synthetic source darkened only a little (exposure 0.15-1.0); in stage 16 camera shake on 75 % of "
    "the darkened synthetic crops",
    recipe="twelve stages from darkir_m.lol_v1 (training_logs/darkir_m_robust/README.md): "
    "configs/darkir_m_robust_cpu.yaml (L1 + 0.05 Fourier amplitude + 0.8 side L1, 256x256 crops, batch 2, "
    "AdamW 1e-4), stopped at step 1,200 of 2,000; then configs/darkir_m_robust_cpu_lattice.yaml (plus the "
    "lattice loss, weight 1, AdamW 5e-5 cosine), 600 steps; then the same config with lattice weight 3, "
    "AdamW 8e-5 cosine over 2,000 steps, EMA 0.998, stopped at step 1,500; then lattice weight 10, stopped at step "
    "675 (600 exported); then configs/darkir_m_robust_cpu_wide.yaml (synthetic exposures up to 1.0, lattice weight "
    "10, AdamW 8e-5 cosine over 1,600 steps, EMA 0.998); then configs/darkir_m_robust_cpu_real.yaml (the same "
    "pairs plus one 256x256 SICE crop per step with the lattice_excess loss, weight 0.003, raised to 0.01 at "
    "step 600; AdamW 5e-5 cosine over 1,200 steps); then configs/darkir_m_robust_cpu_distill.yaml (stage 6's recipe "
    "at lattice_excess 0.01 plus the self-distillation pairs, AdamW 5e-5 cosine over 600 steps); then "
    "configs/darkir_m_robust_cpu_gridlock100.yaml (plus the grid_locked loss, weight 100, AdamW 8e-5 cosine over 800 "
    "steps), stopped at step 600; then configs/darkir_m_robust_cpu_zoom.yaml (the same with zoomed synthetic crops, "
    "AdamW 6e-5 cosine over 1,000 steps), step 1,000; then configs/darkir_m_robust_cpu_bright.yaml (plus the lightly "
    "darkened source, AdamW 5e-5 cosine over 1,000 steps), step 1,000; then configs/darkir_m_robust_cpu_blur.yaml "
    "(camera shake on 75 % of the darkened crops, AdamW 5e-5 cosine over 1,000 steps), step 1,000; then "
    "configs/darkir_m_robust_cpu_upblur.yaml (the same with a fixed 3x3 binomial filter after each pixel shuffle, "
    "upsample_blur, AdamW 5e-5 cosine over 1,000 steps), step 1,000",
    model_args={"upsample_blur": True},
    steps=11600,
    training="2-core CPU (AMD EPYC, AVX-512), two threads, partly shared with other jobs: 1.1 h + 0.5 h + 2.0 h + "
    "0.7 h + 1.1 h + 1.4 h + 1.4 h + 0.9 h + 1.9 h + 1.8 h + 1.8 h + 1.3 h of optimizer time (stage 10 on one "
    "thread)",
    selection="stages 1-16 as before (training_logs/darkir_m_robust/README.md); stage 20 checkpoint with the best "
    "mean validation PSNR (LOL, pool-dark, pool-dark-blur, pool-bright) less the positive part of the mean validation "
    "grid figure (those four and 40 held-out SICE photos against their inputs), every 200 steps: step 1,000 "
    "(LOL validation 21.85 dB, pool-dark 22.41, pool-dark-blur 18.64, pool-bright 24.57, SICE grid -0.07 dB, "
    "mean grid +0.09 dB; score 21.778 against 21.745 at step 800 and 20.852 for stage 16); EMA weights, float16 "
    "(0.0001 dB from float32 on eval15)",
    # wild68_dark12_*: first 12 wild68 photos, dark variant (tests/test_shipped_weights.py re-measures them)
    metrics={
        "psnr": 21.3534,
        "ssim": 0.7981,
        "ssim_skimage": 0.7959,
        "wild68_dark12_psnr": 22.7986,
        "wild68_dark12_grid_db": 0.1977,
    },
    logs="training_logs/darkir_m_robust",
    tag="robust",
)
register_weights(DARKIR_M_LOL, DARKIR_M_ROBUST)
