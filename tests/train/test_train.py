from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

import lowlight
from lowlight.cli import main
from lowlight.config import from_dict
from lowlight.errors import CheckpointError, ConfigError, TrainingError
from lowlight.train import state as state_module
from lowlight.train.config import TrainConfig
from lowlight.train.export import export_weights
from lowlight.train.trainer import Trainer

TINY_MODEL = {
    "name": "darkir_m",
    "args": {
        "width": 4,
        "enc_blk_nums": [1, 1, 1],
        "dec_blk_nums": [1, 1, 1],
        "middle_blk_num_enc": 1,
        "middle_blk_num_dec": 1,
    },
}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    for d in ("low", "high"):
        (root / d).mkdir()
    for i in range(6):
        high = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        Image.fromarray(high).save(root / "high" / f"{i}.png")
        Image.fromarray((high * 0.2).astype(np.uint8)).save(root / "low" / f"{i}.png")
    return root


def tiny_config(pairs: Path, out: Path, **changes) -> dict:
    config = {
        "name": "tiny",
        "data": {
            "train": [{"path": str(pairs)}],
            "val": {"path": str(pairs)},
            "crop": 32,
            "batch_size": 4,
            "num_workers": 0,
            "val_max_images": 2,
        },
        "model": TINY_MODEL,
        "losses": {"l1": 1.0, "edge": 50.0, "side.l1": 0.8},
        "optim": {"grad_clip": 1.0},
        "steps": 6,
        "threads": 1,
        "ema_decay": 0.9,
        "log_every": 2,
        "val_every": 3,
        "checkpoint_every": 2,
        "sample_images": 1,
        "output_dir": str(out),
    }
    for key, value in changes.items():
        node = config
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return config


def run_in_process(config: dict, resume: bool = False) -> Trainer:
    threads = torch.get_num_threads()
    try:
        trainer = Trainer(from_dict(TrainConfig, config), resume=resume, progress=False)
        trainer.fit()
    finally:
        torch.set_num_threads(threads)
    return trainer


def test_training_run_writes_everything(pairs, tmp_path):
    trainer = run_in_process(tiny_config(pairs, tmp_path))
    run = tmp_path / "tiny"
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["args"]["width"] == 4
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "checkpoints" / "best.pt").is_file()
    rows = (run / "train_log.csv").read_text().splitlines()
    assert rows[0].startswith("step,lr,loss,") and len(rows) == 4
    assert [r.split(",")[0] for r in (run / "val_log.csv").read_text().splitlines()[1:]] == ["3", "6"]
    assert len(list((run / "samples" / "step_0000003").glob("*.png"))) == 1
    assert trainer.step == 6 and set(trainer.last_metrics) == {"psnr", "ssim", "grid_db"}
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert {"model", "ema", "optimizer", "scheduler", "scaler", "step", "rng", "config"} <= set(state)
    assert state["scheduler"]["last_epoch"] == 6


def test_existing_run_needs_resume(pairs, tmp_path):
    run_in_process(tiny_config(pairs, tmp_path, steps=2))
    with pytest.raises(TrainingError, match="pass --resume"):
        run_in_process(tiny_config(pairs, tmp_path, steps=2))


def test_non_finite_loss_stops_and_keeps_last_checkpoint(pairs, tmp_path, monkeypatch):
    from lowlight.losses import CombinedLoss

    original = CombinedLoss.forward
    calls = {"n": 0}

    def poisoned(self, pred, target, **auxiliary):
        calls["n"] += 1
        total, parts = original(self, pred, target, **auxiliary)
        return (total * float("nan"), parts) if calls["n"] == 3 else (total, parts)

    monkeypatch.setattr(CombinedLoss, "forward", poisoned)
    with pytest.raises(TrainingError, match=r"loss is not finite at step 3 .*last good checkpoint"):
        run_in_process(tiny_config(pairs, tmp_path))
    state = torch.load(tmp_path / "tiny" / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 2 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_full_disk_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    assert state_module.save_atomic({"step": 1}, path)

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state_module.torch, "save", no_space)
    assert not state_module.save_atomic({"step": 2}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left


def _final_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


def _write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def _train_command(config_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lowlight", "train", str(config_path), "-q", *extra]


def test_sigkill_and_resume_gives_identical_weights(pairs, tmp_path):
    # All three runs are fresh processes: in-process and child-process runs may round differently.
    steps = 40
    reference = _write_config(tmp_path / "ref.yaml", tiny_config(pairs, tmp_path / "ref", steps=steps, val_every=1000))
    subprocess.run(_train_command(reference), check=True, capture_output=True)

    killed = tmp_path / "killed"
    config_path = _write_config(tmp_path / "tiny.yaml", tiny_config(pairs, killed, steps=steps, val_every=1000))
    child = subprocess.Popen(_train_command(config_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = killed / "tiny" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    interrupted_at = torch.load(checkpoint, weights_only=True)["step"]
    assert 0 < interrupted_at < steps

    subprocess.run(_train_command(config_path, "--resume"), check=True, capture_output=True)
    expected, resumed = _final_weights(tmp_path / "ref" / "tiny"), _final_weights(killed / "tiny")
    assert all(torch.equal(expected[k], resumed[k]) for k in expected)
    log_steps = [int(r.split(",")[0]) for r in (killed / "tiny" / "train_log.csv").read_text().splitlines()[1:]]
    assert log_steps == list(range(2, steps + 1, 2))  # no duplicated rows after the resume


def test_torchrun_two_processes_match_one(pairs, tmp_path):
    single = tmp_path / "single"
    run_in_process(tiny_config(pairs, single, steps=4, val_every=1000, ema_decay=0.0))
    config_path = tmp_path / "ddp.yaml"
    config_path.write_text(yaml.safe_dump(tiny_config(pairs, tmp_path / "ddp", steps=4, val_every=1000, ema_decay=0.0)))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "lowlight",
        "train",
        str(config_path),
        "-q",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = _final_weights(single / "tiny"), _final_weights(tmp_path / "ddp" / "tiny")
    worst = max((one[k] - two[k]).abs().max().item() for k in one)
    assert worst < 1e-5
    assert any((one[k] != _initial(k)).any() for k in ["intro.weight"])


def _initial(key: str) -> torch.Tensor:
    torch.manual_seed(0)
    return lowlight.create_model("darkir_m", **TINY_MODEL["args"]).state_dict()[key]


def test_export_weights_round_trip(pairs, tmp_path, capsys):
    run_in_process(tiny_config(pairs, tmp_path, steps=3))
    out = tmp_path / "tiny.safetensors"
    assert main(["export-weights", str(tmp_path / "tiny"), "-o", str(out)]) == 0
    assert "ema weights, step 3, psnr" in capsys.readouterr().out
    model = lowlight.create_model("darkir_m", weights=out)  # model args come from the metadata
    ema = torch.load(tmp_path / "tiny" / "checkpoints" / "best.pt", weights_only=True)["ema"]
    assert all(torch.equal(model.state_dict()[k], ema[k]) for k in ema)
    assert set(load_file(str(out))) == set(ema)
    export_weights(tmp_path / "tiny", tmp_path / "half.safetensors", half=True)
    assert load_file(str(tmp_path / "half.safetensors"))["intro.weight"].dtype == torch.float16
    with pytest.raises(CheckpointError, match="for model 'darkir_m', not 'darkir_l'"):
        lowlight.create_model("darkir_l", weights=out)


def test_train_cli_errors(pairs, tmp_path, capsys):
    config_path = tmp_path / "typo.yaml"
    config_path.write_text(yaml.safe_dump({**tiny_config(pairs, tmp_path), "stpes": 3}))
    assert main(["train", str(config_path)]) == 2
    assert "unknown key 'stpes' (did you mean 'steps'?)" in capsys.readouterr().err
    config_path.write_text(yaml.safe_dump(tiny_config(tmp_path / "nothing", tmp_path)))
    assert main(["train", str(config_path)]) == 2
    assert "data folder does not exist" in capsys.readouterr().err


def test_compiled_training_matches_eager(pairs, tmp_path):
    eager = run_in_process(tiny_config(pairs, tmp_path / "eager", steps=2, val_every=1000, ema_decay=0.0))
    compiled = run_in_process(
        tiny_config(pairs, tmp_path / "compiled", steps=2, val_every=1000, ema_decay=0.0, compile=True)
    )
    a, b = eager.model.state_dict(), compiled.model.state_dict()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4


def test_several_named_validation_sets_are_logged_and_averaged(pairs, tmp_path):
    config = tiny_config(pairs, tmp_path, steps=3)
    config["data"]["val"] = [
        {"name": "real", "path": str(pairs)},
        {"name": "synthetic", "path": str(pairs / "high"), "kind": "synthetic", "centre_crop": 24},
    ]
    trainer = run_in_process(config)
    metrics = trainer.last_metrics
    assert {"psnr_real", "psnr_synthetic", "ssim_real", "ssim_synthetic", "psnr", "ssim"} <= set(metrics)
    assert metrics["psnr"] == pytest.approx((metrics["psnr_real"] + metrics["psnr_synthetic"]) / 2)
    header = (tmp_path / "tiny" / "val_log.csv").read_text().splitlines()[0]
    assert "psnr_real" in header and "psnr_synthetic" in header
    samples = {p.name.split("_")[0] for p in (tmp_path / "tiny" / "samples" / "step_0000003").glob("*.png")}
    assert samples == {"real", "synthetic"}


def test_several_validation_sets_need_distinct_names(pairs, tmp_path):
    config = tiny_config(pairs, tmp_path)
    config["data"]["val"] = [{"path": str(pairs)}, {"path": str(pairs)}]
    with pytest.raises(ConfigError, match="its own name"):
        from_dict(TrainConfig, config)


def test_selection_can_subtract_the_lattice_the_outputs_add(pairs, tmp_path):
    config = tiny_config(pairs, tmp_path, steps=3, selection="psnr_minus_grid")
    trainer = run_in_process(config)
    assert "grid_db" in trainer.last_metrics
    expected = trainer.last_metrics["psnr"] - max(trainer.last_metrics["grid_db"], 0.0)
    assert trainer.best_psnr == pytest.approx(expected)
    with pytest.raises(ConfigError, match="selection"):
        from_dict(TrainConfig, tiny_config(pairs, tmp_path, selection="ssim"))


def test_unpaired_photos_train_beside_the_pairs_with_their_own_loss(pairs, tmp_path):
    config = tiny_config(pairs, tmp_path, steps=4, checkpoint_every=4, schedule={"name": "constant"})
    photos = {"path": str(pairs / "low"), "kind": "unpaired"}
    config["data"]["unpaired"] = [photos]
    config["data"]["unpaired_batch_size"] = 2
    config["data"]["val"] = [{"name": "pairs", "path": str(pairs)}, {"name": "photos", **photos}]
    config["unpaired_losses"] = {"lattice_excess": 0.01}
    trainer = run_in_process(config)
    header, *rows = (tmp_path / "tiny" / "train_log.csv").read_text().splitlines()
    column = header.split(",").index("unpaired.lattice_excess")
    assert len(rows) == 2 and all(float(row.split(",")[column]) >= 0 for row in rows)
    assert {"psnr_pairs", "grid_db_pairs", "grid_db_photos"} <= set(trainer.last_metrics)
    assert "psnr_photos" not in trainer.last_metrics  # photos without targets give the lattice figure only

    # the unpaired stream changes the weights, and resuming replays it: 2 + 2 steps == 4 steps
    plain = run_in_process({**config, "output_dir": str(tmp_path / "plain"), "data": {**config["data"], "unpaired": []},
                            "unpaired_losses": {}})  # fmt: skip
    split = {**config, "output_dir": str(tmp_path / "split"), "steps": 2}
    split["checkpoint_every"] = 2
    run_in_process(split)
    resumed = run_in_process({**split, "steps": 4}, resume=True)
    weights, others = trainer.model.state_dict(), plain.model.state_dict()
    assert max((weights[k] - others[k]).abs().max().item() for k in weights) > 1e-6
    again = resumed.model.state_dict()
    assert max((weights[k] - again[k]).abs().max().item() for k in weights) < 1e-6


def test_shift_consistency_trains_on_the_unpaired_photos_alone_or_beside_their_losses(pairs, tmp_path):
    photos = {"path": str(pairs / "low"), "kind": "unpaired"}
    config = tiny_config(pairs, tmp_path, steps=2, schedule={"name": "constant"}, shift_consistency=1.0)
    config["data"]["unpaired"] = [photos]
    trainer = run_in_process(config)
    header, *rows = (tmp_path / "tiny" / "train_log.csv").read_text().splitlines()
    column = header.split(",").index("unpaired.shift_consistency")
    assert rows and all(float(row.split(",")[column]) > 0 for row in rows)
    both = run_in_process({**config, "output_dir": str(tmp_path / "both"), "unpaired_losses": {"lattice_excess": 0.01}})
    header = (tmp_path / "both" / "tiny" / "train_log.csv").read_text().splitlines()[0].split(",")
    assert {"unpaired.shift_consistency", "unpaired.lattice_excess"} <= set(header)
    weights, others = trainer.model.state_dict(), both.model.state_dict()
    assert max((weights[k] - others[k]).abs().max().item() for k in weights) > 1e-7
    with pytest.raises(ConfigError, match="shift_consistency must be"):
        from_dict(TrainConfig, {**config, "shift_consistency": -1.0})
    with pytest.raises(ConfigError, match="go together"):
        from_dict(TrainConfig, tiny_config(pairs, tmp_path, shift_consistency=1.0))


def test_unpaired_training_config_errors(pairs, tmp_path):
    photos = {"path": str(pairs / "low"), "kind": "unpaired"}
    with pytest.raises(ConfigError, match="go together"):
        from_dict(TrainConfig, tiny_config(pairs, tmp_path, **{"data.unpaired": [photos]}))
    with pytest.raises(ConfigError, match="go together"):
        from_dict(TrainConfig, tiny_config(pairs, tmp_path, unpaired_losses={"lattice_excess": 1.0}))
    with pytest.raises(ConfigError, match="kind unpaired"):
        from_dict(TrainConfig, tiny_config(pairs, tmp_path, **{"data.unpaired": [{"path": str(pairs)}]},
                                            unpaired_losses={"lattice_excess": 1.0}))  # fmt: skip
    config = tiny_config(pairs, tmp_path, **{"data.unpaired": [photos]}, unpaired_losses={"l1": 1.0})
    with pytest.raises(ConfigError, match="zero-reference"):
        Trainer(from_dict(TrainConfig, config), progress=False)


def test_resuming_a_run_of_another_network_is_one_clear_error(pairs, tmp_path):
    run_in_process(tiny_config(pairs, tmp_path, steps=2))
    other = tiny_config(pairs, tmp_path, steps=4)
    other["model"] = {**TINY_MODEL, "args": {**TINY_MODEL["args"], "width": 8}}
    with pytest.raises(TrainingError, match="holds another network"):
        Trainer(from_dict(TrainConfig, other), resume=True, progress=False)


def test_resuming_with_another_shift_consistency_weight_is_reported(pairs, tmp_path, caplog):
    photos = {"path": str(pairs / "low"), "kind": "unpaired"}
    config = tiny_config(pairs, tmp_path, steps=2, shift_consistency=1.0)
    config["data"]["unpaired"] = [photos]
    run_in_process(config)
    with caplog.at_level("WARNING"):
        run_in_process({**config, "steps": 4, "shift_consistency": 2.0}, resume=True)
    assert "differs from the checkpoint's in: shift_consistency" in caplog.text
