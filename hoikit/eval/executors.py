"""Where the samples of an evaluation run: in this process, or as Ray tasks (local or a cluster).

Both call :func:`evaluate_one` per sample, give each sample its own time limit (a sample over time
is a failure, like any other), and report every finished sample through ``on_done(id, record)``
as soon as it finishes, so that the runner can save it (resumability).
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from hoikit.errors import HoikitError

OnDone = Callable[[str, dict], None]
RAY_POLL_S = 1.0  # how often the driver checks tasks against their time limits


class SampleTimeout(BaseException):
    """Raised inside a sample that ran past its limit (a BaseException, so that the method's own
    ``except Exception`` does not swallow it and carry on)."""


def failed(reason: str) -> dict:
    return {"status": "failed", "reason": reason}


def evaluate_one(dataset, method, sample_id: str, out_dir: Path | None) -> dict:
    """Load one sample and run the method on it; every error becomes a failed record with its
    reason. ``s`` is the whole time (loading included)."""
    t0 = time.perf_counter()
    try:
        rec = dict(method(dataset.load(sample_id), out_dir))
    except SampleTimeout:
        raise
    except HoikitError as e:  # e.g. an unreadable image: the user can act on the message
        rec = failed(f"{type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001 - a bug must not stop the run either; it is recorded
        rec = failed(f"internal error: {type(e).__name__}: {e}")
    rec["s"] = time.perf_counter() - t0
    return {"id": sample_id, **rec}


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`SampleTimeout` in this (main) thread after ``seconds``; a no-op elsewhere."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expire(signum, frame):
        raise SampleTimeout()

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def over_time(limit_s: float) -> dict:
    return failed(f"time limit of {limit_s:g} s exceeded")


def run_serial(dataset, method, ids: list[str], out_dir_of: Callable[[str], Path | None], limit_s: float | None, on_done: OnDone) -> None:
    """One sample after the other in this process (``--workers 0``: debugging, profiling)."""
    for sample_id in ids:
        try:
            with time_limit(limit_s):
                rec = evaluate_one(dataset, method, sample_id, out_dir_of(sample_id))
        except SampleTimeout:
            rec = {"id": sample_id, **over_time(limit_s), "s": limit_s}
        on_done(sample_id, rec)


def _ray_task(dataset, method, sample_id: str, out_dir: Path | None) -> dict:
    import torch

    torch.set_num_threads(1)  # one CPU per task: more threads only wait on each other
    return evaluate_one(dataset, method, sample_id, out_dir)


def start_ray(workers: int, address: str | None) -> bool:
    """Connect to ``address`` or start a local instance with ``workers`` CPUs; True when started here."""
    import ray

    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise HoikitError(f"could not start Ray{f' at {address}' if address else ''}: {e}") from None
    return True


def run_ray(dataset, method, ids: list[str], out_dir_of: Callable[[str], Path | None], limit_s: float | None,
            on_done: OnDone, workers: int, address: str | None = None) -> None:  # fmt: skip
    """One Ray task per sample, at most ``workers`` at a time (so a task starts when it is submitted
    and its time limit counts from then); a task over time is cancelled (its worker killed)."""
    import ray

    started = start_ray(workers, address)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        ds_ref, method_ref = ray.put(dataset), ray.put(method)
        queue, pending = list(ids), {}  # ref -> (id, submitted at)
        while queue or pending:
            while queue and len(pending) < workers:
                sample_id = queue.pop(0)
                pending[task.remote(ds_ref, method_ref, sample_id, out_dir_of(sample_id))] = (sample_id, time.monotonic())
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=RAY_POLL_S)
            for ref in ready:
                sample_id, _ = pending.pop(ref)
                on_done(sample_id, _result(ref, sample_id))
            for ref, (sample_id, t0) in list(pending.items()):
                if limit_s and time.monotonic() - t0 > limit_s:
                    ray.cancel(ref, force=True)
                    pending.pop(ref)
                    on_done(sample_id, {"id": sample_id, **over_time(limit_s), "s": limit_s})
    finally:
        if started:
            ray.shutdown()


def _result(ref: Any, sample_id: str) -> dict:
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as e:  # the worker died (out of memory, a crash in native code)
        return {"id": sample_id, **failed(f"worker failed: {type(e).__name__}: {str(e).splitlines()[0]}")}
