from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from lowlight.errors import LowlightError
from lowlight.inference.pipeline import Enhancer
from lowlight.inference.tiling import auto_tile_size, blend_window, tile_spans, tiled_apply


@pytest.mark.parametrize("length", [1, 100, 255, 256, 257, 1000, 4001])
@pytest.mark.parametrize(("tile", "overlap", "align"), [(256, 32, 1), (128, 64, 8), (512, 0, 8), (128, 16, 64)])
def test_tiles_cover_everything_with_the_requested_overlap(length, tile, overlap, align):
    spans = tile_spans(length, tile, overlap, align)
    assert spans[0][0] == 0 and spans[-1][1] == length
    for (start, end), (next_start, _) in itertools.pairwise(spans):
        assert end - next_start >= overlap  # overlap at least as requested
        assert next_start > start
    for start, end in spans:
        assert start % align == 0
        assert end - start <= max(tile + align - 1, length if len(spans) == 1 else 0)


def test_bad_tile_settings():
    with pytest.raises(ValueError):
        tile_spans(100, 32, 32)
    with pytest.raises(ValueError):
        tile_spans(100, 64, 16, align=64)


def test_window_is_one_inside_and_ramps_only_towards_neighbours():
    window = blend_window(64, 64, 16, (False, True, True, False))
    assert window.shape == (1, 1, 64, 64)
    assert window[0, 0, 0, 63] == 1  # top-right corner: no neighbour above or right
    assert window[0, 0, 63, 0] < 0.01  # bottom-left corner ramps in both directions
    assert (window > 0).all()


def test_pointwise_function_is_reproduced_exactly():
    x = torch.rand(2, 3, 150, 230)
    fn = lambda t: t.square() + 0.1  # noqa: E731
    torch.testing.assert_close(tiled_apply(fn, x, 64, 16), fn(x))


def test_local_convolution_matches_away_from_a_tiny_border_error():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1)).eval()
    x = torch.rand(1, 3, 130, 170)
    with torch.no_grad():
        whole, tiled = net(x), tiled_apply(net, x, 64, 32)
    # receptive field is 5x5: only pixels within 2 px of an inner tile edge can differ,
    # and the blend window gives those pixels a small weight
    assert (tiled - whole).abs().max() < 0.05
    assert (tiled - whole).abs().mean() < 1e-3


def test_progress_callback_counts_tiles():
    calls = []
    tiled_apply(lambda t: t, torch.rand(1, 3, 100, 100), 64, 16, on_tile=lambda d, n: calls.append((d, n)))
    assert calls[-1] == (4, 4) and len(calls) == 4


def test_auto_tile_size_from_memory_budget():
    assert auto_tile_size(400, 600, 1600, 2 * 1024**3) is None  # fits whole
    tile = auto_tile_size(3000, 4000, 1600, 2 * 1024**3)
    assert tile is not None and tile % 64 == 0 and tile * tile * 1600 <= 2 * 1024**3
    assert auto_tile_size(3000, 4000, 1600, 1) == 384  # never below the minimum tile


def test_enhancer_tiles_large_images_and_keeps_the_shape():
    model = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1))
    enhancer = Enhancer(model, device="cpu", tile=128, tile_overlap=32)
    assert enhancer.tile_size_for(100, 120) is None
    assert enhancer.tile_size_for(300, 200) == 128
    seen = []
    out = enhancer(torch.rand(1, 3, 300, 200), on_tile=lambda d, n: seen.append(n))
    assert out.shape == (1, 3, 300, 200) and seen[-1] > 1
    assert out.min() >= 0 and out.max() <= 1


def test_darkir_memory_estimate_picks_tiles_for_a_12_megapixel_photo():
    from lowlight import create_model

    enhancer = Enhancer(create_model("darkir_m", width=32), device="cpu")
    tile = enhancer.tile_size_for(3000, 4000)
    assert tile is not None and 512 <= tile <= 1536
    assert enhancer.tile_size_for(400, 600) is None


def test_enhancer_rejects_bad_settings():
    with pytest.raises(LowlightError, match="--half needs a GPU"):
        Enhancer("gamma", device="cpu", half=True)
    with pytest.raises(LowlightError, match="larger than --tile-overlap"):
        Enhancer("gamma", device="cpu", tile=32, tile_overlap=64)
    with pytest.raises(LowlightError, match="unknown device"):
        Enhancer("gamma", device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(LowlightError, match="no CUDA device"):
            Enhancer("gamma", device="cuda")
    with pytest.raises(LowlightError, match="no weights shipped"):
        Enhancer("darkir_l", device="cpu")


def test_large_tiled_images_bound_the_heap_and_small_ones_do_not(monkeypatch):
    calls = []
    monkeypatch.setattr("lowlight.inference.pipeline.bound_heap_growth", lambda: calls.append(1) or True)
    enhancer = Enhancer(nn.Identity(), device="cpu", tile=1024, tile_overlap=16)
    enhancer(torch.rand(1, 3, 600, 900))
    assert calls == []
    big = torch.rand(1, 3, 2000, 2000)
    torch.testing.assert_close(enhancer(big), big)
    assert calls == [1]
