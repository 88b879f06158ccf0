from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from lowlight.errors import ImageReadError, ImageWriteError
from lowlight.io import read_image, write_image


def _gradient(height: int = 24, width: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x / (width - 1), y / (height - 1), (x + y) / (width + height - 2)], axis=2).astype(np.float32)


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize(
    ("suffix", "tolerance"),
    [(".png", 0.5 / 255), (".bmp", 0.5 / 255), (".tif", 0.5 / 255), (".webp", 0.5 / 255), (".jpg", 12 / 255)],
)
def test_eight_bit_round_trip(tmp_path, suffix, tolerance):
    rgb = _gradient()
    path = write_image(tmp_path / f"img{suffix}", rgb, quality=100)
    loaded = read_image(path)
    assert loaded.rgb.shape == rgb.shape and loaded.rgb.dtype == np.float32
    assert loaded.bit_depth == 8
    assert np.abs(loaded.rgb - rgb).max() <= tolerance + 1e-6


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_colour_round_trip_is_exact(tmp_path, suffix):
    rng = np.random.default_rng(0)
    values = rng.integers(0, 65536, size=(9, 11, 3)).astype(np.float32) / 65535
    path = write_image(tmp_path / f"deep{suffix}", values, bit_depth=16)
    loaded = read_image(path)
    assert loaded.bit_depth == 16
    np.testing.assert_allclose(loaded.rgb, values, atol=0.5 / 65535)
    # values differing below 8-bit precision survive: the file really is 16-bit
    assert len(np.unique(np.rint(loaded.rgb * 65535))) > 256


def test_sixteen_bit_grayscale_png(tmp_path):
    gray = np.arange(64 * 8, dtype=np.uint16).reshape(8, 64) * 127
    Image.fromarray(gray).save(tmp_path / "g16.png")
    loaded = read_image(tmp_path / "g16.png")
    assert loaded.bit_depth == 16 and loaded.rgb.shape == (8, 64, 3)
    np.testing.assert_allclose(loaded.rgb[:, :, 1], gray / 65535, atol=1e-6)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "YCbCr"])
def test_modes_are_converted_to_rgb(tmp_path, mode):
    image = Image.fromarray((_gradient() * 255).astype(np.uint8), "RGB").convert(mode)
    suffix = ".jpg" if mode in ("CMYK", "YCbCr") else ".png"
    image.save(tmp_path / f"m{suffix}")
    loaded = read_image(tmp_path / f"m{suffix}")
    assert loaded.rgb.shape == (24, 32, 3) and loaded.alpha is None
    if mode in ("L", "1"):
        assert np.allclose(loaded.rgb[:, :, 0], loaded.rgb[:, :, 2])


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_alpha_is_kept_aside_and_restored(tmp_path, suffix):
    rgba = np.concatenate([_gradient(), np.linspace(0, 1, 32, dtype=np.float32)[None, :, None].repeat(24, 0)], 2)
    Image.fromarray((rgba * 255).round().astype(np.uint8), "RGBA").save(tmp_path / f"a{suffix}", lossless=True)
    loaded = read_image(tmp_path / f"a{suffix}")
    assert loaded.alpha is not None and loaded.rgb.shape == (24, 32, 3)
    out = write_image(tmp_path / f"out{suffix}", loaded.rgb, alpha=loaded.alpha)
    with Image.open(out) as written:
        assert written.mode == "RGBA"
        np.testing.assert_allclose(np.asarray(written)[:, :, 3] / 255, rgba[:, :, 3], atol=1 / 255)


def test_palette_with_transparency_and_gray_alpha(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    rgba.paste((200, 100, 50, 255), (0, 0, 4, 8))
    rgba.convert("P").save(tmp_path / "p.png", transparency=0)
    assert read_image(tmp_path / "p.png").alpha is not None
    Image.new("LA", (8, 8), (40, 128)).save(tmp_path / "la.png")
    loaded = read_image(tmp_path / "la.png")
    assert loaded.alpha is not None and np.allclose(loaded.alpha, 128 / 255)


def test_alpha_is_dropped_for_jpeg(tmp_path):
    out = write_image(tmp_path / "x.jpg", _gradient(), alpha=np.ones((24, 32), np.float32))
    with Image.open(out) as written:
        assert written.mode == "RGB"


def test_exif_orientation_applied_and_reset(tmp_path):
    image = Image.fromarray((_gradient(20, 40) * 255).astype(np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    image.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    loaded = read_image(tmp_path / "rot.jpg")
    assert loaded.size == (40, 20)
    out = write_image(tmp_path / "rot_out.jpg", loaded.rgb, exif=loaded.exif)
    with Image.open(out) as written:
        assert written.size == (20, 40)  # (width, height)
        assert written.getexif().get(0x0112) == 1


def test_exif_orientation_applied_to_sixteen_bit_png(tmp_path):
    rgb = _gradient(6, 10)
    path = write_image(tmp_path / "d.png", rgb, bit_depth=16)
    image = Image.open(path)
    exif = Image.Exif()
    exif[0x0112] = 8
    # re-save the 16-bit PNG bytes with an eXIf chunk through the 16-bit writer
    data = path.read_bytes()
    import struct
    import zlib

    payload = exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    path.write_bytes(data[:33] + chunk + data[33:])
    image.close()
    loaded = read_image(path)
    assert loaded.bit_depth == 16 and loaded.size == (10, 6)
    np.testing.assert_allclose(loaded.rgb, np.rot90(rgb, 1), atol=1e-4)


@pytest.mark.parametrize(("suffix", "bit_depth"), [(".png", 8), (".jpg", 8), (".webp", 8), (".png", 16)])
def test_icc_profile_is_carried_over(tmp_path, suffix, bit_depth):
    icc = _srgb_icc()
    Image.fromarray((_gradient() * 255).astype(np.uint8)).save(tmp_path / f"src{suffix}", icc_profile=icc)
    loaded = read_image(tmp_path / f"src{suffix}")
    assert loaded.icc_profile == icc
    out = write_image(tmp_path / f"out{suffix}", loaded.rgb, icc_profile=loaded.icc_profile, bit_depth=bit_depth)
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == icc


def test_missing_empty_directory_and_non_image(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty.png: file is empty"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(ImageReadError, match="is a directory"):
        read_image(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImageReadError, match=r"notes.txt: not an image"):
        read_image(tmp_path / "notes.txt")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file(tmp_path, suffix):
    rng = np.random.default_rng(0)
    noisy = (rng.random((200, 300, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="PNG" if suffix == ".png" else "JPEG")
    (tmp_path / f"cut{suffix}").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.(png|jpg): file is truncated or corrupt"):
        read_image(tmp_path / f"cut{suffix}")


def test_decompression_bomb_is_refused(tmp_path):
    Image.new("L", (2000, 1500)).save(tmp_path / "big.png")
    with pytest.raises(ImageReadError, match=r"big.png: image is 2000x1500 .*above the limit"):
        read_image(tmp_path / "big.png", max_pixels=1_000_000)


def test_tiny_image_is_refused(tmp_path):
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ImageReadError, match=r"dot.png: image is only 1x1 pixels"):
        read_image(tmp_path / "dot.png")


def test_write_is_atomic_and_reports_unwritable_folder(tmp_path):
    target = tmp_path / "out.png"
    write_image(target, _gradient())
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left behind
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ImageWriteError, match="cannot write"):
        write_image(blocker / "sub" / "out.png", _gradient())
    with pytest.raises(ImageWriteError, match="unknown output format"):
        write_image(tmp_path / "out.xyz", _gradient())
