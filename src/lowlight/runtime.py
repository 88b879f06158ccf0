"""Runtime settings that make CPU inference faster: the allocator, and compilation with frozen weights.

PyTorch's CPU allocator hands large blocks to the C library. glibc serves blocks above its mmap
threshold (at most 32 MB) with fresh ``mmap`` pages and returns them to the kernel on free, so a
network whose full-resolution activations are tens of megabytes page-faults every one of them in
again on every forward pass. At 600x400, a 64-channel activation is 61 MB: writing it into fresh pages
takes about 16 ms on the 2-core reference machine, writing it into reused memory about 2 ms.
``tune_malloc`` makes glibc keep freed memory for reuse instead; ``lowlight`` commands call it at
start-up (``benchmarks/cpu_speed.py`` measures the effect), library users may call it themselves.

Blocks of 128 MB and more (full-resolution activations of photos above about 2 megapixels) still come
from ``mmap``: keeping those in the heap bought about 6 % of speed on a 2-megapixel photo but fragmented it,
raising the peak from 2.9 to 4.1 GiB and making it depend on the thread timing and on the images before
(``benchmarks/large_image_memory.py --mixed``).

A folder of photos of several sizes still fragments the heap: a 1080x1920 photo after a 1920x1080 one peaked
at 3.75-4.08 GiB against 3.43-3.55 GiB alone (AMD EPYC, 2 threads). Once a run meets a second image size,
:func:`bound_heap_growth` lowers the threshold to 32 MB for the rest of the run: the pair then peaked at 2.77
GiB, at about 25 % more time per 2-megapixel photo (46 against 37 s beside a training run). Runs over one
image size (videos, benchmark sets) never switch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks this large keep coming from mmap (and go back to the kernel when freed).
_MMAP_THRESHOLD_BYTES = 128 << 20
# ... and this large once a run has met images of different sizes (glibc's own largest dynamic threshold)
_MIXED_MMAP_THRESHOLD_BYTES = 32 << 20
# Freed memory at the top of the heap is returned to the kernel only above this size.
_TRIM_THRESHOLD_BYTES = 1 << 30
OPT_OUT_VARIABLE = "LOWLIGHT_DEFAULT_MALLOC"

_tuned = False


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name is not None else None


def tune_malloc() -> bool:
    """Serve allocations below 128 MB from the reusable heap instead of fresh mmap pages (glibc only).

    Sets glibc's ``M_MMAP_THRESHOLD`` to 128 MiB (which also stops glibc from moving it) and
    ``M_TRIM_THRESHOLD`` to 1 GiB for this process. The price is that up to 1 GiB of freed memory stays
    with the process until it exits or :func:`release_memory` is called. Does nothing (and returns
    False) on other C libraries, or when the environment variable ``LOWLIGHT_DEFAULT_MALLOC`` is set
    to a non-empty value other than ``0``.

    Returns:
        True when the settings are (or already were) applied.
    """
    global _tuned
    if _tuned:
        return True
    if os.environ.get(OPT_OUT_VARIABLE, "0") not in ("", "0"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = _libc()
    if libc is None:
        return False
    # mallopt returns 1 on success.
    _tuned = (
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES) == 1
        and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES) == 1
    )
    if not _tuned:
        log.debug("glibc mallopt refused the allocator settings")
    return _tuned


def bound_heap_growth() -> bool:
    """Serve blocks of 32 MB and more from ``mmap`` from now on (when :func:`tune_malloc` applied).

    For runs over images of several sizes, where the reused heap fragments and the peak grows image after
    image; the price is page faults on the large activations of photos above about a megapixel. Returns True
    when the setting was applied.
    """
    if not _tuned:
        return False
    libc = _libc()
    return libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, _MIXED_MMAP_THRESHOLD_BYTES) == 1


def release_memory() -> bool:
    """Give the free memory the tuned allocator keeps back to the kernel (glibc ``malloc_trim``).

    With ``tune_malloc`` the heap keeps freed blocks for reuse, which is what a run of same-size images
    wants; between images of different sizes the free blocks no longer fit and the heap would grow
    image after image. Returns True when memory was released.
    """
    if not _tuned:
        return False
    libc = _libc()
    return libc is not None and libc.malloc_trim(0) == 1


def compile_frozen(model: nn.Module, **compile_kwargs: Any) -> Callable[..., Any]:
    """``torch.compile`` for inference with frozen weights: the weights become constants of the graph.

    With freezing, inductor pre-packs convolution weights for oneDNN and fuses bias, activations and
    additions into the convolutions (about 8 % faster for darkir_m at 600x400 on CPU). Changes made to
    the weights after the first call are not seen. Call the result under ``torch.no_grad()`` or
    ``torch.inference_mode()``; with gradients enabled it compiles without freezing.

    ``torch.compile(options={"freezing": True})`` does not turn freezing on in torch 2.13 (the flag is
    read outside the patched configuration), so the global flag is set around every call instead: each
    call may compile, for a new input size.
    """
    import torch
    from torch._inductor import config as inductor_config

    compiled = torch.compile(model, **compile_kwargs)

    def run(*args: Any, **kwargs: Any) -> Any:
        with inductor_config.patch(freezing=True):
            return compiled(*args, **kwargs)

    return run
