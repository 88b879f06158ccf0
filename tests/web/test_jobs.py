"""The web page's work, without a browser: names, limits, the same results as the CLI, videos, clean-up."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

import lowlight
from lowlight.cli import main
from lowlight.errors import LowlightError
from lowlight.inference.options import EnhanceOptions
from lowlight.web.jobs import ServeSettings, default_choice, model_choices, run_uploads, safe_name

CPU = ServeSettings(options=EnhanceOptions(device="cpu"))


def _dark(path, size=(40, 56), level=30):
    rng = np.random.default_rng(1)
    Image.fromarray(np.clip(rng.normal(level, 8, (*size, 3)), 0, 255).astype(np.uint8)).save(path)
    return path


def test_choices_offer_every_shipped_weight_and_the_classical_methods():
    choices = model_choices()
    assert default_choice() in choices
    assert {"darkir_m.lol_v1", "darkir_m.robust", "zero_dce.sice", "adaptive_gamma"} <= set(choices)
    assert "darkir_l" not in choices and "fsidnet_s" not in choices  # no weights: would give noise


@pytest.mark.parametrize("uploaded", ["../../etc/passwd", "/abs/x.png", "a\nb.png", "..", "C:\\x\\y.jpg", "Ω.tif"])
def test_upload_names_never_carry_a_path(uploaded):
    name = safe_name(3, uploaded)
    assert name.startswith("03_") and "/" not in name and "\\" not in name and ".." not in name
    assert name.isprintable() and len(name) <= 52


def test_a_job_gives_the_same_pixels_as_the_api(tmp_path):
    source = _dark(tmp_path / "photo.png")
    result = run_uploads([source], "zero_dce.sice", 0.7, CPU, tmp_path / "work")
    assert [p.name for p in result.outputs] == ["01_photo_enhanced.png"]
    expected = np.asarray(lowlight.enhance(source, "zero_dce.sice", device="cpu", exposure=0.7))
    assert np.array_equal(np.asarray(Image.open(result.outputs[0])), expected)
    before, after = result.comparison
    assert before.shape == after.shape == (40, 56, 3) and after.mean() > before.mean()
    assert "zero_dce.sice" in result.message and "1 file(s)" in result.message


def test_the_format_of_each_input_is_kept(tmp_path):
    jpeg = tmp_path / "a.jpg"
    Image.open(_dark(tmp_path / "a.png")).save(jpeg, quality=90)
    result = run_uploads([jpeg, tmp_path / "a.png"], "gamma", 0.0, CPU, tmp_path / "work")
    assert sorted(p.suffix for p in result.outputs) == [".jpg", ".png"]
    for output in result.outputs:
        assert Image.open(output).size == (56, 40)


def test_oversized_and_unknown_uploads_are_refused_with_a_message(tmp_path):
    big = _dark(tmp_path / "big.png", size=(120, 120))
    small = _dark(tmp_path / "small.png")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    settings = ServeSettings(options=EnhanceOptions(device="cpu"), max_pixels=5000)
    result = run_uploads([big, small, text], "gamma", 0.0, settings, tmp_path / "work")
    assert [p.name for p in result.outputs] == ["02_small_enhanced.png"]
    assert "big.png" in result.message and "MP" in result.message
    assert "notes.txt: not an image or video" in result.message
    tiny_limit = ServeSettings(options=EnhanceOptions(device="cpu"), max_upload_mb=0.001)
    refused = run_uploads([small], "gamma", 0.0, tiny_limit, tmp_path / "work")
    assert refused.outputs == [] and "upload limit" in refused.message


def test_jobs_that_cannot_start_raise_one_message(tmp_path):
    with pytest.raises(LowlightError, match="no file uploaded"):
        run_uploads([], "gamma", 0.0, CPU, tmp_path)
    with pytest.raises(LowlightError, match="unknown model"):
        run_uploads([_dark(tmp_path / "x.png")], "../../x", 0.0, CPU, tmp_path)
    few = ServeSettings(options=EnhanceOptions(device="cpu"), max_files=1)
    with pytest.raises(LowlightError, match="at most 1"):
        run_uploads([tmp_path / "x.png", tmp_path / "x.png"], "gamma", 0.0, few, tmp_path)


def test_results_stay_inside_their_job_folder(tmp_path):
    work = tmp_path / "work"
    upload_dir = tmp_path / "up" / "..%2f..%2fescape"
    upload_dir.mkdir(parents=True)
    source = _dark(upload_dir / "..evil name.png")
    result = run_uploads([source], "gamma", 0.0, CPU, work)
    assert all(p.resolve().is_relative_to(work.resolve()) for p in result.outputs)
    assert sorted(os.listdir(tmp_path)) == ["up", "work"]


def test_a_video_goes_through_the_video_path(tmp_path, monkeypatch):
    av = pytest.importorskip("av")
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for level in (20, 30, 25, 35):
            frame = np.full((48, 64, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    seen = []
    result = run_uploads([clip], "gamma", 0.0, CPU, tmp_path / "work", progress=lambda f, t: seen.append(f))
    assert result.video is not None and result.video.name == "01_clip_enhanced.mp4"
    with av.open(str(result.video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4
    assert seen and max(seen) <= 1.0 + 1e-9

    # the next job on the same model reuses the server's enhancer instead of loading the model again
    built = []
    original = EnhanceOptions.enhancer
    monkeypatch.setattr(EnhanceOptions, "enhancer", lambda self: built.append(self) or original(self))
    again = run_uploads([clip, _dark(tmp_path / "x.png")], "gamma", 0.0, CPU, tmp_path / "work2")
    assert again.video is not None and built == []


def test_old_job_folders_are_removed(tmp_path):
    from lowlight.web.app import remove_old_jobs

    old, new = tmp_path / "job-old", tmp_path / "job-new"
    old.mkdir(), new.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    remove_old_jobs(tmp_path, keep_minutes=30)
    assert not old.exists() and new.exists()


def test_serve_without_gradio_says_how_to_get_it(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "gradio", None)
    assert main(["serve", "--port", "7861"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "lowlight[web]"' in err


def test_serve_binds_to_this_machine_unless_told(monkeypatch):
    from lowlight.web import app

    launched = {}

    class FakeApp:
        def launch(self, **kwargs):
            launched.update(kwargs)

    monkeypatch.setattr(app, "build_app", lambda *args, **kwargs: FakeApp())
    monkeypatch.setattr(app, "require_gradio", lambda: None)
    assert main(["serve", "--device", "cpu"]) == 0
    assert launched["server_name"] == "127.0.0.1" and launched["share"] is False
    assert launched["max_file_size"] == 200_000_000
