"""``hoikit bench image``: the single-image method on synthetic photos with exact ground truth.

Reconstruction is measured apart from detection (DESIGN.md "Measuring"): the perception inputs are
what the embedded detector gives on a real photo, made from the ground truth — 2D keypoints + 3 px
Gaussian noise, root-relative 3D joints + 5 mm noise as MediaPipe's metric "world landmarks"
placed by the same PnP, the true masks and intrinsics — without depth (``rgb``) or with the true
depth map as the partial geometry (``rgbd``).

The per-sample run and scoring are :mod:`hoikit.eval.image_method`'s (``hoikit eval`` uses the same).
Per variant (``full`` and the ablations of FollowMyHold Table 2): CD (cm², icp-ts) mean and median,
F@5, F@10, IV median (cm³), RR and seconds per image. A sample whose run fails counts against RR.
"""

from __future__ import annotations

from pathlib import Path
from dataclasses import replace
from typing import Any

import numpy as np

from hoikit.bench.machine import machine_info
from hoikit.eval.image_method import Inputs, run_sample
from hoikit.eval.metrics import aggregate, rounded
from hoikit.image.config import ABLATIONS, ImageConfig, preset
from hoikit.image.pipeline import Models


def run_variant(samples, models: Models, cfg: ImageConfig, inputs: Inputs, seed: int) -> dict[str, Any]:
    records = [run_sample(s, models, cfg, inputs, np.random.default_rng(seed * 7919 + i)) for i, s in enumerate(samples)]
    times = [r["s"] for r in records]
    agg = aggregate(records, ["cd_cm2", "f5", "f10", "iv_cm3"])
    return {
        "cd_cm2_mean": agg["cd_cm2_mean"], "cd_cm2_median": agg["cd_cm2_median"], "f5": agg["f5_mean"],
        "f10": agg["f10_mean"], "iv_cm3_median": agg["iv_cm3_median"], "rr": agg["rr"], "n": agg["n"],
        "s_per_image": float(np.mean(times)) if times else float("nan"),
        "failures": [r.get("reason") for r in records if r.get("status") != "ok"][:10],
        "per_image": [_brief(s, r) for s, r in zip(samples, records)],
    }  # fmt: skip


def _brief(sample, rec: dict) -> dict[str, Any]:
    """One sample's record for the JSON: its id and family, status, CD, F@10, IV and seconds."""
    return {"id": sample.id, "family": sample.family, **rounded(rec, keep=("status", "reason", "cd_cm2", "f10", "iv_cm3", "s"))}


def bench_image(
    synth_dir: str, n: int | None = None, preset_name: str = "fast", ablations: bool = False, inputs: Inputs = "rgb", seed: int = 0,
    weights: str | None = None, variants: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Score ``full`` (with ``ablations`` every variant; ``variants`` names a subset) on the first
    ``n`` samples of a synthetic set."""
    from hoikit.eval.datasets import SynthDataset

    variants = variants or (ABLATIONS if ablations else ("full",))
    unknown = [v for v in variants if v not in ABLATIONS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}; expected some of {', '.join(ABLATIONS)}")
    ds = SynthDataset(synth_dir)
    samples = [ds[i] for i in range(len(ds) if n is None else min(n, len(ds)))]
    models = Models.load(weights=Path(weights) if weights else None)
    base = replace(preset(preset_name), seed=seed)
    out: dict[str, Any] = {}
    for v in variants:
        out[v] = run_variant(samples, models, base.with_ablation(v), inputs, seed)
    out.update({"inputs": inputs, "preset": preset_name, "n": len(samples), "synth": str(synth_dir), "machine": machine_info()})
    return out
