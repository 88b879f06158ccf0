"""Smoke runs of the benchmark scripts that have no other test (on the CPU, tiny inputs)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
import torch

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


def test_cpu_speed_table_with_a_baseline_checkout(monkeypatch, capsys):
    # the baseline row runs the code found under --baseline-src (here this checkout's own src)
    source = Path(__file__).resolve().parents[2] / "src"
    argv = ["cpu_speed.py", "--model", "lucentvision", "--size", "24x32", "--variants", "eager"]
    argv += ["--baseline-src", str(source), "--threads", "1", "--rounds", "1", "--repeats", "1", "--warmup", "0"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(BENCHMARKS / "cpu_speed.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("CPU: ")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[1:]
    assert "CPU ms / image" in header and "CPU time vs baseline" in header
    assert [row[0] for row in body] == ["baseline", "eager"]
    assert body[0][header.index("CPU time vs baseline")] == "1.00"
    assert float(body[1][header.index("CPU ms / image")]) > 0
    assert float(body[1][-1]) == 0  # same code, same weights, same input: the same output


def test_cpu_time_ab_table_across_layouts(monkeypatch, capsys):
    source = str(Path(__file__).resolve().parents[2] / "src")
    argv = ["cpu_time_ab.py", f"planar={source}:nchw:eager", f"nhwc={source}:channels_last:eager"]
    argv += ["--model", "lucentvision", "--size", "16x24", "--rounds", "2", "--warmup", "1", "--calls", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(BENCHMARKS / "cpu_time_ab.py"), run_name="__main__")
    out = capsys.readouterr().out
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines() if line.startswith("| ")]
    assert rows[0] == ["variant", "round 1", "round 2", "vs planar, by round", "max abs diff"]
    assert [row[0] for row in rows[1:]] == ["planar", "nhwc"]
    assert rows[1][3] == "1.00, 1.00" and float(rows[1][4]) == 0
    assert all(float(cell) > 0 for cell in rows[2][1:3])
    assert float(rows[2][4]) < 1e-5  # the same weights and input in another layout


def test_cpu_time_ab_rejects_a_malformed_variant(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["cpu_time_ab.py", "now=src:sideways:eager"])
    with pytest.raises(SystemExit):
        runpy.run_path(str(BENCHMARKS / "cpu_time_ab.py"), run_name="__main__")
    assert "LAYOUT is one of" in capsys.readouterr().err


def test_cpu_time_ab_names_the_variant_that_failed(monkeypatch):
    source = str(Path(__file__).resolve().parents[2] / "src")
    argv = ["cpu_time_ab.py", f"bad={source}:nchw:eager", "--model", "no_such_model", "--rounds", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match=r"variant bad .* failed: .*unknown model 'no_such_model'"):
        runpy.run_path(str(BENCHMARKS / "cpu_time_ab.py"), run_name="__main__")


def test_cpu_speed_convolutions_variant_runs_each_convolution_once_on_its_recorded_input():
    namespace = runpy.run_path(str(BENCHMARKS / "cpu_speed.py"))
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))
    x = torch.rand(1, 3, 8, 8)
    run = namespace["_convolutions_alone"](model, x)
    seen = []
    for conv in (model[0], model[2]):
        conv.register_forward_hook(lambda module, inputs, _out: seen.append((module, inputs[0])))
    with torch.inference_mode():
        out = run(torch.zeros(1))
    assert [module for module, _ in seen] == [model[0], model[2]]
    with torch.no_grad():
        assert torch.equal(seen[0][1], x) and torch.equal(seen[1][1], torch.relu(model[0](x)))
        assert torch.equal(out, model(x))


def test_cpu_profile_per_convolution_counts_every_convolution_and_its_flops():
    namespace = runpy.run_path(str(BENCHMARKS / "cpu_profile.py"))
    rows = namespace["convolution_rows"]("zero_dce", (16, 20), 1, 1)
    by_label = {label: (count, ms, gflop) for label, count, ms, gflop in rows}
    # zero_dce: 3->32, three 32->32, two 64->32 and 64->24, all 3x3 at full size
    assert sum(count for count, _, _ in by_label.values()) == 7
    assert by_label["dense 3x3 32->32 at 16x20"][0] == 3
    assert by_label["dense 3x3 3->32 at 16x20"][2] == pytest.approx(2 * 32 * 16 * 20 * 3 * 9 / 1e9)
    assert all(ms >= 0 for _, ms, _ in by_label.values())


def test_cpu_time_ab_gives_a_variant_its_model_arguments(monkeypatch, capsys):
    source = str(Path(__file__).resolve().parents[2] / "src")
    argv = ["cpu_time_ab.py", f"plain={source}:nchw:eager", f"blur={source}:nchw:eager", "--model", "darkir_m"]
    argv += ["--size", "16x24", "--rounds", "1", "--warmup", "1", "--calls", "1"]
    argv += ["--model-args", 'plain={"width": 8}', 'blur={"width": 8, "upsample_blur": true}']
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(BENCHMARKS / "cpu_time_ab.py"), run_name="__main__")
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| blur")]
    assert float(rows[0].strip("|").split("|")[-1]) > 0  # same seed and weights, another network
    monkeypatch.setattr(sys, "argv", [*argv[:-2], "nobody={}"])
    with pytest.raises(SystemExit):
        runpy.run_path(str(BENCHMARKS / "cpu_time_ab.py"), run_name="__main__")
    assert "no variant is labelled 'nobody'" in capsys.readouterr().err
