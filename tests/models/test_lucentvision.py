from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lowlight
from lowlight.cli import main
from lowlight.config import from_dict
from lowlight.errors import LowlightError
from lowlight.inference.pipeline import Enhancer
from lowlight.inference.zero_shot import adapt_to_image
from lowlight.layers.curve import apply_curve
from lowlight.losses import (
    ColorConstancyLoss,
    CombinedLoss,
    ExposureControlLoss,
    IlluminationSmoothnessLoss,
    NoReferenceQualityLoss,
    SegmentationGuidedLoss,
    SpatialConsistencyLoss,
)
from lowlight.train.config import TrainConfig
from lowlight.train.trainer import Trainer


@pytest.mark.parametrize(("name", "params"), [("zero_dce", 79_416), ("zero_dce_pp", 10_561), ("lucentvision", 16_094)])
def test_curve_models_sizes_shapes_and_range(name, params):
    model = lowlight.create_model(name)
    assert sum(p.numel() for p in model.parameters()) == params
    x = torch.rand(2, 3, 29, 45)
    out, maps = model(x, return_maps=True)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert maps.shape[1] == (24 if name == "zero_dce" else 3)
    model.train()
    model(x).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_lucentvision_switches():
    x = torch.rand(1, 3, 16, 20)
    for switches in ({"multi_scale": False}, {"attention": False}, {"iterations": 1}, {"per_iteration_maps": True},
                     {"head_skip": False}):  # fmt: skip
        model = lowlight.create_model("lucentvision", **switches)
        out, maps = model(x, return_maps=True)
        assert out.shape == x.shape
    assert maps.shape[1] == 3
    assert lowlight.create_model("lucentvision", per_iteration_maps=True)(x, return_maps=True)[1].shape[1] == 24


def test_apply_curve_known_values():
    x = torch.rand(1, 3, 4, 4)
    assert torch.equal(apply_curve(x, torch.zeros_like(x), 8), x)
    once = apply_curve(x, -torch.ones_like(x), 1)
    assert torch.allclose(once, 2 * x - x * x)
    maps = torch.rand(1, 3, 4, 4) * 2 - 1
    assert torch.allclose(apply_curve(x, maps, 4), apply_curve(x, maps.repeat(1, 4, 1, 1), 4))
    assert torch.equal(apply_curve(x, maps, 8, strength=0.0), x)


def test_strength_and_target_exposure():
    model = lowlight.create_model("zero_dce_pp", map_scale=1)
    x = torch.rand(1, 3, 32, 32) * 0.2
    with torch.no_grad():
        maps = torch.full((1, 3, 32, 32), -0.8)

        class FixedCurve(torch.nn.Module):  # a fixed brightening curve
            def forward(self, _):
                return maps

        model.estimator = FixedCurve()
        base = model(x)
        model.strength = 0.5
        weaker = model(x)
        model.strength, model.target_exposure = 1.0, 0.35
        targeted = model(x)
    assert x.mean() < weaker.mean() < base.mean()
    assert targeted.mean().item() == pytest.approx(0.35, abs=0.01)


def test_strength_options_only_for_curve_models():
    with pytest.raises(LowlightError, match="applies to curve models"):
        Enhancer("gamma", strength=0.5)
    with pytest.raises(LowlightError, match="--target-exposure must be between 0 and 1"):
        Enhancer("lucentvision", zero_shot_steps=1, target_exposure=1.5)


# ------------------------------------------------------------------------------------------- losses
def test_exposure_loss_zero_at_target_level():
    assert ExposureControlLoss()(torch.full((1, 3, 32, 32), 0.6)).item() == pytest.approx(0.0, abs=1e-12)
    assert ExposureControlLoss()(torch.full((1, 3, 32, 32), 0.2)).item() == pytest.approx(0.16, rel=1e-5)


def test_color_constancy_zero_for_gray_images():
    gray = torch.full((2, 3, 8, 8), 0.4)
    assert ColorConstancyLoss()(gray).item() == pytest.approx(1e-4, abs=1e-6)  # sqrt(eps)
    tinted = gray.clone()
    tinted[:, 0] += 0.2
    expected = np.sqrt(2 * 0.2**4 + 1e-8)
    assert ColorConstancyLoss()(tinted).item() == pytest.approx(expected, rel=1e-4)


def test_spatial_consistency_known_values():
    image = torch.rand(1, 3, 32, 32)
    loss = SpatialConsistencyLoss()
    assert loss(image, image).item() == 0
    assert loss(image * 0.5, image).item() > 0
    assert SpatialConsistencyLoss(neighbours=4)(image * 0.5, image).item() < loss(image * 0.5, image).item()
    flat = torch.full((1, 3, 16, 16), 0.3)
    # interior regions of flat images have no differences; only the zero-padded border contributes
    assert loss(flat, flat * 2).item() > 0


def test_illumination_smoothness_known_values():
    assert IlluminationSmoothnessLoss()(torch.full((2, 3, 8, 8), 0.7)).item() == 0
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 3, 4)  # horizontal steps of 1
    assert IlluminationSmoothnessLoss()(ramp).item() == pytest.approx(2 * (3 * 3 * 1) / (3 * 3))


def test_segmentation_and_no_reference_losses_with_user_networks():
    image = torch.rand(1, 3, 16, 16, requires_grad=True)
    seg = torch.nn.Conv2d(3, 5, 3, padding=1)
    seg_loss = SegmentationGuidedLoss(seg)(image)
    seg_loss.backward()
    assert seg_loss.item() > 0 and image.grad.abs().sum() > 0 and seg.weight.grad is None
    scorer = lambda x: x.mean(dim=(1, 2, 3)) * 10  # noqa: E731
    assert NoReferenceQualityLoss(scorer, offset=100)(torch.full((2, 3, 4, 4), 0.5)).item() == pytest.approx(95.0)
    combined = CombinedLoss({"exposure": 10, "segmentation": 0.1, "nr": 0.1}, nr_scorer=scorer)
    assert combined.dropped == ["segmentation"] and set(combined.weights) == {"exposure", "nr"}


# ------------------------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def dark_sice(shared, tmp_path_factory):
    """The 6 darkest of the first 60 SICE Part-1 images."""
    folder = shared / "data" / "sice-part1"
    files = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem))[:60]
    brightness = {f: np.asarray(Image.open(f).convert("L").reduce(8)).mean() for f in files}
    chosen = sorted(files, key=brightness.get)[:6]
    stems = tmp_path_factory.mktemp("lists") / "dark.txt"
    stems.write_text("\n".join(f.stem for f in chosen))
    return folder, stems


def _zero_reference_score(model, images: torch.Tensor) -> tuple[float, float]:
    loss = CombinedLoss({"spatial": 1.0, "exposure": 10.0, "color": 5.0, "tv": 1600.0})
    with torch.no_grad():
        out, maps = model(images, return_maps=True)
        return loss(out, input=images, maps=maps)[0].item(), out.mean().item()


def test_zero_shot_training_improves_loss_and_brightness(dark_sice, tmp_path):
    folder, stems = dark_sice
    source = {"path": str(folder), "kind": "unpaired", "resize": 64, "include": str(stems)}
    config = from_dict(
        TrainConfig,
        {
            "name": "zs", "model": {"name": "lucentvision"}, "output_dir": str(tmp_path), "steps": 60, "threads": 1,
            "data": {"train": [source], "val": source, "crop": 64, "batch_size": 6, "num_workers": 0},
            "losses": {"spatial": 1.0, "exposure": 10.0, "color": 5.0, "tv": 1600.0},
            "optim": {"name": "adam", "lr": 3e-3, "betas": [0.9, 0.999], "weight_decay": 1e-4, "grad_clip": 0.1},
            "schedule": {"name": "constant"}, "log_every": 10, "val_every": 60, "checkpoint_every": 60,
        },
    )  # fmt: skip
    threads = torch.get_num_threads()
    trainer = Trainer(config, progress=False)
    images = torch.stack([trainer._train_loader().dataset[i]["low"] for i in range(6)])
    before = _zero_reference_score(trainer.model, images)
    trainer.fit()
    torch.set_num_threads(threads)
    after = _zero_reference_score(trainer.model, images)
    assert after[0] < 0.7 * before[0]
    assert after[1] > before[1] + 0.05 and images.mean() < 0.3
    assert set(trainer.last_metrics) == {"zero_reference_loss", "brightness", "grid_db"}


def test_per_image_zero_shot_mode(tmp_path, capsys):
    rng = np.random.default_rng(0)
    dark = (rng.random((64, 80, 3)) * 50 + 5).astype(np.uint8)
    enhancer = Enhancer(zero_shot_steps=40)
    assert enhancer.name == "lucentvision"
    shared = {k: v.clone() for k, v in enhancer.model.state_dict().items()}
    x = torch.from_numpy(dark).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        shipped = enhancer.model(x)
    out = enhancer.enhance_array(dark.astype(np.float32) / 255)
    assert out.mean() > dark.mean() / 255 + 0.1
    assert np.mean(enhancer.last_adaptation[-5:]) < np.mean(enhancer.last_adaptation[:5])
    assert np.abs(out - shipped[0].permute(1, 2, 0).numpy()).max() > 0.01  # the adapted copy differs
    for key, value in enhancer.model.state_dict().items():
        assert torch.equal(value, shared[key]), key  # the shared model itself was not trained
    path = tmp_path / "dark.png"
    Image.fromarray(dark).save(path)
    assert main(["enhance", str(path), "-o", str(tmp_path / "out.png"), "--zero-shot-steps", "5", "-q"]) == 0
    assert "adapted to each image for 5 zero-reference steps" in capsys.readouterr().err


def test_adaptation_needs_a_curve_model():
    with pytest.raises(LowlightError, match="needs a curve model"):
        adapt_to_image(lowlight.create_model("fsidnet_s"), torch.rand(1, 3, 16, 16), 1)
