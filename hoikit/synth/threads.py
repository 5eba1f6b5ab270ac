"""Thread settings for synthesis.

Making a sample is thousands of small tensor operations. On a small, busy machine torch's
intra-op threads only wait on each other there: with two threads on the two-core development
laptop under load, a grasp took 10–20× longer than with one. Parallelism comes from processes
instead (``hoikit synth --workers``).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable)


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


def single_threaded(fn: F) -> F:
    """Decorator: ``fn`` runs inside :func:`torch_threads` (1)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch_threads(1):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
