"""Runtime settings (lowlight.runtime): the allocator, and compilation with frozen weights."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
import torch
from torch.profiler import profile

from lowlight.runtime import OPT_OUT_VARIABLE, compile_frozen, tune_malloc

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)


def _tune_in_child(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != OPT_OUT_VARIABLE}
    if env_value is not None:
        env[OPT_OUT_VARIABLE] = env_value
    code = "from lowlight.runtime import tune_malloc; print(tune_malloc(), tune_malloc())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


@glibc_only
def test_tune_malloc_applies_once_and_is_idempotent():
    assert _tune_in_child(None).split() == ["True", "True"]
    assert tune_malloc() is True


@glibc_only
@pytest.mark.parametrize(("value", "expected"), [("1", "False"), ("0", "True"), ("", "True")])
def test_tune_malloc_opt_out(value, expected):
    assert _tune_in_child(value).split()[0] == expected


_MMAPPED_BYTES_WHILE_HOLDING_64MB = """
import ctypes, sys, torch
from lowlight.runtime import bound_heap_growth, tune_malloc
if sys.argv[1] != "default":
    tune_malloc()
if sys.argv[1] == "tuned, then mixed sizes":
    assert bound_heap_growth()
class MallInfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
block = torch.empty(16 << 20)
print(libc.mallinfo2().hblkhd)
"""


@glibc_only
@pytest.mark.parametrize(("mode", "mmapped"), [("default", True), ("tuned", False), ("tuned, then mixed sizes", True)])
def test_large_buffers_come_from_the_heap_after_tuning(mode, mmapped):
    # Untuned, glibc maps a 64 MB tensor with mmap (fresh pages, unmapped on free); tuned, it comes
    # from the heap, whose freed memory the next forward pass reuses without page faults.
    command = [sys.executable, "-c", _MMAPPED_BYTES_WHILE_HOLDING_64MB, mode]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert (int(out) >= 64 << 20) is mmapped


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="weight pre-packing is oneDNN's")
def test_compile_frozen_prepacks_convolutions_and_matches_eager():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.ReLU()).eval()
    x = torch.rand(1, 4, 12, 10)
    run = compile_frozen(model)
    with torch.no_grad():
        expected = model(x)
        run(x)
        with profile() as prof:
            out = run(x)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # freezing replaces aten convolutions by oneDNN's pre-packed, fused ones
    kernels = {event.key for event in prof.key_averages()}
    assert "mkldnn::_convolution_pointwise" in kernels and "aten::convolution" not in kernels
