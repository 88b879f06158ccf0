"""The model contract every lowlight model keeps, so that training, inference and export need no probes.

- ``forward(x) -> Tensor``: inference, (B, 3, H, W) RGB in [0, 1] to the same shape, any H and W.
- ``forward_train(x) -> TrainOutput``: the output plus the auxiliary outputs the losses may use, under the
  names of :data:`AUX_NAMES`; a model lists the names it provides in ``aux_outputs``.
- ``pad_multiple``: inputs are padded internally to a multiple of this (tiles are aligned to it).
- ``inference_bytes_per_pixel``: activation memory per input pixel at inference (chooses tile sizes).
- ``side_output_scale``: resolution ratio of the ``side`` output, when there is one.
- ``export_tolerance``: largest difference allowed between an ONNX export and PyTorch.

Modules written elsewhere join the contract through :func:`as_enhancement_model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

# side: DarkIR's low-resolution side output; stage1: FSIDNet's first-stage (lightness) output;
# stage2_input: FSIDNet's amplitude-of-Y1 / phase-of-input image; maps: a curve model's curve maps.
AUX_NAMES = frozenset({"side", "stage1", "stage2_input", "maps"})
DEFAULT_BYTES_PER_PIXEL = 2000.0
# Largest |ONNX Runtime - PyTorch| difference allowed for an exported model: learned layers on the Fourier
# phase amplify DFT rounding in bins of tiny amplitude, so such models declare a looser one.
EXPORT_TOLERANCE = 1e-4
PHASE_EXPORT_TOLERANCE = 5e-3


@dataclass
class TrainOutput:
    """What ``forward_train`` returns: the output and named auxiliary outputs (see :data:`AUX_NAMES`)."""

    out: torch.Tensor
    aux: dict[str, torch.Tensor] = field(default_factory=dict)


class EnhancementModel(nn.Module):
    """Base class of lowlight's models (see the module docstring for the contract)."""

    pad_multiple: int = 1
    inference_bytes_per_pixel: float = DEFAULT_BYTES_PER_PIXEL
    side_output_scale: int = 1
    export_tolerance: float = EXPORT_TOLERANCE
    aux_outputs: frozenset[str] = frozenset()

    def forward_train(self, x: torch.Tensor) -> TrainOutput:
        """The output and the auxiliary outputs named in ``aux_outputs`` (none by default)."""
        return TrainOutput(self(x))


class ForeignModel(EnhancementModel):
    """A plain ``nn.Module`` (B, 3, H, W) -> (B, 3, H, W) given the contract's defaults."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def as_enhancement_model(module: nn.Module) -> EnhancementModel:
    """``module`` itself when it keeps the contract, else wrapped in :class:`ForeignModel`.

    >>> as_enhancement_model(nn.Identity()).pad_multiple
    1
    """
    return module if isinstance(module, EnhancementModel) else ForeignModel(module)


class TrainingView(nn.Module):
    """``forward`` runs the wrapped model's ``forward_train``, so DDP and torch.compile see the training pass."""

    def __init__(self, model: EnhancementModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> TrainOutput:
        return self.model.forward_train(x)
