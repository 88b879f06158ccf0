"""Building blocks shared by the architectures."""

from lowlight.layers.fourier import FourierAmplitudeMLP, fourier_amplitude_mlp
from lowlight.layers.gating import SimpleGate, simple_gate
from lowlight.layers.norm import LayerNorm2d, layer_norm_2d
from lowlight.layers.padding import crop_to, pad_to_multiple
from lowlight.layers.smoothing import BinomialBlur2d, binomial_blur2d

__all__ = [
    "BinomialBlur2d",
    "FourierAmplitudeMLP",
    "LayerNorm2d",
    "SimpleGate",
    "binomial_blur2d",
    "crop_to",
    "fourier_amplitude_mlp",
    "layer_norm_2d",
    "pad_to_multiple",
    "simple_gate",
]
