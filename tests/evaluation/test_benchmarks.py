"""Smoke runs of the benchmark scripts that have no other test (on the CPU, tiny inputs)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_gpu_speed_table_on_cpu(monkeypatch, capsys):
    argv = ["gpu_speed.py", "--device", "cpu", "--models", "lucentvision", "--sizes", "32x48", "17x23"]
    argv += ["--batches", "2", "--precisions", "bf16", "fp32", "--warmup", "0", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(BENCHMARKS / "gpu_speed.py"), run_name="__main__")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| lucentvision")]
    assert len(lines) == 4
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    # fp32 runs first whatever the order given, and is the reference of its size
    assert [c[3] for c in cells] == ["fp32", "bf16", "fp32", "bf16"]
    assert [c[1] for c in cells] == ["32x48", "32x48", "17x23", "17x23"]
    assert cells[0][7] == "1.00x" and float(cells[0][8]) == 0
    assert 0 < float(cells[1][8]) < 0.05  # bf16 error, against the fp32 output
