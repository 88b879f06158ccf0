"""Regression test of the weights that ship with the package: they load offline and keep their scores."""

from __future__ import annotations

from pathlib import Path

import pytest

import lowlight
from lowlight.checkpoint import sha256_of
from lowlight.evaluation.evaluate import Evaluator, open_dataset
from lowlight.inference.pipeline import DEFAULT_ENHANCE_MODEL
from lowlight.registry import shipped_weights

SHIPPED_WEIGHTS = shipped_weights()

WEIGHTS_DIR = Path(lowlight.__file__).parent / "weights"
REPO = Path(__file__).resolve().parents[1]


def _name(entry) -> str:
    return f"{entry.model}.{entry.tag}"


@pytest.mark.parametrize("entry", SHIPPED_WEIGHTS, ids=_name)
def test_shipped_file_is_intact_and_loads(entry):
    assert sha256_of(WEIGHTS_DIR / entry.file) == entry.sha256
    model = lowlight.create_model(_name(entry))
    assert not model.training
    # one folder per training stage, or the run's files directly in entry.logs
    logs = REPO / entry.logs
    assert any(logs.rglob("config.yaml")) and any(logs.rglob("val_log.csv"))


@pytest.mark.parametrize("entry", SHIPPED_WEIGHTS, ids=_name)
def test_shipped_scores_on_eval15(entry, shared):
    evaluator = Evaluator(["psnr", "ssim", "ssim_skimage"], device="cpu")
    result = evaluator.run(_name(entry), None, open_dataset(shared / "data" / "lol-eval15"))
    assert result.means["psnr"] >= entry.metrics["psnr"] - 0.05
    assert result.means["ssim"] >= entry.metrics["ssim"] - 0.005


def test_default_model_has_weights_or_needs_none():
    if DEFAULT_ENHANCE_MODEL is not None:
        info = lowlight.model_info(DEFAULT_ENHANCE_MODEL)
        assert not info.learned or any(e.model == DEFAULT_ENHANCE_MODEL for e in SHIPPED_WEIGHTS)


def test_recorded_scores_meet_the_targets():
    """The floors the shipped weights were trained for (LOL eval15, plain model, no GT-mean); the scores
    themselves are re-measured by test_shipped_scores_on_eval15."""
    scores = {_name(entry): entry.metrics for entry in SHIPPED_WEIGHTS}
    default_darkir = next(_name(e) for e in SHIPPED_WEIGHTS if e.model == "darkir_m" and e.default)
    assert scores[default_darkir]["psnr"] >= 21.0 and scores[default_darkir]["ssim"] >= 0.78
    assert scores["fsidnet.lol_v1"]["psnr"] >= 20.5
    assert scores["fsidnet.robust"]["psnr"] >= 20.5
    assert scores["lucentvision.sice"]["psnr"] >= 16.5
    assert scores["lucentvision.sice"]["psnr"] > scores["zero_dce.sice"]["psnr"]


WILD_PAIRS = 12
WILD_ENTRIES = [entry for entry in SHIPPED_WEIGHTS if "wild68_dark12_psnr" in entry.metrics]


@pytest.mark.parametrize("entry", WILD_ENTRIES, ids=_name)
def test_robust_weights_keep_their_scores_on_part_of_wild68(entry, shared, tmp_path_factory):
    """The generalisation scores recorded for the first 12 wild68 photos (dark variant, fixed seeds)."""
    from lowlight.evaluation.robustness import make_synthetic_pairs

    folder = make_synthetic_pairs(shared / "data" / "wild68", "dark", tmp_path_factory.mktemp("wild"))
    evaluator = Evaluator(["psnr", "grid_db"], device="cpu", limit=WILD_PAIRS)
    result = evaluator.run(_name(entry), None, open_dataset(folder))
    assert result.means["psnr"] >= entry.metrics["wild68_dark12_psnr"] - 0.05
    assert result.means["grid_db"] <= entry.metrics["wild68_dark12_grid_db"] + 0.1
