from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import save_file

import lowlight
from lowlight.cli import main
from lowlight.errors import LowlightError
from lowlight.inference.pipeline import default_model_name


def _dark_image(path, size=(24, 32), seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((*size, 3)) * 60).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        _dark_image(folder / f"img{i}.png", seed=i)
    _dark_image(folder / "sub" / "deep.jpg", seed=9)
    return folder


def run(args, capsys):
    code = main(["enhance", *args, "-q"]) if args and args[0] != "list-models" else main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_folder_enhance_names_the_model_and_summarises(photos, tmp_path, capsys):
    code, text = run([str(photos), "-o", str(tmp_path / "out")], capsys)
    assert code == 0
    assert f"model {default_model_name()}" in text and "3 enhanced, 0 skipped, 0 failed" in text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img0.png", "img1.png", "img2.png"]
    assert (
        np.asarray(Image.open(tmp_path / "out" / "img0.png")).mean()
        > np.asarray(Image.open(photos / "img0.png")).mean()
    )


def test_recursive_keeps_subfolders_and_format_option(photos, tmp_path, capsys):
    code, _ = run([str(photos), "-r", "-o", str(tmp_path / "out"), "--format", "webp", "--suffix", "_x"], capsys)
    assert code == 0
    assert (tmp_path / "out" / "sub" / "deep_x.webp").is_file()
    assert (tmp_path / "out" / "img1_x.webp").is_file()


def test_existing_outputs_are_skipped_unless_overwrite(photos, tmp_path, capsys):
    out = tmp_path / "out"
    run([str(photos), "-o", str(out)], capsys)
    before = (out / "img0.png").read_bytes()
    code, text = run([str(photos), "-o", str(out), "--model", "gamma"], capsys)
    assert code == 0 and "0 enhanced, 3 skipped" in text and "use --overwrite" in text
    assert (out / "img0.png").read_bytes() == before
    code, text = run([str(photos), "-o", str(out), "--model", "gamma", "--overwrite"], capsys)
    assert code == 0 and "3 enhanced" in text
    assert (out / "img0.png").read_bytes() != before


def test_one_bad_file_is_reported_and_the_rest_processed(photos, tmp_path, capsys):
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (photos / "zero.jpg").write_bytes(b"")
    code, text = run([str(photos), "-o", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "3 enhanced, 0 skipped, 2 failed" in text
    assert "broken.png" in text and "zero.jpg: file is empty" in text
    assert "Traceback" not in text


def test_never_writes_over_an_input(photos, capsys):
    before = (photos / "img0.png").read_bytes()
    code, text = run([str(photos), "-o", str(photos), "--overwrite"], capsys)
    assert code == 1 and "would overwrite an input" in text
    assert (photos / "img0.png").read_bytes() == before
    code, _ = run([str(photos), "-o", str(photos), "--suffix", "_bright"], capsys)
    assert code == 0 and (photos / "img0_bright.png").is_file()


def test_single_file_to_file_and_glob(photos, tmp_path, capsys):
    code, _ = run([str(photos / "img1.png"), "-o", str(tmp_path / "single.jpg")], capsys)
    assert code == 0 and (tmp_path / "single.jpg").is_file()
    code, text = run([str(photos / "img*.png"), "-o", str(tmp_path / "g")], capsys)
    assert code == 0 and "3 enhanced" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing_folder_xyz"], "missing_folder_xyz: no such file or folder"),
        (["{empty}"], "folder contains no images"),
        (["{photos}", "--model", "nope"], "unknown model 'nope'"),
        (["{photos}", "--model", "darkir_l"], "no weights shipped"),
        (["{photos}", "--half", "--device", "cpu"], "--half needs a GPU"),
        (["{photos}", "--format", "gif"], "--format 'gif' is not supported"),
        (["{photos}", "--compile", "--backend", "onnxruntime"], "--compile works with the torch backend"),
    ],
)
def test_clear_errors(args, message, photos, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    args = [a.format(photos=photos, empty=tmp_path / "empty") for a in args]
    code, text = run([*args, "-o", str(tmp_path / "out")], capsys)
    assert code != 0 and message in text and "Traceback" not in text


def test_unwritable_output_folder(photos, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, text = run([str(photos), "-o", str(blocker / "out")], capsys)
    assert code == 2 and "cannot create the output folder" in text


def test_weights_for_the_wrong_model(photos, tmp_path, capsys):
    weights = tmp_path / "l.safetensors"
    save_file(lowlight.create_model("darkir_m", width=8).state_dict(), str(weights))
    code, text = run(
        [str(photos), "-o", str(tmp_path / "out"), "--model", "darkir_m", "--weights", str(weights)], capsys
    )
    assert code == 2 and "does not fit the model" in text and str(weights) in text


def test_learned_model_with_weights_file_and_tiling(photos, tmp_path, capsys):
    weights = tmp_path / "m.safetensors"
    model = lowlight.create_model("darkir_m", width=8)
    save_file(model.state_dict(), str(weights))
    big = _dark_image(tmp_path / "big.png", size=(300, 200))
    args = [str(big), "-o", str(tmp_path / "o.png"), "--model", "darkir_m", "--weights", str(weights)]
    args += ["--tile", "128", "--tile-overlap", "32"]
    code, text = run(args, capsys)
    assert code != 0  # width 8 weights do not fit darkir_m (width 32)
    save_file(lowlight.create_model("darkir_m").state_dict(), str(weights))
    code, text = run(args, capsys)
    assert code == 0, text
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert out.shape == (300, 200, 3)
    # at initialisation DarkIR's gated (global) blocks are the identity, so the network is local
    # and tiles must blend back to the whole-image result
    code, _ = run(
        [str(big), "-o", str(tmp_path / "whole.png"), "--model", "darkir_m", "--weights", str(weights), "--tile", "0"],
        capsys,
    )
    whole = np.asarray(Image.open(tmp_path / "whole.png")).astype(int)
    assert np.abs(out.astype(int) - whole).mean() < 0.5


def test_compiled_enhance_matches_eager(photos, tmp_path, capsys):
    args = [str(photos / "img0.png"), "--model", "zero_dce"]
    assert run([*args, "-o", str(tmp_path / "eager.png")], capsys)[0] == 0
    code, text = run([*args, "-o", str(tmp_path / "compiled.png"), "--compile"], capsys)
    assert code == 0, text
    eager = np.asarray(Image.open(tmp_path / "eager.png")).astype(int)
    compiled = np.asarray(Image.open(tmp_path / "compiled.png")).astype(int)
    assert np.abs(eager - compiled).max() <= 1


def test_self_ensemble_option(photos, tmp_path, capsys):
    args = [str(photos / "img0.png"), "--model", "zero_dce"]
    assert run([*args, "-o", str(tmp_path / "plain.png")], capsys)[0] == 0
    code, text = run([*args, "-o", str(tmp_path / "x8.png"), "--self-ensemble", "x8"], capsys)
    assert code == 0, text
    plain = np.asarray(Image.open(tmp_path / "plain.png")).astype(int)
    averaged = np.asarray(Image.open(tmp_path / "x8.png")).astype(int)
    assert averaged.shape == plain.shape and np.abs(averaged - plain).mean() < 10
    with pytest.raises(SystemExit):
        main(["enhance", str(photos), "-o", str(tmp_path / "o"), "--self-ensemble", "x3"])


def test_list_models(capsys):
    code, text = run(["list-models"], capsys)
    assert code == 0
    assert "darkir_m" in text and "3,321,638" in text and "not needed" in text
    darkir_row = next(line for line in text.splitlines() if line.startswith("darkir_m "))
    assert "lol_v1" in darkir_row and "*" in darkir_row  # its tags, the default marked


CONSOLE_SCRIPT = shutil.which("lowlight", path=str(Path(sys.executable).parent)) or shutil.which("lowlight")


@pytest.mark.skipif(CONSOLE_SCRIPT is None, reason="console script not installed")
def test_console_script_runs(photos, tmp_path):
    result = subprocess.run(
        [CONSOLE_SCRIPT, "enhance", str(photos), "-o", str(tmp_path / "cs"), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "lowlight", "enhance", "nope.png", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "nope.png: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_keyboard_interrupt_is_reported(monkeypatch, photos, tmp_path, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lowlight.inference.batch.run_jobs", interrupt)
    code, text = run([str(photos), "-o", str(tmp_path / "out")], capsys)
    assert code == 130 and "interrupted" in text


def test_shards_split_jobs_disjointly(tmp_path, capsys):
    from lowlight.inference.batch import Job, shard_from_environment, shard_jobs

    jobs = [Job(tmp_path / f"{i}.png", tmp_path / "out" / f"{i}.png") for i in (3, 1, 2, 0, 4)]
    shards = [shard_jobs(jobs, k, 2) for k in range(2)]
    assert sorted(j.source.name for s in shards for j in s) == sorted(j.source.name for j in jobs)
    assert not {j.source for j in shards[0]} & {j.source for j in shards[1]}
    assert shard_from_environment("1/3") == (1, 3)
    with pytest.raises(LowlightError, match="need 0 <= K < N"):
        shard_from_environment("3/3")


def test_torchrun_sharded_enhance_resumes(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        _dark_image(photos / f"p{i}.png", seed=i)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p0.png").write_bytes(b"done")  # finished by an earlier, killed job
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "lowlight", "enhance", str(photos), "-o", str(out), "--model", "gamma", "-q"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [f"p{i}.png" for i in range(5)]
    lines = [line for line in result.stderr.splitlines() if "enhanced," in line]
    assert (
        len(lines) == 2
        and any("[shard 0/2]" in line for line in lines)
        and any("[shard 1/2]" in line for line in lines)
    )
    assert sum(int(line.split("] ")[1].split(" enhanced")[0]) for line in lines) == 4  # p0 was skipped
    assert (out / "p0.png").read_bytes() == b"done"
