"""``hoikit bench synth``: how fast ``hoikit synth`` makes single-image samples here, and how good
their grasps are.

Speed: ``samples_per_s`` is single-process throughput of the real writer (make the sample, write
its folder) at the given size, after one warm-up sample (hand model, numba kernels, YCB loads),
over ``n`` samples: n / their total wall time. Stage medians split it into making and writing.
The 1-minute load average is recorded before and after, and the process's CPU seconds per sample:
on a small shared machine other work takes cores away, and wall time grows while CPU time does not.

Quality (on the written files, as an independent checker would see them, not timed): the
intersection volume of hand.ply and object.ply with the metric's exact winding numbers
(``iv_cm3_median``/``max``), the share of samples with at least 3 fingertip joints within
15 mm of the object surface, the mean share of the object's silhouette hidden by the hand, and
the grasp search's bookkeeping (candidates per grasp, objects per sample).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hoikit.bench.machine import machine_info
from hoikit.types import FINGERTIPS, MM

TIP_RULE_M = 15 * MM
TIP_RULE_COUNT = 3


def _quality(folder: Path) -> dict[str, float]:
    """IV (metric), fingertips near the surface, hidden share, from one written sample folder."""
    import json

    from hoikit.eval.metrics import intersection_volume_cm3, signed_distance
    from hoikit.io.mesh import load_mesh

    meta = json.loads((folder / "meta.json").read_text())
    hand, obj = load_mesh(folder / "hand.ply"), load_mesh(folder / "object.ply")
    tips = np.asarray(meta["hand"]["joints3d"])[list(FINGERTIPS)]
    near = int((np.abs(signed_distance(obj, tips)) <= TIP_RULE_M).sum())
    return {
        "iv_cm3": intersection_volume_cm3(hand, obj),
        "tips_near": near,
        "hidden_fraction": 1.0 - float(meta["object"]["visible_fraction"]),
        "candidates": int(meta["grasp"]["candidates"]),
        "objects_tried": int(meta["grasp"]["objects_tried"]),
        "accepted": bool(meta["grasp"]["accepted"]),
        "family": meta["object"]["family"],
        "largest_extent_m": float(max(meta["object"]["extents_m"])),
    }


def bench_synth(n: int = 20, seed: int = 12345, size: tuple[int, int] = (512, 512), objects: str = "all", quality: bool = True) -> dict[str, Any]:
    """Time ``n`` single-image samples through the writer (module docstring) and score them."""
    import torch

    from hoikit.synth.writer import SynthSettings, make_sample, save_sample

    settings = SynthSettings(n=n + 1, seed=seed, objects=objects, size=size)
    settings.check()
    load_before = os.getloadavg()[0]
    make_s, write_s, rows = [], [], []
    cpu_s = 0.0
    with tempfile.TemporaryDirectory(prefix="hoikit-bench-synth-") as tmp:
        out = Path(tmp)
        for index in range(n + 1):
            c0, t0 = time.process_time(), time.perf_counter()
            sample = make_sample(settings, index)
            t1 = time.perf_counter()
            folder = save_sample(out, settings, index, sample)
            t2 = time.perf_counter()
            if index == 0:
                continue  # warm-up
            cpu_s += time.process_time() - c0
            make_s.append(t1 - t0)
            write_s.append(t2 - t1)
            if quality:
                rows.append(_quality(folder))
    total = float(np.sum(make_s) + np.sum(write_s))
    result: dict[str, Any] = {
        "samples_per_s": n / total,
        "cpu_s_per_sample": cpu_s / n,
        "n": n,
        "size": list(size),
        "objects": objects,
        "make_s_median": float(np.median(make_s)),
        "write_s_median": float(np.median(write_s)),
        "sample_s_max": float(np.max(np.add(make_s, write_s))),
        "load_average_1m_before": load_before,
        "load_average_1m_after": os.getloadavg()[0],
        "torch_threads": torch.get_num_threads(),
    }
    if rows:
        result.update(_summary(rows))
    result["machine"] = machine_info()
    return result


def _summary(rows: list[dict]) -> dict[str, Any]:
    iv = np.array([r["iv_cm3"] for r in rows])
    return {
        "iv_cm3_median": float(np.median(iv)),
        "iv_cm3_max": float(iv.max()),
        "tip_rule_share": float(np.mean([r["tips_near"] >= TIP_RULE_COUNT for r in rows])),
        "hidden_fraction_mean": float(np.mean([r["hidden_fraction"] for r in rows])),
        "grasps_accepted_share": float(np.mean([r["accepted"] for r in rows])),
        "candidates_per_grasp_mean": float(np.mean([r["candidates"] for r in rows])),
        "objects_per_sample_mean": float(np.mean([r["objects_tried"] for r in rows])),
        "largest_extent_m_range": [float(min(r["largest_extent_m"] for r in rows)), float(max(r["largest_extent_m"] for r in rows))],
        "families": dict(sorted({f: sum(r["family"] == f for r in rows) for f in {r["family"] for r in rows}}.items())),
    }
