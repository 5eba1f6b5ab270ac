"""Signed distance functions in torch: 2D profiles, 3D primitives, and the operators composing them.

Conventions (:mod:`hoikit.types`): metres, negative inside. Every SDF maps points (N, 3) to (N,),
keeps their dtype and device, and is differentiable with respect to them.

A :class:`Solid` is an SDF together with its axis-aligned bounds and how exact it is:

- ``"exact"``: the Euclidean signed distance to the surface, inside and outside.
- ``"exact-outside"``: exact outside; inside, a bound (``|f| ≤`` true depth). This is what a union
  of exact pieces gives (min of distances is exact outside, underestimates depth inside).
- ``"lower-bound"``: f ≤ the true signed distance everywhere (outside it underestimates the
  distance, inside it overestimates the depth), with exact sign and zero set and a unit gradient
  on the surface, so it is first-order exact near the surface (:func:`sd_superquadric`).

Solids are frozen dataclasses around ``functools.partial`` of module-level functions, so they
pickle (data-loader workers) and print their parameters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np
import torch

SDF = Callable[[torch.Tensor], torch.Tensor]
Profile = Callable[[torch.Tensor], torch.Tensor]  # 2D signed distance: (N, 2) → (N,)
Exactness = Literal["exact", "exact-outside", "lower-bound"]
_RANK: dict[str, int] = {"exact": 0, "exact-outside": 1, "lower-bound": 2}
_TINY = 1e-12  # guards divisions and negative powers at degenerate points (an axis, a centre)
_SQRT_FLOOR = 1e-30  # keeps sqrt differentiable at 0; far below any squared length used here
ROW_CHUNK = 8192  # query rows per block where an op broadcasts points against many segments


def _as(x: object, like: torch.Tensor) -> torch.Tensor:
    """Parameter (float or numpy) as a tensor with the dtype and device of the query points."""
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(x.clamp(min=_SQRT_FLOOR))


def _rowwise(fn: Callable[[torch.Tensor], torch.Tensor], q: torch.Tensor) -> torch.Tensor:
    """Apply ``fn`` to blocks of rows: bounds the memory of (rows × segments) intermediates."""
    if len(q) <= ROW_CHUNK:
        return fn(q)
    return torch.cat([fn(q[i : i + ROW_CHUNK]) for i in range(0, len(q), ROW_CHUNK)])


# ============================================================================ 2D profiles
def sd_round_rect2d(q: torch.Tensor, center: Sequence[float], half: Sequence[float], radius: float) -> torch.Tensor:
    """Exact distance to the rectangle |q − center| ≤ half with corners rounded by ``radius``.
    q: (N, 2) → (N,)."""
    d = (q - _as(center, q)).abs() - _as(np.asarray(half) - radius, q)
    return torch.linalg.vector_norm(d.clamp(min=0.0), dim=-1) + d.amax(dim=-1).clamp(max=0.0) - radius


def _segment_distances(q: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) distances from points q (N, D) to the segments a→b, each (M, D)."""
    ba = b - a
    pa = q[:, None, :] - a[None]
    h = ((pa * ba).sum(-1) / (ba * ba).sum(-1).clamp(min=_TINY)).clamp(0.0, 1.0)
    return torch.linalg.vector_norm(pa - ba * h[..., None], dim=-1)


def _polyline_block(q: torch.Tensor, verts: np.ndarray) -> torch.Tensor:
    v = _as(verts, q)
    return _segment_distances(q, v[:-1], v[1:]).amin(dim=-1)


def sd_circle2d(q: torch.Tensor, center: Sequence[float], radius: float) -> torch.Tensor:
    """Exact distance to a disc. q: (N, 2) → (N,)."""
    return torch.linalg.vector_norm(q - _as(center, q), dim=-1) - radius


def dist_polyline(q: torch.Tensor, verts: np.ndarray) -> torch.Tensor:
    """Unsigned distance to an open polyline, in 2D or 3D. q: (N, D), verts: (K, D) → (N,)."""
    return _rowwise(functools.partial(_polyline_block, verts=verts), q)


def _polygon_block(q: torch.Tensor, verts: np.ndarray) -> torch.Tensor:
    v = _as(verts, q)
    a, b = v, torch.roll(v, -1, dims=0)
    dist = _segment_distances(q, a, b).amin(dim=-1)
    # even–odd rule on a ray towards +u: which edges straddle the point's v and lie to its right
    qu, qv = q[:, None, 0], q[:, None, 1]
    straddles = (a[:, 1] > qv) != (b[:, 1] > qv)
    dv = torch.where(straddles, b[:, 1] - a[:, 1], torch.ones_like(b[:, 1]))
    u_cross = a[:, 0] + (b[:, 0] - a[:, 0]) * (qv - a[:, 1]) / dv
    inside = (straddles & (qu < u_cross)).sum(dim=-1) % 2 == 1
    return torch.where(inside, -dist, dist)


def sd_polygon2d(q: torch.Tensor, verts: np.ndarray) -> torch.Tensor:
    """Exact signed distance to a simple closed polygon (any orientation). verts: (K, 2), not
    repeating the first vertex; q: (N, 2) → (N,)."""
    return _rowwise(functools.partial(_polygon_block, verts=verts), q)


# ============================================================================ 3D primitives
def sd_sphere(p: torch.Tensor, radius: float) -> torch.Tensor:
    """Exact. Sphere of ``radius`` at the origin."""
    return torch.linalg.vector_norm(p, dim=-1) - radius


def sd_round_box(p: torch.Tensor, half: np.ndarray, radius: float) -> torch.Tensor:
    """Exact. Box of half extents ``half`` (outer surface) with edges rounded by ``radius``."""
    d = p.abs() - _as(np.asarray(half) - radius, p)
    outside = torch.linalg.vector_norm(d.clamp(min=0.0), dim=-1)
    return outside + d.amax(dim=-1).clamp(max=0.0) - radius


def sd_round_cones(p: torch.Tensor, a: np.ndarray, b: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> torch.Tensor:
    """Exact distance to each round cone (convex hull of the spheres (a, ra) and (b, rb)).

    Worked in each cone's half-plane (ρ radial, h axial from a): the side is the common tangent
    of the two end circles, with unit normal (cos α, sin α), sin α = (ra − rb)/|b − a|; a point's
    coordinate along that tangent says whether its nearest point is on sphere a, the side, or b.

    Args:
        p: (N, 3).
        a, b: (M, 3) end centres; ra, rb: (M,) end radii with |ra − rb| < |b − a|.
    Returns:
        (N, M) signed distances, one column per cone.
    """
    ab = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    length = np.linalg.norm(ab, axis=-1)
    sin_a = (np.asarray(ra) - np.asarray(rb)) / length
    cos_a = np.sqrt(1.0 - sin_a**2)
    pa = p[:, None, :] - _as(a, p)[None]
    h = (pa * _as(ab / length[:, None], p)).sum(-1)  # (N, M)
    r2 = (pa * pa).sum(-1)
    rho = _sqrt(r2 - h * h)
    ca, sa, L = _as(cos_a, p), _as(sin_a, p), _as(length, p)
    along = ca * h - sa * rho  # coordinate along the tangent line, 0 at sphere a's tangent point
    d_a = _sqrt(r2) - _as(ra, p)
    d_b = _sqrt(rho * rho + (h - L) ** 2) - _as(rb, p)
    d_side = ca * rho + sa * h - _as(ra, p)
    return torch.where(along < 0, d_a, torch.where(along > ca * L, d_b, d_side))


def sd_tube(p: torch.Tensor, points: np.ndarray, radii: np.ndarray) -> torch.Tensor:
    """Union of the round cones along a polyline (K, 3) with a radius (K,) at each vertex
    (capsules, at a third of the cost, when the radius is constant)."""
    if np.all(radii == radii[0]):
        return dist_polyline(p, points) - float(radii[0])

    def block(x: torch.Tensor) -> torch.Tensor:
        return sd_round_cones(x, points[:-1], points[1:], radii[:-1], radii[1:]).amin(dim=-1)

    return _rowwise(block, p)


def superquadric_gauge(p: torch.Tensor, radii: np.ndarray, e1: float, e2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauge G of the superquadric ((|x/a|^(2/e2) + |y/b|^(2/e2))^(e2/e1) + |z/c|^(2/e1))^(e1/2).

    G is positively 1-homogeneous (G(λp) = λG(p)) and equals 1 on the surface. Returns G (N,)
    and its analytic gradient (N, 3).
    """
    s = p.abs() / _as(radii, p) + _TINY
    xy = s[:, :2] ** (2.0 / e2)
    u = xy.sum(-1)
    w = s[:, 2] ** (2.0 / e1)
    F = u ** (e2 / e1) + w
    common = F ** (e1 / 2.0 - 1.0)
    g_xy = common[:, None] * (u ** (e2 / e1 - 1.0))[:, None] * xy / s[:, :2]
    g_z = common * w / s[:, 2]
    grad = torch.cat([g_xy, g_z[:, None]], dim=-1) * torch.sign(p) / _as(radii, p)
    return F ** (e1 / 2.0), grad


def sd_superquadric(p: torch.Tensor, radii: np.ndarray, e1: float, e2: float) -> torch.Tensor:
    """Approximate signed distance (G − 1)/|∇G| of a convex superquadric (e1, e2 ≤ 2).

    For a convex gauge this is the signed distance to the tangent plane at the surface point on
    the ray from the centre through p. The solid lies behind that plane, so the value never
    exceeds the true signed distance: outside it underestimates the distance, inside it
    overestimates the depth. Exact sign and zero set, unit gradient on the surface (first-order
    exact near it), exact on flat faces.
    """
    G, grad = superquadric_gauge(p, radii, e1, e2)
    return (G - 1.0) / torch.linalg.vector_norm(grad, dim=-1).clamp(min=_TINY)


# ============================================================================ lifting 2D → 3D
def _radial(p: torch.Tensor) -> torch.Tensor:
    """(N, 3) → (N, 2) half-plane coordinates (ρ = distance to the z axis, z)."""
    return torch.stack([torch.linalg.vector_norm(p[:, :2], dim=-1), p[:, 2]], dim=-1)


def revolve_eval(p: torch.Tensor, profile: Profile) -> torch.Tensor:
    """Solid of revolution about z: exact when ``profile`` is exact and symmetric in u."""
    return profile(_radial(p))


def extrude_eval(p: torch.Tensor, profile: Profile, half_height: float) -> torch.Tensor:
    """Profile in the xy-plane extruded to |z| ≤ half_height: exact when the profile is."""
    w = torch.stack([profile(p[:, :2]), p[:, 2].abs() - half_height], dim=-1)
    return torch.linalg.vector_norm(w.clamp(min=0.0), dim=-1) + w.amax(dim=-1).clamp(max=0.0)


def _stroke2d(q: torch.Tensor, verts: np.ndarray, half_thickness: float) -> torch.Tensor:
    return dist_polyline(q, verts) - half_thickness


# ============================================================================ Solid
@dataclass(frozen=True)
class Solid:
    """An SDF with its bounds.

    Attributes:
        sdf: points (N, 3) metres → (N,) metres, negative inside.
        lo, hi: (3,) axis-aligned bounds of the solid (exact for the constructors here).
        exactness: ``"exact"`` | ``"exact-outside"`` | ``"lower-bound"`` (module docstring).
    """

    sdf: SDF
    lo: np.ndarray
    hi: np.ndarray
    exactness: Exactness

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        return self.sdf(points)

    @property
    def center(self) -> np.ndarray:
        return 0.5 * (self.lo + self.hi)

    @property
    def extents(self) -> np.ndarray:
        return self.hi - self.lo


def _solid(
    fn: Callable[..., torch.Tensor], lo: Sequence[float], hi: Sequence[float], exactness: Exactness, **kw: object
) -> Solid:
    lo_, hi_ = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    return Solid(functools.partial(fn, **kw), lo_, hi_, exactness)


def sphere(radius: float) -> Solid:
    r = np.full(3, radius)
    return _solid(sd_sphere, -r, r, "exact", radius=radius)


def round_box(extents: Sequence[float], radius: float) -> Solid:
    """Box of full ``extents`` (metres) centred at the origin, edges rounded by ``radius``."""
    half = 0.5 * np.asarray(extents, dtype=np.float64)
    if radius > half.min():
        raise ValueError(f"rounding {radius} exceeds the half extent {half.min()}")
    return _solid(sd_round_box, -half, half, "exact", half=half, radius=radius)


def tube(points: np.ndarray, radii: np.ndarray | float) -> Solid:
    """Round cones along a polyline (K, 3) with radii (K,) (a capsule when K = 2 and radii equal)."""
    pts = np.asarray(points, dtype=np.float64)
    r = np.broadcast_to(np.asarray(radii, dtype=np.float64), (len(pts),)).copy()
    lo, hi = (pts - r[:, None]).min(axis=0), (pts + r[:, None]).max(axis=0)
    exactness: Exactness = "exact" if len(pts) == 2 else "exact-outside"
    return _solid(sd_tube, lo, hi, exactness, points=pts, radii=r)


def superquadric(radii: Sequence[float], e1: float, e2: float) -> Solid:
    """Convex superquadric of semi-axes ``radii``; e1 shapes the z profile, e2 the xy section.
    e = 1 is round (e1 = e2 = 1: an ellipsoid), e → 0 boxy. A lower bound of the SDF
    (:func:`sd_superquadric`)."""
    if not (0.0 < e1 <= 2.0 and 0.0 < e2 <= 2.0):
        raise ValueError("superquadric exponents must lie in (0, 2] to stay convex")
    r = np.asarray(radii, dtype=np.float64)
    return _solid(sd_superquadric, -r, r, "lower-bound", radii=r, e1=e1, e2=e2)


def _mirror_about_axis(outline: np.ndarray) -> np.ndarray:
    """Close a profile running from the axis back to the axis with its mirror image (u → −u)."""
    mirrored = outline[::-1] * np.array([-1.0, 1.0])
    return np.concatenate([outline, mirrored[1:-1]])


def revolved_outline(outline: np.ndarray) -> Solid:
    """Revolve a profile polygon (K, 2) in the (ρ, z) half-plane about z. Exact.

    Either a closed loop with ρ > 0 (e.g. a circle: a torus), or an open path whose first and
    last vertices lie on the axis (ρ = 0): it is closed with its mirror image so that the axis is
    not mistaken for a surface.
    """
    o = np.asarray(outline, dtype=np.float64)
    on_axis = np.isclose(o[0, 0], 0.0) and np.isclose(o[-1, 0], 0.0)
    poly = _mirror_about_axis(o) if on_axis else o
    profile = functools.partial(sd_polygon2d, verts=poly)
    return _revolved_profile(profile, np.abs(o[:, 0]).max(), o[:, 1].min(), o[:, 1].max())


def _revolved_profile(profile: Profile, rho: float, z0: float, z1: float) -> Solid:
    return _solid(revolve_eval, [-rho, -rho, z0], [rho, rho, z1], "exact", profile=profile)


def revolved_round_rect(rho0: float, rho1: float, z0: float, z1: float, corner: float) -> Solid:
    """The rectangle [ρ0, ρ1] × [z0, z1] of the (ρ, z) half-plane, corners rounded by
    ``corner``, revolved about z: a rounded cylinder when ρ0 = 0 (the rectangle is then taken
    symmetric about the axis), a ring otherwise. Exact."""
    lo = np.array([-rho1 if rho0 == 0.0 else rho0, z0])
    hi = np.array([rho1, z1])
    profile = functools.partial(sd_round_rect2d, center=0.5 * (lo + hi), half=0.5 * (hi - lo), radius=corner)
    return _revolved_profile(profile, rho1, z0, z1)


def torus(major: float, minor: float) -> Solid:
    """Torus about z through the xy-plane: tube radius ``minor`` at distance ``major``. Exact."""
    profile = functools.partial(sd_circle2d, center=(major, 0.0), radius=minor)
    return _revolved_profile(profile, major + minor, -minor, minor)


def revolved_stroke(path: np.ndarray, half_thickness: float) -> Solid:
    """Revolve the set of points within ``half_thickness`` of a path (K, 2) in the (ρ, z)
    half-plane (a wall of thickness 2·half_thickness with round ends). Exact: for ρ ≥ 0 the
    nearest point of the mirrored path is never closer than that of the path itself."""
    pth = np.asarray(path, dtype=np.float64)
    rho = pth[:, 0].max() + half_thickness
    z0, z1 = pth[:, 1].min() - half_thickness, pth[:, 1].max() + half_thickness
    return _revolved_profile(functools.partial(_stroke2d, verts=pth, half_thickness=half_thickness), rho, z0, z1)


def _extruded(profile: Profile, lo2: np.ndarray, hi2: np.ndarray, half_height: float) -> Solid:
    lo = [*lo2, -half_height]
    hi = [*hi2, half_height]
    return _solid(extrude_eval, lo, hi, "exact", profile=profile, half_height=half_height)


def extruded_polygon(outline: np.ndarray, half_height: float) -> Solid:
    """A polygon (K, 2) in the xy-plane extruded to |z| ≤ half_height. Exact (sharp edges)."""
    o = np.asarray(outline, dtype=np.float64)
    return _extruded(functools.partial(sd_polygon2d, verts=o), o.min(axis=0), o.max(axis=0), half_height)


def extruded_round_rect(lo2: Sequence[float], hi2: Sequence[float], corner: float, half_height: float) -> Solid:
    """The rectangle [lo2, hi2] in the xy-plane, corners rounded by ``corner``, extruded to
    |z| ≤ half_height. Exact (analytic; cheaper than a polygon)."""
    lo, hi = np.asarray(lo2, dtype=np.float64), np.asarray(hi2, dtype=np.float64)
    profile = functools.partial(sd_round_rect2d, center=0.5 * (lo + hi), half=0.5 * (hi - lo), radius=corner)
    return _extruded(profile, lo, hi, half_height)


# ============================================================================ operators
def _union_eval(p: torch.Tensor, sdfs: tuple[SDF, ...]) -> torch.Tensor:
    return torch.stack([f(p) for f in sdfs], dim=0).amin(dim=0)


def union(*solids: Solid) -> Solid:
    """min of the SDFs: exact outside when the pieces are exact, a bound inside."""
    if len(solids) == 1:
        return solids[0]
    rank = max(max(_RANK[s.exactness] for s in solids), _RANK["exact-outside"])
    exactness = next(k for k, v in _RANK.items() if v == rank)
    lo = np.min([s.lo for s in solids], axis=0)
    hi = np.max([s.hi for s in solids], axis=0)
    return _solid(_union_eval, lo, hi, exactness, sdfs=tuple(s.sdf for s in solids))  # type: ignore[arg-type]


def _offset_eval(p: torch.Tensor, sdf: SDF, radius: float) -> torch.Tensor:
    return sdf(p) - radius


def offset(solid: Solid, radius: float) -> Solid:
    """Grow the solid by ``radius`` (rounds its convex edges). Keeps its exactness."""
    return _solid(_offset_eval, solid.lo - radius, solid.hi + radius, solid.exactness, sdf=solid.sdf, radius=radius)


def _transform_eval(p: torch.Tensor, sdf: SDF, R: np.ndarray, t: np.ndarray) -> torch.Tensor:
    # x = Rᵀ(p − t) as rows: (p − t) @ R
    return sdf((p - _as(t, p)) @ _as(R, p))


def transformed(solid: Solid, R: np.ndarray | None = None, t: Sequence[float] | None = None) -> Solid:
    """The solid moved by x' = R·x + t (rigid: keeps distances, so keeps exactness). Bounds are
    those of the moved bounding box: exact for axis permutations, conservative otherwise."""
    R_ = np.eye(3) if R is None else np.asarray(R, dtype=np.float64)
    t_ = np.zeros(3) if t is None else np.asarray(t, dtype=np.float64)
    moved = _corners(solid) @ R_.T + t_
    return _solid(_transform_eval, moved.min(axis=0), moved.max(axis=0), solid.exactness, sdf=solid.sdf, R=R_, t=t_)


def _corners(solid: Solid) -> np.ndarray:
    """(8, 3) corners of the solid's bounding box."""
    idx = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
    return np.where(idx == 0, solid.lo, solid.hi)


def translated(solid: Solid, t: Sequence[float]) -> Solid:
    return transformed(solid, None, t)


# ============================================================================ evaluation
def evaluate(sdf: SDF, points: np.ndarray, dtype: torch.dtype = torch.float64, chunk: int = 1 << 16) -> np.ndarray:
    """Evaluate an SDF on numpy points without gradients. points: (N, 3) → (N,) float64."""
    pts = np.asarray(points)
    out = np.empty(len(pts), dtype=np.float64)
    with torch.no_grad():
        for i in range(0, len(pts), chunk):
            out[i : i + chunk] = sdf(torch.as_tensor(pts[i : i + chunk], dtype=dtype)).double().numpy()
    return out


def sdf_gradient(sdf: SDF, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Values (N,) and gradients (N, 3) of an SDF at points (N, 3), by autograd."""
    x = points.detach().requires_grad_(True)
    with torch.enable_grad():
        d = sdf(x)
        (g,) = torch.autograd.grad(d.sum(), x)
    return d.detach(), g
