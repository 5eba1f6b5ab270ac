"""The differentiable renderer: analytic spheres, brute-force ray casting, finite differences and
a small pose optimisation."""

import math

import numpy as np
import pytest
import torch
import trimesh

from conftest import asymmetric_mesh
from hoikit.objectives import disparity_loss, silhouette_bce
from hoikit.render import pixel_rays, rasterize, render, shade
from hoikit.types import Camera


def sphere(radius, centre, subdivisions=4, dtype=torch.float64):
    m = trimesh.creation.icosphere(subdivisions, radius=radius)
    return torch.tensor(m.vertices + np.asarray(centre), dtype=dtype), torch.tensor(m.faces)


def random_scene(seed, dtype=torch.float64):
    """A lumpy sphere and a box in front of it, partly overlapping in the image."""
    rng = np.random.default_rng(seed)
    m = trimesh.creation.icosphere(1, radius=0.04)
    v = m.vertices * (1 + 0.2 * rng.standard_normal((len(m.vertices), 1)))
    v = v + [rng.normal(0, 0.01), rng.normal(0, 0.01), 0.25]
    box = trimesh.creation.box(extents=[0.03, 0.03, 0.03])
    vb = box.vertices + [0.02 + rng.normal(0, 0.005), 0.01, 0.21]
    return [(torch.tensor(v, dtype=dtype), torch.tensor(m.faces)), (torch.tensor(vb, dtype=dtype), torch.tensor(box.faces))]


def brute_force_depth(vertices, faces, camera):
    """Independent z-buffer: every pixel ray against every triangle (Möller–Trumbore, numpy)."""
    H, W = camera.height, camera.width
    pix = torch.arange(H * W)
    d = pixel_rays(pix, camera, torch.float64).numpy()  # (N, 3)
    tri = vertices[faces]  # (F, 3, 3)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(d[:, None], e2[None])  # (N, F, 3)
    det = (e1[None] * p).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = -tri[None, :, 0]  # ray origin (0) minus v0
        u = (s * p).sum(-1) * inv
        q = np.cross(s, e1[None])
        v = (d[:, None] * q).sum(-1) * inv
        t = (e2[None] * q).sum(-1) * inv
    hit = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & np.isfinite(t)
    t = np.where(hit, t, np.inf).min(axis=1)  # ray z = 1, so t is the depth
    return np.where(np.isfinite(t), t, 0.0).reshape(H, W)


# ------------------------------------------------------------------------- analytic checks
def test_sphere_area_and_centre_depth():
    cam = Camera.from_fov(256, 256, 50.0)
    r, z = 0.05, 0.5
    out = render([sphere(r, (0, 0, z))], cam)
    f = cam.fx
    area = out.silhouette.sum().item()
    assert area == pytest.approx(math.pi * r * r * f * f / (z * z), rel=0.02)  # the figure
    # tighter: the exact image of a sphere on the axis is a disc of radius f·r/√(z² − r²); the
    # inscribed icosphere is a little smaller
    assert area == pytest.approx(math.pi * f * f * r * r / (z * z - r * r), rel=0.005)
    centre = (round(cam.cy), round(cam.cx))
    assert out.depth[centre].item() == pytest.approx(z - r, abs=1e-4)
    assert out.disparity[centre].item() == pytest.approx(1.0 / (z - r), rel=1e-3)
    assert out.part_id[centre].item() == 0 and out.part_id[0, 0].item() == -1
    assert out.depth[0, 0].item() == 0.0 and out.silhouette[0, 0].item() == 0.0


def test_depth_matches_brute_force_ray_casting():
    cam = Camera(np.array([[60.0, 0.0, 19.3], [0.0, 55.0, 14.8], [0.0, 0.0, 1.0]]), 40, 30)
    (v1, f1), (v2, f2) = random_scene(5)
    V = torch.cat([v1, v2])
    F = torch.cat([f1, f2 + len(v1)])
    frags = rasterize(V, F, cam)
    expected = brute_force_depth(V.numpy(), F.numpy(), cam)
    np.testing.assert_array_equal(frags.mask.numpy(), expected > 0)
    np.testing.assert_allclose(frags.depth.numpy(), expected, atol=1e-12)
    out = render([(v1, f1), (v2, f2)], cam)  # the differentiable recomputation agrees
    np.testing.assert_allclose(out.depth.detach().numpy(), expected, atol=1e-12)
    # barycentric interpolation of positions lands on the pixel ray at the rendered depth
    pts = out.interpolate([v1, v2])
    rays = pixel_rays(torch.arange(40 * 30), cam, torch.float64).reshape(30, 40, 3)
    np.testing.assert_allclose(pts.detach().numpy(), (out.depth[..., None] * rays).detach().numpy(), atol=1e-12)


def test_huge_triangles_just_past_the_near_plane():
    # a floor from 2 mm to 2 m in front of the camera: projections reach 10⁵ pixels off-screen
    cam = Camera.from_fov(40, 30, 60.0)
    V = torch.tensor([[-1.0, 0.05, 0.002], [1.0, 0.05, 0.002], [1.0, 0.05, 2.0], [-1.0, 0.05, 2.0]], dtype=torch.float64)
    F = torch.tensor([[0, 2, 1], [0, 3, 2]])
    out = render([(V, F)], cam)
    expected = brute_force_depth(V.numpy(), F.numpy(), cam)
    assert (expected > 0).sum() > 100
    np.testing.assert_allclose(out.depth.numpy(), expected, atol=1e-9)


def test_nearer_mesh_id_shows_whatever_the_order():
    cam = Camera.from_fov(96, 96, 50.0)
    near, far = sphere(0.03, (0.01, 0.0, 0.30), 3), sphere(0.05, (-0.01, 0.0, 0.40), 3)
    for meshes, near_id in (([near, far], 0), ([far, near], 1)):
        out = render(meshes, cam)
        both = rasterize(near[0], near[1], cam).mask & rasterize(far[0], far[1], cam).mask
        assert both.sum() > 100
        assert (out.part_id[both] == near_id).all()
        # occlusion-aware soft silhouettes: the far part loses what the near one hides (away from
        # the near outline, where anti-aliasing shares a pixel between the two)
        inner = both.clone()
        inner[1:-1, 1:-1] &= both[:-2, 1:-1] & both[2:, 1:-1] & both[1:-1, :-2] & both[1:-1, 2:]
        assert out.part_silhouettes[1 - near_id][inner].max() < 1e-9
        assert out.part_silhouettes[1 - near_id][both].max() <= 0.5
        torch.testing.assert_close(out.part_silhouettes.sum(0), out.silhouette)


def test_normals_are_the_spheres_normals():
    cam = Camera.from_fov(128, 128, 50.0)
    c = torch.tensor([0.01, -0.02, 0.4], dtype=torch.float64)
    out = render([sphere(0.05, c.tolist())], cam)
    pts = out.interpolate([sphere(0.05, c.tolist())[0]])[out.mask]
    expected = torch.nn.functional.normalize(pts - c, dim=-1)
    cos = (out.normals[out.mask] * expected).sum(-1)
    assert cos.min() > math.cos(math.radians(2.0))  # smooth normals of a 5k-face icosphere
    assert (out.normals[out.mask][:, 2] < 0).all()  # outward normals face the camera


def test_subpixel_triangles_keep_silhouettes_in_range():
    # specks about one pixel across: each pixel is cut by several edges at once
    cam = Camera.from_fov(48, 48, 50.0)
    rng = np.random.default_rng(7)
    centres = np.c_[rng.uniform(-0.08, 0.08, (60, 2)), np.full(60, 0.3)]
    tri = centres[:, None] + rng.normal(0, 0.004, (60, 3, 3)) * [1, 1, 0]
    V = torch.tensor(tri.reshape(-1, 3))
    F = torch.arange(180).reshape(60, 3)
    out = render([(V[:90], F[:30]), (V[90:], F[:30])], cam)
    assert out.silhouette.min() >= 0 and out.silhouette.max() <= 1
    assert out.part_silhouettes.min() >= 0
    torch.testing.assert_close(out.part_silhouettes.sum(0), out.silhouette)


def test_antialiased_area_is_continuous_under_subpixel_motion():
    cam = Camera.from_fov(128, 128, 50.0)
    v, f = sphere(0.04, (0.0, 0.0, 0.5))
    soft, hard = [], []
    for s in np.linspace(0.0, 1.0, 9):  # up to about one pixel
        out = render([(v + torch.tensor([s * 0.004, s * 0.0011, 0.0]), f)], cam)
        soft.append(out.silhouette.sum().item())
        hard.append(out.mask.sum().item())
    assert np.ptp(soft) < 0.003 * np.mean(soft)
    assert np.ptp(hard) > 3 * np.ptp(soft)  # the hard coverage jumps by whole pixels


# ------------------------------------------------------------------------------- gradients
def _directional_check(loss_of, meshes, seed):
    """Autograd directional derivative vs central finite difference along a random direction."""
    rng = np.random.default_rng(100 + seed)
    dirs = [torch.tensor(rng.standard_normal(v.shape)) for v, _ in meshes]
    leaves = [v.clone().requires_grad_(True) for v, _ in meshes]
    loss_of([(x, f) for x, (_, f) in zip(leaves, meshes)]).backward()
    analytic = sum((x.grad * d).sum() for x, d in zip(leaves, dirs)).item()
    eps = 1e-7
    plus = loss_of([(v + eps * d, f) for (v, f), d in zip(meshes, dirs)])
    minus = loss_of([(v - eps * d, f) for (v, f), d in zip(meshes, dirs)])
    numeric = ((plus - minus) / (2 * eps)).item()
    assert abs(analytic - numeric) < 0.05 * abs(numeric), (analytic, numeric)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("quantity", ["silhouette", "part_silhouettes", "depth", "normals"])
def test_gradients_match_finite_differences(seed, quantity):
    cam = Camera.from_fov(64, 48, 50.0)
    meshes = random_scene(seed)
    w = torch.tensor(np.random.default_rng(seed).random((2, 48, 64, 3)))

    def loss_of(ms):
        x = getattr(render(ms, cam), quantity)
        return (w.reshape(-1)[: x.numel()].reshape(x.shape) * x).sum()

    _directional_check(loss_of, meshes, seed)


def test_silhouette_gradient_lives_on_the_outline():
    cam = Camera.from_fov(64, 64, 50.0)
    v, f = sphere(0.04, (0.0, 0.0, 0.3), 3)
    v = v.clone().requires_grad_(True)
    out = render([(v, f)], cam)
    out.silhouette.sum().backward()  # the area grows when the sphere comes nearer
    assert v.grad[:, 2].sum() < 0


# ---------------------------------------------------------------------- previews and devices
def test_preview_path_and_shading():
    cam = Camera.from_fov(64, 64, 50.0)
    with torch.no_grad():
        out = render([sphere(0.04, (0, 0, 0.3), 3, torch.float32)], cam)
        rgb = shade(out.normals, torch.tensor([0.8, 0.5, 0.2]), out.silhouette)
    assert rgb.shape == (64, 64, 3) and rgb.dtype == torch.float32
    assert float(rgb.min()) >= 0.0 and float(rgb.max()) <= 1.0
    torch.testing.assert_close(rgb[0, 0], torch.ones(3))  # background
    c = rgb[32, 32]  # facing the light (from the camera): nearly full albedo
    assert c[0] > 0.7 and c[0] > c[1] > c[2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    cam = Camera.from_fov(64, 48, 50.0)
    meshes = random_scene(0, torch.float32)
    cpu = render(meshes, cam)
    gpu = render([(v.cuda(), f.cuda()) for v, f in meshes], cam)
    torch.testing.assert_close(gpu.depth.cpu(), cpu.depth)
    torch.testing.assert_close(gpu.silhouette.cpu(), cpu.silhouette)


# ---------------------------------------------------------------------------- optimisation
@pytest.mark.parametrize(
    "offset_mm", [(20.0, -15.0, 15.0), pytest.param((-22.7, -16.9, -9.8), marks=pytest.mark.slow)]
)
def test_object_pose_converges_from_3cm_with_silhouette_and_depth(offset_mm):
    cam = Camera.from_fov(128, 128, 40.0)
    m = asymmetric_mesh()
    V, F = torch.tensor(m.vertices, dtype=torch.float32), torch.tensor(m.faces)
    t_true = torch.tensor([0.01, -0.005, 0.35])
    with torch.no_grad():
        target = render([(V + t_true, F)], cam)
    t = (t_true + torch.tensor(offset_mm) / 1000).requires_grad_(True)  # 2.9–3 cm off
    # BCE gradients spike where a pixel is barely covered: a short second-moment memory
    # (β₂ = 0.99) lets Adam recover from them quickly
    opt = torch.optim.Adam([t], lr=2e-3, betas=(0.9, 0.99))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=150, eta_min=5e-5)
    for _ in range(150):
        opt.zero_grad()
        out = render([(V + t, F)], cam)
        both = out.mask & target.mask
        loss = silhouette_bce(out.silhouette, target.silhouette) + disparity_loss(out.disparity, target.disparity, both)
        loss.backward()
        opt.step()
        sched.step()
    assert (t - t_true).norm().item() < 0.002


def test_nothing_in_view_renders_background_with_a_graph():
    cam = Camera.from_fov(32, 32, 50.0)
    v, f = sphere(0.04, (0.0, 0.0, -0.5), 2)  # behind the camera
    v.requires_grad_(True)
    out = render([(v, f)], cam)
    assert not out.mask.any() and out.silhouette.abs().sum() == 0 and (out.part_id == -1).all()
    (out.silhouette.sum() + out.depth.sum()).backward()
    assert v.grad is not None and (v.grad == 0).all()


def test_bench_render_cli_prints_the_figures(tmp_path, capsys):
    import json

    from hoikit.cli import main

    assert main(["bench", "render", "--json", "--repeats", "1", "--out", str(tmp_path / "r.json")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"fb_256_10k_s", "mc_fb_64_s", "preview_512_s", "machine"} <= set(res)
    assert res["faces"] >= 10_000 and res["fb_256_10k_s"] > 0
    assert json.loads((tmp_path / "r.json").read_text())["faces"] == res["faces"]
