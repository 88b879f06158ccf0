from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lowlight.data.augment import paired_random_crop, random_flip_rotate
from lowlight.data.build import MixedDataset, collate_batch
from lowlight.data.datasets import PairedDataset, SyntheticPairDataset, UnpairedDataset, check_pair_sizes
from lowlight.data.degradation import DegradationConfig, DegradationParams, apply_degradation, degrade, motion_kernel
from lowlight.data.pairs import find_pairs, match_pairs
from lowlight.data.sampler import StreamSampler
from lowlight.errors import DatasetError


def _png(path: Path, size=(12, 10), value: int | None = None, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = (
        rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        if value is None
        else np.full((size[1], size[0], 3), value, np.uint8)
    )
    Image.fromarray(pixels).save(path)
    return path


def _plain(root: Path, names=("a", "b"), low="low", high="high") -> Path:
    for i, name in enumerate(names):
        _png(root / low / f"{name}.png", seed=i)
        _png(root / high / f"{name}.png", seed=100 + i)
    return root


# ----------------------------------------------------------------------------- layouts
def test_plain_layout(tmp_path):
    found = find_pairs(_plain(tmp_path))
    assert found.layout == "plain"
    assert [(p[0].name, p[1].parent.name) for p in found.pairs] == [("a.png", "high"), ("b.png", "high")]


def test_lol_v1_layout_and_splits(tmp_path):
    _plain(tmp_path / "our485", ("1", "2", "3"))
    _plain(tmp_path / "eval15", ("7",))
    assert len(find_pairs(tmp_path, "train")) == 3
    assert [p[0].stem for p in find_pairs(tmp_path, "test").pairs] == ["7"]
    both = find_pairs(tmp_path, "all")
    assert len(both) == 4 and both.layout == "LOL-v1"


def test_lol_v2_layout_with_prefixed_names(tmp_path):
    real = tmp_path / "Real_captured"
    for split, ids in (("Train", ("00001", "00002")), ("Test", ("00690",))):
        for i in ids:
            _png(real / split / "Low" / f"low{i}.png")
            _png(real / split / "Normal" / f"normal{i}.png")
    _plain(tmp_path / "Synthetic" / "Train", ("r1",), low="Low", high="Normal")
    _plain(tmp_path / "Synthetic" / "Test", ("r9",), low="Low", high="Normal")
    train = find_pairs(tmp_path, "train")
    assert train.layout == "LOL-v2"
    assert sorted((p[0].name, p[1].name) for p in train.pairs) == [
        ("low00001.png", "normal00001.png"),
        ("low00002.png", "normal00002.png"),
        ("r1.png", "r1.png"),
    ]
    assert len(find_pairs(tmp_path / "Real_captured", "test")) == 1


def test_lsrw_layout(tmp_path):
    _plain(tmp_path / "Huawei", ("h1", "h2"))
    _plain(tmp_path / "Nikon", ("n1",))
    found = find_pairs(tmp_path)
    assert found.layout == "LSRW" and len(found) == 3


def test_lol_blur_layout_with_sequences(tmp_path):
    for split in ("train", "test"):
        for seq in ("0001", "0002"):
            _png(tmp_path / split / "low_blur" / seq / "0000.png")
            _png(tmp_path / split / "high_sharp_scaled" / seq / "0000.png")
    found = find_pairs(tmp_path, "train")
    assert found.layout == "LOL-Blur" and len(found) == 2
    assert {p[0].parent.name for p in found.pairs} == {"0001", "0002"}
    assert all(p[0].parts[-3:-1] == ("low_blur", p[1].parent.name) for p in found.pairs)


def test_unmatched_files_are_listed(tmp_path):
    _plain(tmp_path)
    _png(tmp_path / "low" / "orphan.png")
    with pytest.raises(DatasetError, match=r"1 file\(s\) without a partner: .*orphan\.png"):
        find_pairs(tmp_path)


def test_unknown_layout_and_missing_folder(tmp_path):
    _png(tmp_path / "photos" / "x.png")
    with pytest.raises(DatasetError, match="unknown layout"):
        find_pairs(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        find_pairs(tmp_path / "nope")


def test_empty_pair_folders(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        find_pairs(tmp_path)


def test_mismatched_pair_sizes_are_named(tmp_path):
    _png(tmp_path / "low" / "a.png", size=(12, 10))
    _png(tmp_path / "high" / "a.png", size=(14, 10))
    with pytest.raises(DatasetError, match=r"1 pair\(s\) differ in size: .*a\.png 12x10"):
        check_pair_sizes(match_pairs(tmp_path / "low", tmp_path / "high"))


# ----------------------------------------------------------------------------- augmentation and datasets
def test_paired_crop_is_aligned_and_pads_small_images():
    rng = np.random.default_rng(0)
    image = np.arange(20 * 30 * 3).reshape(20, 30, 3)
    a, b = paired_random_crop(rng, [image, image * 2], 8)
    assert a.shape == (8, 8, 3) and np.array_equal(b, a * 2)
    (padded,) = paired_random_crop(rng, [np.ones((5, 6, 3))], 8)
    assert padded.shape == (8, 8, 3) and padded.sum() == 5 * 6 * 3


def test_flip_rotate_applies_the_same_transform():
    image = np.random.default_rng(1).random((6, 6, 3))
    for seed in range(8):
        a, b = random_flip_rotate(np.random.default_rng(seed), [image, image + 1], flip=True, rot90=True)
        assert np.allclose(b, a + 1)


def test_paired_dataset_is_deterministic_per_key(tmp_path):
    pairs = find_pairs(_plain(tmp_path, ("a", "b", "c"))).pairs
    dataset = PairedDataset(pairs, crop=6, rot90=True, seed=3)
    one, again = dataset[(1, 4)], dataset[(1, 4)]
    assert torch.equal(one["low"], again["low"]) and one["low"].shape == (3, 6, 6)
    assert not torch.equal(dataset[(1, 5)]["low"], one["low"])
    cached = PairedDataset(pairs, crop=6, rot90=True, seed=3, cache=True)
    assert torch.equal(cached[(1, 4)]["high"], one["high"])
    whole = PairedDataset(pairs)[0]
    assert whole["low"].shape == (3, 10, 12) and whole["name"] == "a"


def test_whole_image_training_flips_without_cropping(tmp_path):
    pairs = find_pairs(_plain(tmp_path, ("a",))).pairs
    plain = PairedDataset(pairs)[(0, 0)]
    flipped = [PairedDataset(pairs, flip=True, seed=s)[(0, e)] for s in range(3) for e in range(4)]
    assert all(item["low"].shape == (3, 10, 12) for item in flipped)
    assert any(not torch.equal(item["low"], plain["low"]) for item in flipped)
    for item in flipped:  # low and high get the same flips
        same = [torch.equal(item["low"], t) and torch.equal(item["high"], u) for t, u in _flips(plain)]
        assert any(same)


def _flips(item):
    low, high = item["low"], item["high"]
    for dims in ((), (2,), (1,), (1, 2)):
        yield (low.flip(dims), high.flip(dims)) if dims else (low, high)


def test_batches_of_whole_images_must_share_a_size(tmp_path):
    _png(tmp_path / "low" / "big.png", size=(16, 10))
    _png(tmp_path / "high" / "big.png", size=(16, 10))
    _plain(tmp_path, ("a",))
    dataset = PairedDataset(find_pairs(tmp_path).pairs)
    with pytest.raises(DatasetError, match=r"mixes image sizes \[\(10, 12\), \(10, 16\)\] \(a, big\)"):
        collate_batch([dataset[0], dataset[1]])
    assert collate_batch([dataset[0], dataset[0]])["low"].shape == (2, 3, 10, 12)


def test_bad_file_mid_epoch_is_skipped_with_a_warning(tmp_path, caplog):
    pairs = find_pairs(_plain(tmp_path, ("a", "b"))).pairs
    pairs[0][0].write_bytes(b"not a png")
    dataset = PairedDataset(pairs, crop=4)
    item = dataset[(0, 0)]
    assert item["name"] == "b"
    assert "skipping a file that failed to decode" in caplog.text and "a.png" in caplog.text


def test_unpaired_dataset_resizes(tmp_path):
    files = [_png(tmp_path / f"{i}.png", size=(40, 30), seed=i) for i in range(2)]
    item = UnpairedDataset(files, resize=16)[(1, 0)]
    assert item["low"].shape == (3, 16, 16) and "high" not in item


def test_synthetic_pairs_are_reproducible(tmp_path):
    files = [_png(tmp_path / f"{i}.png", size=(32, 32), value=200) for i in range(2)]
    dataset = SyntheticPairDataset(files, crop=16, seed=1)
    a, b = dataset[(0, 2)], dataset[(0, 2)]
    assert torch.equal(a["low"], b["low"]) and torch.equal(a["high"], b["high"])
    assert a["low"].mean() < a["high"].mean() * 0.7


def test_synthetic_pairs_resize_before_cropping(tmp_path):
    files = [_png(tmp_path / "big.png", size=(60, 90), value=200)]
    item = SyntheticPairDataset(files, resize=24, crop=16)[(0, 0)]
    assert item["low"].shape == item["high"].shape == (3, 16, 16)
    assert SyntheticPairDataset(files, resize=24)[(0, 0)]["high"].shape == (3, 24, 24)


def test_unpaired_and_synthetic_sources_batch_together_without_targets(tmp_path):
    # Zero-reference training on photos plus darkened copies of them: no item may carry a target.
    from torch.utils.data import default_collate

    from lowlight.data.build import build_train_dataset
    from lowlight.train.config import DataConfig, DataSource

    for i in range(2):
        _png(tmp_path / f"{i}.png", size=(40, 30), seed=i)
    sources = [DataSource(str(tmp_path), kind=kind, resize=16) for kind in ("unpaired", "synthetic")]
    dataset = build_train_dataset(DataConfig(train=sources, crop=8, cache=False), seed=0)
    batch = default_collate([dataset[(i, 0)] for i in range(len(dataset))])
    assert batch["low"].shape == (4, 3, 8, 8) and "high" not in batch
    paired_only = build_train_dataset(DataConfig(train=sources[1:] * 2, crop=8, cache=False), seed=0)
    assert "high" in paired_only[(0, 0)]


def test_mixed_dataset_repeats_with_distinct_samples(tmp_path):
    pairs = find_pairs(_plain(tmp_path, ("a", "b"))).pairs
    part = PairedDataset(pairs, crop=4)
    mixed = MixedDataset([(part, 3)])
    assert len(mixed) == 6
    names = [mixed[(i, 0)]["name"] for i in range(6)]
    assert names == ["a", "b"] * 3
    assert not torch.equal(mixed[(0, 0)]["low"], mixed[(2, 0)]["low"])


# ----------------------------------------------------------------------------- sampler
def test_sampler_ranks_split_the_global_batches():
    single = StreamSampler(10, 4, seed=5)
    first = [k for k, _ in zip(iter(single), range(12), strict=False)]
    ranks = [StreamSampler(10, 4, rank=r, world_size=2, seed=5) for r in range(2)]
    streams = [[k for k, _ in zip(iter(s), range(6), strict=False)] for s in ranks]
    interleaved = []
    for batch in range(3):
        for stream in streams:
            interleaved += stream[2 * batch : 2 * batch + 2]
    assert interleaved == first


def test_sampler_covers_each_epoch_once_and_resumes():
    sampler = StreamSampler(7, 3, seed=0)
    keys = [k for k, _ in zip(iter(sampler), range(21), strict=False)]
    for epoch in range(3):
        assert sorted(i for i, e in keys if e == epoch) == list(range(7))
    resumed = StreamSampler(7, 3, seed=0, start_batch=4)
    assert [k for k, _ in zip(iter(resumed), range(9), strict=False)] == keys[12:21]


def test_sampler_rejects_indivisible_batch():
    with pytest.raises(ValueError, match="not divisible"):
        StreamSampler(10, 5, world_size=2)


# ----------------------------------------------------------------------------- degradation model
def test_degradation_noise_follows_poisson_gaussian_statistics():
    params = DegradationParams(
        exposure=0.25, gamma=1.0, shot_noise=4e-3, read_noise=5e-3, gains=(1, 1, 1), blur_length=1, blur_angle=0
    )
    clean = np.full((256, 256, 3), 0.8, np.float32)
    dark = apply_degradation(clean, params, np.random.default_rng(0), quantize=False)
    signal = 0.8 * 0.25
    assert dark.mean() == pytest.approx(signal, rel=0.01)
    assert dark.var() == pytest.approx(params.shot_noise * signal + params.read_noise**2, rel=0.05)


def test_degradation_darkens_and_is_seeded():
    clean = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    dark_a, params_a = degrade(clean, np.random.default_rng(7))
    dark_b, params_b = degrade(clean, np.random.default_rng(7))
    assert np.array_equal(dark_a, dark_b) and params_a == params_b
    means = [degrade(clean, np.random.default_rng(s))[0].mean() for s in range(20)]
    assert max(means) < clean.mean()
    assert np.allclose(dark_a * 255, np.round(dark_a * 255), atol=1e-4)  # quantised to 8 bits


def test_degradation_parameters_stay_in_their_ranges():
    config = DegradationConfig(cast_probability=1.0, blur_probability=1.0)
    for seed in range(50):
        _, p = degrade(np.full((8, 8, 3), 0.5, np.float32), np.random.default_rng(seed), config)
        assert config.exposure[0] <= p.exposure <= config.exposure[1]
        assert config.gamma[0] <= p.gamma <= config.gamma[1]
        assert np.mean(p.gains) == pytest.approx(1.0) and p.gains != (1.0, 1.0, 1.0)
        assert config.blur_length[0] <= p.blur_length <= config.blur_length[1]


def test_motion_kernel_is_a_normalised_line():
    kernel = motion_kernel(7, 0.0)
    assert kernel.shape == (7, 7) and kernel.sum() == pytest.approx(1.0)
    assert np.count_nonzero(kernel[3]) == 7 and np.count_nonzero(kernel) == 7


def test_degradation_config_checks_ranges():
    with pytest.raises(ValueError, match="exposure"):
        DegradationConfig(exposure=(0.5, 0.1))


def test_worker_processes_give_the_same_batches(tmp_path):
    from torch.utils.data import DataLoader

    dataset = PairedDataset(find_pairs(_plain(tmp_path, ("a", "b", "c"))).pairs, crop=6, seed=2)

    def batches(workers: int) -> list[torch.Tensor]:
        loader = DataLoader(dataset, batch_size=2, sampler=StreamSampler(3, 2, seed=2), num_workers=workers)
        return [b["low"] for b, _ in zip(loader, range(4), strict=False)]

    assert all(torch.equal(a, b) for a, b in zip(batches(0), batches(2), strict=True))
