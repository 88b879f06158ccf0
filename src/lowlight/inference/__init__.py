"""Inference: image I/O, tiling, the ``enhance`` API and batch processing of files."""
