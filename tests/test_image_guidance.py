"""The guided reconstruction keeps the metric hand as the anchor when there is no depth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hoikit.eval.image_method import gt_inputs
from hoikit.image.config import preset
from hoikit.image.pipeline import Models, reconstruct

TINY = dict(num_steps=4, hand_step=1, guidance_start=2, hand_iters=5, object_iters=3, joint_iters=2, grid_res=24,
            final_grid_res=32, crop_px=96)  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from hoikit.eval.datasets import SynthDataset
    from hoikit.synth.writer import SynthSettings, write_dataset

    out = tmp_path_factory.mktemp("guidance") / "synth"
    write_dataset(out, SynthSettings(n=1, seed=3, objects="procedural", size=(192, 192)))
    return SynthDataset(out)[0]


@pytest.fixture(scope="module")
def models():
    return Models.load()


def _hand_scale(sample, models, inputs: str, metric_hand: bool) -> tuple[float, float]:
    """(the guidance's hand scale, wrist→middle-MCP length of the output hand over the fitted one)."""
    from hoikit.image.pipeline import fit_hand

    inp = gt_inputs(sample, np.random.default_rng(0), with_depth=inputs == "rgbd")
    cfg = replace(preset("fast"), **TINY, metric_hand=metric_hand)
    rec = reconstruct(inp, models.generator, models.hand, cfg)
    fitted = fit_hand(models.hand, inp.joints3d, inp.side)[1].joints
    length = lambda j: float(np.linalg.norm(j[9] - j[0]))
    return rec.hand.params["guidance_transform"]["s"], length(rec.hand.joints) / length(fitted)


@pytest.mark.slow
def test_without_depth_the_hand_keeps_its_metric_size(sample, models):
    s, ratio = _hand_scale(sample, models, "rgb", metric_hand=True)
    assert s == pytest.approx(1.0, abs=1e-9) and ratio == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow
def test_the_hand_scale_is_free_with_depth_or_when_asked(sample, models):
    s_depth, _ = _hand_scale(sample, models, "rgbd", metric_hand=True)
    s_free, ratio = _hand_scale(sample, models, "rgb", metric_hand=False)
    assert abs(s_depth - 1.0) > 1e-6 and abs(s_free - 1.0) > 1e-6 and ratio == pytest.approx(s_free, rel=1e-3)


@pytest.mark.slow
def test_the_joint_phase_moves_the_hand_by_its_step_factor(sample, models):
    """Without the hand phase (no_phase1), only the joint phase can move the hand: with a step
    factor of 0 it stays exactly where the fit put it; with 1 it moves."""
    inp = gt_inputs(sample, np.random.default_rng(0), with_depth=False)
    base = replace(preset("fast"), **TINY).with_ablation("no_phase1")
    moved = {}
    for factor in (0.0, 1.0):
        cfg = replace(base, lr=replace(base.lr, joint_hand_factor=factor))
        T = reconstruct(inp, models.generator, models.hand, cfg).hand.params["guidance_transform"]
        moved[factor] = abs(T["s"] - 1.0) + float(np.abs(np.asarray(T["t"])).sum())
    assert moved[0.0] == 0.0 and moved[1.0] > 1e-5
