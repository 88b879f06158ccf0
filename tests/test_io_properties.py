"""Property-based: any mode, size, bit depth and format a user may have goes read -> enhance -> write -> read back."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lowlight.inference.batch import plan_jobs, run_jobs  # noqa: E402
from lowlight.inference.pipeline import Enhancer  # noqa: E402
from lowlight.io import read_image  # noqa: E402

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "F"]
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
ENHANCER = Enhancer("adaptive_gamma", device="cpu")


def _image(mode: str, height: int, width: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray((rng.random((height, width, 3)) * 255).astype(np.uint8))
    if mode == "I;16":
        return Image.fromarray((rng.random((height, width)) * 65535).astype(np.uint16))
    if mode == "F":
        return Image.fromarray(rng.random((height, width)).astype(np.float32))
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return rgb.convert(mode)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mode=st.sampled_from(MODES),
    height=st.integers(4, 37),
    width=st.integers(4, 37),
    image_format=st.sampled_from(sorted(FORMATS)),
    seed=st.integers(0, 1000),
)
def test_every_readable_input_gives_a_readable_output_of_its_size(
    tmp_path_factory, mode, height, width, image_format, seed
):
    folder = tmp_path_factory.mktemp("prop")
    source = folder / f"in{FORMATS[image_format]}"
    buffer = io.BytesIO()
    try:
        _image(mode, height, width, seed).save(buffer, format=image_format)
    except (OSError, KeyError, ValueError, TypeError):
        assume(False)  # Pillow cannot write this mode in this format: no user can have such a file
    source.write_bytes(buffer.getvalue())
    plan = plan_jobs([str(source)], folder / "out")
    assert not plan.problems and len(plan.jobs) == 1
    messages: list[str] = []
    summary = run_jobs(plan.jobs, ENHANCER, report=messages.append)
    assert summary.failed == 0, messages
    written = read_image(plan.jobs[0].target)
    assert written.size == (height, width)
    assert np.isfinite(written.rgb).all()
