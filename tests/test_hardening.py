"""Careless or hostile use: every case gives a readable output or one clear line, never a traceback or a lost file.

Each test is named after what it protects (issue: hardening).
"""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import lowlight
from lowlight.cli import main
from lowlight.errors import CheckpointError, LowlightError
from lowlight.io import atomic_write_bytes, read_image
from lowlight.runtime import release_memory, tune_malloc

TINY_DARKIR = {"width": 4, "enc_blk_nums": [1, 1, 1], "dec_blk_nums": [1, 1, 1], "middle_blk_num_enc": 1,
               "middle_blk_num_dec": 1}  # fmt: skip


def _dark(path: Path, size=(24, 32), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rng.random((*size, 3)) * 60).astype(np.uint8)).save(path)
    return path


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def usage_error(args, capsys) -> str:
    """argv that must be refused at parse time: exit 2, a message naming the option, no traceback."""
    with pytest.raises(SystemExit) as raised:
        main(args)
    err = capsys.readouterr().err
    assert raised.value.code == 2 and "Traceback" not in err
    return err


# ----------------------------------------------------------------------------- 1. unreadable outputs
@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "F", "I;16", "LA", "1"])
def test_tiff_outputs_of_every_input_mode_open_with_the_input_size(tmp_path, capsys, mode):
    rgb = Image.fromarray((np.random.default_rng(0).random((20, 28, 3)) * 80).astype(np.uint8))
    source = tmp_path / f"in_{mode.replace(';', '')}.tif"
    image = rgb.convert("L").convert(mode) if mode in ("F", "I;16", "1") else rgb.convert(mode)
    if mode == "F":
        image = Image.fromarray(np.asarray(rgb.convert("L"), np.float32) / 255)
    image.save(source)
    code, text = run(["enhance", str(source), "-o", str(tmp_path / "out"), "-m", "adaptive_gamma", "-q"], capsys)
    assert code == 0, text
    written = tmp_path / "out" / source.name
    assert read_image(written).size == (20, 28)
    with Image.open(written) as reopened:
        reopened.load()
        assert reopened.size == (28, 20)


def test_an_output_that_cannot_be_read_back_is_never_renamed_into_place(tmp_path, monkeypatch):
    from lowlight import io
    from lowlight.errors import ImageWriteError

    monkeypatch.setattr(io, "encode_image", lambda *a, **k: b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageWriteError, match="cannot be read back"):
        io.write_image(tmp_path / "x.png", np.zeros((8, 8, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- 2. path escapes
@pytest.mark.parametrize("suffix", ["/../../escape", "..\\x", "a/b", "..", "\n"])
def test_suffix_cannot_leave_the_output_folder(tmp_path, capsys, suffix):
    _dark(tmp_path / "in" / "a.png")
    code, text = run(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--suffix", suffix,
                      "-m", "gamma", "--overwrite", "-q"], capsys)  # fmt: skip
    assert code == 2 and "--suffix" in text and "Traceback" not in text
    assert not (tmp_path / "escape.png").exists() and not (tmp_path.parent / "escape.png").exists()


# ----------------------------------------------------------------------------- 3. silent training failures
def _tiny_train_config(tmp_path: Path) -> Path:
    import yaml

    for i in range(2):
        _dark(tmp_path / "pairs" / "low" / f"{i}.png", (32, 32), i)
        _dark(tmp_path / "pairs" / "high" / f"{i}.png", (32, 32), i + 5)
    config = {"name": "t", "data": {"train": [{"path": str(tmp_path / "pairs")}], "crop": 16, "batch_size": 2,
              "num_workers": 0}, "model": {"name": "darkir_m", "args": TINY_DARKIR}, "steps": 2, "threads": 1,
              "checkpoint_every": 1, "output_dir": str(tmp_path / "runs")}  # fmt: skip
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_training_that_cannot_write_its_final_checkpoint_exits_non_zero(tmp_path, capsys, monkeypatch):
    from lowlight.train import state

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state.torch, "save", full_disk)
    code, text = run(["train", str(_tiny_train_config(tmp_path)), "-q"], capsys)
    assert code == 2 and "final checkpoint" in text and "could not be written" in text
    assert "Traceback" not in text


def test_training_into_an_unwritable_output_dir_is_one_line(tmp_path, capsys):
    code, text = run(["train", str(_tiny_train_config(tmp_path)), "output_dir=/proc/nope", "-q"], capsys)
    assert code == 2 and "cannot create the run folder" in text and "Traceback" not in text


@pytest.mark.parametrize("override", ["optim.lr=-1", "optim.lr=nan", "optim.grad_clip=0"])
def test_bad_training_numbers_are_config_errors(tmp_path, capsys, override):
    code, text = run(["train", str(_tiny_train_config(tmp_path)), override, "-q"], capsys)
    assert code == 2 and override.split("=")[0].split(".")[1] in text and "Traceback" not in text


def test_export_on_a_full_disk_exits_non_zero_and_writes_nothing(tmp_path, capsys, monkeypatch):
    config = _tiny_train_config(tmp_path)
    assert run(["train", str(config), "-q"], capsys)[0] == 0
    import safetensors.torch

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    out = tmp_path / "w.safetensors"
    code, text = run(["export-weights", str(tmp_path / "runs" / "t"), "-o", str(out), "--checkpoint", "last"], capsys)
    assert code == 2 and "could not write the weights" in text and not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".w.")] == []


# ----------------------------------------------------------------------------- 4. videos
def test_a_truncated_video_is_one_line_and_the_next_video_is_still_processed(tmp_path, capsys):
    av = pytest.importorskip("av")
    from tests.inference.test_video import _clip

    good = _clip(tmp_path / "good.mp4", frames=6, audio=False)
    data = good.read_bytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(data[: len(data) // 2])
    del av
    code, text = run(["enhance", str(bad), str(good), "-o", str(tmp_path / "out"), "-m", "gamma", "-q"], capsys)
    assert code == 1 and "Traceback" not in text
    assert "bad.mp4" in text and (tmp_path / "out" / "good.mp4").is_file()
    assert not (tmp_path / "out" / "bad.mp4").exists()


# ----------------------------------------------------------------------------- 5. re-enhancing outputs
def test_outputs_inside_a_recursive_input_tree_are_not_enhanced_again(tmp_path, capsys):
    _dark(tmp_path / "photos" / "a.png")
    _dark(tmp_path / "photos" / "sub" / "b.png", seed=1)
    out = tmp_path / "photos" / "out"
    for _ in range(2):
        code, text = run(["enhance", str(tmp_path / "photos"), "-r", "-o", str(out), "-m", "gamma", "--overwrite",
                          "-q"], capsys)  # fmt: skip
        assert code == 0, text
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["a.png", "sub/b.png"]


def test_outputs_written_beside_their_inputs_are_not_taken_as_inputs_next_time(tmp_path, capsys):
    _dark(tmp_path / "photos" / "a.png")
    for _ in range(2):
        run(["enhance", str(tmp_path / "photos"), "-o", str(tmp_path / "photos"), "--suffix", "_x", "-m", "gamma",
             "-q"], capsys)  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["a.png", "a_x.png"]


# ----------------------------------------------------------------------------- 6. corrupt weights
@pytest.fixture(params=["text", "pickle", "truncated"])
def bad_weights(tmp_path, request) -> Path:
    path = tmp_path / "bad.safetensors"
    if request.param == "text":
        path.write_text("these are not weights\n")
    elif request.param == "pickle":
        path.write_bytes(pickle.dumps({"a": 1}))
    else:
        save_file({"w": torch.zeros(100)}, str(path))
        path.write_bytes(path.read_bytes()[:60])
    return path


def test_corrupt_or_mislabelled_safetensors_is_one_line_everywhere(tmp_path, capsys, bad_weights):
    image = _dark(tmp_path / "a.png")
    code, text = run(["enhance", str(image), "-o", str(tmp_path / "o.png"), "-m", "darkir_m", "-w", str(bad_weights),
                      "-q"], capsys)  # fmt: skip
    assert code == 2 and "bad.safetensors" in text and "Traceback" not in text
    (tmp_path / "set" / "low").mkdir(parents=True)
    (tmp_path / "set" / "high").mkdir(parents=True)
    shutil.copy(image, tmp_path / "set" / "low" / "a.png")
    shutil.copy(image, tmp_path / "set" / "high" / "a.png")
    code, text = run(["evaluate", "--model", f"darkir_m={bad_weights}", "--data", str(tmp_path / "set"), "-q",
                      "-o", str(tmp_path / "eval")], capsys)  # fmt: skip
    assert code == 2 and "bad.safetensors" in text and "Traceback" not in text
    code, text = run(["train", str(_tiny_train_config(tmp_path)), f"model.init={bad_weights}", "-q"], capsys)
    assert code == 2 and "bad.safetensors" in text and "Traceback" not in text
    with pytest.raises(CheckpointError, match=r"bad\.safetensors"):
        lowlight.create_model("darkir_m", weights=bad_weights)


# ----------------------------------------------------------------------------- 7. NaN and Inf
def test_nan_weights_are_refused_before_they_blacken_an_output(tmp_path, capsys):
    model = lowlight.create_model("darkir_m", **TINY_DARKIR)
    state = model.state_dict()
    state["intro.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.safetensors"
    save_file(state, str(path))
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        lowlight.create_model("darkir_m", weights=path, **TINY_DARKIR)
    code, text = run(["enhance", str(_dark(tmp_path / "a.png")), "-o", str(tmp_path / "o.png"), "-m", "darkir_m",
                      "-w", str(path), "-q"], capsys)  # fmt: skip
    assert code == 2 and "NaN" in text and not (tmp_path / "o.png").exists()


def test_non_finite_float_images_are_refused_and_out_of_range_values_clipped_with_a_note(tmp_path, capsys):
    values = np.full((16, 16), 0.2, np.float32)
    values[3, 3] = np.nan
    Image.fromarray(values).save(tmp_path / "nan.tif")
    values[3, 3] = -0.5
    values[4, 4] = 7.0
    Image.fromarray(values).save(tmp_path / "wide.tif")
    code, text = run(["enhance", str(tmp_path / "nan.tif"), str(tmp_path / "wide.tif"), "-o", str(tmp_path / "out"),
                      "-m", "gamma", "-q"], capsys)  # fmt: skip
    assert code == 1 and "nan.tif: float image holds NaN or infinite values" in text
    assert "2 float pixel(s) outside [0, 1]" in text and "clipped" in text
    assert read_image(tmp_path / "out" / "wide.tif").size == (16, 16)
    with pytest.raises(LowlightError, match="NaN"):
        lowlight.enhance(np.full((8, 8, 3), np.nan, np.float32), model="gamma")


# ----------------------------------------------------------------------------- 8. numbers at parse time
@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--tile-overlap", "-5"], "--tile-overlap"),
        (["--max-memory", "nan"], "--max-memory"),
        (["--max-pixels", "inf"], "--max-pixels"),
        (["--max-pixels", "0"], "--max-pixels"),
        (["--max-pixels", "-1"], "--max-pixels"),
        (["--batch-size", "0"], "--batch-size"),
        (["--quality", "1000"], "--quality"),
        (["-m", ""], "--model"),
        (["--tile", "-1"], "--tile"),
        (["--strength", "nan"], "--strength"),
    ],
)
def test_bad_numbers_are_usage_errors_before_any_work(tmp_path, capsys, extra, option):
    err = usage_error(["enhance", str(_dark(tmp_path / "a.png")), "-o", str(tmp_path / "o"), *extra], capsys)
    assert option in err
    assert not (tmp_path / "o").exists()


def test_profile_repeats_must_be_positive(capsys):
    assert "--repeats" in usage_error(["profile", "--model", "gamma", "--repeats", "0"], capsys)


# ----------------------------------------------------------------------------- 9. the small things
def test_a_write_killed_midway_leaves_no_part_file_once_the_output_is_written_again(tmp_path):
    script = (
        "import os, sys; from pathlib import Path; from lowlight import io\n"
        "real = os.replace\n"
        "def die(*a): os.kill(os.getpid(), 9)\n"
        "io.os.replace = die\n"
        "io.atomic_write_bytes(Path(sys.argv[1]), b'x' * 1000)\n"
    )
    target = tmp_path / "out.png"
    subprocess.run([sys.executable, "-c", script, str(target)], check=False)
    assert len(list(tmp_path.glob(".out.png.*.part"))) == 1 and not target.exists()
    atomic_write_bytes(target, b"complete")
    assert target.read_bytes() == b"complete" and list(tmp_path.glob(".out.png.*")) == []


def test_outputs_follow_the_umask_instead_of_mode_0600(tmp_path):
    from lowlight import io

    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask == io._FILE_MODE


def test_animated_gifs_say_that_only_the_first_frame_is_enhanced(tmp_path, capsys):
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (20, 40, 60)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    code, text = run(["enhance", str(tmp_path / "anim.gif"), "-o", str(tmp_path / "out"), "-m", "gamma", "-q"], capsys)
    assert code == 0 and "only the first of its 3 frames/pages is enhanced" in text


def test_an_unknown_output_suffix_is_refused_instead_of_becoming_a_folder(tmp_path, capsys):
    code, text = run(["enhance", str(_dark(tmp_path / "a.png")), "-o", str(tmp_path / "y.xyz"), "-m", "gamma"], capsys)
    assert code == 2 and "'.xyz' is not an image format" in text and not (tmp_path / "y.xyz").exists()


def test_format_must_agree_with_an_output_file_name(tmp_path, capsys):
    code, text = run(["enhance", str(_dark(tmp_path / "a.png")), "-o", str(tmp_path / "o.png"), "--format", "jpg",
                      "-m", "gamma"], capsys)  # fmt: skip
    assert code == 2 and "--format jpg disagrees" in text
    code, _ = run(["enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.jpg"), "--format", "jpg", "-m",
                   "gamma", "-q"], capsys)  # fmt: skip
    assert code == 0 and read_image(tmp_path / "o.jpg").format == "JPEG"


def test_file_names_cannot_forge_log_lines(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x\nlowlight: 99 enhanced.png").write_bytes(b"not an image")
    code, text = run(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-m", "gamma", "-q"], capsys)
    assert code == 1
    assert not any(line.startswith("lowlight: 99 enhanced") for line in text.splitlines())
    assert "x\\nlowlight: 99 enhanced.png" in text


def test_classical_models_say_they_need_no_weights(tmp_path, capsys):
    code, text = run(["enhance", str(_dark(tmp_path / "a.png")), "-o", str(tmp_path / "o.png"), "-m",
                      "adaptive_gamma"], capsys)  # fmt: skip
    assert code == 0 and "no weights needed" in text and "do not ship yet" not in text


def test_evaluate_protocol_names_the_border_crop_it_used(tmp_path, capsys):
    for d in ("low", "high"):
        _dark(tmp_path / "set" / d / "a.png", (40, 40))
    code, text = run(["evaluate", "--model", "gamma", "--data", str(tmp_path / "set"), "--metrics", "psnr_y",
                      "--crop-border", "4", "-q", "-o", str(tmp_path / "e")], capsys)  # fmt: skip
    assert code == 0 and "border crop 4" in text and "border crop 0" not in text


# ----------------------------------------------------------------------------- 10. memory
def test_the_tuned_allocator_can_give_memory_back_between_image_sizes():
    if not tune_malloc():
        pytest.skip("glibc allocator settings are not available here")
    assert release_memory()


def test_a_folder_of_mixed_sizes_bounds_the_heap_once_it_meets_a_second_size(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("lowlight.inference.batch.bound_heap_growth", lambda: calls.append(1) or True)
    for name, size in (("a", (40, 40)), ("b", (40, 40)), ("c", (48, 32)), ("d", (40, 40))):
        _dark(tmp_path / "in" / f"{name}.png", size)
    code, _ = run(["enhance", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-m", "gamma"], capsys)
    assert code == 0 and len(calls) == 2  # at b -> c and c -> d, not between the two 40x40 photos
