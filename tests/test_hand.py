"""hoikit's licence-free hand model: skeleton, mesh, SDF, mirroring, batching, fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from hoikit.eval.metrics import inside, signed_distance
from hoikit.geometry.rotations import random_rotations
from hoikit.hand import load_hand_model
from hoikit.hand.fitting import fit_joints
from hoikit.hand.model import HandModel
from hoikit.hand.protocol import HandModelLike
from hoikit.hand.skeleton import (
    DOF_NAMES,
    HAND_LENGTH_RANGE_M,
    NUM_POSE,
    POSE_LIMITS_DEG,
    limit_violation,
    pose_from_dict,
    pose_limits,
    relaxed_pose,
    rest_joints,
    squash_to_limits,
    unsquash_from_limits,
)
from hoikit.hand.template import TEMPLATE_PATH, self_intersections, template_digest
from hoikit.types import FINGERTIPS, HAND_PARENTS, MM, Sim3

MIDDLE_MCP, MIDDLE_TIP, INDEX_MCP, PINKY_MCP, THUMB_TIP, INDEX_TIP = 9, 12, 5, 17, 4, 8


@pytest.fixture(scope="module")
def model() -> HandModel:
    return HandModel(torch.float64)


def random_poses(n: int, seed: int) -> torch.Tensor:
    """(n, 21) uniform inside the joint limits."""
    lo, hi = pose_limits(torch.float64)
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, NUM_POSE, generator=g, dtype=torch.float64)


def random_shapes(n: int, rng: np.random.Generator) -> torch.Tensor:
    return torch.as_tensor(np.stack([rng.uniform(*HAND_LENGTH_RANGE_M, n), rng.uniform(0.9, 1.1, n), rng.uniform(0.92, 1.08, n)], 1))


def random_transform(rng: np.random.Generator) -> Sim3:
    return Sim3(torch.tensor(1.0, dtype=torch.float64), torch.as_tensor(random_rotations(1, rng)[0]), torch.as_tensor(rng.normal(scale=0.2, size=3)))


# ------------------------------------------------------------------------------ skeleton
@pytest.mark.parametrize("shape", [(0.16, 1.0, 1.0), (0.185, 0.9, 1.08), (0.21, 1.1, 0.92)])
def test_hand_length_is_wrist_to_middle_tip_in_the_straight_pose(model, shape):
    out = model(torch.zeros(1, NUM_POSE), torch.tensor(shape), vertices=False)
    length = (out.joints[0, MIDDLE_TIP] - out.joints[0, 0]).norm()
    assert float(length) == pytest.approx(shape[0], abs=1e-3 * MM)


def test_canonical_frame():
    """Wrist at the origin, +y to the middle MCP, thumb towards +x, fingers flex towards +z."""
    rest = rest_joints(torch.tensor([[0.185, 1.0, 1.0]], dtype=torch.float64))[0]
    assert rest[0].abs().max() == 0
    assert rest[MIDDLE_MCP, 0].abs() < 1e-12 and rest[MIDDLE_MCP, 2].abs() < 1e-12 and rest[MIDDLE_MCP, 1] > 0.07
    assert rest[THUMB_TIP, 0] > rest[INDEX_MCP, 0] > 0 > rest[PINKY_MCP, 0]
    model = HandModel(torch.float64)
    flexed = model(pose_from_dict({"index_mcp_flex": 60.0})[None], vertices=False).joints[0]
    assert flexed[INDEX_TIP, 2] > 0.05  # ~8 cm of finger swung 60° towards the palm side


def test_bone_lengths_are_preserved_by_forward_kinematics(model, rng):
    shapes = random_shapes(6, rng)
    rest = model(torch.zeros(6, NUM_POSE), shapes, vertices=False).joints
    posed = model(random_poses(6, seed=1), shapes, random_transform(rng), vertices=False).joints
    child = torch.arange(1, 21)
    parent = torch.tensor(HAND_PARENTS[1:])
    bones_rest = (rest[:, child] - rest[:, parent]).norm(dim=-1)
    bones_posed = (posed[:, child] - posed[:, parent]).norm(dim=-1)
    torch.testing.assert_close(bones_posed, bones_rest, atol=1e-9, rtol=0)


def test_limits_and_the_limit_helpers():
    lo, hi = pose_limits(torch.float64)
    assert len(DOF_NAMES) == NUM_POSE == len(set(DOF_NAMES)) == 21
    assert torch.all(lo < 0) and torch.all(hi > 0)  # zero (flat hand) is inside every range
    assert torch.all((relaxed_pose(torch.float64) >= lo) & (relaxed_pose(torch.float64) <= hi))
    assert math.radians(POSE_LIMITS_DEG["index_pip_flex"][1]) == pytest.approx(float(hi[DOF_NAMES.index("index_pip_flex")]))
    u = torch.linspace(-30, 30, 7, dtype=torch.float64)[:, None].expand(-1, NUM_POSE)
    squashed = squash_to_limits(u, lo, hi)
    assert torch.all((squashed >= lo) & (squashed <= hi))
    inner = random_poses(4, seed=2)
    torch.testing.assert_close(squash_to_limits(unsquash_from_limits(inner, lo, hi), lo, hi), inner)
    assert torch.all(limit_violation(inner, lo, hi) == 0)
    assert float(limit_violation(hi[None] + 0.1, lo, hi)[0]) == pytest.approx(NUM_POSE * 0.01)
    with pytest.raises(KeyError, match="unknown hand DoF"):
        pose_from_dict({"index_knuckle": 10.0})


def test_shape_parameters_change_proportions_not_hand_length(model):
    def joints(shape):
        return model(torch.zeros(1, NUM_POSE), torch.tensor(shape, dtype=torch.float64), vertices=False).joints[0]

    base, wide, long_fingers = joints((0.185, 1.0, 1.0)), joints((0.185, 1.1, 1.0)), joints((0.185, 1.0, 1.08))
    span = lambda j: float(j[INDEX_MCP, 0] - j[PINKY_MCP, 0])  # noqa: E731
    assert span(wide) == pytest.approx(1.1 * span(base), rel=1e-9)
    assert float(long_fingers[MIDDLE_MCP, 1]) < float(base[MIDDLE_MCP, 1])  # longer fingers, shorter palm
    assert float(long_fingers[MIDDLE_TIP, 1]) == pytest.approx(0.185, abs=1e-9)


# ------------------------------------------------------------------------------ mesh
def test_template_mesh_is_closed_embedded_and_within_budget(model):
    V, F = model.template.numpy(), model.faces.numpy()
    mesh = trimesh.Trimesh(V, F, process=False)
    assert 1000 <= len(V) <= 3000
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.euler_number == 2 and mesh.volume > 0
    assert self_intersections(V, F) == 0
    assert str(np.load(TEMPLATE_PATH)["digest"]) == template_digest(), "rebuild: python -m hoikit.hand.template"


def test_rest_mesh_scales_with_hand_length(model):
    out = model(torch.zeros(1, NUM_POSE), torch.tensor([0.2, 1.0, 1.0]))
    # rest vertices sit on the SDF (0.2 × the unit template, then one snap step of well under a mm)
    assert float((out.vertices[0] - 0.2 * model.template).abs().max()) < 0.5 * MM
    volume_cm3 = out.meshes()[0].volume * 1e6
    assert 250 < volume_cm3 < 450  # a 20 cm adult hand is ~300-450 cm³


def test_posed_meshes_stay_closed_with_positive_volume(model):
    for mesh in model(random_poses(4, seed=3)).meshes():
        assert mesh.is_watertight and mesh.volume > 0


def test_fingertip_vertices_follow_the_fingertip_joints(model, rng):
    out = model(random_poses(4, seed=4), random_shapes(4, rng), random_transform(rng))
    tips = out.vertices[:, list(model.fingertip_vertices)]
    assert float((tips - out.joints[:, list(FINGERTIPS)]).norm(dim=-1).max()) < 5 * MM


def test_left_hand_is_the_mirrored_right_hand(model):
    pose = random_poses(2, seed=5)
    right, left = model(pose, side="right"), model(pose, side="left")
    mirror = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(left.joints, right.joints * mirror)
    torch.testing.assert_close(left.vertices, right.vertices * mirror)
    torch.testing.assert_close(left.faces, right.faces.flip(-1))
    assert float(left.joints[0, THUMB_TIP, 0]) < 0
    for mesh in left.meshes():
        assert mesh.is_watertight and mesh.volume > 0
    points = torch.randn(2, 500, 3, dtype=torch.float64) * 0.05
    torch.testing.assert_close(left.sdf(points * mirror), right.sdf(points))


# ------------------------------------------------------------------------------ SDF
def _near_surface_points(mesh: trimesh.Trimesh, n: int, sigma: float, seed: int) -> np.ndarray:
    points, _ = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return points + np.random.default_rng(seed).normal(scale=sigma, size=points.shape)


def test_sdf_sign_agrees_with_the_mesh_winding_number(model, rng):
    """Points 5 mm (σ) around posed hands: relaxed and random within-limit poses."""
    pose = torch.cat([relaxed_pose(torch.float64)[None], random_poses(3, seed=6)])
    out = model(pose, random_shapes(4, rng), random_transform(rng))
    agree, errors = [], []
    for i, mesh in enumerate(out.meshes()):
        q = _near_surface_points(mesh, 4000, 5 * MM, seed=i)
        sdf = out.sdf(torch.as_tensor(q)[None].expand(len(pose), -1, -1))[i].numpy()
        agree.append(np.mean((sdf < 0) == inside(mesh, q)))
        errors.append(np.abs(sdf - signed_distance(mesh, q)))
    assert min(agree) > 0.95 and np.mean(agree) > 0.97
    assert np.median(np.concatenate(errors)) < 0.5 * MM


def test_sdf_is_a_distance_outside_and_negative_inside(model):
    out = model(relaxed_pose(torch.float64)[None])
    wrist_inside = torch.tensor([[[0.0, 0.0, 0.0]]], dtype=torch.float64)
    assert float(out.sdf(wrist_inside)) < -0.01
    far = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=torch.float64, requires_grad=True)
    d = out.sdf(far)
    assert 0.8 < float(d.detach()) < 1.0
    (g,) = torch.autograd.grad(d.sum(), far)
    assert float(g.norm()) == pytest.approx(1.0, abs=1e-3)  # slightly under 1 where fillets blend two parts


# ------------------------------------------------------------------------------ torch
def test_gradients_reach_pose_shape_and_transform(model):
    pose = relaxed_pose(torch.float64)[None].clone().requires_grad_(True)
    shape = torch.tensor([[0.18, 1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([1.1], dtype=torch.float64, requires_grad=True)
    rot = torch.eye(3, dtype=torch.float64)[None].clone().requires_grad_(True)
    t = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    out = model(pose, shape, Sim3(s, rot, t))
    points = torch.randn(1, 64, 3, dtype=torch.float64) * 0.05
    loss = out.vertices.square().sum() + out.joints.sum() + out.sdf(points).sum()
    grads = torch.autograd.grad(loss, [pose, shape, s, rot, t])
    for g in grads:
        assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert torch.all(grads[0].abs() > 0)  # every joint angle moves the mesh


def test_batched_shared_shape_equals_per_item_forward(model, rng):
    pose = random_poses(3, seed=7)
    shape = torch.tensor([0.19, 1.05, 0.95], dtype=torch.float64)
    batched = model(pose, shape)
    for i in range(3):
        single = model(pose[i : i + 1], shape[None])
        torch.testing.assert_close(batched.vertices[i : i + 1], single.vertices)
        torch.testing.assert_close(batched.joints[i : i + 1], single.joints)


def test_float32_matches_float64(model):
    pose = random_poses(2, seed=8)
    out64 = model(pose)
    out32 = HandModel(torch.float32)(pose.float())
    assert out32.vertices.dtype == torch.float32
    assert float((out32.vertices.double() - out64.vertices).abs().max()) < 0.01 * MM


def test_load_hand_model_defaults_to_hoikit(monkeypatch):
    monkeypatch.delenv("HOIKIT_MANO", raising=False)
    model = load_hand_model()
    assert isinstance(model, HandModel) and isinstance(model, HandModelLike)


# ------------------------------------------------------------------------------ fitting
def _targets(model, pose, shape, transform, side):
    return model(pose, shape, transform, side, vertices=False).joints[0]


@pytest.mark.parametrize("side", ["right", "left"])
def test_fit_recovers_random_within_limit_poses(model, rng, side):
    errors = []
    for k in range(3):
        pose = random_poses(1, seed=20 + k)
        target = _targets(model, pose, random_shapes(1, rng), random_transform(rng), side)
        fit = model.fit_to_joints(target, side=side)
        lo, hi = pose_limits(torch.float64)
        assert torch.all((fit.pose >= lo - 1e-9) & (fit.pose <= hi + 1e-9))
        errors.append(fit.mean_error_m)
    assert np.mean(errors) < 3 * MM and max(errors) < 5 * MM


def test_fit_with_mediapipe_like_noise(model, rng):
    """5 mm noise per coordinate (~8 mm per joint): the fit lands closer to the truth than the data."""
    to_truth, noise = [], []
    for k in range(3):
        truth = _targets(model, random_poses(1, seed=30 + k), random_shapes(1, rng), random_transform(rng), "right")
        noisy = truth + torch.as_tensor(rng.normal(scale=5 * MM, size=(21, 3)))
        fit = fit_joints(model, noisy)
        to_truth.append(float((fit.joints[0] - truth).norm(dim=-1).mean()))
        noise.append(float((noisy - truth).norm(dim=-1).mean()))
    assert np.mean(to_truth) < 6 * MM and np.mean(to_truth) < 0.8 * np.mean(noise)


def test_fit_of_a_clip_shares_one_shape(model, rng):
    shape = torch.tensor([0.175, 0.95, 1.05], dtype=torch.float64)
    pose = random_poses(4, seed=40)
    transforms = [random_transform(rng) for _ in range(4)]
    targets = torch.stack([_targets(model, pose[i : i + 1], shape, transforms[i], "right") for i in range(4)])
    fit = model.fit_to_joints(targets, shared_shape=True)
    assert fit.shape.shape == (1, 3)
    assert float(fit.shape[0, 0]) == pytest.approx(0.175, abs=1 * MM)
    assert fit.mean_error_m < 3 * MM
    fixed = model.fit_to_joints(targets, shape=shape)
    torch.testing.assert_close(fixed.shape, shape[None].expand(4, -1))
    assert fixed.mean_error_m < 3 * MM


def test_fit_ignores_joints_with_zero_weight(model, rng):
    truth = _targets(model, random_poses(1, seed=50), None, random_transform(rng), "right")
    corrupted = truth.clone()
    corrupted[INDEX_TIP] += 0.1  # a wild detection
    weights = torch.ones(21, dtype=torch.float64)
    weights[INDEX_TIP] = 0.0
    fit = model.fit_to_joints(corrupted, weights=weights)
    others = [j for j in range(21) if j != INDEX_TIP]
    assert float(fit.residual_m[0, others].mean()) < 3 * MM
    assert float(fit.residual_m[0, INDEX_TIP]) > 0.05
