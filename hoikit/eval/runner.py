"""``hoikit eval``: a method on every sample of a dataset, in parallel, resumable, failures kept.

Output folder::

    OUT/eval.json            what was evaluated (dataset, split, method): a rerun must match it
    OUT/records/<id>.json    one record per finished sample (written atomically; the resume marker)
    OUT/results/<id>/        the sample's result folder (result.json, meshes, overlay.png, views.png)
    OUT/summary.json|csv|md, samples.csv, cd_hist.png, fscore_curve.png, iv_vs_cd.png

A rerun skips every sample that has a record (``force`` redoes them, ``retry_failed`` redoes the
failures), so an interrupted run continues where it stopped and a finished one does no work.
The summary depends on the records alone, so a rerun writes the same ``summary.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hoikit.errors import HoikitError, InputError
from hoikit.eval.executors import run_ray, run_serial
from hoikit.io.results import to_jsonable, write_json_atomic

DEFAULT_TIME_LIMIT_S = 3600.0  # FollowMyHold's paper preset takes ~6 min per image on an H100


@dataclass(frozen=True)
class EvalSettings:
    """How to run (not what): parallelism, limits, what to redo."""

    workers: int = 2  # Ray tasks at a time; 0 = in this process, without Ray
    ray_address: str | None = None  # an existing cluster (default: a local instance)
    limit: int | None = None  # the first N samples of the split only
    force: bool = False  # redo samples that have a record
    retry_failed: bool = False  # redo samples whose record is a failure
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S  # per sample; over it = a failure
    save_results: bool = True  # write each sample's result folder (for view / report)
    progress: bool = True


@dataclass
class EvalOutcome:
    summary: dict[str, Any]
    ran: int  # samples evaluated by this call
    skipped: int  # samples that already had a record
    seconds: float


def record_key(sample_id: str) -> str:
    """A file name for a sample id (ids may hold '/')."""
    return sample_id.replace("/", "__")


def read_record(path: Path, sample_id: str) -> dict | None:
    """The saved record, or None when absent or unusable (the sample is then run again)."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return rec if isinstance(rec, dict) and rec.get("id") == sample_id and "status" in rec else None


def _check_out(out: Path, what: dict, force: bool) -> None:
    """A rerun into ``out`` must evaluate the same thing (else the records would be mixed)."""
    path = out / "eval.json"
    if path.is_file() and not force:
        before = json.loads(path.read_text())
        if before != to_jsonable(what):
            diff = sorted(k for k in set(before) | set(what) if before.get(k) != to_jsonable(what).get(k))
            raise InputError(f"{out} holds a run of a different evaluation (differs in: {', '.join(diff)}); "
                             "use another -o, or --force to redo every sample")  # fmt: skip
    write_json_atomic(path, what)


def _todo(ids: list[str], records_dir: Path, settings: EvalSettings) -> list[str]:
    if settings.force:
        return list(ids)
    todo = []
    for i in ids:
        rec = read_record(records_dir / f"{record_key(i)}.json", i)
        if rec is None or (settings.retry_failed and rec["status"] != "ok"):
            todo.append(i)
    return todo


def _progress(total: int, enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), disable=not enabled, transient=False)  # fmt: skip


def run_eval(dataset, method, out: Path, settings: EvalSettings = EvalSettings(), describe: dict | None = None) -> EvalOutcome:
    """Evaluate ``method`` on ``dataset`` into ``out`` (module docstring); returns the summary."""
    from hoikit.eval.plots import write_plots
    from hoikit.eval.summary import summarise, write_summary

    t0 = time.perf_counter()
    ids = list(dataset.ids)[: settings.limit] if settings.limit is not None else list(dataset.ids)
    if not ids:
        raise InputError(f"{dataset.root}: the dataset (split) has no samples")
    keys = {record_key(i) for i in ids}
    if len(keys) != len(ids):
        raise HoikitError(f"{dataset.root}: sample ids are not unique")
    what = {"dataset": dataset.name, "root": str(dataset.root), **(describe or {}),
            "method": method.describe() if hasattr(method, "describe") else {"method": repr(method)}}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    _check_out(out, what, settings.force)
    records_dir, results_dir = out / "records", out / "results"
    records_dir.mkdir(exist_ok=True)
    todo = _todo(ids, records_dir, settings)
    if todo and hasattr(method, "check"):
        method.check()
    out_dir_of: Callable[[str], Path | None] = (lambda i: results_dir / record_key(i)) if settings.save_results else (lambda i: None)
    counts = {"ok": 0, "failed": 0}
    with _progress(len(todo), settings.progress and bool(todo)) as bar:
        task = bar.add_task(f"eval {dataset.name}", total=len(todo), status="")

        def done(sample_id: str, rec: dict) -> None:
            write_json_atomic(records_dir / f"{record_key(sample_id)}.json", rec)
            counts["ok" if rec.get("status") == "ok" else "failed"] += 1
            bar.update(task, advance=1, status=f"ok {counts['ok']} failed {counts['failed']}")

        if todo and settings.workers == 0:
            run_serial(dataset, method, todo, out_dir_of, settings.time_limit_s, done)
        elif todo:
            run_ray(dataset, method, todo, out_dir_of, settings.time_limit_s, done, settings.workers, settings.ray_address)
    records = [read_record(records_dir / f"{record_key(i)}.json", i) for i in ids]
    missing = [i for i, r in zip(ids, records) if r is None]
    if missing:  # cannot happen unless a record was removed meanwhile; never summarise a partial run
        raise HoikitError(f"{len(missing)} samples have no record (e.g. {missing[0]}); run again to finish them")
    summary = summarise(records, {k: v for k, v in what.items()})
    write_summary(out, summary, records)
    write_plots(out, records, summary)
    return EvalOutcome(summary, len(todo), len(ids) - len(todo), time.perf_counter() - t0)
