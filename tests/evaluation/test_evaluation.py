from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import lowlight
from lowlight.cli import main
from lowlight.errors import DatasetError
from lowlight.evaluation.evaluate import Evaluator, Protocol, open_dataset
from lowlight.evaluation.profile import count_macs, profile_model, ptflops_macs
from lowlight.evaluation.report import build_report, runnable_models
from lowlight.metrics import psnr


@pytest.fixture
def paired(tmp_path):
    rng = np.random.default_rng(0)
    for d in ("low", "high"):
        (tmp_path / "set" / d).mkdir(parents=True)
    for i in range(3):
        high = rng.integers(30, 256, (120, 100, 3), dtype=np.uint8)
        Image.fromarray(high).save(tmp_path / "set" / "high" / f"{i}.png")
        Image.fromarray((high * 0.25).astype(np.uint8)).save(tmp_path / "set" / "low" / f"{i}.png")
    return tmp_path / "set"


@pytest.fixture
def unpaired(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 60, (200, 210, 3), dtype=np.uint8)).save(folder / f"p{i}.jpg")
    return folder


def test_open_dataset_detects_pairs_and_folders(paired, unpaired, tmp_path):
    assert open_dataset(paired).paired and len(open_dataset(paired).pairs) == 3
    assert not open_dataset(unpaired).paired
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "nothing")


def test_evaluator_scores_match_direct_computation(paired):
    evaluator = Evaluator(["psnr", "ssim"], Protocol(gt_mean=True))
    result = evaluator.run("gamma", None, open_dataset(paired))
    assert set(result.means) == {"psnr", "psnr_gtmean", "ssim", "ssim_gtmean"}
    low = torch.from_numpy(np.asarray(Image.open(paired / "low" / "0.png"), dtype=np.float32) / 255).permute(2, 0, 1)
    high = torch.from_numpy(np.asarray(Image.open(paired / "high" / "0.png"), dtype=np.float32) / 255).permute(2, 0, 1)
    expected_out = torch.round(low.clamp(0, 1) ** (1 / 2.2) * 255) / 255
    expected = psnr(expected_out[None].double(), high[None].double()).item()
    assert evaluator.rows[0]["psnr"] == pytest.approx(expected, abs=0.02)
    info = evaluator.to_json()
    assert info["protocol"]["gt_mean"] and info["metrics"]["psnr_gtmean"]["gt_mean"]
    assert "psnr: PSNR (dB), RGB, peak 1" in info["protocol"]["description"]


def test_evaluate_cli_comparison_table(paired, unpaired, tmp_path, capsys):
    out = tmp_path / "results"
    args = ["evaluate", "--model", "gamma", "adaptive_gamma", "--data", str(paired), "--data", str(unpaired)]
    args += ["--metrics", "psnr", "niqe", "lpips_alex", "-o", str(out), "-q", "--save-images", str(tmp_path / "img")]
    code = main(args)
    text = capsys.readouterr().out
    assert code == 0
    table = [line for line in text.splitlines() if line.startswith("| gamma") or line.startswith("| adaptive")]
    assert len(table) == 4  # 2 models x 2 folders in one table
    assert "lpips_alex: skipped" in text and "psnr: skipped on unpaired folders" in text
    assert "Protocol:" in text and "rounded to 8 bits" in text
    saved = json.loads((out / "results.json").read_text())
    assert saved["protocol"]["quantize_8bit"] and len(saved["results"]) == 4
    rows = (out / "per_image.csv").read_text().splitlines()
    assert rows[0].startswith("model,dataset,image,seconds") and len(rows) == 1 + 2 * (3 + 2)
    assert (tmp_path / "img" / "gamma" / "set" / "0.png").is_file()


def test_evaluate_cli_repeated_options_add_up(paired, tmp_path, capsys):
    out = tmp_path / "results"
    args = ["evaluate", "--model", "gamma", "--model", "clahe", "--data", str(paired)]
    assert main([*args, "--metrics", "psnr", "--metrics", "ssim", "-o", str(out), "-q"]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert sorted(row["model"] for row in saved["results"]) == ["clahe", "gamma"]
    assert "| clahe" in (out / "results.md").read_text() and "| gamma" in (out / "results.md").read_text()
    assert {"psnr", "ssim"} <= set(saved["results"][0]["means"])


def test_evaluate_cli_self_ensemble_is_in_the_protocol(paired, tmp_path, capsys):
    out = tmp_path / "results"
    args = ["evaluate", "--model", "lucentvision", "--data", str(paired), "--metrics", "psnr", "-o", str(out), "-q"]
    assert main([*args, "--self-ensemble", "x8"]) == 0
    text = capsys.readouterr().out
    assert "self-ensemble x8: outputs averaged over 8" in text
    assert json.loads((out / "results.json").read_text())["protocol"]["self_ensemble"] == "x8"


def test_evaluate_learned_model_with_weights(paired, tmp_path, capsys):
    weights = tmp_path / "w.safetensors"
    save_file(lowlight.create_model("darkir_m", width=8).state_dict(), str(weights))
    code = main(["evaluate", "--model", f"darkir_m={weights}", "--data", str(paired), "-o", str(tmp_path / "r"), "-q"])
    assert code == 2 and "does not fit the model" in capsys.readouterr().err  # width 8 weights, width 32 model


def test_evaluate_cli_errors(paired, capsys):
    assert main(["evaluate", "--model", "a", "b", "--weights", "w", "--data", str(paired)]) == 2
    assert "--weights goes with a single --model" in capsys.readouterr().err
    assert main(["evaluate", "--model", "gamma", "--data", str(paired), "--metrics", "nope", "-q"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err


def test_profile_reproduces_published_darkir_macs():
    x = torch.rand(1, 3, 256, 256)
    model = lowlight.create_model("darkir_m")
    assert ptflops_macs(model, x) == 7_252_590_592  # DarkIR README: 7.25 G (ptflops)
    macs, fft = count_macs(model, x)
    assert macs == 7_098_185_728 and 0 < fft < 0.05 * macs
    assert ptflops_macs(lowlight.create_model("darkir_l"), x) == 27_191_406_592  # 27.19 G


def test_fft_cost_formula():
    class Spectrum(torch.nn.Module):
        def forward(self, x):
            return torch.fft.irfft2(torch.fft.rfft2(x), s=x.shape[-2:])

    macs, fft = count_macs(Spectrum(), torch.rand(1, 1, 8, 8))
    assert macs == 0 and fft == 2 * int(2.5 * 64 * 6) // 2  # forward and inverse real FFT of 64 points


def test_profile_cli_json(capsys):
    assert main(["profile", "--model", "darkir_m", "--size", "64x96", "--repeats", "1", "--warmup", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 3_321_638 and data["size"] == "64x96" and data["latency_ms"] > 0
    assert data["peak_memory_mb"] > 0 and 0 < data["fft_share"] < 1
    profile = profile_model(lowlight.create_model("gamma"), "gamma", 32, 32, torch.device("cpu"), repeats=1, warmup=0)
    assert profile.params == 0 and profile.macs == 0


def test_benchmark_report(paired, tmp_path):
    assert "adaptive_gamma" in runnable_models() and "darkir_l" not in runnable_models()
    report = build_report([str(paired)], tmp_path / "report", [("gamma", None), ("clahe", None)], "cpu", (64, 64), 2, 2)
    text = report.read_text()
    assert "## Results" in text and "| gamma | set | 2 |" in text and "## Speed and size" in text
    grid = np.asarray(Image.open(tmp_path / "report" / "comparison.png"))
    assert grid.shape[1] == 4 * 240 and grid.shape[0] == 2 * 288  # input, 2 models, ground truth; 2 rows
