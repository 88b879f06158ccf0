"""The Gradio page of ``lowlight serve`` (needs the ``web`` extra: ``pip install "lowlight[web]"``).

Safe by default: the caller binds it to 127.0.0.1, there is no share tunnel, analytics are off, one job runs at
a time (others wait in a queue), uploads are size-limited by the server and job folders are removed after
``keep_minutes`` and when the server stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lowlight.errors import LowlightError
from lowlight.runtime import bound_heap_growth
from lowlight.web.jobs import ServeSettings, default_choice, model_choices, run_uploads

UPLOAD_TYPES = [".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".mp4", ".mov", ".mkv", ".avi", ".webm"]


def require_gradio() -> Any:
    """Import Gradio, or explain in one line how to get it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as exc:
        raise LowlightError('lowlight serve needs the web extra: pip install "lowlight[web]"') from exc
    return gradio


def remove_old_jobs(workdir: Path, keep_minutes: float) -> None:
    """Delete job folders older than ``keep_minutes``."""
    limit = time.time() - keep_minutes * 60
    for job in workdir.glob("job-*"):
        if job.is_dir() and job.stat().st_mtime < limit:
            shutil.rmtree(job, ignore_errors=True)


def build_app(settings: ServeSettings, workdir: Path, keep_minutes: float = 30.0) -> Any:
    """The page: uploads, model and brightness, before/after, downloads, status line."""
    gr = require_gradio()

    def enhance(files: list[str] | None, choice: str, exposure: float, progress=gr.Progress()) -> tuple:  # noqa: B008 (Gradio injects progress through this default)
        remove_old_jobs(workdir, keep_minutes)
        progress(0.0, desc="starting")
        try:
            result = run_uploads(
                list(files or []), choice, exposure, settings, workdir,
                progress=lambda fraction, text: progress(min(fraction, 1.0), desc=text),
            )  # fmt: skip
        except LowlightError as exc:
            return None, gr.Video(value=None, visible=False), [], f"**not run**: {exc}"
        downloads = [str(p) for p in result.outputs]
        video = str(result.video) if result.video else None
        return result.comparison, gr.Video(value=video, visible=video is not None), downloads, result.message

    with gr.Blocks(title="lowlight", analytics_enabled=False, delete_cache=(600, int(keep_minutes * 60))) as app:
        gr.Markdown(
            "## lowlight: enhance dark photos and videos\n"
            "Drop photos or a short video, choose a model and the brightness, press **Enhance**. "
            "Results download at full resolution in the input's format. Everything runs on this machine."
        )
        with gr.Row():
            with gr.Column(scale=1):
                uploads = gr.File(
                    label="photos or a video", file_count="multiple", file_types=UPLOAD_TYPES, elem_id="uploads"
                )
                model = gr.Dropdown(model_choices(), value=default_choice(), label="model.weights", elem_id="model")
                exposure = gr.Slider(
                    -4.0, 4.0, value=0.0, step=0.1, label="brightness (EV stops; 0 = the model's choice)",
                    elem_id="exposure",
                )  # fmt: skip
                run = gr.Button("Enhance", variant="primary", elem_id="run")
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                comparison = gr.ImageSlider(
                    label="before / after (first photo)", format="png", type="numpy", elem_id="comparison",
                    buttons=["fullscreen"], max_height=900,
                )  # fmt: skip
                video = gr.Video(label="enhanced video", elem_id="video", visible=False)
                downloads = gr.File(label="download results", file_count="multiple", elem_id="downloads")
        run.click(enhance, [uploads, model, exposure], [comparison, video, downloads, status], api_name="enhance")
    app.queue(default_concurrency_limit=1, max_size=32)
    return app


def serve(settings: ServeSettings, *, host: str = "127.0.0.1", port: int = 7860, keep_minutes: float = 30.0) -> None:
    """Run the page until interrupted; job folders live in a temporary folder removed at exit."""
    require_gradio()
    bound_heap_growth()  # uploads come in every size: keep the heap from fragmenting request after request
    with tempfile.TemporaryDirectory(prefix="lowlight-serve-") as folder:
        app = build_app(settings, Path(folder), keep_minutes)
        print(f"lowlight serve: http://{host}:{port}  (Ctrl+C stops it)", flush=True)
        app.launch(
            server_name=host, server_port=port, share=False, inbrowser=False, show_error=True, quiet=True,
            max_file_size=int(settings.max_upload_mb * 1e6), allowed_paths=[folder], footer_links=[],
            enable_monitoring=False, mcp_server=False, pwa=False,
        )  # fmt: skip
