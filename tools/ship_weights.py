"""Turn a training run into weights that ship with the package.

    python tools/ship_weights.py RUN_DIR --name darkir_m_lol [--checkpoint best] [--data ../shared/data/lol-eval15]

1. exports the run's (EMA) weights in float32 and float16 and scores both on LOL eval15 with the
   protocol of ``lowlight evaluate`` (8-bit outputs, RGB PSNR, Gaussian and scikit-image SSIM);
2. keeps float16 when it moves PSNR by less than 0.01 dB, and copies the file into
   ``src/lowlight/weights/NAME.safetensors``;
3. copies the run's config and logs (small text files) into ``training_logs/NAME/``;
4. prints the ``PretrainedWeights`` entry to add beside the model's class in ``src/lowlight/models/``.

Selection happens in the run (best validation PSNR on the held-out our485 split); eval15 is only
reported here, never used to choose.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from lowlight.checkpoint import sha256_of
from lowlight.evaluation.evaluate import Evaluator, open_dataset
from lowlight.train.export import export_weights

REPO = Path(__file__).resolve().parents[1]


def score(model: str, weights: Path, data: Path) -> dict[str, float]:
    evaluator = Evaluator(["psnr", "ssim", "ssim_skimage"], device="cpu")
    return evaluator.run(model, str(weights), open_dataset(data)).means


def training_hours(run: Path, batch_size: int) -> float:
    """Wall time of the optimizer steps, from the images/s column of train_log.csv (validation excluded)."""
    import csv

    hours, previous = 0.0, 0
    with open(run / "train_log.csv", newline="") as file:
        for row in csv.DictReader(file):
            step, rate = int(row["step"]), float(row["images_per_s"])
            hours += (step - previous) * batch_size / rate / 3600
            previous = step
    return hours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--name", required=True, help="file stem, e.g. darkir_m_lol")
    parser.add_argument("--checkpoint", default="best", help="best, last, or a checkpoint file of the run")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "lol-eval15")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        full, half = Path(tmp) / "fp32.safetensors", Path(tmp) / "fp16.safetensors"
        named = args.checkpoint in ("best", "last")
        source, which = (args.run, args.checkpoint) if named else (Path(args.checkpoint), "best")
        metadata = export_weights(source, full, which)
        export_weights(source, half, which, half=True)
        model = metadata["lowlight.model"]
        scores32, scores16 = score(model, full, args.data), score(model, half, args.data)
        use_half = abs(scores32["psnr"] - scores16["psnr"]) < 0.01
        chosen, scores = (half, scores16) if use_half else (full, scores32)
        target = REPO / "src" / "lowlight" / "weights" / f"{args.name}.safetensors"
        shutil.copyfile(chosen, target)

    logs = REPO / "training_logs" / args.name
    logs.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "val_log.csv", "train_log.csv"):
        if (args.run / name).is_file():
            shutil.copyfile(args.run / name, logs / name)
    config = json.loads(metadata["lowlight.config"])
    entry = {
        "model": model,
        "model_args": json.loads(metadata["lowlight.model_args"]),  # PretrainedWeights.model_args
        "file": target.name,
        "sha256": sha256_of(target),
        "steps": int(metadata["lowlight.steps"]),
        "precision": "float16" if use_half else "float32",
        "validation": json.loads(metadata["lowlight.val_metrics"]),
        "eval15": {k: round(v, 4) for k, v in scores.items()},
        "eval15_fp32_psnr": round(scores32["psnr"], 4),
        "eval15_fp16_psnr": round(scores16["psnr"], 4),
        "train_data": config["data"]["train"],
        "train_hours": round(training_hours(args.run, config["data"]["batch_size"]), 2),
    }
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
