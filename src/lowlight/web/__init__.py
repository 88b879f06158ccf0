"""``lowlight serve``: a local web page that enhances photos and videos through the same path as the CLI.

:mod:`lowlight.web.jobs` holds the work (no Gradio import, tested directly); :mod:`lowlight.web.app` lays out the
Gradio page (optional extra ``lowlight[web]``); :mod:`lowlight.web.cli` adds the command.
"""
