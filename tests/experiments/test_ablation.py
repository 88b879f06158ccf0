"""The ablation runner on a tiny budget: trains every config and seed, scores, writes the table, resumes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from lowlight.cli import main
from lowlight.config import from_dict
from lowlight.errors import LowlightError
from lowlight.experiments.ablation import RunResult, group_configs, table_lines
from lowlight.train.config import TrainConfig
from lowlight.train.trainer import Trainer


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    pairs, clean = tmp_path / "pairs", tmp_path / "clean"
    for folder in (pairs / "low", pairs / "high", clean):
        folder.mkdir(parents=True)
    for index in range(2):
        high = rng.random((48, 64, 3))
        Image.fromarray((high * 255).astype(np.uint8)).save(pairs / "high" / f"{index}.png")
        Image.fromarray((high * 40).astype(np.uint8)).save(pairs / "low" / f"{index}.png")
        Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(clean / f"{index}.png")
    group = tmp_path / "group"
    group.mkdir()
    base = {
        "model": {"name": "fsidnet_s"},
        "data": {"train": [{"path": str(pairs)}], "crop": 32, "batch_size": 1, "num_workers": 0, "flip": False},
        "losses": {"l1": 1.0, "stage1.l1": 0.5},
        "threads": 1, "steps": 2, "val_every": 1000, "checkpoint_every": 1, "log_every": 1, "ema_decay": 0.5,
    }  # fmt: skip
    for stem, args in (("full", {}), ("iem_static", {"iem": "static"})):
        config = {**base, "name": f"tiny_{stem}", "model": {"name": "fsidnet_s", "args": args}}
        (group / f"{stem}.yaml").write_text(yaml.safe_dump(config))
    return tmp_path, group, pairs, clean


def _ablate(root, group, pairs, clean, *extra):
    return main([
        "ablate", str(group), "steps=2", "--seeds", "0", "1", "--eval15", str(pairs), "--wild", str(clean),
        "--wild-limit", "2", "--work", str(root / "work"), "--output", str(root / "out"), "--cache",
        str(root / "cache"), "--latency-size", "32x48", *extra,
    ])  # fmt: skip


def test_every_config_and_seed_is_trained_scored_and_tabled(tiny, capsys):
    root, group, pairs, clean = tiny
    assert _ablate(root, group, pairs, clean) == 0
    trained = [line.split(":")[0] for line in capsys.readouterr().out.splitlines() if ": training" in line]
    assert trained == ["full_s0", "iem_static_s0", "full_s1", "iem_static_s1"]  # one seed of every config first
    results = json.loads((root / "out" / "results.json").read_text())
    assert [(r["config"], r["seed"]) for r in results] == [
        ("full", 0),
        ("full", 1),
        ("iem_static", 0),
        ("iem_static", 1),
    ]
    for r in results:
        assert set(r["scores"]) == {"eval15_psnr", "eval15_ssim", "wild_psnr", "wild_ssim", "wild_grid_db"}
        assert all(np.isfinite(list(r["scores"].values()))) and r["params"] > 0 and r["macs"] > 0
    assert results[0]["scores"] != results[1]["scores"]  # the seed changes the run
    table = (root / "out" / "table.md").read_text()
    assert "| full |" in table and "| iem_static |" in table and "0,1" in table
    assert (root / "out" / "full_s1" / "train_log.csv").is_file()
    assert "at 32x48" in table and all(r["latency_size"] == [32, 48] for r in results)
    assert _ablate(root, group, pairs, clean) == 0  # everything scored: nothing trains again
    assert capsys.readouterr().out.count("done before, result kept") == 4
    assert _ablate(root, group, pairs, clean, "--latency-size", "64x64") != 0  # the table would mix two sizes
    assert "measured at 32x48; rerun with --latency-size 32x48" in capsys.readouterr().err


def test_remeasured_latency_times_every_run_together_and_keeps_the_scores(tiny, capsys):
    root, group, pairs, clean = tiny
    assert _ablate(root, group, pairs, clean) == 0
    before = json.loads((root / "out" / "results.json").read_text())
    assert not any(r["latency_interleaved"] for r in before) and all(r["latency_cpu"] for r in before)
    assert "median of 3 passes when each run finished" in (root / "out" / "table.md").read_text()
    capsys.readouterr()
    assert _ablate(root, group, pairs, clean, "--remeasure-latency", "--latency-size", "40x56") == 0
    assert ": training" not in capsys.readouterr().out
    after = json.loads((root / "out" / "results.json").read_text())
    assert [r["scores"] for r in after] == [r["scores"] for r in before]
    assert all(r["latency_interleaved"] and r["latency_size"] == [40, 56] for r in after)
    assert all(r["latency_threads"] == 1 for r in before + after)
    assert all(a["macs"] > b["macs"] for a, b in zip(after, before, strict=True))  # counted again at 40x56
    assert [r["latency_ms"] for r in after] != [r["latency_ms"] for r in before]
    assert (
        "40x56 on" in (root / "out" / "table.md").read_text()
        and ", 1 thread: all runs timed in one interleaved run" in (root / "out" / "table.md").read_text()
    )
    assert _ablate(root, group, pairs, clean, "--latency-size", "40x56") == 0  # the new size is now the group's


def test_remeasuring_needs_scored_runs_and_their_weights(tiny, capsys):
    root, group, pairs, clean = tiny
    assert _ablate(root, group, pairs, clean, "--remeasure-latency") != 0
    assert "no scored runs" in capsys.readouterr().err
    assert _ablate(root, group, pairs, clean, "--seeds", "0") == 0
    (root / "work" / "runs" / "group" / "full_s0" / "weights.safetensors").unlink()
    assert _ablate(root, group, pairs, clean, "--seeds", "0", "--remeasure-latency") != 0
    assert "weights.safetensors: missing, and no other seed of full has weights" in capsys.readouterr().err


def test_a_run_whose_weights_are_gone_is_timed_with_another_seed_of_its_config(tiny, capsys):
    root, group, pairs, clean = tiny
    assert _ablate(root, group, pairs, clean) == 0
    (root / "work" / "runs" / "group" / "full_s0" / "weights.safetensors").unlink()
    capsys.readouterr()
    assert _ablate(root, group, pairs, clean, "--remeasure-latency") == 0
    assert "full_s0: its weights are gone" in capsys.readouterr().out
    after = json.loads((root / "out" / "results.json").read_text())
    assert len(after) == 4 and all(r["latency_interleaved"] for r in after)


def test_a_killed_run_resumes_from_its_checkpoint(tiny, capsys):
    root, group, pairs, clean = tiny
    config = yaml.safe_load((group / "full.yaml").read_text())
    config |= {"name": "full_s0", "seed": 0, "steps": 1, "output_dir": str(root / "work" / "runs" / "group")}
    Trainer(from_dict(TrainConfig, config), progress=False).fit()  # as if killed after step 1
    assert _ablate(root, group, pairs, clean) == 0
    assert "full_s0: resuming (2 steps)" in capsys.readouterr().out


def test_groups_with_the_same_config_names_keep_their_runs_apart(tiny, capsys):
    root, group, pairs, clean = tiny
    assert _ablate(root, group, pairs, clean, "--seeds", "0") == 0
    other = root / "other"
    other.mkdir()
    config = yaml.safe_load((group / "iem_static.yaml").read_text())  # another network under the name "full"
    (other / "full.yaml").write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert _ablate(root, other, pairs, clean, "--seeds", "0", "--output", str(root / "out_other")) == 0
    assert "full_s0: training (2 steps)" in capsys.readouterr().out
    assert (root / "work" / "runs" / "other" / "full_s0").is_dir() and (root / "work" / "runs" / "group").is_dir()


def test_a_group_needs_its_full_model(tmp_path):
    (tmp_path / "no_tv.yaml").write_text("name: x\n")
    with pytest.raises(LowlightError, match=r"full\.yaml"):
        group_configs(tmp_path)


def test_stars_mark_differences_larger_than_the_seed_spread():
    def run(config, seed, psnr):
        return RunResult(config, seed, "m", 1, 1, 1.0, {"eval15_psnr": psnr})

    lines = table_lines([run("full", 0, 20.0), run("full", 1, 20.2), run("a", 0, 21.0), run("a", 1, 21.1),
                         run("b", 0, 20.1), run("b", 1, 20.4)])  # fmt: skip
    assert "21.05 (0.10)*" in lines[3] and "20.25 (0.30) " in lines[4] + " "
    single = table_lines([run("full", 0, 20.0), run("a", 0, 21.0)])
    assert "21.00 (0.00) " in single[3] + " " and "*" not in single[3]  # one seed: no spread, no star
