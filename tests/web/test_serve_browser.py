"""``lowlight serve`` in a real browser: upload, choose, slide, run, download, compare with the CLI.

Needs Gradio, Playwright and a Chromium executable (Debian's ``chromium``; ``LOWLIGHT_CHROMIUM`` overrides the
path). Skipped when one is missing, unless ``LOWLIGHT_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which turns the
skip into a failure. The page's screenshot goes to ``LOWLIGHT_ARTIFACTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lowlight.cli import main

CHROMIUM = os.environ.get("LOWLIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _missing() -> str | None:
    try:
        import gradio  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    return None if CHROMIUM else "no chromium executable"


def _require_browser() -> None:
    missing = _missing()
    if missing and os.environ.get("LOWLIGHT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required but {missing}")
    if missing:
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"lowlight serve exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"lowlight serve did not answer at {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    port = _free_port()
    gradio_tmp = tmp_path_factory.mktemp("gradio")
    env = {**os.environ, "GRADIO_TEMP_DIR": str(gradio_tmp)}
    command = [sys.executable, "-m", "lowlight", "serve", "--port", str(port), "--device", "cpu", "--max-pixels", "0.1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _scene(path: Path, size=(192, 256)) -> Path:
    """A dark test scene: a gradient sky, a wall and a lamp, with sensor-like noise."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rgb = np.stack([0.05 + 0.05 * x, 0.06 + 0.04 * y, 0.10 - 0.04 * y], -1)
    rgb[h // 2 :, : w // 2] = (0.09, 0.07, 0.05)
    rgb[(y - 0.3) ** 2 + (x - 0.75) ** 2 < 0.01] = (0.6, 0.5, 0.3)
    noisy = rgb + np.random.default_rng(0).normal(0, 0.01, rgb.shape)
    Image.fromarray((np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def _choose(page, model: str) -> None:
    box = page.locator("#model input[role=combobox]")
    box.click()
    box.fill(model)
    page.locator("#model").get_by_role("option", name=model, exact=True).click()


def _slide(page, steps: int) -> None:
    slider = page.locator("#exposure input[type=range]")
    slider.focus()
    for _ in range(abs(steps)):
        slider.press("ArrowRight" if steps > 0 else "ArrowLeft")


def test_upload_slide_run_download_matches_the_cli(server, tmp_path):
    from playwright.sync_api import sync_playwright

    photo = _scene(tmp_path / "dark scene.png")
    artifacts = Path(os.environ.get("LOWLIGHT_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(server)
        page.wait_for_selector("#run")
        page.locator("#uploads input[type=file]").set_input_files(str(photo))
        _choose(page, "zero_dce.sice")
        _slide(page, 8)  # +0.8 EV in 0.1 steps
        assert page.locator("#exposure input[type=number]").input_value() == "0.8"
        page.locator("#run").click()
        page.wait_for_selector("#downloads a", timeout=120_000)
        status = page.locator("#status").inner_text()
        assert "zero_dce.sice" in status and "1 file(s) enhanced in" in status
        with page.expect_download() as download:
            page.locator("#downloads a").first.click()
        got = tmp_path / "downloaded.png"
        download.value.save_as(got)
        name = download.value.suggested_filename
        page.screenshot(path=str(artifacts / "serve.png"), full_page=True)
        browser.close()
    assert name == "01_dark_scene_enhanced.png"
    cli_out = tmp_path / "cli.png"
    assert main([
        "enhance", str(photo), "-o", str(cli_out), "-m", "zero_dce.sice", "--exposure", "0.8", "--device", "cpu"
    ]) == 0  # fmt: skip
    assert np.array_equal(np.asarray(Image.open(got)), np.asarray(Image.open(cli_out)))


def test_an_upload_over_the_pixel_limit_is_refused_on_the_page(server, tmp_path):
    from playwright.sync_api import sync_playwright

    big = _scene(tmp_path / "big.png", size=(400, 400))  # 0.16 MP, the server allows 0.1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(server)
        page.wait_for_selector("#run")
        page.locator("#uploads input[type=file]").set_input_files(str(big))
        _choose(page, "gamma")
        page.locator("#run").click()
        page.wait_for_function("document.querySelector('#status').innerText.includes('enhanced in')", timeout=60_000)
        status = page.locator("#status").inner_text()
        browser.close()
    assert "0 file(s) enhanced" in status and "big.png" in status and "MP" in status
