"""Model profiling: parameters, MACs (with the FFTs costed separately), latency and peak memory.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products; 1 MAC =
2 FLOPs) plus formulas registered here for the FFT ops, which it does not count: a real-input
transform of ``N`` points costs ``2.5 N log2 N`` FLOPs and a complex one ``5 N log2 N`` (the usual
radix-2 estimate), per transformed signal. Elementwise work (norms, gates, activations) is not counted.

``ptflops_macs`` reproduces the convention of ``ptflops.get_model_complexity_info``, which papers
such as DarkIR report: convolutions including their bias, activations (one per output element),
adaptive pooling (counted twice, as ptflops does), no FFTs.
"""

from __future__ import annotations

import math
import resource
import statistics
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten


def _signal_points(shape, dims) -> tuple[int, int]:
    points = math.prod(shape[d] for d in dims)
    return points, math.prod(shape) // max(points, 1)


def _fft_flops(points: int, signals: int, real: bool) -> int:
    if points <= 1:
        return 0
    per_signal = (2.5 if real else 5.0) * points * math.log2(points)
    return int(per_signal * signals)


def _r2c(input_shape, dim, normalization, onesided, out_shape=None, **_) -> int:
    return _fft_flops(*_signal_points(input_shape, dim), real=True)


def _c2r(input_shape, dim, normalization, last_dim_size, out_shape=None, **_) -> int:
    return _fft_flops(*_signal_points(out_shape, dim), real=True)


def _c2c(input_shape, dim, normalization, forward, out_shape=None, **_) -> int:
    return _fft_flops(*_signal_points(input_shape, dim), real=False)


FFT_FORMULAS = {aten._fft_r2c: _r2c, aten._fft_c2r: _c2r, aten._fft_c2c: _c2c}
_FFT_NAMES = {str(op) for op in FFT_FORMULAS} | {str(op.default) for op in FFT_FORMULAS}


@dataclass
class Profile:
    model: str
    size: str
    device: str
    params: int
    macs: int
    fft_macs: int
    ptflops_macs: int
    latency_ms: float
    latency_repeats: int
    peak_memory_mb: float
    memory_kind: str

    @property
    def fft_share(self) -> float:
        return self.fft_macs / max(1, self.macs + self.fft_macs)

    def as_dict(self) -> dict:
        return {**asdict(self), "fft_share": self.fft_share}

    def markdown(self) -> str:
        rows = [
            ("parameters", f"{self.params:,}"),
            ("MACs, conv/matmul (FlopCounterMode)", f"{self.macs / 1e9:.3f} G"),
            ("MACs, FFT", f"{self.fft_macs / 1e9:.3f} G ({100 * self.fft_share:.1f}% of the total)"),
            ("MACs, ptflops convention (as papers report)", f"{self.ptflops_macs / 1e9:.3f} G ({self.ptflops_macs:,})"),
            (f"latency, median of {self.latency_repeats}", f"{self.latency_ms:.1f} ms"),
            (f"peak memory ({self.memory_kind})", f"{self.peak_memory_mb:.0f} MB"),
        ]
        head = f"{self.model} at {self.size} on {self.device}\n\n| quantity | value |\n|---|---|\n"
        return head + "\n".join(f"| {k} | {v} |" for k, v in rows) + "\n"


def count_macs(model: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(conv/matmul MACs, FFT MACs) of one forward pass."""
    with FlopCounterMode(display=False, custom_mapping=FFT_FORMULAS) as counter, torch.inference_mode():
        model(x)
    per_op = counter.get_flop_counts().get("Global", {})
    fft = sum(v for k, v in per_op.items() if str(k) in _FFT_NAMES)
    return (counter.get_total_flops() - fft) // 2, fft // 2


def ptflops_macs(model: nn.Module, x: torch.Tensor) -> int:
    """MACs counted the way ptflops counts them (see the module docstring)."""
    total = 0
    activations = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ReLU6, nn.ELU)
    pools = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d)

    def hook(module: nn.Module, inputs, output) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += output.numel() * per_output + (output.numel() if module.bias is not None else 0)
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features + (output.numel() if module.bias is not None else 0)
        elif isinstance(module, activations):
            total += output.numel()
        elif isinstance(module, pools):
            total += 2 * inputs[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


def record_convolution_inputs(
    model: nn.Module, x: torch.Tensor
) -> tuple[list[tuple[nn.Conv2d | nn.ConvTranspose2d, torch.Tensor]], torch.Tensor]:
    """Every 2-D convolution call of one inference pass, with a copy of the input it received, in call order.

    Args:
        model: the network (run once under ``torch.inference_mode``).
        x: its input, shape (B, 3, H, W).

    Returns:
        ``[(module, input), ...]`` and the pass's output: replaying ``module(input)`` for each pair runs the
        model's convolutions alone, on their real inputs and layouts.

    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1))
    >>> calls, out = record_convolution_inputs(net, torch.rand(1, 3, 8, 8))
    >>> [tuple(inp.shape) for _, inp in calls], tuple(out.shape)
    ([(1, 3, 8, 8), (1, 4, 8, 8)], (1, 3, 8, 8))
    """
    calls: list[tuple[nn.Conv2d | nn.ConvTranspose2d, torch.Tensor]] = []
    handles = [
        module.register_forward_hook(lambda module, inputs, _out: calls.append((module, inputs[0].clone())))
        for module in model.modules()
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d)
    ]
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return calls, out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: nn.Module, x: torch.Tensor, repeats: int, warmup: int) -> float:
    """Median seconds of a forward pass after ``warmup`` passes."""
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            _sync(x.device)
            start = time.perf_counter()
            model(x)
            _sync(x.device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def profile_model(
    model: nn.Module, name: str, height: int, width: int, device: torch.device, repeats: int = 5, warmup: int = 2
) -> Profile:
    model = model.eval().to(device)
    x = torch.rand(1, 3, height, width, device=device)
    params = sum(p.numel() for p in model.parameters())
    macs, fft_macs = count_macs(model, x)
    paper_macs = ptflops_macs(model, x)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    latency = measure_latency(model, x, repeats, warmup)
    if device.type == "cuda":
        peak, kind = torch.cuda.max_memory_allocated(device) / 2**20, "CUDA max allocated"
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak RSS of the process"
    return Profile(
        name, f"{height}x{width}", str(device), params, macs, fft_macs, paper_macs, latency * 1000, repeats, peak, kind
    )
