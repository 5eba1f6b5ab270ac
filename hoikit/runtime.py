"""Torch runtime settings in one place: intra-op threads and deterministic kernels.

Threads. Making a synthetic sample is thousands of small tensor operations. On a small, busy machine torch's
intra-op threads only wait on each other there: with two threads on the two-core development
laptop under load, a grasp took 10–20× longer than with one. Parallelism comes from processes
instead (``hoikit synth --workers``).

Determinism. With more than one thread, the backward pass of a gather (``vertices[faces]``) on the
CPU adds the gradient contributions in whatever order the threads reach them; the guided sampler
is chaotic enough that these last-bit differences moved the demo's object by several millimetres
and its hand-object overlap from 1 to 2.5 cm³ between two identical runs. Inside
:func:`deterministic` torch uses its ordered kernels instead (measured ~10 % slower on the demo).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run a block with torch's intra-op thread count set to ``n``; the previous count is restored."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


# decorator: the function runs inside torch_threads(1) (a contextmanager is also a decorator,
# with a fresh context per call)
single_threaded = torch_threads(1)


@contextmanager
def deterministic() -> Iterator[None]:
    """Run a block with torch's deterministic kernels (warn, don't fail, where an op has none);
    the previous setting is restored, so library callers keep their own choice outside."""
    before, warn_before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_before)
