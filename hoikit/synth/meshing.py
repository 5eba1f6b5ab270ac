"""Closed triangle meshes whose surface is the zero level set of a :class:`~hoikit.synth.sdf.Solid`.

Two routes, both giving watertight, outward-oriented meshes in metres:

- **direct**: shapes with a parametrisation are tessellated exactly on their surface —
  revolved profiles (:func:`revolve_mesh`), superquadrics (:func:`superquadric_mesh`), rounded
  boxes (:func:`round_box_mesh`), spheres. Vertices lie on the surface; only chords deviate.
- **marching cubes** (:func:`marching_mesh`) for composite shapes: the SDF sampled on a grid
  (pitch per axis, so flat parts can be thin), decimated when over the face budget, then each
  vertex projected onto the zero set by Newton steps along the SDF gradient.
"""

from __future__ import annotations

import numpy as np
import torch
import trimesh

from hoikit.synth.sdf import Solid, evaluate, sdf_gradient

MAX_FACES = 10_000  # renderer budget for one object
TARGET_FACES = 8_000  # what the direct constructions aim for (they can afford to stay clear of the cap)
PAD_CELLS = 2  # grid cells beyond the bounds, so the sampled field is positive on its border
# The grid is shifted by half a cell so that its planes miss the bounding planes, on which flat
# faces lie: a sample exactly on the surface makes marching cubes emit coincident vertices
# (pinched, non-manifold after merging). Zeros left by chance are nudged outside by a hair.
_GRID_SHIFT = 0.5
_ZERO_NUDGE = 1e-4  # in cells
COARSE = 4  # coarse-grid stride of the narrow-band evaluation
PROJECT_STEPS = 1  # one Newton step: MC vertices are within O(pitch²) of an exact SDF's zero set
RELAX_STEPS = 2  # Laplacian relax + project rounds after marching cubes (evens out its slivers
# and notches, e.g. on a thin rim sampled by one or two grid nodes)
RELAX_WEIGHT = 0.5  # share of the step towards the neighbours' mean
_AXIS_SNAP = 1e-12  # profile vertices closer than this to the axis are put on it


def _finish(vertices: np.ndarray, faces: np.ndarray) -> trimesh.Trimesh:
    """Merge duplicates and orient outward (positive volume)."""
    mesh = trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64), process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


# ============================================================================ direct routes
def revolve_mesh(outline: np.ndarray, sections: int) -> trimesh.Trimesh:
    """Revolve a profile (K, 2) in the (ρ, z) half-plane about z (as :func:`revolved_outline`).

    A profile starting and ending on the axis gives a closed solid; otherwise it must be a closed
    loop (the first vertex is not repeated).
    """
    o = np.asarray(outline, dtype=np.float64).copy()
    o[np.abs(o[:, 0]) < _AXIS_SNAP, 0] = 0.0
    keep = np.r_[True, np.linalg.norm(np.diff(o, axis=0), axis=1) > _AXIS_SNAP]
    o = o[keep]
    if o[0, 0] != 0.0 or o[-1, 0] != 0.0:
        o = np.concatenate([o, o[:1]])  # trimesh revolves a closed loop when it is closed explicitly
    mesh = trimesh.creation.revolve(o, angle=2.0 * np.pi, sections=sections)
    return _finish(mesh.vertices, mesh.faces)


def _subdivide(path: np.ndarray, max_len: float, closed: bool) -> np.ndarray:
    """Insert vertices so that no segment of the path exceeds ``max_len`` (keeps the originals)."""
    pts = np.concatenate([path, path[:1]]) if closed else path
    out = []
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(int(np.ceil(np.linalg.norm(b - a) / max_len)), 1)
        out.append(a + np.outer(np.arange(n) / n, b - a))
    if not closed:
        out.append(path[-1:])
    return np.concatenate(out)


def balanced_revolution(
    outline: np.ndarray, max_faces: int = TARGET_FACES, min_sections: int = 24, max_sections: int = 128
) -> tuple[np.ndarray, int]:
    """Subdivide a profile and pick the number of sections so that the revolved mesh has
    roughly square quads and stays under ``max_faces``: with perimeter P and largest radius ρ,
    segments of length s give (P/s)·(2πρ/s) quads, two triangles each."""
    o = np.asarray(outline, dtype=np.float64)
    closed = not (np.isclose(o[0, 0], 0.0) and np.isclose(o[-1, 0], 0.0))
    perimeter = np.linalg.norm(np.diff(np.concatenate([o, o[:1]]) if closed else o, axis=0), axis=1).sum()
    circumference = 2.0 * np.pi * np.abs(o[:, 0]).max()
    s = np.sqrt(2.0 * perimeter * circumference / max_faces)
    sections = int(np.clip(np.ceil(circumference / s), min_sections, max_sections))
    fine = _subdivide(o, s, closed)
    while 2 * len(fine) * sections > max_faces and sections > min_sections:
        sections -= 4  # the profile's own vertices (arcs) can exceed the estimate: trade sections
    return fine, sections


def sphere_mesh(radius: float, subdivisions: int = 4) -> trimesh.Trimesh:
    """Icosphere (20·4^subdivisions faces) with every vertex on the sphere."""
    return trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)


def superquadric_mesh(radii: np.ndarray, e1: float, e2: float, n_lat: int = 40, n_lon: int = 64) -> trimesh.Trimesh:
    """Superquadric by its signed-power parametrisation (latitude η, longitude ω):
    x = a·c(η)^e1·c(ω)^e2, y = b·c(η)^e1·s(ω)^e2, z = c·s(η)^e1, which crowds vertices towards the
    edges of boxy shapes where the curvature is. Same implicit form as :func:`sd_superquadric`."""
    unit = trimesh.creation.uv_sphere(radius=1.0, count=[n_lat, n_lon])
    v = unit.vertices
    eta = np.arcsin(np.clip(v[:, 2], -1.0, 1.0))
    omega = np.arctan2(v[:, 1], v[:, 0])

    def spow(x: np.ndarray, e: float) -> np.ndarray:
        return np.sign(x) * np.abs(x) ** e

    ce = spow(np.cos(eta), e1)
    pts = np.stack([ce * spow(np.cos(omega), e2), ce * spow(np.sin(omega), e2), spow(np.sin(eta), e1)], axis=1)
    return _finish(pts * np.asarray(radii), unit.faces)


def _face_axis(half_inner: float, radius: float, n_flat: int, n_round: int) -> np.ndarray:
    """Coordinates along one axis of a rounded-box face grid: n_round steps over the rounded
    strip on each side, n_flat steps over the flat part."""
    edge = np.linspace(half_inner, half_inner + radius, n_round + 1)
    flat = np.linspace(-half_inner, half_inner, n_flat + 1)
    return np.concatenate([-edge[::-1], flat[1:-1], edge])


def _round_box_axes(inner: np.ndarray, radius: float, max_faces: int, n_round: int) -> list[np.ndarray]:
    """Face-grid axes with flat steps ∝ length: the finest spacing that fits ``max_faces``."""

    def flat_steps(step: float) -> np.ndarray:
        return np.maximum(np.ceil(2.0 * inner / step).astype(int), 1)

    def faces(step: float) -> int:
        n = flat_steps(step) + 2 * n_round
        return int(4 * (n[0] * n[1] + n[1] * n[2] + n[0] * n[2]))

    step = 2.0 * float(inner.max()) + 1e-9  # one flat step along the longest side
    while faces(step / 1.1) <= max_faces:
        step /= 1.1
    return [_face_axis(inner[k], radius, int(n), n_round) for k, n in enumerate(flat_steps(step))]


def round_box_mesh(
    extents: np.ndarray, radius: float, max_faces: int = TARGET_FACES, n_round: int = 4
) -> trimesh.Trimesh:
    """Rounded box with near-uniform triangles, every vertex on the surface.

    Each face of the outer box is gridded (finer over the rounded strips) and each grid point x
    is mapped to the surface by the box's closest-point map: q = clamp(x, inner box),
    x ↦ q + radius·(x − q)/|x − q|. Flat parts stay exactly flat; neighbouring faces agree on
    their shared edges, so merging gives a closed mesh.
    """
    inner = 0.5 * np.asarray(extents, dtype=np.float64) - radius
    axes = _round_box_axes(inner, radius, max_faces, n_round)
    verts, faces = [], []
    for k in range(3):
        a, b = (k + 1) % 3, (k + 2) % 3
        u, w = np.meshgrid(axes[a], axes[b], indexing="ij")
        nu, nw = u.shape
        idx = np.arange(nu * nw).reshape(nu, nw)
        quads = np.stack([idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], axis=-1).reshape(-1, 4)
        tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
        for sign in (1.0, -1.0):
            v = np.zeros((nu * nw, 3))
            v[:, k], v[:, a], v[:, b] = sign * (inner[k] + radius), u.ravel(), w.ravel()
            faces.append((tris if sign > 0 else tris[:, ::-1]) + sum(len(x) for x in verts))
            verts.append(v)
    x = np.concatenate(verts)
    q = np.clip(x, -inner, inner)
    d = x - q
    surface = q + radius * d / np.linalg.norm(d, axis=1, keepdims=True)
    return _finish(surface, np.concatenate(faces))


# ============================================================================ marching cubes
def grid_axes(lo: np.ndarray, hi: np.ndarray, pitch: np.ndarray) -> list[np.ndarray]:
    """Per-axis node coordinates of the grid covering [lo, hi] at ``pitch`` (3,), padded."""
    start = lo - (PAD_CELLS + _GRID_SHIFT) * pitch
    counts = np.ceil((hi - lo) / pitch).astype(int) + 2 * PAD_CELLS + 2
    return [start[k] + np.arange(counts[k]) * pitch[k] for k in range(3)]


def _points(axes: list[np.ndarray]) -> np.ndarray:
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def sample_field(solid: Solid, axes: list[np.ndarray], pitch: np.ndarray) -> np.ndarray:
    """The SDF on the grid ``axes`` (float32, shape (n0, n1, n2)), evaluated exactly only in a
    band around the surface.

    A coarse grid (every COARSE-th node) is evaluated first. Because |f| never exceeds the true
    distance (exact or exact-outside SDFs), a node whose nearest coarse node c has
    |f(c)| > |c − node| + |pitch| lies farther than one cell from the surface: it keeps f(c),
    which has its sign, and no edge at it crosses the surface, so marching cubes sees the same
    mesh. ``lower-bound`` SDFs (|f| may exceed the distance inside) are evaluated densely.
    """
    shape = tuple(len(a) for a in axes)
    if solid.exactness == "lower-bound":
        return evaluate(solid.sdf, _points(axes), dtype=torch.float32).reshape(shape).astype(np.float32)
    coarse_idx = [np.arange(0, n + COARSE - 1, COARSE) for n in shape]
    coarse_axes = [a[0] + i * pitch[k] for k, (a, i) in enumerate(zip(axes, coarse_idx))]
    coarse = evaluate(solid.sdf, _points(coarse_axes), dtype=torch.float32).reshape([len(i) for i in coarse_idx])
    near = [np.rint(np.arange(n) / COARSE).astype(int) for n in shape]
    field = coarse[np.ix_(*near)].astype(np.float32)
    reach = (COARSE / 2 + 1) * float(np.linalg.norm(pitch))
    band = np.abs(field) <= reach
    field[band] = evaluate(solid.sdf, _points(axes).reshape(*shape, 3)[band], dtype=torch.float32)
    return field


def project_to_surface(solid: Solid, vertices: np.ndarray, steps: int = PROJECT_STEPS) -> np.ndarray:
    """Newton steps v ← v − f(v)·∇f/|∇f|² onto the zero set. vertices (V, 3) → (V, 3)."""
    v = torch.as_tensor(vertices, dtype=torch.float64)
    for _ in range(steps):
        d, g = sdf_gradient(solid.sdf, v)
        v = v - (d / (g * g).sum(-1).clamp(min=1e-12))[:, None] * g
    return v.numpy()


def decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric-error decimation (libigl's qslim) of a closed manifold mesh to at most
    ``max_faces``; returned unchanged when already under. Quadrics keep rims and edges where
    shortest-edge collapse (igl.decimate, 4× faster) rounds them off by a millimetre or more."""
    if len(faces) <= max_faces:
        return vertices, faces
    import igl

    U, G, _, _ = igl.qslim(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int32), max_faces)
    return U, G


def relax_to_surface(solid: Solid, vertices: np.ndarray, faces: np.ndarray, steps: int = RELAX_STEPS) -> np.ndarray:
    """Move each vertex part way to the mean of its neighbours, then back onto the zero set,
    ``steps`` times: tangential smoothing that keeps every vertex on the surface."""
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    L = trimesh.smoothing.laplacian_calculation(mesh, equal_weight=True)
    v = np.asarray(vertices, dtype=np.float64)
    for _ in range(steps):
        v = project_to_surface(solid, v + RELAX_WEIGHT * (L @ v - v))
    return v


def refined_axis(lo: float, hi: float, coarse: float, fine: float, bands: list[tuple[float, float]]) -> np.ndarray:
    """Monotone nodes from lo to hi: spacing ``fine`` inside any of ``bands``, else ``coarse``."""
    nodes = [lo]
    while nodes[-1] < hi:
        x = nodes[-1]
        near = any(a - coarse <= x <= b for a, b in bands)  # step finely into a band, not over it
        nodes.append(min(x + (fine if near else coarse), hi))
    return np.asarray(nodes)


def _interp_axes(index_coords: np.ndarray, axes: list[np.ndarray]) -> np.ndarray:
    """Marching-cubes vertices in index space (V, 3) → coordinates on non-uniform axes."""
    return np.stack([np.interp(index_coords[:, k], np.arange(len(a)), a) for k, a in enumerate(axes)], axis=1)


def cylindrical_mesh(
    solid: Solid, rho: np.ndarray, theta: np.ndarray, z: np.ndarray, max_faces: int = MAX_FACES
) -> trimesh.Trimesh:
    """Marching cubes on a (ρ, θ, z) grid about the z axis, for solids of revolution with small
    additions (a mug and its handle): the grid follows the round walls and rim, and its spacing
    can be fine only where needed (non-uniform axes). ``rho`` starts at 0, ``theta`` spans
    [−π, π]; nodes on the axis and on the seam coincide and are welded, the slivers this leaves
    at the axis are dropped. Then decimated, relaxed and projected as :func:`marching_mesh`.
    """
    from skimage.measure import marching_cubes

    axes = [rho, theta, z]
    R, T, Z = np.meshgrid(rho, theta, z, indexing="ij")
    pts = np.stack([R * np.cos(T), R * np.sin(T), Z], axis=-1)
    field = evaluate(solid.sdf, pts.reshape(-1, 3), dtype=torch.float32).reshape(R.shape).astype(np.float32)
    field[field == 0.0] = _ZERO_NUDGE * float(np.diff(rho).min())
    # (ρ̂, θ̂, ẑ) is right-handed, so index-space orientation carries over to x, y, z
    verts, faces, _, _ = marching_cubes(field, 0.0, gradient_direction="ascent")
    r, t, h = _interp_axes(verts, axes).T
    welded = trimesh.Trimesh(np.stack([r * np.cos(t), r * np.sin(t), h], axis=1), faces, process=True, validate=True)
    v, f = decimate(welded.vertices, welded.faces, max_faces)
    return _finish(relax_to_surface(solid, v, f), f)


def marching_mesh(solid: Solid, pitch: float | np.ndarray, max_faces: int = MAX_FACES) -> trimesh.Trimesh:
    """Mesh of the zero set of ``solid`` by marching cubes on a grid of ``pitch`` (scalar or per
    axis, metres), decimated to ``max_faces``, then relaxed on the surface (every vertex on it).

    Features thinner than about two cells along an axis can be lost: callers pick the pitch from
    their thinnest part.
    """
    from skimage.measure import marching_cubes

    step = np.broadcast_to(np.asarray(pitch, dtype=np.float64), (3,)).copy()
    axes = grid_axes(solid.lo, solid.hi, step)
    field = sample_field(solid, axes, step)
    field[field == 0.0] = _ZERO_NUDGE * float(step.min())
    # 'ascent': the outside has the larger values, so the faces come out outward-oriented
    verts, faces, _, _ = marching_cubes(field, 0.0, spacing=tuple(step), gradient_direction="ascent")
    verts, faces = decimate(verts + np.array([a[0] for a in axes]), faces, max_faces)
    return _finish(relax_to_surface(solid, verts, faces), faces)
