"""DarkIR equals the official implementation: golden tensors and strict checkpoint loading."""

from __future__ import annotations

import pickle
import re

import pytest
import torch
from safetensors.torch import load_file, save_file

import lowlight
from lowlight.checkpoint import read_checkpoint
from lowlight.errors import CheckpointError


@pytest.mark.parametrize(("stem", "width"), [("darkir_w8", 8), ("darkir_m", 32)])
def test_golden_forward_and_side_output(shared, stem, width):
    folder = shared / "golden" / "darkir"
    model = lowlight.create_model("darkir_m", weights=folder / f"{stem}_state.safetensors", width=width)
    io = load_file(str(folder / f"{stem}_io.safetensors"))
    with torch.no_grad():
        side, out = model(io["input"], side_loss=True)
        plain = model(io["input"])
    assert out.shape == io["output"].shape and side.shape == io["side_output"].shape
    assert (out - io["output"]).abs().max() < 1e-4
    assert (side - io["side_output"]).abs().max() < 1e-4
    torch.testing.assert_close(plain, out)


@pytest.mark.parametrize(
    ("name", "spec"), [("darkir_m", "darkir_state_dict_m.txt"), ("darkir_l", "darkir_state_dict_l.txt")]
)
def test_state_dict_keys_and_shapes_match_the_official_list(shared, name, spec):
    expected = {}
    for line in (shared / "specs" / spec).read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape, _ = line.split("\t")
            expected[key] = tuple(int(v) for v in re.findall(r"\d+", shape))
    state = lowlight.create_model(name).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected


def test_official_style_torch_checkpoint_with_params_and_module_prefix_loads(tmp_path):
    source = lowlight.create_model("darkir_m", width=8)
    for p in source.parameters():
        torch.nn.init.normal_(p, std=0.05)
    ckpt = tmp_path / "DarkIR_official.pt"
    torch.save({"params": {f"module.{k}": v for k, v in source.state_dict().items()}, "epoch": 3}, ckpt)
    loaded = lowlight.create_model("darkir_m", weights=ckpt, width=8)
    x = torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), source.eval()(x))


def test_missing_and_unexpected_keys_are_named(tmp_path):
    state = lowlight.create_model("darkir_m", width=8).state_dict()
    state.pop("side_out.weight")
    state["adapter.conv1.weight"] = torch.zeros(1)
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path))
    with pytest.raises(CheckpointError) as err:
        lowlight.create_model("darkir_m", weights=path, width=8)
    message = str(err.value)
    assert "missing keys: side_out.weight" in message
    assert "unexpected keys: adapter.conv1.weight" in message
    assert str(path) in message


def test_weights_of_the_wrong_width_report_shape_mismatches(tmp_path):
    path = tmp_path / "w8.safetensors"
    save_file(lowlight.create_model("darkir_m", width=8).state_dict(), str(path))
    with pytest.raises(
        CheckpointError,
        match=(
            r"shape mismatch \(file vs model\): "
            r"decoders\.0\.modules_list\.0\.beta \(1, 32, 1, 1\) vs \(1, 128, 1, 1\).*341 in all"
        ),
    ):
        lowlight.create_model("darkir_m", weights=path)


class _Evil:
    def __reduce__(self):
        return (print, ("unpickled arbitrary code",))


def test_pickles_with_arbitrary_objects_are_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump({"params": _Evil()}, handle)
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        read_checkpoint(path)
    assert "unpickled" not in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"])
def test_empty_or_garbage_weights_files(tmp_path, content):
    path = tmp_path / "w.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=str(path)):
        read_checkpoint(path)


def test_missing_weights_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        lowlight.create_model("darkir_m", weights=tmp_path / "nope.safetensors")
