"""Evaluation on benchmark folders, model profiling and benchmark reports."""
