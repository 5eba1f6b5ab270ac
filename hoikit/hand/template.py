"""The hand's rest surface: a watertight triangle mesh of the parts' SDF, built once and shipped.

Built for a unit hand (hand length 1, unit shape ratios, zero pose) by marching cubes on the SDF of
:mod:`hoikit.hand.parts` at a spacing that gives the vertex budget directly, then rounds of tangential
relaxation (even triangles) with the vertices projected back onto the zero level set. The build
refuses a mesh that is not closed, not genus 0 or intersects itself. The result is stored with a
digest of every constant it depends on, so a stale file is noticed.

Rebuild after changing the skeleton or parts (commit the .npz)::

    PYTHONPATH=. python -m hoikit.hand.template
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from hoikit.errors import HoikitWarning
from hoikit.hand import parts as P
from hoikit.hand.skeleton import as_shape, joint_frames, rest_joints
from hoikit.types import Sim3

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "data" / "hand" / "template.npz"
# Marching-cubes voxel (4.6 mm for a 19 cm hand): coarse enough to land near the vertex budget by
# itself (~2.6k vertices), so no decimation is needed and triangles stay even; fine enough to resolve
# the rounded webs between fingers (see parts.WEB_BLEND_HL).
GRID_SPACING_HL = 0.024
GRID_MARGIN_HL = 0.02
RELAX_ROUNDS = 8
RELAX_STEP = 0.3
RELAX_ROLLBACKS = 3
PROJECTION_STEPS = 4
SDF_CHUNK = 200_000


def unit_parts() -> P.PosedParts:
    """Parts of the unit hand (HL = 1, unit ratios) in the zero pose, canonical frame."""
    shape = as_shape(torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64))
    rest = rest_joints(shape)
    eye = torch.eye(3, dtype=torch.float64).expand(1, rest.shape[1], 3, 3)
    identity = Sim3(torch.ones(1, dtype=torch.float64), torch.eye(3, dtype=torch.float64)[None], torch.zeros(1, 3, dtype=torch.float64))
    return P.posed_parts(rest, rest, eye, shape, identity, mirror=False)


def unit_sdf(points: np.ndarray | torch.Tensor, parts: P.PosedParts | None = None) -> torch.Tensor:
    """(N,) SDF of the unit hand at (N, 3) points, evaluated in chunks (float64)."""
    parts = parts or unit_parts()
    pts = torch.as_tensor(points, dtype=torch.float64)
    return torch.cat([P.hand_sdf(c[None], parts)[0] for c in pts.split(SDF_CHUNK)])


def _grid(parts: P.PosedParts) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned grid around the hand: origin (3,) and shape (3,) at GRID_SPACING_HL."""
    ends = torch.cat([parts.a[0], parts.b[0]]).numpy()
    reach = float(parts.radii.max())
    poly = parts.palm_polygon[0].numpy()
    palm_r = float(parts.palm_radius[0])
    lo = np.minimum(ends.min(0) - reach, np.r_[poly.min(0), 0.0] - palm_r) - GRID_MARGIN_HL
    hi = np.maximum(ends.max(0) + reach, np.r_[poly.max(0), 0.0] + palm_r) + GRID_MARGIN_HL
    return lo, np.ceil((hi - lo) / GRID_SPACING_HL).astype(int) + 1


def marching_cubes_surface() -> tuple[np.ndarray, np.ndarray]:
    """Dense (V, 3), (F, 3) zero level set of the unit hand, outward-facing."""
    from skimage.measure import marching_cubes

    parts = unit_parts()
    origin, n = _grid(parts)
    axes = [origin[k] + GRID_SPACING_HL * np.arange(n[k]) for k in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    values = unit_sdf(grid, parts).numpy().reshape(*n)
    verts, faces, _, _ = marching_cubes(values, level=0.0, spacing=(GRID_SPACING_HL,) * 3)
    # skimage orients triangles towards increasing values: outward for an SDF negative inside
    return verts + origin, faces


def project_to_surface(vertices: np.ndarray, parts: P.PosedParts, steps: int = PROJECTION_STEPS) -> np.ndarray:
    """Steps x ← x − f ∇f/|∇f| towards the SDF's zero level set.

    A step moves a vertex by |f|, as it would on an exact SDF; Newton's f ∇f/|∇f|² is not used because
    |∇f| nearly vanishes at the saddle of a web fillet and would throw vertices across the gap.
    """
    x = torch.as_tensor(vertices, dtype=torch.float64)
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        f = unit_sdf(x, parts)
        (g,) = torch.autograd.grad(f.sum(), x)
        x = x - (f / g.norm(dim=-1).clamp_min(1e-12))[:, None] * g
    return x.detach().numpy()


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    import trimesh

    return np.asarray(trimesh.Trimesh(vertices, faces, process=False).vertex_normals)


def _edges(faces: np.ndarray) -> np.ndarray:
    return np.unique(np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1), axis=0)


def crossing_vertices(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Vertices of every (edge, triangle) pair that cross, among pairs sharing no vertex; empty when the
    mesh is embedded.

    Two triangles of a closed mesh intersect only if an edge of one crosses the other, so testing every
    edge against the nearby triangles (Möller–Trumbore) finds every intersection.
    """
    from scipy.spatial import cKDTree

    V, F = np.asarray(vertices, dtype=np.float64), np.asarray(faces)
    E = _edges(F)
    tri = V[F]
    centre = tri.mean(1)
    reach = np.linalg.norm(tri - centre[:, None], axis=2).max() + np.linalg.norm(V[E[:, 0]] - V[E[:, 1]], axis=1).max()
    near = cKDTree(centre).query_ball_point(V[E].mean(1), r=reach)
    ei = np.repeat(np.arange(len(E)), [len(n) for n in near])
    ti = np.concatenate([np.asarray(n, dtype=np.int64) for n in near])
    keep = ~(F[ti][:, :, None] == E[ei][:, None, :]).any((1, 2))
    ei, ti = ei[keep], ti[keep]
    origin, direction = V[E[ei, 0]], V[E[ei, 1]] - V[E[ei, 0]]
    a, e1, e2 = V[F[ti, 0]], V[F[ti, 1]] - V[F[ti, 0]], V[F[ti, 2]] - V[F[ti, 0]]
    p = np.cross(direction, e2)
    det = (e1 * p).sum(1)
    valid = np.abs(det) > 1e-15
    inv = np.where(valid, 1.0 / np.where(valid, det, 1.0), 0.0)
    s = origin - a
    q = np.cross(s, e1)
    u, v, t = (s * p).sum(1) * inv, (direction * q).sum(1) * inv, (e2 * q).sum(1) * inv
    hit = valid & (u >= 0) & (v >= 0) & (u + v <= 1) & (t >= 0) & (t <= 1)
    return np.unique(np.concatenate([E[ei[hit]].ravel(), F[ti[hit]].ravel()]))


def self_intersections(vertices: np.ndarray, faces: np.ndarray) -> int:
    """Number of vertices involved in a self-intersection (0 for an embedded mesh)."""
    return len(crossing_vertices(vertices, faces))


def relax(vertices: np.ndarray, faces: np.ndarray, parts: P.PosedParts) -> np.ndarray:
    """Tangential Laplacian relaxation (evens out triangle sizes) with re-projection to the surface.

    A round never makes the surface cross itself: where it would (vertices sliding into the narrow end
    of a web), those vertices and their neighbours keep their previous positions.
    """
    import igl

    adjacency = igl.adjacency_matrix(faces.astype(np.int64)).tocsr()
    degree = np.asarray(adjacency.sum(1)).ravel()
    v = vertices
    for _ in range(RELAX_ROUNDS):
        step = adjacency @ v / degree[:, None] - v
        normals = _vertex_normals(v, faces)
        step -= normals * (step * normals).sum(1, keepdims=True)
        moved = project_to_surface(v + RELAX_STEP * step, parts)
        for _ in range(RELAX_ROLLBACKS):
            bad = crossing_vertices(moved, faces)
            if len(bad) == 0:
                break
            frozen = np.unique(np.concatenate([bad, adjacency[bad].indices]))
            moved[frozen] = v[frozen]
        v = moved if len(crossing_vertices(moved, faces)) == 0 else v
    return v


def build_template() -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) float64 unit-hand vertices, (F, 3) int64 outward faces: closed, genus 0, embedded."""
    import trimesh

    verts, faces = marching_cubes_surface()
    parts = unit_parts()
    verts = relax(project_to_surface(verts, parts), faces, parts)
    mesh = trimesh.Trimesh(verts, faces, process=False)
    crossings = self_intersections(verts, faces)
    if not (mesh.is_watertight and mesh.euler_number == 2 and mesh.volume > 0 and crossings == 0):
        raise RuntimeError(
            f"hand template is not a clean closed surface (watertight {mesh.is_watertight}, Euler "
            f"{mesh.euler_number}, volume {mesh.volume:.4g}, {crossings} self-intersections): adjust "
            "GRID_SPACING_HL or the web fillet"
        )
    return verts, faces.astype(np.int64)


def template_digest() -> str:
    """Hash of everything the template's geometry depends on (skeleton, parts, meshing settings)."""
    parts = unit_parts()
    arrays = [parts.a, parts.b, parts.radii, parts.palm_polygon, parts.palm_radius, parts.blend]
    settings = np.array([GRID_SPACING_HL, GRID_MARGIN_HL, RELAX_ROUNDS, RELAX_STEP, PROJECTION_STEPS])
    h = hashlib.sha256()
    for arr in [*(a.detach().numpy() for a in arrays), joint_frames(), settings]:
        h.update(np.round(np.asarray(arr, dtype=np.float64), 9).tobytes())
    return h.hexdigest()[:16]


def save_template(path: Path = TEMPLATE_PATH) -> tuple[np.ndarray, np.ndarray]:
    V, F = build_template()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vertices=V.astype(np.float32), faces=F.astype(np.int32), digest=template_digest())
    return V, F


@lru_cache(maxsize=1)
def load_template(path: Path = TEMPLATE_PATH) -> tuple[np.ndarray, np.ndarray]:
    """The shipped unit-hand mesh: vertices (V, 3) float64 in hand lengths, faces (F, 3) int64."""
    with np.load(path) as data:
        V, F, digest = data["vertices"].astype(np.float64), data["faces"].astype(np.int64), str(data["digest"])
    if digest != template_digest():
        warnings.warn(
            f"{path.name} was built from other hand constants than the current ones: rebuild it with "
            "`python -m hoikit.hand.template`",
            HoikitWarning,
            stacklevel=2,
        )
    return V, F


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE_PATH
    V, F = save_template(out)
    print(f"wrote {out}: {len(V)} vertices, {len(F)} faces, digest {template_digest()}")
