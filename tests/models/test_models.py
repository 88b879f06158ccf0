"""Registry-wide checks: every model maps (B, 3, H, W) in [0, 1] to the same shape, any size."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import lowlight
from lowlight.errors import UnknownModelError
from lowlight.registry import model_info

ALL_MODELS = lowlight.list_models()
LEARNED = [name for name in ALL_MODELS if model_info(name).learned]


def test_registry_lists_the_issue_models():
    assert {"darkir_m", "darkir_l", "gamma", "adaptive_gamma", "histogram_equalization", "clahe"} <= set(ALL_MODELS)
    assert lowlight.list_models("darkir*") == ["darkir_l", "darkir_m"]


@pytest.mark.parametrize("name", ALL_MODELS)
@pytest.mark.parametrize("size", [(17, 23), (32, 32), (5, 9)])
def test_any_size_same_shape_finite(name, size):
    model = lowlight.create_model(name)
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", LEARNED)
def test_every_parameter_gets_a_gradient(name):
    model = lowlight.create_model(name).train()
    for param in model.parameters():  # open the zero-initialised gates so every path is live
        if param.ndim == 4 and param.shape[0] == 1:
            torch.nn.init.uniform_(param, 0.1, 0.5)
    out = model(torch.rand(1, 3, 19, 24))
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    # side_out is only used by the low-resolution guide loss
    assert [n for n in missing if not n.startswith("side_out")] == []


@pytest.mark.parametrize(("name", "count"), [("darkir_m", 3_321_638), ("darkir_l", 12_957_254)])
def test_darkir_parameter_counts(name, count):
    model = lowlight.create_model(name)
    assert sum(p.numel() for p in model.parameters()) == count
    without_side = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("side_out"))
    assert without_side == {"darkir_m": 3_314_723, "darkir_l": 12_943_427}[name]


def test_darkir_side_output_shape_and_identity_at_init():
    model = lowlight.create_model("darkir_m")
    x = torch.rand(1, 3, 61, 87)
    side, out = model(x, side_loss=True)
    assert side.shape == (1, 3, 8, 11)
    assert out.shape == x.shape


def test_darkir_upsample_blur_removes_the_pixel_shuffle_pattern_and_keeps_the_keys():
    plain = lowlight.create_model("darkir_m", width=8)
    blurred = lowlight.create_model("darkir_m", width=8, upsample_blur=True)
    assert list(plain.state_dict()) == list(blurred.state_dict())
    blurred.load_state_dict(plain.state_dict())
    constant = torch.full((1, 64, 6, 6), 0.3)  # a flat feature map at the coarsest level
    with torch.no_grad():
        drawn = plain.ups[0](constant)[..., 2:-2, 2:-2]
        smoothed = blurred.ups[0](constant)[..., 2:-2, 2:-2]
    assert drawn.std(dim=(-2, -1)).mean() > 1e-3  # each 2x2 cell's four pixels have their own filters
    torch.testing.assert_close(smoothed, smoothed.mean(dim=(-2, -1), keepdim=True).expand_as(smoothed))


def test_darkir_with_upsample_blur_compiles_with_frozen_weights():
    # Inductor failed on F.pad's replicate mode inside this network with frozen weights (torch 2.13).
    from lowlight.runtime import compile_frozen

    small = {"width": 8, "enc_blk_nums": (1, 1, 1), "dec_blk_nums": (1, 1, 1), "upsample_blur": True}
    model = lowlight.create_model("darkir_m", **small)
    x = torch.rand(1, 3, 32, 48)
    with torch.inference_mode():
        torch.testing.assert_close(compile_frozen(model, dynamic=False)(x), model(x), atol=1e-5, rtol=0)


def test_shipped_weights_bring_their_model_arguments(monkeypatch):
    from lowlight import _registry
    from lowlight.registry import pretrained_weights

    robust = pretrained_weights("darkir_m.robust")
    entry = dataclasses.replace(robust, tag="blur_test", default=False, model_args={"upsample_blur": True})
    monkeypatch.setattr(_registry, "_WEIGHTS", [*_registry._WEIGHTS, entry])
    with_args = lowlight.create_model("darkir_m.blur_test")
    overridden = lowlight.create_model("darkir_m.blur_test", upsample_blur=False)
    assert len(with_args.ups[0]) == 3 and len(overridden.ups[0]) == 2
    torch.testing.assert_close(with_args.state_dict(), overridden.state_dict())


def test_every_shipped_entry_names_the_model_arguments_its_file_was_trained_with():
    import json
    from pathlib import Path

    from lowlight.checkpoint import read_metadata
    from lowlight.registry import shipped_weights

    folder = Path(lowlight.__file__).parent / "weights"
    for entry in shipped_weights():
        trained_with = read_metadata(folder / entry.file).get("lowlight.model_args")
        if trained_with is not None:
            assert json.loads(trained_with) == entry.model_args, f"{entry.model}.{entry.tag}"


def test_overrides_are_passed_to_the_constructor():
    model = lowlight.create_model("darkir_m", width=8)
    assert model.intro.out_channels == 8
    with pytest.raises(UnknownModelError, match="bad arguments"):
        lowlight.create_model("darkir_m", no_such_argument=1)


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(UnknownModelError, match=r"unknown model .darkir_xl.*darkir_m"):
        lowlight.create_model("darkir_xl")


def test_pretrained_without_shipped_weights_says_so():
    with pytest.raises(UnknownModelError, match="no weights ship"):
        lowlight.create_model("darkir_l", pretrained=True)
    # nothing to load: the classical model comes back working, x ** (1 / 2.2)
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(lowlight.create_model("gamma", pretrained=True)(x), x.clamp(0, 1) ** (1 / 2.2))


def test_models_are_returned_in_eval_mode():
    assert not lowlight.create_model("darkir_m").training


def test_models_reject_wrong_input():
    model = lowlight.create_model("darkir_m", width=8)
    with pytest.raises(ValueError, match="3 channels"):
        model(torch.rand(1, 4, 16, 16))
    with pytest.raises(TypeError, match="floating"):
        model(torch.zeros(1, 3, 16, 16, dtype=torch.uint8))


def _open_gates(model: torch.nn.Module) -> torch.nn.Module:
    for param in model.parameters():
        if param.ndim == 4 and param.shape[0] == 1:
            torch.nn.init.uniform_(param, 0.1, 0.5)
    return model


@pytest.mark.parametrize("channels_last", [False, True])
def test_darkir_inference_path_matches_the_autograd_path(channels_last):
    # Without autograd the dilation-9 branches pad explicitly, residuals update in place and (channels_last)
    # the decoder's pair-grouped convolutions run as two depthwise ones.
    torch.manual_seed(0)
    model = _open_gates(lowlight.create_model("darkir_m", width=8, enc_blk_nums=(1, 1, 1), dec_blk_nums=(1, 1, 1)))
    x = torch.rand(1, 3, 45, 61)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        fast = model(x)
    reference = model(x).detach()
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [(7, 9), (16, 16)])
def test_pair_grouped_conv_inference_path_equals_the_grouped_convolution(size):
    from lowlight.models.darkir import PairGroupedConv2d

    torch.manual_seed(0)
    conv = PairGroupedConv2d(12).to(memory_format=torch.channels_last)
    x = torch.randn(2, 12, *size).contiguous(memory_format=torch.channels_last)
    grouped = torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1, groups=6)
    with torch.inference_mode():
        fast = conv(x)
    torch.testing.assert_close(fast, grouped, atol=1e-5, rtol=1e-5)
    assert fast.is_contiguous(memory_format=torch.channels_last)


def test_pair_grouped_conv_needs_an_even_channel_count():
    from lowlight.models.darkir import PairGroupedConv2d

    with pytest.raises(ValueError, match="even"):
        PairGroupedConv2d(5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_compiled_zero_pad_matches_f_pad(channels_last):
    from lowlight.models.darkir import _zero_pad

    x = torch.rand(1, 5, 11, 14)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    compiled = torch.compile(_zero_pad, fullgraph=True)(x, 9)
    assert torch.equal(compiled, torch.nn.functional.pad(x, (9, 9, 9, 9)))
    assert compiled.is_contiguous(memory_format=torch.channels_last) == channels_last


@pytest.mark.parametrize("upsample_blur", [False, True])
def test_darkir_compiles_as_one_graph(upsample_blur):
    # A graph break per Fourier block would split the compiled model into pieces that recompile
    # for every feature-map size and soon fall back to eager.
    small = {"width": 8, "enc_blk_nums": (1, 1, 1), "dec_blk_nums": (1, 1, 1)}
    model = lowlight.create_model("darkir_m", upsample_blur=upsample_blur, **small)
    with torch.no_grad():
        explanation = torch._dynamo.explain(model)(torch.rand(1, 3, 32, 48))
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1


# ----------------------------------------------------------------------------- weights tags
def test_tags_select_shipped_weights_and_a_bare_name_means_the_default():
    from lowlight.registry import pretrained_weights, shipped_weights, split_tag

    SHIPPED_WEIGHTS = shipped_weights()  # noqa: N806

    tagged = lowlight.list_models(pretrained=True)
    assert "darkir_m.lol_v1" in tagged and all("." in name for name in tagged)
    assert lowlight.list_models("darkir*", pretrained=True) == [n for n in tagged if n.startswith("darkir")]
    for model in {entry.model for entry in SHIPPED_WEIGHTS}:
        defaults = [entry for entry in SHIPPED_WEIGHTS if entry.model == model and entry.default]
        assert len(defaults) == 1, f"{model} needs exactly one default weights entry"
        assert pretrained_weights(model) is defaults[0]
    assert split_tag("darkir_m.lol_v1") == ("darkir_m", "lol_v1") and split_tag("gamma") == ("gamma", None)


def test_a_tag_loads_its_weights_and_an_unknown_tag_is_a_clear_error():
    tagged = lowlight.create_model("darkir_m.lol_v1")
    plain = lowlight.create_model("darkir_m")
    shipped = lowlight.create_model("darkir_m", pretrained=True)
    key = "intro.weight"
    assert not torch.equal(tagged.state_dict()[key], plain.state_dict()[key])
    assert lowlight.model_info("darkir_m.lol_v1").name == "darkir_m"
    from lowlight.registry import pretrained_weights

    default = lowlight.create_model(f"darkir_m.{pretrained_weights('darkir_m').tag}")
    assert torch.equal(default.state_dict()[key], shipped.state_dict()[key])
    with pytest.raises(UnknownModelError, match=r"no weights tagged 'nope' ship for 'darkir_m'"):
        lowlight.create_model("darkir_m.nope")
