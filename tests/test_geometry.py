import numpy as np
import pytest
import torch
import trimesh

from conftest import asymmetric_mesh
from hoikit.geometry import (
    IcpConfig,
    Sim3Params,
    fit_scale_translation,
    icp,
    knn_points,
    matrix_to_rot6d,
    nearest,
    random_rotations,
    rot6d_to_matrix,
    rotation_about,
    rotation_angle_deg,
    sample_surface,
    sample_surface_torch,
    transform_mesh,
    umeyama,
)
from hoikit.types import Sim3


def test_umeyama_recovers_similarity_and_rigid(rng):
    X = rng.normal(size=(100, 3))
    T = Sim3(np.float64(1.7), random_rotations(1, rng)[0], rng.normal(size=3))
    est = umeyama(X, T.apply(X))
    assert est.s == pytest.approx(1.7, rel=1e-9)
    np.testing.assert_allclose(est.R, T.R, atol=1e-9)
    np.testing.assert_allclose(est.t, T.t, atol=1e-9)
    rigid = Sim3(np.float64(1.0), T.R, T.t)
    est = umeyama(X, rigid.apply(X), with_scale=False)
    assert est.s == 1.0 and rotation_angle_deg(est.R, T.R) < 1e-6
    assert np.linalg.det(est.R) == pytest.approx(1.0)


def test_umeyama_never_returns_a_reflection(rng):
    X = rng.normal(size=(50, 3))
    Y = X * np.array([-1.0, 1.0, 1.0])  # a mirror image: best proper rotation only
    est = umeyama(X, Y)
    assert np.linalg.det(est.R) == pytest.approx(1.0)


def test_fit_scale_translation_closed_form(rng):
    X = rng.normal(size=(80, 3))
    est = fit_scale_translation(X, 0.6 * X + [1.0, -2.0, 0.5])
    assert est.s == pytest.approx(0.6)
    np.testing.assert_allclose(est.t, [1.0, -2.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(est.R, np.eye(3))


def test_icp_ts_recovers_scale_and_translation():
    mesh = asymmetric_mesh()
    src = sample_surface(mesh, 8000, seed=1)[0]
    dst = sample_surface(mesh, 8000, seed=2)[0] * 1.25 + [0.02, -0.01, 0.4]
    res = icp(src, dst, IcpConfig(mode="ts"))
    assert res.transform.s == pytest.approx(1.25, rel=0.01)
    np.testing.assert_allclose(res.transform.t, [0.02, -0.01, 0.4], atol=1.5e-3)


def test_icp_sim3_recovers_rotation_from_far_start():
    mesh = asymmetric_mesh()
    T = Sim3(np.float64(0.8), rotation_about([0.3, 1.0, 0.2], 140.0), np.array([0.1, 0.0, 0.5]))
    src = sample_surface(mesh, 6000, seed=1)[0]
    dst = T.apply(sample_surface(mesh, 6000, seed=2)[0])
    res = icp(src, dst, IcpConfig(mode="sim3"))
    assert rotation_angle_deg(res.transform.R, T.R) < 2.0
    assert res.transform.s == pytest.approx(0.8, rel=0.01)


def test_icp_trimming_ignores_outliers(rng):
    mesh = asymmetric_mesh()
    src = sample_surface(mesh, 5000, seed=1)[0]
    dst = sample_surface(mesh, 5000, seed=2)[0] + [0.01, 0.0, 0.0]
    outliers = rng.uniform(0.3, 0.5, size=(100, 3))  # 2 % of far clutter
    res = icp(src, np.vstack([dst, outliers]), IcpConfig(mode="ts", trim=0.05))
    np.testing.assert_allclose(res.transform.t, [0.01, 0.0, 0.0], atol=2e-3)
    assert res.transform.s == pytest.approx(1.0, rel=0.02)


def test_nearest_matches_brute_force(rng):
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(200, 3))
    d, i = nearest(a, b)
    D = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(d, D.min(axis=1), atol=1e-12)
    np.testing.assert_array_equal(i, D.argmin(axis=1))


def test_knn_points_torch_values_and_gradients(rng):
    x = torch.tensor(rng.normal(size=(2, 50, 3)), requires_grad=True)
    y = torch.tensor(rng.normal(size=(2, 40, 3)), requires_grad=True)
    d2, idx = knn_points(x, y)
    brute = torch.cdist(x, y).pow(2).min(dim=2)
    torch.testing.assert_close(d2, brute.values)
    torch.testing.assert_close(idx, brute.indices)
    d2.sum().backward()
    # d/dx Σ‖x−y_nn‖² = 2 (x − y_nn)
    nn = torch.gather(y, 1, idx[..., None].expand(-1, -1, 3)).detach()
    torch.testing.assert_close(x.grad, 2 * (x - nn).detach())
    assert y.grad.abs().sum() > 0


def test_sample_surface_is_seeded_and_area_weighted():
    box = trimesh.creation.box(extents=[0.1, 0.02, 0.02])  # the ±x faces are small
    p1, _ = sample_surface(box, 20000, seed=3)
    p2, _ = sample_surface(box, 20000, seed=3)
    np.testing.assert_array_equal(p1, p2)
    on_end = np.isclose(np.abs(p1[:, 0]), 0.05).mean()
    assert on_end == pytest.approx(2 * 0.02 * 0.02 / box.area, abs=0.01)
    # every sample lies on the box surface: the largest normalised coordinate is 1
    np.testing.assert_allclose(np.abs(p1 / [0.05, 0.01, 0.01]).max(axis=1), 1.0, atol=1e-9)


def test_sample_surface_correspondence_under_similarity():
    mesh = asymmetric_mesh()
    T = Sim3(np.float64(1.3), rotation_about([1, 2, 3], 25.0), np.array([0.1, 0.2, 0.3]))
    a, _ = sample_surface(mesh, 1000, seed=7)
    b, _ = sample_surface(transform_mesh(mesh, T), 1000, seed=7)
    np.testing.assert_allclose(T.apply(a), b, atol=1e-9)


def test_sample_surface_torch_gradient_reaches_vertices():
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
    V = torch.tensor(mesh.vertices, requires_grad=True)
    F = torch.tensor(mesh.faces, dtype=torch.long)
    pts = sample_surface_torch(V, F, 500, torch.Generator().manual_seed(0))
    r = pts.detach().norm(dim=1)
    assert float(r.max()) <= 0.05 + 1e-9 and float(r.min()) > 0.045  # on the (inscribed) surface
    pts.sum().backward()
    # each sample is a convex combination: total gradient mass equals the number of samples
    assert float(V.grad[:, 0].sum()) == pytest.approx(500.0)


def test_rot6d_round_trip(rng):
    R = torch.tensor(random_rotations(10, rng))
    torch.testing.assert_close(rot6d_to_matrix(matrix_to_rot6d(R)), R)


def test_sim3_params_gradient_and_init():
    T0 = Sim3(np.float64(2.0), rotation_about([0, 1, 0], 30.0), np.array([0.1, 0.2, 0.3]))
    for rot in ("6d", "axis-angle"):
        p = Sim3Params(T0, rotation=rot, dtype=torch.float64)
        T = p()
        np.testing.assert_allclose(T.numpy().matrix(), T0.matrix(), atol=1e-9)
        X = torch.ones(1, 3, dtype=torch.float64)
        T.apply(X).sum().backward()
        assert p.log_s.grad is not None and p.rot.grad is not None and p.t.grad is not None


def test_icp_target_direction_fits_a_partial_cloud():
    """A cloud of one side of a shape pulls the complete source onto it (no shrink onto the patch)."""
    mesh = asymmetric_mesh()
    src = sample_surface(mesh, 6000, seed=1)[0]
    full = sample_surface(mesh, 6000, seed=2)[0] * 1.1 + [0.01, 0.0, 0.3]
    partial = full[full[:, 2] < np.median(full[:, 2])]  # the side facing the camera
    init = Sim3(np.float64(1.0), np.eye(3), full.mean(0) - src.mean(0))
    res = icp(src, partial, IcpConfig(mode="ts", directions="target"), init=init)
    assert res.transform.s == pytest.approx(1.1, rel=0.03)
    np.testing.assert_allclose(res.transform.t, [0.01, 0.0, 0.3], atol=3e-3)
