"""Validation scores of a weights file under a training config: what a run of that config logs at a validation.

    python tools/validate_weights.py configs/darkir_m_robust_cpu_clean.yaml ~/runs/s16_best_fp32.safetensors

A config that adds validation sets changes what its runs' scores mean, so a new stage is compared with the weights
it starts from validated under the same config, not with their old run's logged score. Prints the per-set
metrics, their means and the run's selection score (PSNR, less the positive part of the mean grid figure under
``selection: psnr_minus_grid``) as JSON. Writes nothing; ``key=value`` overrides as for ``lowlight train``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from lowlight.config import load_config
from lowlight.errors import LowlightError
from lowlight.train.config import TrainConfig
from lowlight.train.trainer import Trainer


def validation_scores(config_path: Path, weights: Path, overrides: list[str] | None = None) -> dict[str, float]:
    """Validate ``weights`` on the validation sets of the config at ``config_path``; adds ``score``."""
    if not weights.is_file():
        raise LowlightError(f"{weights}: no such weights file")
    with tempfile.TemporaryDirectory() as scratch:
        fixed = [f"model.init={weights}", "sample_images=0", f"output_dir={scratch}", "name=validate"]
        config = load_config(TrainConfig, config_path, [*(overrides or []), *fixed])
        if not config.data.val_sources:
            raise LowlightError(f"{config_path}: the config has no validation data (data.val)")
        metrics = Trainer(config, progress=False).validate()
    score = metrics.get("psnr", float("nan"))
    if config.selection == "psnr_minus_grid" and "grid_db" in metrics:
        score -= max(metrics["grid_db"], 0.0)
    return {**metrics, "score": score}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="training config (YAML)")
    parser.add_argument("weights", type=Path, help=".safetensors file of the config's model")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. data.val_max_images=10")
    args = parser.parse_args(argv)
    try:
        scores = validation_scores(args.config, args.weights, args.overrides)
    except (LowlightError, OSError, ValueError) as exc:
        print(f"validate_weights: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({key: round(value, 4) for key, value in scores.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
