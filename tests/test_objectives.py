"""Objective terms against hand-computed values and independent computations, signed distances
against analytic shapes and finite differences, and a penetration/contact optimisation."""

import math

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial import cKDTree

from hoikit.eval.metrics import hand_object_distance_m, intersection_volume_cm3
from hoikit.geometry.grid import grid_points, sample_grid
from hoikit.geometry.marching_cubes import marching_cubes
from hoikit.geometry.sdf import mesh_sdf_grid, mesh_signed_distance
from hoikit.objectives import (
    contact_loss,
    disparity_loss,
    intersection_loss,
    iou_validity,
    keypoint_loss,
    laplacian_smoothness,
    masked_iou_loss,
    normal_loss,
    overlap_grid,
    penetration_loss,
    proximity_loss,
    scale_reg,
    silhouette_bce,
    surface_loss,
    translation_reg,
)
from hoikit.types import Camera

D = torch.float64


# ------------------------------------------------------------------------------- image terms
def test_normal_loss_is_one_minus_cosine_over_the_mask():
    n = torch.tensor([[[0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], [[0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]], dtype=D)
    target = torch.tensor([[[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0], [0.0, 0.0, 3.0]]], dtype=D)
    assert normal_loss(n, target).item() == pytest.approx((0 + 2 + 1 + 0) / 4)
    mask = torch.tensor([[True, True], [False, False]])
    assert normal_loss(n, target, mask).item() == pytest.approx(1.0)
    assert normal_loss(n, target, torch.zeros(2, 2, dtype=torch.bool)).item() == 0.0


def test_disparity_and_bce_against_reference_formulas():
    rng = np.random.default_rng(0)
    pred, target = torch.tensor(rng.random((8, 9))), torch.tensor(rng.random((8, 9)))
    mask = torch.tensor(rng.random((8, 9)) > 0.4)
    expected = (pred - target).abs()[mask].mean()
    assert disparity_loss(pred, target, mask).item() == pytest.approx(expected.item())
    hard = (target > 0.5).to(D)
    ref = torch.nn.functional.binary_cross_entropy(pred, hard, reduction="none")
    assert silhouette_bce(pred, hard).item() == pytest.approx(ref.mean().item(), rel=1e-9)
    assert silhouette_bce(pred, hard, mask).item() == pytest.approx(ref[mask].mean().item(), rel=1e-9)


def test_keypoint_loss_is_mean_squared_pixel_error():
    cam = Camera(np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]), 640, 480)
    pts = torch.tensor([[0.0, 0.0, 0.5], [0.1, -0.05, 1.0]], dtype=D)
    kp = torch.tensor([[320.0 + 3, 240.0 + 4], [370.0, 215.0 - 1]], dtype=D)
    assert keypoint_loss(pts, kp, cam).item() == pytest.approx((25 + 1) / 2)
    assert keypoint_loss(pts, kp, cam, torch.tensor([1.0, 0.0])).item() == pytest.approx(25)


def test_masked_iou_with_validity_and_occlusion():
    target_hand = torch.zeros(4, 6, dtype=D)
    target_hand[1:3, 0:3] = 1
    target_obj = torch.zeros(4, 6, dtype=D)
    target_obj[0:4, 3:6] = 1  # the object occludes the hand's right part in the photo
    rendered = torch.zeros(4, 6, dtype=D)
    rendered[1:3, 0:5] = 1  # the full (unoccluded) hand extends under the object
    assert masked_iou_loss(rendered, target_hand).item() == pytest.approx(1 - 6 / 10)
    valid = iou_validity(target_obj)
    assert masked_iou_loss(rendered, target_hand, valid).item() == pytest.approx(0.0)
    # soft masks: Int = Σ V·p·t, Uni = Σ V·p + Σ V·t − Int
    p = torch.full((4, 6), 0.5, dtype=D)
    inter = 0.5 * 6
    assert masked_iou_loss(p, target_hand, valid).item() == pytest.approx(1 - inter / (0.5 * 12 + 6 - inter))


def test_masked_iou_still_pulls_when_masks_are_disjoint():
    target = torch.zeros(5, 5, dtype=D)
    target[0, 0] = 1
    pred = torch.zeros(5, 5, dtype=D)
    pred[4, 3:5] = 0.9
    pred.requires_grad_(True)
    loss = masked_iou_loss(pred, target)
    loss.backward()
    assert loss.item() == pytest.approx(1.0)
    assert pred.grad[0, 0] < 0  # covering the target lowers the loss


# ------------------------------------------------------------------------------ regularisers
def test_translation_and_scale_regularisers():
    assert translation_reg(torch.tensor([0.01, -0.02, 0.02], dtype=D)).item() == pytest.approx(9e-4)
    assert scale_reg(torch.tensor(math.log(2.0))).item() == pytest.approx(scale_reg(torch.tensor(math.log(0.5))).item())
    assert scale_reg(torch.tensor(0.0)).item() == 0.0


def test_laplacian_smoothness_against_trimesh_neighbours_and_as_a_denoiser():
    n = 6
    xs, ys = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    V = np.stack([xs.ravel(), ys.ravel(), np.zeros(n * n)], axis=1) * 0.01
    idx = np.arange(n * n).reshape(n, n)
    quads = [(idx[i, j], idx[i + 1, j], idx[i + 1, j + 1], idx[i, j + 1]) for i in range(n - 1) for j in range(n - 1)]
    F = torch.tensor([f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))])
    interior = torch.tensor([idx[i, j] for i in range(1, n - 1) for j in range(1, n - 1)])
    noisy = torch.tensor(V, dtype=D)
    noisy[interior, 2] += torch.tensor(np.random.default_rng(0).normal(0, 0.002, len(interior)))
    # independent: trimesh's vertex neighbours
    mesh = trimesh.Trimesh(noisy.numpy(), F.numpy(), process=False)
    delta = np.array([noisy[i].numpy() - noisy[nb].numpy().mean(0) for i, nb in enumerate(mesh.vertex_neighbors)])
    assert laplacian_smoothness(noisy, F).item() == pytest.approx((delta**2).sum(1).mean())

    start = noisy[interior, 2].abs().mean().item()
    noisy.requires_grad_(True)
    opt = torch.optim.Adam([noisy], lr=2e-4)
    for _ in range(100):
        opt.zero_grad()
        laplacian_smoothness(noisy, F).backward()
        noisy.grad[:, :2] = 0  # z only, boundary held
        noisy.grad[~torch.isin(torch.arange(n * n), interior)] = 0
        opt.step()
    assert noisy[interior, 2].abs().mean().item() < 0.5 * start


# ---------------------------------------------------------------------- signed distances
def test_mesh_signed_distance_matches_a_sphere_and_finite_differences():
    m = trimesh.creation.icosphere(4, radius=0.05)
    V, F = torch.tensor(m.vertices), torch.tensor(m.faces)
    rng = np.random.default_rng(1)
    p = torch.tensor(rng.normal(0, 0.04, (200, 3)))
    d = mesh_signed_distance(p, V, F)
    np.testing.assert_allclose(d.numpy(), (p.norm(dim=-1) - 0.05).numpy(), atol=2e-4)  # faceted sphere
    assert ((d < 0) == (p.norm(dim=-1) < 0.05)).float().mean() > 0.98

    # finite differences w.r.t. points and vertices (away from face switches: one point each)
    for k in range(5):
        q0 = p[k : k + 1]
        dp, dv = torch.tensor(rng.normal(size=(1, 3))), torch.tensor(rng.normal(size=V.shape))
        q, v = q0.clone().requires_grad_(True), V.clone().requires_grad_(True)
        mesh_signed_distance(q, v, F).sum().backward()
        analytic = (q.grad * dp).sum() + (v.grad * dv).sum()
        eps = 1e-8
        numeric = (mesh_signed_distance(q0 + eps * dp, V + eps * dv, F) - mesh_signed_distance(q0 - eps * dp, V - eps * dv, F)) / (2 * eps)
        assert abs(analytic.item() - numeric.item()) < 0.05 * abs(numeric.item()) + 1e-9


# ------------------------------------------------------------------------ 3D interaction
def lens_volume(r1, r2, d):
    """Volume of the intersection of two balls (radii r1, r2, centres d apart)."""
    return math.pi * (r1 + r2 - d) ** 2 * (d * d + 2 * d * r2 - 3 * r2 * r2 + 2 * d * r1 + 6 * r1 * r2 - 3 * r1 * r1) / (12 * d)


def test_intersection_loss_hard_and_soft_measure_the_overlap():
    r1, r2, d = 0.04, 0.03, 0.05
    hand = trimesh.creation.icosphere(4, radius=r1)
    obj = trimesh.creation.icosphere(4, radius=r2)
    obj.apply_translation([d, 0, 0])
    hv = torch.tensor(hand.vertices, requires_grad=True)
    ov = torch.tensor(obj.vertices)
    pts = overlap_grid(hv, ov, 24)
    lo, hi = pts.min(0).values, pts.max(0).values
    sdf_h = mesh_signed_distance(pts, hv, torch.tensor(hand.faces))
    # the object as an SDF grid (how FollowMyHold's generator gives it), sampled trilinearly
    bounds = (np.full(3, -0.05) + [d, 0, 0], np.full(3, 0.05) + [d, 0, 0])
    grid = torch.tensor(mesh_sdf_grid(obj.vertices, obj.faces, 40, bounds))
    sdf_o = sample_grid(grid, bounds, pts)
    hard = intersection_loss(sdf_h, sdf_o, temperature=None).item()
    cell = torch.prod((hi - lo) / 23).item()  # grid points sit on the box's faces: 23 cells a side
    assert hard * len(pts) * cell == pytest.approx(lens_volume(r1, r2, d), rel=0.05)
    step = (hi - lo)[0].item() / 23
    soft = intersection_loss(sdf_h, sdf_o, temperature=step / 4)
    assert soft.item() == pytest.approx(hard, rel=0.15)
    soft.backward()
    assert hv.grad[:, 0].sum() > 0  # moving the hand towards the object (+x) adds overlap
    assert overlap_grid(hv, ov + 1.0, 8).shape == (0, 3)


def test_proximity_contact_and_penetration_values():
    obj = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=D)
    hand = torch.tensor([[0.005, 0, 0], [0.0, 0.02, 0], [1.0, 0.0, 0.03]], dtype=D)
    assert proximity_loss(hand, obj).item() == pytest.approx((0 + 0.01 + 0.02) / 3)
    assert proximity_loss(hand, obj, margin=0.0).item() == pytest.approx((0.005 + 0.02 + 0.03) / 3)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(500, 3))
    d, _ = cKDTree(b).query(a)
    assert contact_loss(torch.tensor(a), torch.tensor(b)).item() == pytest.approx((d**2).mean())
    phi = torch.tensor([-0.002, 0.01, -0.004], dtype=D)
    assert penetration_loss(phi).item() == pytest.approx(0.002)


def test_surface_loss_is_the_capped_mean_distance_and_pulls_a_shape_onto_its_depth_points():
    phi = torch.tensor([0.004, -0.01, 0.2, 0.0], dtype=D)
    assert surface_loss(phi, cap=0.03).item() == pytest.approx((0.004 + 0.01 + 0.03 + 0.0) / 4)
    assert surface_loss(phi[:0], cap=0.03).item() == 0.0
    # a 4 cm ball's SDF grid, shifted by t; its camera-facing half seen as depth points
    bounds = (-0.1, 0.1)
    P = grid_points(48, bounds, dtype=D)
    grid = P.norm(dim=-1) - 0.04
    dirs = torch.as_tensor(trimesh.creation.icosphere(3).vertices, dtype=D)
    seen = dirs[dirs[:, 2] < 0] * 0.04 + torch.tensor([0.01, -0.006, 0.012], dtype=D)
    t = torch.zeros(3, dtype=D, requires_grad=True)
    opt = torch.optim.Adam([t], lr=1e-3)
    for _ in range(150):
        opt.zero_grad()
        surface_loss(sample_grid(grid, bounds, seen - t), cap=0.03).backward()
        opt.step()
    assert torch.allclose(t.detach(), torch.tensor([0.01, -0.006, 0.012], dtype=D), atol=1.5e-3)


def capsules_mesh(segments, radii, pitch):
    """A closed stand-in hand: the union of capsules, meshed by marching cubes of its SDF."""
    segs, r = torch.tensor(segments, dtype=D), torch.tensor(radii, dtype=D)
    lo = (segs.min(1).values - r[:, None]).min(0).values - 2 * pitch
    hi = (segs.max(1).values + r[:, None]).max(0).values + 2 * pitch
    shape = tuple(int(n) for n in torch.ceil((hi - lo) / pitch) + 1)
    bounds = (lo.numpy(), hi.numpy())
    P = grid_points(shape, bounds, dtype=D)[..., None, :]
    a, b = segs[:, 0], segs[:, 1]
    t = (((P - a) * (b - a)).sum(-1) / ((b - a) ** 2).sum(-1)).clamp(0, 1)
    sdf = ((P - (a + t[..., None] * (b - a))).norm(dim=-1) - r).min(-1).values
    v, f = marching_cubes(sdf, bounds)
    return trimesh.Trimesh(v.numpy(), f.numpy())


def test_penetrating_hand_is_pushed_out_to_contact():
    palm = [[0, -0.03, 0], [0, 0.03, 0]]
    fingers = [[[0, y, 0], [0, y, -0.07]] for y in (-0.015, 0.015)]
    hand = capsules_mesh([palm, *fingers], [0.015, 0.009, 0.009], pitch=0.004)
    obj = trimesh.creation.icosphere(3, radius=0.04)
    hand.apply_translation([0.04 + 0.009 - 0.008, 0, 0.03])  # fingers 8 mm deep in the ball
    assert hand.is_watertight and intersection_volume_cm3(hand, obj) > 2.0

    Vh, Ov, Of = torch.tensor(hand.vertices), torch.tensor(obj.vertices), torch.tensor(obj.faces)
    contact = mesh_signed_distance(Vh, Ov, Of) < 0.005  # the hand's contact region V_h^c
    t = torch.zeros(3, dtype=D, requires_grad=True)
    opt = torch.optim.Adam([t], lr=1e-3)
    for _ in range(60):
        opt.zero_grad()
        v = Vh + t
        loss = penetration_loss(mesh_signed_distance(v, Ov, Of)) + contact_loss(v[contact], Ov)
        loss.backward()
        opt.step()
    moved = hand.copy()
    moved.apply_translation(t.detach().numpy())
    assert intersection_volume_cm3(moved, obj) < 0.5
    assert abs(hand_object_distance_m(moved, obj)) < 0.005
