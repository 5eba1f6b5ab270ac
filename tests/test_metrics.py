"""The ruler against analytic values and independent brute-force computations."""

import math
import warnings

import numpy as np
import pytest
import trimesh
from scipy.integrate import quad

from conftest import asymmetric_mesh
from hoikit.errors import HoikitWarning
from hoikit.eval import metrics as M
from hoikit.geometry import random_rotations, rotation_about, transform_mesh
from hoikit.types import Sim3


def sphere(radius_m: float, centre=(0.0, 0.0, 0.0), subdivisions: int = 5) -> trimesh.Trimesh:
    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius_m)
    m.apply_translation(centre)
    return m


def offset_spheres_cd_cm2(r_cm: float, d_cm: float) -> float:
    """Analytic CD of two spheres of radius r whose centres are d apart (both directions equal)."""
    # a uniform point on sphere A has cos θ uniform in [−1, 1]; its distance to sphere B is
    # |√(r² + d² − 2rd cos θ) − r|
    f = lambda c: (math.sqrt(r_cm**2 + d_cm**2 - 2 * r_cm * d_cm * c) - r_cm) ** 2 / 2.0
    return 2.0 * quad(f, -1.0, 1.0)[0]


def brute_force_cd_f(p_m: np.ndarray, g_m: np.ndarray, tau_m: float) -> tuple[float, float]:
    D = np.linalg.norm(p_m[:, None, :] - g_m[None, :, :], axis=-1)
    d_pg, d_gp = D.min(axis=1), D.min(axis=0)
    cd = (d_gp * 100) ** 2 + 0
    cd = float(((d_gp * 100) ** 2).mean() + ((d_pg * 100) ** 2).mean())
    P, R = (d_pg < tau_m).mean(), (d_gp < tau_m).mean()
    return cd, 2 * P * R / (P + R) if P + R else 0.0


def test_cd_and_f_equal_brute_force_on_the_same_samples():
    a, b = sphere(0.05), sphere(0.05, (0.01, 0.0, 0.0))
    s = M.object_scores(a, b, align="none", n_points=2500)
    p, g = M.surface_points(a, 2500), M.surface_points(b, 2500)
    cd, f5 = brute_force_cd_f(p, g, 0.005)
    assert s.cd_cm2 == pytest.approx(cd, rel=1e-12)
    assert s.f5 == pytest.approx(f5, rel=1e-12)


def test_offset_spheres_cd_matches_analytic_value():
    a, b = sphere(0.05), sphere(0.05, (0.01, 0.0, 0.0))
    s = M.object_scores(a, b, align="none")
    expected = offset_spheres_cd_cm2(5.0, 1.0)
    assert s.cd_cm2 == pytest.approx(expected, rel=0.03)
    assert s.align == "none" and s.n_points == 30_000


def test_icp_ts_removes_an_offset():
    a, b = sphere(0.05), sphere(0.05, (0.01, 0.0, 0.0))
    s = M.object_scores(a, b, align="icp-ts")
    assert s.cd_cm2 < 0.01
    assert s.f5 == 1.0 and s.f10 == 1.0
    np.testing.assert_allclose(s.transform.t, [0.01, 0, 0], atol=5e-4)


def test_icp_ts_recovers_scale_but_not_rotation():
    gt = asymmetric_mesh()
    scaled = transform_mesh(gt, Sim3(np.float64(0.8), np.eye(3), np.array([0.0, 0.03, 0.5])))
    assert M.object_scores(scaled, gt, align="icp-ts").cd_cm2 < 0.01
    rotated = transform_mesh(gt, Sim3(np.float64(1.0), rotation_about([0, 0, 1], 30.0), np.zeros(3)))
    assert M.object_scores(rotated, gt, align="icp-ts").cd_cm2 > 0.05  # icp-ts keeps the rotation


def test_sim3_undoes_rotation_and_scale():
    gt = asymmetric_mesh()
    T = Sim3(np.float64(1.2), rotation_about([1.0, 0.5, 0.2], 30.0), np.array([0.02, -0.01, 0.4]))
    pred = transform_mesh(gt, T)
    s = M.object_scores(pred, gt, align="sim3")
    assert s.cd_cm2 < 0.01
    assert s.f5 == 1.0


def test_fscore_definition():
    d_pg = np.array([0.001, 0.004, 0.006, 0.02])  # precision@5mm = 0.5
    d_gp = np.array([0.001, 0.002, 0.003, 0.004, 0.009])  # recall@5mm = 0.8
    assert M.fscore(d_pg, d_gp, 0.005) == pytest.approx(2 * 0.5 * 0.8 / 1.3)
    assert M.fscore(np.array([1.0]), np.array([1.0]), 0.005) == 0.0
    assert M.chamfer_cm2(np.array([0.01]), np.array([0.02, 0.0])) == pytest.approx(1.0 + 2.0)


def test_cd_h_uses_each_methods_own_wrist():
    gt = sphere(0.03, (0.0, 0.0, 0.5), subdivisions=4)
    wrist_gt = np.array([0.0, 0.08, 0.5])
    shift = np.array([0.05, 0.0, 0.0])
    pred = sphere(0.03, (0.0, 0.0, 0.5) + shift, subdivisions=4)
    assert M.cd_h_cm2(pred, wrist_gt + shift, gt, wrist_gt) < 1e-12  # same placement relative to the hand
    far = M.cd_h_cm2(pred, wrist_gt, gt, wrist_gt)
    assert far == pytest.approx(offset_spheres_cd_cm2(3.0, 5.0), rel=0.03)


def test_mpjpe_and_pa_mpjpe(rng):
    gt = rng.normal(scale=0.05, size=(21, 3))
    assert M.mpjpe_mm(gt + [0.1, 0.2, 0.3], gt) == pytest.approx(0.0, abs=1e-9)  # root-relative
    pred = gt.copy()
    pred[5] += [0.021, 0.0, 0.0]
    assert M.mpjpe_mm(pred, gt) == pytest.approx(1.0)
    T = Sim3(np.float64(1.3), random_rotations(1, rng)[0], rng.normal(size=3))
    assert M.pa_mpjpe_mm(T.apply(gt), gt) == pytest.approx(0.0, abs=1e-6)
    assert M.mpjpe_mm(T.apply(gt), gt) > 5.0
    video = np.stack([gt, pred])  # frames are averaged
    assert M.mpjpe_mm(video, np.stack([gt, gt])) == pytest.approx(0.5)


def test_mrrpe_ho():
    obj_gt = sphere(0.03, (0.0, 0.0, 0.5), subdivisions=2)
    obj_pred = sphere(0.03, (0.003, 0.004, 0.5), subdivisions=2)
    w = np.array([0.0, 0.1, 0.5])
    assert M.mrrpe_ho_mm(obj_pred, w, obj_gt, w) == pytest.approx(5.0, abs=1e-6)
    assert M.mrrpe_ho_mm(obj_pred, w + [0.003, 0.004, 0], obj_gt, w) == pytest.approx(0.0, abs=1e-6)


def test_iv_of_overlapping_cubes_and_disjoint_meshes():
    a = trimesh.creation.box(extents=[0.02, 0.02, 0.02])
    b = a.copy()
    b.apply_translation([0.01, 0.0, 0.0])  # overlap: a 1 x 2 x 2 cm slab = 4 cm³
    assert M.intersection_volume_cm3(a, b) == pytest.approx(4.0, rel=0.15)
    c = a.copy()
    c.apply_translation([0.05, 0.0, 0.0])
    assert M.intersection_volume_cm3(a, c) == 0.0


def test_iv_of_two_spheres_matches_the_lens_volume():
    r, d = 3.0, 2.0  # cm
    lens = math.pi * (4 * r + d) * (2 * r - d) ** 2 / 12.0
    iv = M.intersection_volume_cm3(sphere(0.03), sphere(0.03, (0.02, 0.0, 0.0)))
    assert iv == pytest.approx(lens, rel=0.08)


def test_penetration_depth_and_contact():
    obj = sphere(0.03, subdivisions=5)
    hand = sphere(0.01, subdivisions=3)
    u = hand.vertices[0] / np.linalg.norm(hand.vertices[0])
    hand.apply_translation(0.025 * (-u))  # its vertex 0 now points at the object's centre
    # deepest point: 0.025 − 0.01 = 1.5 cm from the centre, so 1.5 cm deep
    assert M.penetration_depth_cm(hand, obj) == pytest.approx(1.5, abs=0.01)
    s = M.interaction_scores(hand, obj)
    assert s["iv_cm3"] > 0 and s["contact"]
    near = sphere(0.01, (0.043, 0.0, 0.0), subdivisions=3)  # 3 mm gap
    s = M.interaction_scores(near, obj)
    assert s["penetration_depth_cm"] == 0.0 and s["iv_cm3"] == 0.0
    assert s["ho_distance_mm"] == pytest.approx(3.0, abs=0.1) and s["contact"]
    far = sphere(0.01, (0.05, 0.0, 0.0), subdivisions=3)
    assert not M.interaction_scores(far, obj)["contact"]


def test_open_mesh_warns_for_iv():
    closed = trimesh.creation.box(extents=[0.02, 0.02, 0.02])
    open_box = closed.copy()
    open_box.update_faces(np.arange(len(open_box.faces)) > 1)  # drop two triangles
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        M.intersection_volume_cm3(open_box, closed)
    assert any(issubclass(w.category, HoikitWarning) and "not watertight" in str(w.message) for w in caught)


def test_ate(rng):
    gt = np.cumsum(rng.normal(scale=0.01, size=(50, 3)), axis=0)
    T = Sim3(np.float64(0.7), random_rotations(1, rng)[0], rng.normal(size=3))
    assert M.ate_mm(T.apply(gt), gt) == pytest.approx(0.0, abs=1e-6)
    noise = rng.normal(scale=0.002, size=gt.shape)
    ate = M.ate_mm(gt + noise, gt)
    # alignment can only reduce the error of the unaligned RMSE
    assert 0 < ate <= np.sqrt((noise**2).sum(axis=1).mean()) * 1000 + 1e-9


def test_aggregate_counts_failures_in_rr():
    records = [
        {"cd_cm2": 1.0, "f5": 0.5, "contact": True},
        {"cd_cm2": 3.0, "f5": 0.1, "contact": False},
        {"status": "failed", "reason": "no hand found"},
        None,
    ]
    out = M.aggregate(records)
    assert out["n"] == 4 and out["n_ok"] == 2 and out["n_failed"] == 2 and out["rr"] == 0.5
    assert out["cd_cm2_mean"] == 2.0 and out["cd_cm2_median"] == 2.0
    assert out["contact_ratio"] == 0.5
    empty = M.aggregate([None], keys=["cd_cm2"])
    assert empty["rr"] == 0.0 and math.isnan(empty["cd_cm2_mean"])
