"""The training loop: one process or many (torchrun), resumable to the step.

Run folder ``<output_dir>/<name>/``: ``config.yaml`` (resolved config), ``train_log.csv``,
``val_log.csv``, ``checkpoints/{last,best}.pt``, ``samples/step_XXXXXXX/*.png`` and ``tensorboard/``.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from lowlight.config import dump_yaml, to_dict
from lowlight.data.build import (
    build_train_dataset,
    build_unpaired_dataset,
    build_val_datasets,
    collate_batch,
    expand_path,
)
from lowlight.data.sampler import StreamSampler
from lowlight.device import resolve_device
from lowlight.errors import ConfigError, TrainingError
from lowlight.io import atomic_write_bytes, encode_image
from lowlight.losses import CombinedLoss, ShiftConsistencyLoss
from lowlight.metrics.functional import psnr, ssim
from lowlight.models.base import TrainingView, as_enhancement_model
from lowlight.registry import create_model
from lowlight.train.config import TrainConfig
from lowlight.train.distributed import DistContext, barrier, close_distributed, init_distributed, mean_across
from lowlight.train.ema import ModelEma
from lowlight.train.logs import CsvLog, TensorBoardLog
from lowlight.train.schedule import lr_multiplier
from lowlight.train.state import load_state, save_atomic

log = logging.getLogger(__name__)


def run_dir_of(config: TrainConfig) -> Path:
    return expand_path(config.output_dir) / config.name


def _build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    optim = config.optim
    kind = torch.optim.AdamW if optim.name == "adamw" else torch.optim.Adam
    return kind(model.parameters(), lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _image_bytes(images: list[torch.Tensor]) -> bytes:
    """Side-by-side PNG of (3, H, W) tensors in [0, 1]."""
    row = torch.cat([image.clamp(0, 1) for image in images], dim=-1)
    return encode_image(row.permute(1, 2, 0).float().cpu().numpy(), "PNG")


class Trainer:
    """Builds everything a run needs from a :class:`TrainConfig` and runs it with :meth:`fit`."""

    def __init__(self, config: TrainConfig, resume: bool = False, progress: bool = True) -> None:
        self.config = config
        self.progress = progress
        self.device = resolve_device(config.device)
        self.ctx: DistContext = init_distributed(self.device.type)
        if self.ctx.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.ctx.local_rank)
        if config.threads:
            torch.set_num_threads(config.threads)
        if config.data.batch_size % self.ctx.world_size:
            raise ConfigError(
                f"data.batch_size {config.data.batch_size} is not divisible by the {self.ctx.world_size} processes"
            )
        self.run_dir = run_dir_of(config)
        self.last_path = self.run_dir / "checkpoints" / "last.pt"
        self.best_path = self.run_dir / "checkpoints" / "best.pt"
        if self.last_path.exists() and not resume:
            raise TrainingError(f"{self.run_dir}: a run of this name exists; pass --resume or choose another name")

        torch.manual_seed(config.seed)
        init = expand_path(config.model.init) if config.model.init else None
        self.model = as_enhancement_model(create_model(config.model.name, weights=init, **config.model.args)).train()
        self.model.to(self.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        side_scale = self.model.side_output_scale
        vgg = expand_path(config.vgg_weights) if config.vgg_weights else None
        self.loss = CombinedLoss(
            config.losses,
            vgg,
            side_scale,
            config.stage1_target,
            exposure_level=config.exposure_level,
            spatial_neighbours=config.spatial_neighbours,
        ).to(self.device)
        if self.loss.uses_side_output and "side" not in self.model.aux_outputs:
            raise ConfigError(f"side.* loss terms need a model with a side output; {config.model.name} has none")
        if self.loss.uses_stage1 and "stage1" not in self.model.aux_outputs:
            raise ConfigError(f"stage1.* loss terms need a two-stage model; {config.model.name} is not one")
        self.unpaired_loss = self._unpaired_loss(config)
        self.shift_consistency = ShiftConsistencyLoss() if config.shift_consistency > 0 else None
        self.optimizer = _build_optimizer(config, self.model)
        sched = config.schedule
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lr_multiplier(
                sched.name,
                config.steps,
                config.optim.lr,
                sched.warmup_steps,
                sched.min_lr,
                sched.milestones,
                sched.gamma,
            ),
        )
        self.amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(config.precision)
        if self.amp_dtype is not None and self.device.type != "cuda":
            log.warning("precision %s needs a GPU; training in fp32 on %s", config.precision, self.device)
            self.amp_dtype = None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.ema = ModelEma(self.model, config.ema_decay) if config.ema_decay > 0 else None
        self.step = 0
        self.best_psnr = -math.inf
        self.last_metrics: dict[str, float] = {}
        if resume and self.last_path.exists():
            self._restore(load_state(self.last_path))
        elif resume and self.ctx.is_main:
            log.info("no checkpoint in %s yet: starting from scratch", self.run_dir)

        # the training pass goes through forward_train; DDP and torch.compile wrap that view of the model
        self.train_model: nn.Module = TrainingView(self.model)
        if self.ctx.enabled:
            unused = set(self.model.aux_outputs) - set(self.loss.aux_inputs)
            self.train_model = DistributedDataParallel(
                self.train_model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters="side" in unused,
            )
        if config.compile:
            self.train_model = torch.compile(self.train_model)

    def _unpaired_loss(self, config: TrainConfig) -> CombinedLoss | None:
        """The loss on ``data.unpaired`` photos: zero-reference terms only, read from the model output alone."""
        if not config.data.unpaired or not any(config.unpaired_losses.values()):
            return None
        loss = CombinedLoss(
            config.unpaired_losses,
            exposure_level=config.exposure_level,
            spatial_neighbours=config.spatial_neighbours,
        ).to(self.device)
        if loss.needs_target or loss.aux_inputs:
            raise ConfigError("unpaired_losses take zero-reference terms of the output only (e.g. lattice_excess)")
        return loss

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "best_psnr": self.best_psnr,
            "metrics": self.last_metrics,
            "rng": _rng_state(self.device),
            "config": to_dict(self.config),
            "model_name": self.config.model.name,
        }

    def _restore(self, state: dict) -> None:
        saved = state.get("config", {})
        current = to_dict(self.config)
        keys = ("model", "data", "losses", "unpaired_losses", "shift_consistency", "optim", "seed")
        defaults = {"shift_consistency": 0.0}  # older checkpoints did not record it: they trained without it
        changed = [k for k in keys if saved.get(k, defaults.get(k)) != current[k]]
        if changed:
            log.warning("resuming with a config that differs from the checkpoint's in: %s", ", ".join(changed))
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError:
            raise TrainingError(
                f"{self.last_path}: this checkpoint holds another network ({state.get('model_name', 'unknown')}, "
                f"other layers) than {self.config.model.name} as configured; choose another run name"
            ) from None
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.best_psnr = float(state.get("best_psnr", -math.inf))
        self.last_metrics = dict(state.get("metrics") or {})
        _set_rng_state(state["rng"], self.device)
        if self.ctx.is_main:
            log.info("resumed %s at step %d", self.run_dir, self.step)

    def _save(self, path: Path, final: bool = False) -> None:
        """Save a checkpoint; a failed save is a warning, except for the final one, which is an error."""
        if self.ctx.is_main and not save_atomic(self.state_dict(), path) and final:
            raise TrainingError(
                f"{path}: the final checkpoint of step {self.step} could not be written (see the warning above); "
                "free disk space and run again with --resume"
            )

    # ----------------------------------------------------------------- data
    def _train_loader(self) -> DataLoader:
        data = self.config.data
        dataset = build_train_dataset(data, self.config.seed)
        sampler = StreamSampler(
            len(dataset),
            data.batch_size,
            self.ctx.rank,
            self.ctx.world_size,
            seed=self.config.seed,
            start_batch=self.step,
        )
        return DataLoader(
            dataset,
            batch_size=sampler.local_batch,
            sampler=sampler,
            num_workers=data.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if data.num_workers else None,
            collate_fn=collate_batch,
        )

    def _unpaired_loader(self) -> DataLoader | None:
        """Endless batches of ``data.unpaired`` crops (a stream of its own, resumable like the paired one)."""
        data = self.config.data
        if not data.unpaired:
            return None
        seed = self.config.seed + 1000
        dataset = build_unpaired_dataset(data, seed)
        sampler = StreamSampler(
            len(dataset), data.unpaired_batch_size, self.ctx.rank, self.ctx.world_size, seed=seed, start_batch=self.step
        )
        return DataLoader(
            dataset, batch_size=sampler.local_batch, sampler=sampler, num_workers=0, collate_fn=collate_batch
        )

    # ----------------------------------------------------------------- steps
    def _forward(
        self, view: nn.Module, low: torch.Tensor, aux_names: tuple[str, ...] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The output and the auxiliary outputs the loss needs (DarkIR's side output, FSIDNet's stage 1)."""
        amp = self.amp_dtype is not None
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=amp):
            result = view(low)  # a TrainingView (maybe inside DDP or compiled): runs forward_train
        names = self.loss.aux_inputs if aux_names is None else aux_names
        return result.out, {name: result.aux[name] for name in names}

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=torch.channels_last) if self.config.channels_last else tensor

    def train_step(self, batch: dict, unpaired: dict | None = None) -> dict[str, float]:
        """One optimizer step on a batch; ``unpaired`` (photos without targets) adds ``unpaired_losses``."""
        low = self._to_device(batch["low"])
        high = self._to_device(batch["high"]) if "high" in batch else None
        if high is None and self.loss.needs_target:
            raise ConfigError("paired loss terms need paired data; use zero-reference terms for unpaired folders")
        out, auxiliary = self._forward(self.train_model, low)
        loss, parts = self.loss(out, high, input=low, **auxiliary)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if unpaired is not None and (self.unpaired_loss is not None or self.shift_consistency is not None):
            # a second backward pass accumulates into the same gradients: one graph in memory at a time
            extra, extra_parts = self._unpaired_terms(self._to_device(unpaired["low"]))
            self.scaler.scale(extra).backward()
            loss = loss.detach() + extra.detach()
            parts.update({f"unpaired.{name}": value for name, value in extra_parts.items()})
        values = mean_across(self.ctx, torch.stack([loss.detach(), *parts.values()]).float())
        if not torch.isfinite(values).all():
            detail = ", ".join(f"{k}={v:.4g}" for k, v in zip(["loss", *parts], values.tolist(), strict=True))
            kept = f"; the last good checkpoint is {self.last_path}" if self.last_path.exists() else ""
            raise TrainingError(f"loss is not finite at step {self.step + 1} ({detail}): stopping{kept}")
        if self.config.optim.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        return dict(zip(["loss", *parts], values.tolist(), strict=True))

    def _unpaired_terms(self, photos: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``unpaired_losses`` on the photos' outputs, plus the weighted shift-consistency term when enabled."""

        def forward(x: torch.Tensor) -> torch.Tensor:
            return self._forward(self.train_model, x, ())[0]

        if self.shift_consistency is None:
            return self.unpaired_loss(forward(photos), input=photos)
        consistency, view, out = self.shift_consistency(forward, photos, self.step)
        total, parts = self.unpaired_loss(out, input=view) if self.unpaired_loss is not None else (0.0, {})
        return total + self.config.shift_consistency * consistency, {**parts, "shift_consistency": consistency}

    # ----------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation scores of the EMA (or raw) model; rank 0 only.

        Paired data: PSNR/SSIM (clamped to [0, 1], RGB). Unpaired data with a zero-reference loss: that
        loss (lower is better) and the mean brightness of the outputs. With several named sources each
        score is also logged per source (``psnr_NAME``) and the plain names hold the mean over sources.
        """
        sources = build_val_datasets(self.config.data, self.config.seed)
        if not sources:
            return {}
        model = self.ema.module if self.ema is not None else self.model
        was_training = model.training
        model.eval()
        per_source = [(name, self._validate_source(model, name, dataset)) for name, dataset in sources]
        model.train(was_training)
        if len(per_source) == 1:
            return per_source[0][1]
        metrics = {f"{key}_{name}": value for name, scores in per_source for key, value in scores.items()}
        for key in {key for _, scores in per_source for key in scores}:
            metrics[key] = float(np.mean([scores[key] for _, scores in per_source if key in scores]))
        return metrics

    def _validate_source(self, model: nn.Module, name: str | None, dataset) -> dict[str, float]:
        limit = self.config.data.val_max_images
        count = len(dataset) if limit is None else min(len(dataset), limit)
        scores: dict[str, list[float]] = {
            "psnr": [], "ssim": [], "grid_db": [], "zero_reference_loss": [], "brightness": []
        }  # fmt: skip
        sample_dir = self.run_dir / "samples" / f"step_{self.step:07d}"
        for index in range(count):
            item = dataset[index]
            low = self._to_device(item["low"][None])
            with torch.autocast(
                self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None
            ):
                out = model(low).float().clamp(0, 1)
            if "high" in item:
                high = item["high"][None].to(self.device)
                scores["psnr"].append(psnr(out, high).item())
                scores["ssim"].append(ssim(out, high).item())
                if min(out.shape[-2:]) >= 16:
                    scores["grid_db"].append(_grid_db(out, high))
            else:
                if min(out.shape[-2:]) >= 16:  # photos without a target: the lattice the output adds to the input
                    scores["grid_db"].append(_grid_db(out, low))
                if not self.loss.needs_target:
                    scores["zero_reference_loss"].append(self._zero_reference_loss(model, low))
                    scores["brightness"].append(out.mean().item())
            if index < self.config.sample_images:
                images = [item["low"], out[0].cpu()] + ([item["high"]] if "high" in item else [])
                prefix = f"{name}_" if name else ""
                atomic_write_bytes(sample_dir / f"{prefix}{item['name']}.png", _image_bytes(images))
        return {key: float(np.mean(values)) for key, values in scores.items() if values}

    def _zero_reference_loss(self, model: nn.Module, low: torch.Tensor) -> float:
        out, auxiliary = self._forward(TrainingView(model), low)
        return self.loss(out, input=low, **auxiliary)[0].item()

    # ----------------------------------------------------------------- loop
    def fit(self) -> Path:
        """Train to ``config.steps``; returns the run folder."""
        config, ctx = self.config, self.ctx
        try:
            if ctx.is_main:
                try:
                    self.run_dir.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise TrainingError(
                        f"{self.run_dir}: cannot create the run folder ({exc.strerror or exc})"
                    ) from None
                atomic_write_bytes(self.run_dir / "config.yaml", dump_yaml(config).encode())
            if self.step >= config.steps:
                return self.run_dir
            self._loop()
        finally:
            close_distributed()
        return self.run_dir

    def _loop(self) -> None:
        config, ctx = self.config, self.ctx
        resume_step = self.step if self.step else None
        train_log = CsvLog(self.run_dir / "train_log.csv", resume_step) if ctx.is_main else None
        val_log = CsvLog(self.run_dir / "val_log.csv", resume_step) if ctx.is_main else None
        board = TensorBoardLog(self.run_dir / "tensorboard") if ctx.is_main else None
        loader = self._train_loader()
        batches = iter(loader)
        unpaired_loader = self._unpaired_loader()
        unpaired_batches = iter(unpaired_loader) if unpaired_loader is not None else None
        bar = tqdm(
            total=config.steps,
            initial=self.step,
            desc=config.name,
            unit="step",
            disable=not (ctx.is_main and self.progress),
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            dynamic_ncols=True,
        )
        window_start, window_steps = time.perf_counter(), 0
        try:
            while self.step < config.steps:
                values = self.train_step(
                    next(batches), next(unpaired_batches) if unpaired_batches is not None else None
                )
                window_steps += 1
                bar.update(1)
                if ctx.is_main and (self.step % config.log_every == 0 or self.step == config.steps):
                    seconds = time.perf_counter() - window_start
                    images_per_s = window_steps * config.data.batch_size / max(seconds, 1e-9)
                    row = {
                        "step": self.step,
                        "lr": self.scheduler.get_last_lr()[0],
                        **values,
                        "images_per_s": images_per_s,
                    }
                    train_log.write(row)
                    board.write(self.step, {k: v for k, v in row.items() if k != "step"}, "train")
                    bar.set_postfix(loss=f"{values['loss']:.4f}", img_s=f"{images_per_s:.1f}")
                    window_start, window_steps = time.perf_counter(), 0
                finished = self.step == config.steps
                if self.step % config.val_every == 0 or finished:
                    self._validate_and_keep_best(val_log, board)
                if self.step % config.checkpoint_every == 0 or finished:
                    self._save(self.last_path, final=finished)
                    barrier(ctx)
        finally:
            bar.close()
            del batches, unpaired_batches
            if board is not None:
                board.close()

    def _validate_and_keep_best(self, val_log: CsvLog | None, board: TensorBoardLog | None) -> None:
        if self.ctx.is_main and self.config.data.val_sources:
            metrics = self.validate()
            if metrics:
                self.last_metrics = metrics
                val_log.write({"step": self.step, **metrics})
                board.write(self.step, metrics, "val")
                tqdm.write(f"step {self.step}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
                # best = highest PSNR (optionally less the lattice the outputs add), or lowest zero-reference
                # loss on unpaired validation data
                score = metrics.get("psnr", -metrics.get("zero_reference_loss", math.inf))
                if self.config.selection == "psnr_minus_grid" and "grid_db" in metrics:
                    score -= max(metrics["grid_db"], 0.0)
                if score > self.best_psnr:
                    self.best_psnr = score
                    self._save(self.best_path)
        barrier(self.ctx)


def _grid_db(out: torch.Tensor, target: torch.Tensor) -> float:
    """Grid-artifact figure of one validation output against its target (:mod:`lowlight.metrics.grid`)."""
    from lowlight.metrics.grid import grid_artifact_db

    as_array = lambda t: t[0].detach().float().cpu().permute(1, 2, 0).numpy()  # noqa: E731
    return grid_artifact_db(np.round(as_array(out) * 255) / 255, as_array(target))
