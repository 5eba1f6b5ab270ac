"""Differentiable marching cubes and grid sampling: against analytic shapes, skimage and finite
differences."""

import math

import numpy as np
import pytest
import torch
import trimesh

from hoikit.geometry.grid import grid_points, grid_spacing, sample_grid
from hoikit.geometry.marching_cubes import marching_cubes

BOUNDS = (-0.1, 0.1)


def sphere_sdf(shape, radius=0.06, centre=(0.0, 0.0, 0.0), bounds=BOUNDS):
    P = grid_points(shape, bounds, dtype=torch.float64)
    return (P - torch.tensor(centre, dtype=torch.float64)).norm(dim=-1) - radius


def test_sphere_is_closed_outward_and_on_the_surface():
    sdf = sphere_sdf(48)
    v, f = marching_cubes(sdf, BOUNDS)
    mesh = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)
    assert mesh.is_watertight
    assert mesh.volume > 0  # counter-clockwise from outside
    assert mesh.volume == pytest.approx(4 / 3 * math.pi * 0.06**3, rel=0.02)
    # vertices interpolate a cone-shaped field along grid edges: within a small fraction of a cell
    step = grid_spacing(sdf.shape, BOUNDS)[0]
    assert np.abs(np.linalg.norm(mesh.vertices, axis=1) - 0.06).max() < 0.05 * step


def test_positions_are_skimages_positions():
    from skimage.measure import marching_cubes as sk_mc

    rng = np.random.default_rng(3)
    sdf = sphere_sdf(20) + torch.tensor(rng.normal(0, 0.004, (20, 20, 20)))
    v, f = marching_cubes(sdf, BOUNDS)
    sk_v, sk_f, _, _ = sk_mc(sdf.numpy(), level=0.0, allow_degenerate=False)
    step = grid_spacing(sdf.shape, BOUNDS)
    np.testing.assert_allclose(v.numpy(), BOUNDS[0] + sk_v * step, atol=1e-5 * step[0])
    np.testing.assert_array_equal(f.numpy(), sk_f)


def test_non_cubic_grid_and_vector_bounds():
    lo, hi = np.array([-0.1, -0.05, 0.0]), np.array([0.1, 0.05, 0.2])
    P = grid_points((30, 16, 25), (lo, hi), dtype=torch.float64)
    assert P.shape == (30, 16, 25, 3)
    np.testing.assert_allclose(P[0, 0, 0].numpy(), lo)
    np.testing.assert_allclose(P[-1, -1, -1].numpy(), hi)
    sdf = (P - torch.tensor([0.0, 0.0, 0.1], dtype=torch.float64)).norm(dim=-1) - 0.04
    v, _ = marching_cubes(sdf, (lo, hi))
    assert np.abs((v - torch.tensor([0.0, 0.0, 0.1], dtype=torch.float64)).norm(dim=-1).numpy() - 0.04).max() < 5e-4


def test_vertex_exactly_on_a_grid_point():
    # a plane through grid points: many vertices sit exactly on them (t = 0)
    P = grid_points(9, BOUNDS, dtype=torch.float64)
    sdf = (P[..., 0] - P[4, 0, 0, 0]).clone().requires_grad_(True)
    v, f = marching_cubes(sdf, BOUNDS)
    assert len(f) > 0
    np.testing.assert_allclose(v[:, 0].detach().numpy(), P[4, 0, 0, 0].item(), atol=1e-12)
    v[:, 0].sum().backward()
    assert torch.isfinite(sdf.grad).all()


def test_no_surface_gives_empty_mesh():
    v, f = marching_cubes(torch.ones(8, 8, 8), BOUNDS)
    assert v.shape == (0, 3) and f.shape == (0, 3)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_gradient_wrt_sdf_values_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    sdf0 = sphere_sdf(12, radius=0.05, centre=rng.normal(0, 0.01, 3)) + torch.tensor(rng.normal(0, 0.005, (12,) * 3))
    direction = torch.tensor(rng.normal(size=sdf0.shape))
    v0, f0 = marching_cubes(sdf0, BOUNDS)
    weights = torch.tensor(rng.normal(size=v0.shape))

    def loss(sdf):
        v, f = marching_cubes(sdf, BOUNDS)
        assert torch.equal(f, f0)  # fixed topology for the finite difference
        return (weights * v).sum() + (v**2).sum()

    sdf = sdf0.clone().requires_grad_(True)
    loss(sdf).backward()
    analytic = (sdf.grad * direction).sum().item()
    eps = 1e-7
    numeric = ((loss(sdf0 + eps * direction) - loss(sdf0 - eps * direction)) / (2 * eps)).item()
    assert abs(analytic - numeric) < 0.05 * abs(numeric)


def test_sample_grid_is_exact_on_grid_points_and_linear_fields():
    rng = np.random.default_rng(0)
    lo, hi = np.array([-0.1, -0.2, 0.0]), np.array([0.1, 0.0, 0.3])
    P = grid_points((7, 9, 11), (lo, hi), dtype=torch.float64)
    values = torch.tensor(rng.normal(size=(7, 9, 11)))
    np.testing.assert_allclose(sample_grid(values, (lo, hi), P.reshape(-1, 3)).numpy(), values.reshape(-1).numpy(), atol=1e-12)
    a = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    linear = P @ a + 0.7
    q = torch.tensor(rng.uniform(lo, hi, (50, 3)))
    np.testing.assert_allclose(sample_grid(linear, (lo, hi), q).numpy(), (q @ a + 0.7).numpy(), atol=1e-12)
    # gradients w.r.t. points: the field's gradient
    q.requires_grad_(True)
    sample_grid(linear, (lo, hi), q).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), np.tile(a.numpy(), (50, 1)), atol=1e-10)
