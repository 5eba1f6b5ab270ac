"""``hoikit bench video``: the video method on synthetic clips with exact ground truth.

Each clip runs through :func:`hoikit.eval.video_method.run_clip` (its docstring: the perception
inputs made from the ground truth, and the scores).

Per variant (``full`` and with ``--ablations`` AlignHOI Table B's): object CD (cm², sim3 ICP of the
canonical mesh onto the true one) mean and median, F@5, F@10, ATE (mm, object centre trajectory,
Umeyama), MPJPE (mm, root-relative, frames then clips averaged), CD_h (cm², hand-relative, no
alignment, averaged over every ``cd_h_every``-th frame), RR and seconds per 100 frames. A clip whose
run fails counts against RR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hoikit.bench.machine import machine_info
from hoikit.eval.metrics import aggregate, rounded
from hoikit.eval.video_method import ALIGN, KEYS, run_clip


def run_variant(samples, hand_model, cfg, seed: int, generator=None) -> dict[str, Any]:
    records = [run_clip(s, hand_model, cfg, np.random.default_rng(seed * 7919 + i), generator=generator) for i, s in enumerate(samples)]
    agg = aggregate(records, list(KEYS))
    frames = sum(r["frames"] for r in records)
    return {
        "cd_cm2_mean": agg["cd_cm2_mean"], "cd_cm2_median": agg["cd_cm2_median"], "f5": agg["f5_mean"], "f10": agg["f10_mean"],
        "ate_mm": agg["ate_mm_mean"], "mpjpe_mm": agg["mpjpe_mm_mean"], "cd_h_cm2": agg["cd_h_cm2_mean"], "rr": agg["rr"], "n": agg["n"],
        "s_per_100_frames": 100.0 * sum(r["s"] for r in records) / max(frames, 1),
        "per_clip": [rounded(r, drop=("traceback",)) for r in records],
        "failures": [r.get("reason") for r in records if r.get("status") != "ok"][:10],
    }  # fmt: skip


def bench_video(
    synth_dir: str, n: int | None = None, ablations: bool = False, seed: int = 0, variants: tuple[str, ...] | None = None,
    weights: str | Path | None = None,
) -> dict[str, Any]:
    """Score ``full`` (with ``ablations`` every variant) on the first ``n`` clips of a synthetic video set.

    The coarse prior is chosen as in ``hoikit video``: the visual hull, or with ``weights`` the shape
    of hoikit-small with that file (``"default"``: the shipped one)."""
    from hoikit.errors import InputError
    from hoikit.eval.datasets import SynthDataset
    from hoikit.hand import load_hand_model
    from hoikit.video.config import VARIANTS, VideoConfig
    from hoikit.video.pipeline import prior_generator

    ds = SynthDataset(synth_dir)
    if not ds.is_video:
        raise InputError(f"{synth_dir}: not a video set (write one with `hoikit synth --video`)")
    samples = [ds[i] for i in range(len(ds) if n is None else min(n, len(ds)))]
    model = load_hand_model()
    gen = prior_generator(weights)
    chosen = variants or (VARIANTS if ablations else ("full",))
    out: dict[str, Any] = {}
    for v in chosen:
        out[v] = run_variant(samples, model, VideoConfig(seed=seed).with_variant(v), seed, gen)
    out.update({"n": len(samples), "prior": gen.name if gen is not None else "visual-hull", "synth": str(synth_dir), "align": ALIGN, "machine": machine_info()})
    return out
