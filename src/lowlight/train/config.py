"""The training config: dataclasses read from YAML (see ``configs/`` for recipes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from lowlight.data.degradation import DegradationConfig


@dataclass
class DataSource:
    """One folder of training or validation data.

    kind: ``paired`` (low/high folders or a known benchmark root), ``unpaired`` (images only) or
        ``synthetic`` (clean photos degraded on the fly).
    split: for benchmark roots with a train/test split: ``train``, ``test`` or ``all``.
    include / exclude: text files listing file stems to keep / drop (e.g. a held-out validation split).
    resize: unpaired and synthetic sources: scale every image to ``resize`` x ``resize`` first.
    repeat: how many times the source appears per epoch (to balance a mixture of sources).
    name: what validation logs call this source (``psnr_NAME``) when ``data.val`` lists several.
    centre_crop: synthetic sources: keep the central ``centre_crop`` x ``centre_crop`` window of every photo
        (bounds the cost of validating on large photos).
    zoom: synthetic and unpaired sources in training: enlarge every crop by a factor drawn log-uniformly from
        [low, high] (before degrading it), so that content is as smooth per pixel as in high-resolution photos;
        synthetic validation sources (with ``centre_crop``): enlarge the central ``centre_crop / high`` pixels.
    """

    path: str
    kind: Literal["paired", "unpaired", "synthetic"] = "paired"
    split: Literal["train", "test", "all"] = "all"
    include: str | None = None
    exclude: str | None = None
    resize: int | None = None
    repeat: int = 1
    degradation: DegradationConfig = field(default_factory=DegradationConfig)
    name: str | None = None
    centre_crop: int | None = None
    zoom: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ValueError("repeat must be >= 1")
        if self.zoom is not None:
            self.zoom = (float(self.zoom[0]), float(self.zoom[1]))
            if not 1.0 <= self.zoom[0] <= self.zoom[1]:
                raise ValueError("zoom must satisfy 1 <= low <= high")
            if self.kind == "paired":
                raise ValueError("zoom applies to synthetic and unpaired sources (a paired target would not match)")
        if self.centre_crop is not None and self.centre_crop < 8:
            raise ValueError("centre_crop must be >= 8")


@dataclass
class DataConfig:
    train: list[DataSource] = field(default_factory=list)
    val: DataSource | list[DataSource] | None = None  # several: checkpoints are chosen on their mean PSNR
    # real photos without ground truth, trained beside the paired data with TrainConfig.unpaired_losses
    # (e.g. lattice_excess): one batch of unpaired_batch_size of them after every paired batch
    unpaired: list[DataSource] = field(default_factory=list)
    unpaired_batch_size: int = 1
    crop: int | None = 256  # None trains on whole images (all of one size, or batch_size 1)
    batch_size: int = 8
    flip: bool = True
    rot90: bool = False
    num_workers: int = 2
    cache: bool = False
    val_max_images: int | None = None

    def __post_init__(self) -> None:
        if not self.train:
            raise ValueError("data.train needs at least one source")
        if (self.crop is not None and self.crop < 8) or self.batch_size < 1 or self.num_workers < 0:
            raise ValueError("need crop >= 8 (or null for whole images), batch_size >= 1 and num_workers >= 0")
        if any(source.kind != "unpaired" for source in self.unpaired):
            raise ValueError("data.unpaired lists folders of kind unpaired only")
        if self.unpaired_batch_size < 1:
            raise ValueError("unpaired_batch_size must be >= 1")
        if self.crop is None and any(source.zoom for source in [*self.train, *self.unpaired]):
            raise ValueError("zoom enlarges training crops: it needs data.crop")
        if any(source.zoom and (source.kind != "synthetic" or not source.centre_crop) for source in self.val_sources):
            raise ValueError("zoom on a validation source needs a synthetic source with centre_crop (the window)")
        if isinstance(self.val, list):
            names = [source.name for source in self.val]
            if None in names or len(set(names)) != len(names):
                raise ValueError("when data.val lists several sources, each needs its own name")

    @property
    def val_sources(self) -> list[DataSource]:
        """The validation sources as a list (empty without validation)."""
        if self.val is None:
            return []
        return self.val if isinstance(self.val, list) else [self.val]


@dataclass
class ModelConfig:
    name: str = "darkir_m"
    args: dict[str, Any] = field(default_factory=dict)
    init: str | None = None


@dataclass
class OptimConfig:
    name: Literal["adamw", "adam"] = "adamw"
    lr: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.9)
    weight_decay: float = 1e-3
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive finite number, got {self.lr}")
        if not all(math.isfinite(b) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be in [0, 1), got {self.betas}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.grad_clip is not None and not (math.isfinite(self.grad_clip) and self.grad_clip > 0):
            raise ValueError(f"grad_clip must be positive (or null), got {self.grad_clip}")


@dataclass
class ScheduleConfig:
    name: Literal["cosine", "multistep", "constant"] = "cosine"
    warmup_steps: int = 0
    min_lr: float = 1e-6
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.5


@dataclass
class TrainConfig:
    """Everything a run needs; ``steps`` counts optimizer steps (global batches)."""

    name: str
    data: DataConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    losses: dict[str, float] = field(default_factory=lambda: {"l1": 1.0})
    unpaired_losses: dict[str, float] = field(default_factory=dict)  # zero-reference terms for data.unpaired
    # weight of the shift-consistency term on data.unpaired photos (lowlight.losses.equivariance): the outputs
    # for two views offset by 1-7 pixels must agree, which a lattice locked to the network's grid breaks
    shift_consistency: float = 0.0
    vgg_weights: str | None = None
    stage1_target: Literal["t1", "gt"] = "t1"
    exposure_level: float = 0.6
    spatial_neighbours: Literal[4, 8] = 8
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    steps: int = 1000
    seed: int = 0
    output_dir: str = "runs"
    ema_decay: float = 0.0
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    compile: bool = False
    channels_last: bool = False
    device: str = "auto"
    threads: int | None = None
    log_every: int = 10
    val_every: int = 500
    checkpoint_every: int = 250
    sample_images: int = 4
    # checkpoint choice on paired validation data: "psnr", or "psnr_minus_grid" (PSNR less the positive part
    # of the grid-artifact figure, so a checkpoint cannot win by adding a lattice)
    selection: Literal["psnr", "psnr_minus_grid"] = "psnr"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be >= 1")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("ema_decay must be in [0, 1)")
        if min(self.log_every, self.val_every, self.checkpoint_every) < 1:
            raise ValueError("log_every, val_every and checkpoint_every must be >= 1")
        if not (math.isfinite(self.shift_consistency) and self.shift_consistency >= 0):
            raise ValueError(f"shift_consistency must be >= 0, got {self.shift_consistency}")
        unpaired_terms = any(self.unpaired_losses.values()) or self.shift_consistency > 0
        if bool(self.data.unpaired) != unpaired_terms:
            raise ValueError(
                "data.unpaired and unpaired_losses (or shift_consistency) go together: give both or neither"
            )
