"""Reading and writing the image files real users have.

- Formats: PNG (8/16-bit), JPEG, BMP, TIFF (8/16-bit), WebP, plus whatever else Pillow opens.
- Grayscale, palette, CMYK, YCbCr... are converted to RGB; alpha is kept aside and restored on save
  where the output format allows (PNG, WebP, TIFF).
- EXIF orientation is applied on read; EXIF (orientation reset) and ICC profiles are carried over.
- 16-bit inputs can be written back as 16-bit PNG/TIFF.
- Decompression bombs, empty, truncated and corrupt files raise :class:`ImageReadError` with a
  one-line message naming the file.
- Float images (TIFF mode F) are read as values in [0, 1]: values outside are clipped (a note says how many);
  NaN or infinite values are refused.
- Only the first frame of an animated or multi-page file is read (a note says so).
- Writes are atomic: a temporary file in the target folder, read back with this module's own decoder
  (size checked), then renamed; files get the usual ``0666 & ~umask`` mode. Temporary files left by a
  killed process are removed the next time the same output is written.
"""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lowlight.errors import ImageReadError, ImageWriteError

DEFAULT_MAX_PIXELS = 250_000_000  # larger than any phone or DSLR photo; guards against bombs
MIN_SIDE = 4
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_FORMAT_BY_SUFFIX = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
_SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
_EXIF_ORIENTATION = 0x0112
# EXIF/TIFF tags worth carrying to an output; the others of a TIFF's first IFD describe the input's pixel
# layout (size, bits, photometric interpretation, strips, colour map...) and would corrupt an RGB output.
_DESCRIPTIVE_TAGS = {
    0x010E, 0x010F, 0x0110, 0x0112, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x013C, 0x8298, 0x8769, 0x8825,
}  # fmt: skip


@dataclass
class LoadedImage:
    """An image read from disk, as float RGB, with what is needed to write a faithful output.

    Attributes:
        rgb: (H, W, 3) float32 in [0, 1], EXIF orientation applied.
        alpha: (H, W) float32 in [0, 1], or None.
        bit_depth: 8 or 16 (bits per channel of the source).
        format: Pillow format name of the source ("PNG", "JPEG", ...).
        icc_profile: embedded ICC profile bytes, or None.
        exif: EXIF bytes with the orientation reset to 1 (already applied), or None.
        path: the file it came from, if any.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    format: str = "PNG"
    icc_profile: bytes | None = None
    exif: bytes | None = None
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.rgb.shape[0], self.rgb.shape[1]


def format_for_suffix(path: str | Path) -> str | None:
    """Pillow format name for a file suffix, or None if lowlight does not write that suffix."""
    return _FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a directory, not an image")
    if not os.access(path, os.R_OK):
        raise ImageReadError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes)")


def _open(path: Path, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            previous = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a better message
            try:
                image = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image, or a format lowlight cannot read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: cannot read image header ({_first_line(exc)})") from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageReadError(
            f"{path}: image is {width}x{height} ({width * height / 1e6:.0f} MP), above the limit of "
            f"{max_pixels / 1e6:.0f} MP (possible decompression bomb; raise --max-pixels to allow it)"
        )
    if min(width, height) < MIN_SIDE:
        image.close()
        raise ImageReadError(f"{path}: image is only {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} needed")
    return image


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _source_bit_depth(image: Image.Image, path: Path) -> int:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return 16
    if image.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(26)
        if len(header) >= 25 and header[12:16] == b"IHDR" and header[24] == 16:
            return 16
    if image.format == "TIFF":
        bits = getattr(image, "tag_v2", {}).get(258)
        if bits and max(bits if isinstance(bits, tuple) else (bits,)) == 16:
            return 16
    return 8


def _read_sixteen_bit_colour(path: Path) -> np.ndarray:
    """16-bit RGB(A) PNG/TIFF as float32 (H, W, 3|4) in [0, 1]; Pillow truncates these to 8 bits."""
    data = np.fromfile(path, dtype=np.uint8)
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if decoded is None:
        raise ImageReadError(f"{path}: file is truncated or corrupt (16-bit decoder failed)")
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    if decoded.shape[2] >= 3:
        order = [2, 1, 0] + ([3] if decoded.shape[2] == 4 else [])
        decoded = decoded[:, :, order]
    scale = 65535.0 if decoded.dtype == np.uint16 else 255.0
    return decoded.astype(np.float32) / scale


def _to_float_channels(
    image: Image.Image, notes: list[str], source: object = "image"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pillow image of any mode -> (rgb (H, W, 3), alpha (H, W) or None), float32 in [0, 1]."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if mode == "F":
            if not np.isfinite(values).all():
                raise ImageReadError(f"{source}: float image holds NaN or infinite values")
            outside = int(np.count_nonzero((values < 0) | (values > 1)))
            if outside:
                notes.append(
                    f"{outside} float pixel(s) outside [0, 1] (min {values.min():.3g}, max {values.max():.3g}) "
                    "were clipped to [0, 1]"
                )
            gray = values
        else:
            gray = values / 65535.0
        gray = np.clip(gray, 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2), None
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        return rgba[:, :, :3], rgba[:, :, 3]
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0, None


def _exif_without_orientation(image: Image.Image) -> bytes | None:
    try:
        exif = image.getexif()
    except Exception:  # malformed EXIF must not stop an enhancement
        return None
    if not exif:
        return None
    for tag in [tag for tag in exif if tag not in _DESCRIPTIVE_TAGS]:
        del exif[tag]
    if not exif:
        return None
    if _EXIF_ORIENTATION in exif:
        exif[_EXIF_ORIENTATION] = 1
    try:
        return exif.tobytes()
    except Exception:
        return None


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read an image file as float RGB in [0, 1].

    Args:
        path: the file.
        max_pixels: refuse images with more pixels (decompression-bomb guard).

    Raises:
        ImageReadError: one-line message naming the file and the problem.
    """
    path = Path(path)
    _check_file(path)
    image = _open(path, max_pixels)
    notes: list[str] = []
    with image:
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            notes.append(f"only the first of its {frames} frames/pages is enhanced")
        source_format = image.format or "PNG"
        icc = image.info.get("icc_profile") or None
        bit_depth = _source_bit_depth(image, path)
        try:
            image.load()
            oriented = ImageOps.exif_transpose(image) or image
            if bit_depth == 16 and image.mode not in ("I;16", "I;16B", "I;16L", "I"):
                channels = _reorient(_read_sixteen_bit_colour(path), image)
                rgb = channels[:, :, :3] if channels.shape[2] >= 3 else np.repeat(channels[:, :, :1], 3, axis=2)
                alpha = channels[:, :, 3] if channels.shape[2] == 4 else None
            else:
                rgb, alpha = _to_float_channels(oriented, notes, path)
            exif = _exif_without_orientation(image)  # after orienting: it edits the image's EXIF
        except ImageReadError:
            raise
        except (OSError, ValueError, SyntaxError, struct.error, zlib.error, Image.DecompressionBombError) as exc:
            raise ImageReadError(f"{path}: file is truncated or corrupt ({_first_line(exc)})") from None
    return LoadedImage(
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        bit_depth=bit_depth,
        format=source_format,
        icc_profile=icc,
        exif=exif,
        path=path,
        notes=notes,
    )


def _reorient(pixels: np.ndarray, image: Image.Image) -> np.ndarray:
    """Apply the EXIF orientation of ``image`` to an (H, W, C) array decoded by another library."""
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    transform = transforms.get(orientation)
    return np.ascontiguousarray(transform(pixels)) if transform else pixels


def _quantise(values: np.ndarray, bit_depth: int) -> np.ndarray:
    top = 65535 if bit_depth == 16 else 255
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    return np.clip(np.rint(np.clip(values, 0.0, 1.0) * top), 0, top).astype(dtype)


def _png_with_icc(png: bytes, icc_profile: bytes) -> bytes:
    """Insert an iCCP chunk right after IHDR (OpenCV's PNG writer cannot embed profiles)."""
    payload = b"icc\x00\x00" + zlib.compress(icc_profile)
    chunk = struct.pack(">I", len(payload)) + b"iCCP" + payload
    chunk += struct.pack(">I", zlib.crc32(b"iCCP" + payload) & 0xFFFFFFFF)
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def encode_image(
    rgb: np.ndarray,
    image_format: str,
    *,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
) -> bytes:
    """Encode float RGB (H, W, 3) in [0, 1] (clipped) to the bytes of an image file."""
    image_format = image_format.upper()
    keep_alpha = alpha is not None and image_format in _ALPHA_FORMATS
    if bit_depth == 16 and image_format in _SIXTEEN_BIT_FORMATS:
        pixels = _quantise(rgb, 16)[:, :, ::-1]
        if keep_alpha:
            pixels = np.concatenate([pixels, _quantise(alpha, 16)[:, :, None]], axis=2)
        ok, buffer = cv2.imencode(".png" if image_format == "PNG" else ".tiff", np.ascontiguousarray(pixels))
        if not ok:
            raise ImageWriteError(f"cannot encode a 16-bit {image_format}")
        data = buffer.tobytes()
        return _png_with_icc(data, icc_profile) if icc_profile and image_format == "PNG" else data
    image = Image.fromarray(_quantise(rgb, 8), "RGB")
    if keep_alpha:
        image.putalpha(Image.fromarray(_quantise(alpha, 8), "L"))
    options: dict[str, object] = {}
    if icc_profile and image_format in ("PNG", "JPEG", "WEBP", "TIFF"):
        options["icc_profile"] = icc_profile
    if exif and image_format in ("PNG", "JPEG", "WEBP", "TIFF"):
        options["exif"] = exif
    if image_format in ("JPEG", "WEBP"):
        options["quality"] = quality
    if image_format == "WEBP" and quality == 100:
        options["lossless"] = True  # quality 100 means lossless WebP
    if image_format == "JPEG":
        options["subsampling"] = 0 if quality >= 90 else 2
    if image_format == "TIFF":
        options["compression"] = "tiff_deflate"
    from io import BytesIO

    buffer = BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def temporary_sibling(path: Path, suffix: str = ".part") -> Path:
    """A new empty temporary file beside ``path``, named so that :func:`remove_stale_parts` can find it."""
    remove_stale_parts(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix, dir=path.parent)
    os.fchmod(handle, _FILE_MODE)
    os.close(handle)
    return Path(name)


def remove_stale_parts(path: Path) -> None:
    """Temporary files of ``path`` whose writer process is gone (killed mid-write)."""
    for leftover in path.parent.glob(f".{glob_escape(path.name)}.*.part*"):
        pid = leftover.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(path)
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ImageWriteError(f"{path}: cannot write to {path.parent} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), _FILE_MODE)
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise ImageWriteError(f"{path}: write failed ({exc.strerror or exc})") from None


def verify_encoded(data: bytes, image_format: str, size: tuple[int, int], name: str | Path) -> None:
    """Decode encoded image bytes with this module's reader and check the (height, width); raise if not."""
    from io import BytesIO

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(BytesIO(data)) as image:
                image.load()
                decoded = image.size[::-1]
                _to_float_channels(image, [])
    except Exception as exc:  # any decoder failure means the file would be unreadable
        raise ImageWriteError(f"{name}: the encoded {image_format} cannot be read back ({_first_line(exc)})") from None
    if tuple(decoded) != tuple(size):
        raise ImageWriteError(f"{name}: the encoded {image_format} reads back as {decoded}, expected {size}")


def write_image(
    path: str | Path,
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    image_format: str | None = None,
) -> Path:
    """Encode and atomically write an image; the format comes from ``image_format`` or the suffix."""
    path = Path(path)
    image_format = image_format or format_for_suffix(path)
    if image_format is None:
        raise ImageWriteError(f"{path}: unknown output format (use one of {', '.join(IMAGE_SUFFIXES)})")
    if not 1 <= quality <= 100:
        raise ImageWriteError(f"{path}: quality must be in 1..100, got {quality}")
    data = encode_image(
        rgb, image_format, alpha=alpha, bit_depth=bit_depth, quality=quality, icc_profile=icc_profile, exif=exif
    )
    verify_encoded(data, image_format, rgb.shape[:2], path)
    atomic_write_bytes(path, data)
    return path
