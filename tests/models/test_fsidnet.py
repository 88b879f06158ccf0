from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

import lowlight
from lowlight.config import from_dict, load_config
from lowlight.layers.fourier import amplitude_and_phase, combine_amplitude_phase
from lowlight.losses import CombinedLoss
from lowlight.models.fsidnet import CrossScaleFusion, DynamicFilter, FourierBlock, FSIBlock, FSIDNet, Resample
from lowlight.runtime import compile_frozen
from lowlight.train.config import TrainConfig
from lowlight.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _small(**kwargs) -> FSIDNet:
    return FSIDNet(width=4, blocks=(1, 1, 1), **kwargs)


@pytest.mark.parametrize("mode", ["amplitude", "phase", "both"])
def test_fourier_block_and_fsi_block_shapes_and_gradients(mode):
    x = torch.rand(2, 4, 9, 14, requires_grad=True)
    block = FSIBlock(4, mode)
    out = block(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    parts = torch.view_as_real(torch.fft.rfft2(torch.rand(1, 4, 6, 8)))
    assert FourierBlock(4, mode)(parts).shape == parts.shape


def test_fourier_block_keeps_what_its_mode_does_not_touch():
    spectrum = torch.fft.rfft2(torch.rand(1, 2, 8, 8))
    parts = torch.view_as_real(spectrum)
    out_a = torch.view_as_complex(FourierBlock(2, "amplitude")(parts).contiguous())
    out_p = torch.view_as_complex(FourierBlock(2, "phase")(parts).contiguous())
    # amplitude mode: a real (possibly negative) amplitude times the input's unit phasor
    phasor = spectrum / spectrum.abs()
    assert (out_a * phasor.conj()).imag.abs().max() < 1e-4
    assert torch.allclose(out_p.abs(), spectrum.abs(), rtol=1e-5)


def test_dynamic_filter_and_fusion_shapes():
    u, guide = torch.rand(1, 4, 10, 12), torch.rand(1, 4, 10, 12)
    for dynamic in (True, False):
        assert DynamicFilter(4, 3, dynamic)(u, guide).shape == u.shape
    assert Resample(4, 2)(torch.rand(1, 4, 16, 16)).shape == (1, 16, 4, 4)
    assert Resample(16, -2)(torch.rand(1, 16, 4, 4)).shape == (1, 4, 16, 16)
    pyramid = [torch.rand(1, 4, 16, 16), torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4)]
    assert [f.shape for f in CrossScaleFusion([4, 8, 16])(pyramid)] == [f.shape for f in pyramid]


def test_dynamic_filter_with_zero_kernels_is_identity():
    block = DynamicFilter(3, 3, dynamic=True)
    torch.nn.init.zeros_(block.predict.weight)
    torch.nn.init.zeros_(block.predict.bias)
    u = torch.rand(1, 3, 5, 5)
    assert torch.equal(block(u, torch.rand(1, 3, 5, 5)), u)


def _unfolded_dynamic_filter(block: DynamicFilter, u: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """The textbook form: predict every per-pixel kernel at once, unfold u, weight and sum."""
    batch, channels, height, width = u.shape
    taps = block.kernel**2
    kernels = block.predict(block.depthwise(guide) + block.context(guide)).view(batch, channels, taps, height, width)
    patches = F.unfold(u, block.kernel, padding=block.kernel // 2).view(batch, channels, taps, height, width)
    return u + (patches * kernels).sum(2)


@pytest.mark.parametrize("kernel", [3, 5])
def test_dynamic_filter_equals_the_unfolded_formulation(kernel):
    torch.manual_seed(0)
    block = DynamicFilter(4, kernel).eval()
    u, guide = torch.rand(2, 4, 9, 13), torch.rand(2, 4, 9, 13)
    assert torch.allclose(block(u, guide), _unfolded_dynamic_filter(block, u, guide), atol=1e-6)


def test_dynamic_filter_compiled_with_frozen_weights_matches_eager():
    # inductor's weight freezing packed strided weight slices wrongly (outputs off by 0.3)
    torch.manual_seed(0)
    block = DynamicFilter(8).eval()
    u, guide = torch.rand(1, 8, 12, 20), torch.rand(1, 8, 12, 20)
    with torch.inference_mode():
        expected = block(u, guide)
        assert torch.allclose(compile_frozen(block)(u, guide), expected, atol=1e-5)


@pytest.mark.parametrize("size", [(1, 1), (17, 23), (32, 32), (41, 60)])
def test_network_any_size_and_stages(size):
    model = _small()
    x = torch.rand(1, 3, *size)
    y1, x2, y2 = model(x, return_stages=True)
    assert y1.shape == x2.shape == y2.shape == x.shape
    assert torch.equal(model(x), y2)


def test_network_gradients_reach_both_stages():
    model = _small()
    model(torch.rand(1, 3, 20, 28)).mean().backward()
    for stage in (model.stage1, model.stage2):
        grads = [p.grad for p in stage.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
    detached = _small(detach_stage2_input=True)
    detached(torch.rand(1, 3, 16, 16)).mean().backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in detached.stage1.head.parameters())


def test_stage2_input_keeps_the_input_phase_exactly():
    model = _small()
    x = torch.rand(1, 3, 24, 32, dtype=torch.float64)
    model = model.double()
    y1, x2, _ = model(x, return_stages=True)
    amplitude_x2, phase_x2 = amplitude_and_phase(x2)
    phase_x = amplitude_and_phase(x)[1]
    significant = amplitude_x2 > 1e-6
    difference = torch.remainder(phase_x2 - phase_x + torch.pi, 2 * torch.pi) - torch.pi
    assert difference[significant].abs().max() < 1e-9
    assert torch.allclose(amplitude_x2, amplitude_and_phase(y1)[0], rtol=1e-9, atol=1e-9)


def test_combine_amplitude_phase_gradcheck_and_black_images():
    a = torch.rand(1, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    b = torch.rand(1, 1, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(combine_amplitude_phase, (a, b))
    black = torch.zeros(1, 3, 8, 8, requires_grad=True)
    model = _small()
    model(black).mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    combine_amplitude_phase(torch.rand(1, 3, 8, 8), black).sum().backward()
    assert torch.isfinite(black.grad).all()


def test_ablation_switches_change_the_network():
    full = sum(p.numel() for p in _small().parameters())
    for switches in ({"two_stage": False}, {"iem": "static"}, {"iem": "off"}, {"freq_to_spatial": False}):
        model = _small(**switches)
        assert sum(p.numel() for p in model.parameters()) != full
        assert model(torch.rand(1, 3, 12, 12)).shape == (1, 3, 12, 12)
    with pytest.raises(ValueError, match="iem must be"):
        _small(iem="sometimes")


def test_registered_sizes():
    params = {n: sum(p.numel() for p in lowlight.create_model(n).parameters()) for n in ("fsidnet", "fsidnet_s")}
    assert 0.9e6 < params["fsidnet"] < 1.3e6  # the spec's estimate: about 1M
    assert params["fsidnet_s"] < params["fsidnet"] / 3


def test_fsidnet_loss_uses_t1_for_stage1():
    loss = CombinedLoss({"l1": 1.0, "stage1.l1": 0.5, "stage1.amplitude": 0.1, "phase": 0.1})
    low, high = torch.rand(1, 3, 16, 16) * 0.2, torch.rand(1, 3, 16, 16)
    t1 = combine_amplitude_phase(high, low)
    _, parts = loss(high, high, stage1=t1, input=low)
    assert parts["l1"] == 0 and parts["stage1.l1"] < 1e-6 and parts["stage1.amplitude"] < 1e-6
    with pytest.raises(ValueError, match="stage-1 output"):
        loss(high, high)


@pytest.fixture(scope="module")
def one_pair(tmp_path_factory, shared) -> Path:
    root = tmp_path_factory.mktemp("pair")
    for side in ("low", "high"):
        (root / side).mkdir()
        image = Image.open(shared / "data" / "lol-eval15" / side / "1.png").convert("RGB")
        image.crop((200, 100, 296, 196)).save(root / side / "1.png")
    return root


def _config(data: Path, out: Path, path: Path | None = None, **changes) -> TrainConfig:
    base = yaml.safe_load(path.read_text()) if path else {"name": "fsid", "model": {"name": "fsidnet_s"}}
    base.update(
        {
            "data": {"train": [{"path": str(data)}], "crop": 64, "batch_size": 1, "num_workers": 0, "flip": False},
            "output_dir": str(out),
            "threads": 1,
            "log_every": 1,
            "val_every": 1000,
            "checkpoint_every": 1000,
            "ema_decay": 0.0,
            **changes,
        }
    )
    base.setdefault("losses", {"l1": 1.0, "stage1.l1": 0.5, "stage1.amplitude": 0.1, "phase": 0.1})
    return from_dict(TrainConfig, base)


def test_overfits_one_lol_pair(one_pair, tmp_path):
    config = _config(
        one_pair, tmp_path, steps=40, optim={"name": "adam", "lr": 2e-3, "betas": [0.9, 0.99], "weight_decay": 0.0}
    )
    threads = torch.get_num_threads()
    trainer = Trainer(config, progress=False)
    trainer.fit()
    torch.set_num_threads(threads)
    rows = [r.split(",") for r in (tmp_path / "fsid" / "train_log.csv").read_text().splitlines()[1:]]
    total, output_l1 = [float(r[2]) for r in rows], [float(r[3]) for r in rows]
    assert np.mean(total[-5:]) < 0.6 * np.mean(total[:3])
    assert np.mean(output_l1[-5:]) < 0.4 * np.mean(output_l1[:3])  # the image itself fits much better


@pytest.mark.parametrize("recipe", sorted((CONFIGS / "ablations" / "fsidnet").glob("*.yaml")), ids=lambda p: p.stem)
def test_ablation_configs_build_and_run_a_step(recipe, one_pair, tmp_path):
    assert load_config(TrainConfig, recipe).name == f"fsidnet_{recipe.stem}"
    threads = torch.get_num_threads()
    trainer = Trainer(_config(one_pair, tmp_path, recipe, steps=1), progress=False)
    trainer.fit()
    torch.set_num_threads(threads)
    assert trainer.step == 1


def test_inspect_frequency_figure(tmp_path, capsys):
    from safetensors.torch import save_file

    from lowlight.cli import main

    weights = tmp_path / "fsid.safetensors"
    save_file(lowlight.create_model("fsidnet").state_dict(), str(weights))
    image = tmp_path / "dark.png"
    Image.fromarray((np.random.default_rng(0).random((90, 120, 3)) * 60).astype(np.uint8)).save(image)
    figure = tmp_path / "fig.png"
    assert main(["inspect-frequency", str(image), "--weights", str(weights), "-o", str(figure)]) == 0
    assert np.asarray(Image.open(figure)).shape == (3 * 192, 3 * 256, 3)  # input, Y1, Y2 x image, amplitude, phase
    assert main(["inspect-frequency", str(image), "--model", "gamma", "-o", str(tmp_path / "g.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "g.png")).shape == (2 * 192, 3 * 256, 3)
    assert main(["inspect-frequency", str(image), "--model", "gamma", "-o", str(image)]) == 2
    assert "refusing to write the figure over the input" in capsys.readouterr().err


def test_fsidnet_compiles_as_one_graph():
    # Fourier blocks work on real and imaginary parts: complex abs, angle and division would break the
    # graph, and inductor could not differentiate through them in compiled training.
    explanation = torch._dynamo.explain(_small())(torch.rand(1, 3, 32, 48))
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1


def test_upsample_blur_removes_the_transposed_convolution_pattern_and_keeps_the_keys():
    plain = FSIDNet(width=4, blocks=(1, 1))
    blurred = FSIDNet(width=4, blocks=(1, 1), upsample_blur=True)
    assert list(plain.state_dict()) == list(blurred.state_dict())
    blurred.load_state_dict(plain.state_dict())
    constant = torch.full((1, 8, 6, 6), 0.3)
    for stage in ("stage1", "stage2"):
        with torch.no_grad():
            drawn = getattr(plain, stage).ups[0](constant)[..., 2:-2, 2:-2]
            smoothed = getattr(blurred, stage).ups[0](constant)[..., 2:-2, 2:-2]
        assert drawn.std(dim=(-2, -1)).mean() > 1e-3
        torch.testing.assert_close(smoothed, smoothed.mean(dim=(-2, -1), keepdim=True).expand_as(smoothed))
    x = torch.rand(1, 3, 20, 28)
    assert blurred(x).shape == x.shape
