from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lowlight.cli import main
from lowlight.errors import ImageWriteError
from lowlight.inference.pipeline import Enhancer
from lowlight.inference.video import enhance_video, flicker

av = pytest.importorskip("av")


def _clip(path, frames=12, size=(48, 64), fps=10, audio=True):
    """A dark clip whose brightness flickers between frames, with a sine-wave audio track."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[1], size[0], "yuv420p"
        sound = container.add_stream("aac", rate=16000) if audio else None
        for i in range(frames):
            level = 30 + (12 if i % 2 else 0)
            pixels = np.clip(rng.normal(level, 6, (*size, 3)), 0, 255).astype(np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            samples = (np.sin(np.arange(16000 * frames // fps) / 10) * 0.2).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in sound.encode(frame):
                container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def _probe(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return video.average_rate, frames, len(container.streams.audio)


def test_video_keeps_rate_size_audio_and_frame_count(tmp_path):
    source = _clip(tmp_path / "clip.mp4")
    summary = enhance_video(source, tmp_path / "out.mp4", Enhancer("gamma"), batch_size=5, smoothing=0.0)
    rate, frames, audio = _probe(tmp_path / "out.mp4")
    assert rate == Fraction(10) and len(frames) == 12 and frames[0].shape == (48, 64, 3) and audio == 1
    assert summary.frames == 12 and summary.audio_streams == 1
    _, inputs, _ = _probe(source)
    assert np.mean(frames) > np.mean(inputs) + 30  # brighter


def test_temporal_smoothing_reduces_flicker(tmp_path):
    source = _clip(tmp_path / "clip.mp4", audio=False)
    plain = enhance_video(source, tmp_path / "a.mp4", Enhancer("adaptive_gamma"), smoothing=0.0)
    smooth = enhance_video(source, tmp_path / "b.mp4", Enhancer("adaptive_gamma"), smoothing=0.8)
    assert smooth.flicker_output < 0.5 * plain.flicker_output
    assert plain.flicker_output == pytest.approx(plain.flicker_raw)
    assert flicker([0.1, 0.3, 0.1]) == pytest.approx(0.2)


def test_video_cli_and_errors(tmp_path, capsys):
    source = _clip(tmp_path / "clip.mp4", frames=4, audio=False)
    out = tmp_path / "out"
    assert main(["enhance", str(source), "-o", str(out), "--model", "gamma", "-q"]) == 0
    err = capsys.readouterr().err
    assert (out / "clip.mp4").is_file() and "4 frames 64x48 at 10.00 fps" in err and "flicker" in err
    assert main(["enhance", str(source), "-o", str(out), "--model", "gamma", "-q"]) == 0
    assert "skipped" in capsys.readouterr().err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    assert main(["enhance", str(broken), "-o", str(out), "--model", "gamma", "-q"]) == 1
    assert "not a readable video" in capsys.readouterr().err
    with pytest.raises(ImageWriteError, match="over the input"):
        enhance_video(source, source, Enhancer("gamma"))
