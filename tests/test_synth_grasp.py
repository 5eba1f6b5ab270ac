"""Grasps on synthetic objects: digits closed to contact, no interpenetration, fingertips on the object."""

import numpy as np
import pytest
import torch
import trimesh

from hoikit.eval.metrics import intersection_volume_cm3, signed_distance
from hoikit.hand.model import HandModel
from hoikit.hand.protocol import faces_for_side
from hoikit.synth.grasp import CONTACT_GAP_M, GraspConfig, GraspFailure, HandOnObject, choose_kind, make_grasp
from hoikit.synth.objects import FAMILIES, build_object
from hoikit.synth.proxies import HandBalls
from hoikit.types import FINGERTIPS, MM

TIP_RULE_M = 15 * MM


@pytest.fixture(scope="module")
def model():
    return HandModel()


def hand_mesh(model, grasp):
    return trimesh.Trimesh(grasp.vertices, faces_for_side(model.faces, grasp.side).numpy(), process=False)


def test_grasps_hold_without_interpenetration(model):
    """Every procedural family and a few more (20 grasps, both sides): accepted, IV (the metric's
    exact winding numbers) small, at least 3 fingertips within 15 mm of the surface."""
    ivs = []
    for i, family in enumerate(list(FAMILIES) + ["can", "mug", "ball", "knife", "box"]):
        rng = np.random.default_rng(100 + i)
        obj = build_object(family, rng)
        grasp = make_grasp(obj, model, rng, side="left" if i % 2 else "right")
        assert grasp.accepted, (family, grasp.rejections)
        iv = intersection_volume_cm3(hand_mesh(model, grasp), obj.mesh)
        tips = np.abs(signed_distance(obj.mesh, grasp.joints[list(FINGERTIPS)]))
        assert iv <= 2.0, family
        assert (tips <= TIP_RULE_M).sum() >= 3, (family, tips)
        ivs.append(iv)
    assert np.median(ivs) <= 0.5


def test_digits_stop_at_contact(model):
    """The touching links end just outside the contact gap, and the hand mesh touches the object."""
    rng = np.random.default_rng(7)
    obj = build_object("can", rng)
    grasp = make_grasp(obj, model, rng)
    ctx = HandOnObject(obj, HandBalls(torch.as_tensor(grasp.shape), grasp.side))
    clear = ctx.digit_clearance(torch.as_tensor(grasp.pose, dtype=torch.float32)[None], grasp.hand_to_object)[0]
    touching = grasp.touching[:5]
    assert touching.sum() >= 3
    closest = clear.amin(-1).numpy()[touching]
    assert np.all(closest >= CONTACT_GAP_M - 0.1 * MM) and np.all(closest <= CONTACT_GAP_M + 1.5 * MM), closest
    gaps = signed_distance(obj.mesh, grasp.vertices)
    assert -1 * MM < gaps.min() < 3 * MM


def test_kind_follows_the_object():
    rng = np.random.default_rng(0)
    can = build_object("can", rng)
    kind, hint = choose_kind(can, rng)
    assert kind == "power" and hint.part == "body"
    small = [build_object("ball", np.random.default_rng(s)) for s in range(40)]
    small = [o for o in small if o.extents.max() < 0.05]
    kinds = [choose_kind(o, rng)[0] for o in small]
    assert small and kinds.count("precision") >= 0.6 * len(kinds)
    big = [o for o in (build_object("ball", np.random.default_rng(s)) for s in range(40)) if o.extents.max() > 0.09]
    assert big and all(choose_kind(o, rng)[0] == "palm" for o in big)


def test_same_generator_same_grasp(model):
    obj = build_object("mug", 3)
    a = make_grasp(obj, model, np.random.default_rng(5))
    b = make_grasp(obj, model, np.random.default_rng(5))
    assert np.array_equal(a.pose, b.pose) and np.array_equal(a.hand_to_object.matrix(), b.hand_to_object.matrix())
    assert np.array_equal(a.vertices, b.vertices)


def test_failures_are_reported(model):
    obj = build_object("box", 1)
    strict = make_grasp(obj, model, np.random.default_rng(0), config=GraspConfig(max_candidates=2, max_iv_cm3=-1.0))
    assert not strict.accepted and len(strict.rejections) == 2 and strict.candidates == 2
    with pytest.raises(GraspFailure):
        make_grasp(obj, model, np.random.default_rng(0), config=GraspConfig(max_candidates=2, min_tips=6))
