"""The generalisation benchmark: fixed-seed synthetic variants of clean photos, real photos, one table."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lowlight.cli import main
from lowlight.errors import DatasetError
from lowlight.evaluation.robustness import VARIANTS, make_synthetic_pairs, robustness_datasets


@pytest.fixture
def clean(tmp_path):
    folder = tmp_path / "wild"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(60, 230, (48, 64, 3), dtype=np.uint8)).save(folder / f"photo{i}.png")
    return folder


def _pixels(path):
    return np.asarray(Image.open(path))


def test_variants_are_deterministic_cached_and_distinct(clean, tmp_path):
    first = make_synthetic_pairs(clean, "dark", tmp_path / "cache")
    low = _pixels(first / "low" / "photo0.png")
    assert np.array_equal(_pixels(first / "high" / "photo0.png"), _pixels(clean / "photo0.png"))
    assert low.mean() < _pixels(clean / "photo0.png").mean()
    stamp = (first / "low" / "photo0.png").stat().st_mtime_ns
    again = make_synthetic_pairs(clean, "dark", tmp_path / "cache")
    assert again == first and (first / "low" / "photo0.png").stat().st_mtime_ns == stamp
    elsewhere = make_synthetic_pairs(clean, "dark", tmp_path / "other-cache")
    assert np.array_equal(_pixels(elsewhere / "low" / "photo0.png"), low)
    blurred = make_synthetic_pairs(clean, "dark-blur", tmp_path / "cache")
    assert blurred != first and not np.array_equal(_pixels(blurred / "low" / "photo0.png"), low)
    assert VARIANTS["dark-blur"].blur_probability == 1.0 and VARIANTS["dark"].blur_probability == 0.0


def test_unknown_variant_and_empty_folder_are_clear_errors(clean, tmp_path):
    with pytest.raises(DatasetError, match="unknown variant"):
        make_synthetic_pairs(clean, "foggy", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        make_synthetic_pairs(tmp_path / "empty", "dark", tmp_path)


def test_datasets_are_named_after_the_variant(clean, tmp_path):
    names = [d.name for d in robustness_datasets(clean, clean, tmp_path / "cache")]
    assert names == ["wild-dark", "wild-dark-blur", "wild-dark-other", "wild"]


def test_benchmark_prints_one_generalisation_table(clean, tmp_path, capsys):
    code = main(
        ["benchmark", "--wild", str(clean), "--real", str(clean), "--model", "gamma", "adaptive_gamma",
         "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / "out"), "--device", "cpu"]
    )  # fmt: skip
    assert code == 0
    text = (tmp_path / "out" / "robustness.md").read_text()
    assert text in capsys.readouterr().out
    header, _, *rows = [line for line in text.splitlines() if line.startswith("|")]
    assert "wild-dark PSNR" in header and "wild-dark-blur PSNR" in header and "wild grid dB ↓ (mean)" in header
    assert [row.split("|")[1].strip() for row in rows] == ["gamma", "adaptive_gamma"]
    assert len(rows[0].split("|")) == len(header.split("|"))
    assert "Protocol:" in text and "seed [68" in text
    assert (tmp_path / "out" / "robustness" / "per_image.csv").is_file()


def test_benchmark_needs_something_to_run_on(capsys):
    assert main(["benchmark"]) == 2
    assert "give --data, --wild or --real" in capsys.readouterr().err


def test_benchmark_self_ensemble_is_in_the_protocol_and_leaves_a_pointwise_method_unchanged(clean, tmp_path):
    rows = {}
    for mode in ("none", "shift"):
        out = tmp_path / mode
        args = ["benchmark", "--real", str(clean), "--model", "gamma", "-o", str(out), "--device", "cpu"]
        assert main([*args, "--self-ensemble", mode]) == 0
        text = (out / "robustness.md").read_text()
        assert ("self-ensemble shift: outputs averaged over 4 translated" in text) == (mode == "shift")
        rows[mode] = next(line for line in text.splitlines() if line.startswith("| gamma"))
    assert rows["none"] == rows["shift"]
