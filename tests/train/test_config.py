from __future__ import annotations

from pathlib import Path

import pytest

from lowlight.config import apply_overrides, dump_yaml, from_dict, load_config, read_yaml
from lowlight.errors import ConfigError
from lowlight.train.config import TrainConfig

BASE = {"name": "run", "data": {"train": [{"path": "data"}]}}


def test_minimal_config_gets_defaults():
    config = from_dict(TrainConfig, BASE)
    assert config.optim.lr == 5e-4 and config.data.train[0].kind == "paired"
    assert config.data.train[0].degradation.exposure == (0.03, 0.3)


def test_unknown_key_names_the_place_and_suggests():
    with pytest.raises(ConfigError, match=r"config\.optim: unknown key 'lrr' \(did you mean 'lr'\?\)"):
        from_dict(TrainConfig, {**BASE, "optim": {"lrr": 1e-4}})
    with pytest.raises(ConfigError, match=r"config\.data\.train\[0\]: unknown key 'pth'"):
        from_dict(TrainConfig, {"name": "x", "data": {"train": [{"pth": "d"}]}})


def test_wrong_types_and_values():
    with pytest.raises(ConfigError, match=r"config\.steps: expected int, got 'many'"):
        from_dict(TrainConfig, {**BASE, "steps": "many"})
    with pytest.raises(ConfigError, match=r"config\.precision: 'fp8' is not one of"):
        from_dict(TrainConfig, {**BASE, "precision": "fp8"})
    with pytest.raises(ConfigError, match="ema_decay"):
        from_dict(TrainConfig, {**BASE, "ema_decay": 1.5})
    with pytest.raises(ConfigError, match=r"data\.train needs at least one source"):
        from_dict(TrainConfig, {"name": "x", "data": {}})
    with pytest.raises(ConfigError, match="missing 1 required positional argument: 'data'"):
        from_dict(TrainConfig, {"name": "x"})


def test_crop_null_means_whole_images():
    config = from_dict(TrainConfig, {**BASE, "data": {**BASE["data"], "crop": None, "batch_size": 1}})
    assert config.data.crop is None
    with pytest.raises(ConfigError, match=r"crop >= 8 \(or null for whole images\)"):
        from_dict(TrainConfig, {**BASE, "data": {**BASE["data"], "crop": 4}})


def test_yaml_strings_for_floats_and_tuples():
    config = from_dict(TrainConfig, {**BASE, "optim": {"lr": "2e-4", "betas": [0.9, 0.99]}})
    assert config.optim.lr == 2e-4 and config.optim.betas == (0.9, 0.99)


def test_overrides_and_round_trip(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(dump_yaml(from_dict(TrainConfig, BASE)))
    config = load_config(TrainConfig, path, ["steps=7", "optim.lr=1e-3", "model.args.width=8", "data.val={path: v}"])
    assert config.steps == 7 and config.optim.lr == 1e-3 and config.model.args == {"width": 8}
    assert config.data.val.path == "v"
    config = load_config(
        TrainConfig, path, ["data.train.0.path=elsewhere", "data.train.0.degradation.exposure=[0.1, 0.2]"]
    )
    assert config.data.train[0].path == "elsewhere" and config.data.train[0].degradation.exposure == (0.1, 0.2)
    with pytest.raises(ConfigError, match="not an index"):
        load_config(TrainConfig, path, ["data.train.3.path=x"])
    assert from_dict(TrainConfig, read_yaml_text(dump_yaml(config))) == config


def read_yaml_text(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


def test_bad_override_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["steps"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML at line"):
        read_yaml(bad)
    with pytest.raises(ConfigError, match="cannot read config"):
        read_yaml(tmp_path / "absent.yaml")


@pytest.mark.parametrize("recipe", sorted((Path(__file__).parents[2] / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_recipes_parse(recipe):
    config = load_config(TrainConfig, recipe)
    assert config.name == recipe.stem
    if recipe.stem.startswith("darkir") and "_cpu" not in recipe.stem:  # the paper recipes
        assert config.losses == {"l1": 1.0, "perceptual": 0.01, "edge": 50.0, "side.l1": 0.8, "side.perceptual": 0.01}
        assert (config.optim.lr, config.optim.betas, config.optim.weight_decay) == (5e-4, (0.9, 0.9), 1e-3)
