"""``lowlight serve``: the command-line entry of the web page."""

from __future__ import annotations

import argparse

from lowlight.argtypes import finite_float, int_in_range, positive_int


def add_serve(subparsers: argparse._SubParsersAction) -> None:
    from lowlight.inference.cli_options import add_resource_options

    p = subparsers.add_parser(
        "serve",
        help="a local web page for enhancing photos and videos (needs lowlight[web])",
        description="Serve a web page that enhances uploaded photos and videos with the same code and options as "
        "`lowlight enhance`. Binds to 127.0.0.1 unless --host says otherwise; one job runs at a time.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int_in_range(1, 65535), default=7860, help="port (default 7860)")
    add_resource_options(p)
    p.add_argument(
        "--max-upload-mb", type=finite_float(minimum=0.0, inclusive=False), default=200.0,
        help="refuse uploaded files larger than this (default 200 MB)",
    )  # fmt: skip
    p.add_argument("--max-files", type=positive_int, default=16, help="files per job (default 16)")
    p.add_argument(
        "--keep-minutes", type=finite_float(minimum=1.0), default=30.0,
        help="remove job folders (uploads and results) after this many minutes (default 30)",
    )  # fmt: skip
    p.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from lowlight.inference.options import EnhanceOptions
    from lowlight.web.app import serve
    from lowlight.web.jobs import ServeSettings

    settings = ServeSettings(
        options=EnhanceOptions(
            device=args.device, tile=args.tile, max_memory_gb=args.max_memory, precision=args.precision
        ),
        max_pixels=int(args.max_pixels * 1e6),
        max_upload_mb=args.max_upload_mb,
        max_files=args.max_files,
        quality=args.quality,
    )
    serve(settings, host=args.host, port=args.port, keep_minutes=args.keep_minutes)
    return 0
