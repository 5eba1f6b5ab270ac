"""Procedural object families: random metric dimensions → SDF, mesh, texture, grasp hints.

Every builder takes a numpy ``Generator`` and returns a :class:`Blueprint` in its construction
frame (z up, longest horizontal extent along x); :func:`hoikit.synth.objects.sample_object`
moves it to the canonical frame (bounding-box centre at the origin). Shapes are composed from
the primitives of :mod:`hoikit.synth.sdf`; their meshes are built directly where the shape has a
parametrisation (revolved profiles, superquadrics, rounded boxes, spheres), otherwise by marching
cubes (mug, knife, spatula, hammer, banana).

Sizes are per family ranges in metres (named constants below); across families the largest
dimension spans about 3 cm (a small ring or ball) to 30 cm (hammers, knives, spatulas, bottles).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import trimesh

from hoikit.synth import meshing, textures
from hoikit.synth.meshing import refined_axis
from hoikit.synth.base import GraspHint
from hoikit.synth.sdf import (
    Solid,
    extruded_polygon,
    extruded_round_rect,
    offset,
    revolved_outline,
    revolved_round_rect,
    revolved_stroke,
    round_box,
    sphere,
    superquadric,
    torus,
    transformed,
    translated,
    tube,
    union,
)
from hoikit.synth.textures import Band, ByPart, Noise, Texture, Uniform
from hoikit.types import CM, MM

Range = tuple[float, float]
X, Y, Z = np.eye(3)
# rotations that carry a solid built around +z onto +x / +y (axis permutations keep bounds exact)
Z_TO_X = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
Z_TO_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
ARC_POINTS = 8  # vertices per rounded corner of a profile
LABEL_PROBABILITY = 0.7  # cans and bottles that carry a label band
MIN_WALL = 3 * MM  # thinnest wall/blade: a 5 mm metric grid (IV) still sees it


@dataclass(frozen=True)
class Blueprint:
    """A family's output in its construction frame.

    Attributes:
        solid: the object's SDF and bounds.
        mesh: builds the watertight mesh of ``solid`` (direct or marching cubes).
        texture: points (N, 3) → RGB (N, 3).
        params: sampled dimensions (metres) and shape parameters.
        hints: graspable parts, preferred first.
        parts: named pieces whose union is ``solid``.
    """

    solid: Solid
    mesh: Callable[[], trimesh.Trimesh]
    texture: Texture
    params: dict[str, float]
    hints: tuple[GraspHint, ...]
    parts: dict[str, Solid]


def _draw(rng: np.random.Generator, ranges: dict[str, Range]) -> dict[str, float]:
    """One uniform draw per named range, in the order given (so seeds stay stable)."""
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in ranges.items()}


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


# ============================================================================ 2D profile helpers
def _arc(center: tuple[float, float], radius: float, a0: float, a1: float, n: int = ARC_POINTS) -> np.ndarray:
    """(n, 2) points on a circular arc from angle a0 to a1 (radians), both ends included."""
    a = np.linspace(a0, a1, n)
    return np.asarray(center) + radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def rounded_rect(u0: float, u1: float, v0: float, v1: float, r: float) -> np.ndarray:
    """Closed loop (K, 2) of the rectangle [u0, u1] × [v0, v1] with corners rounded by r."""
    h = np.pi / 2
    corners = [((u1 - r, v0 + r), -h), ((u1 - r, v1 - r), 0.0), ((u0 + r, v1 - r), h), ((u0 + r, v0 + r), 2 * h)]
    return np.concatenate([_arc(c, r, a, a + h) for c, a in corners])


def column_outline(radius: float, z0: float, z1: float, r: float) -> np.ndarray:
    """Profile of a solid cylinder with rims rounded by r, from the axis at z0 to the axis at z1."""
    right = rounded_rect(-radius, radius, z0, z1, r)[: 2 * ARC_POINTS]  # the two corners at +ρ
    return np.concatenate([[[0.0, z0]], right, [[0.0, z1]]])


def _offset_normals(path: np.ndarray) -> np.ndarray:
    """(K, 2) right-hand normals of a polyline at its vertices, mitred so that offsetting by
    h·normal keeps each segment's offset at distance h."""
    seg = np.diff(path, axis=0)
    n_seg = np.stack([seg[:, 1], -seg[:, 0]], axis=1) / np.linalg.norm(seg, axis=1, keepdims=True)
    n = np.concatenate([n_seg[:1], n_seg[:-1] + n_seg[1:], n_seg[-1:]])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    cos_half = np.concatenate([[1.0], (n[1:-1] * n_seg[1:]).sum(axis=1), [1.0]])
    return n / cos_half[:, None]


def shell_outline(path: np.ndarray, half_thickness: float) -> np.ndarray:
    """Profile of a wall of thickness 2·half_thickness around a centre-line ``path`` (K, 2).

    The path starts on the axis going outwards (the bottom) and ends at the rim; the outline runs
    along the outer side, round the rim (a half circle), back along the inner side to the axis.
    The path's curvature radius must exceed ``half_thickness``.
    """
    n = _offset_normals(path) * half_thickness
    outer, inner = path + n, path - n
    t_end = path[-1] - path[-2]
    a_out = np.arctan2(n[-1, 1], n[-1, 0])
    turn = np.sign(n[-1, 0] * t_end[1] - n[-1, 1] * t_end[0])  # go round the rim, over the tip
    rim = _arc(tuple(path[-1]), half_thickness, a_out, a_out + turn * np.pi, ARC_POINTS + 2)[1:-1]
    outer[0, 0] = inner[0, 0] = 0.0
    return np.concatenate([outer, rim, inner[::-1]])


def _revolved_mesh(outline: np.ndarray, sections: int, R: np.ndarray | None) -> trimesh.Trimesh:
    mesh = meshing.revolve_mesh(outline, sections)
    if R is not None:
        mesh.apply_transform(np.block([[R, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]]))
    return mesh


def _revolved(
    outline: np.ndarray, R: np.ndarray | None = None, solid: Solid | None = None
) -> tuple[Solid, Callable[[], trimesh.Trimesh]]:
    """A solid of revolution about z (then rotated by R) and its direct mesh, the revolved
    ``outline``. The solid is the revolved outline itself (exact for that polygon), or ``solid``
    when an analytic one describes the same shape (cheaper to evaluate; the outline is then its
    sampling, within chord error)."""
    fine, sections = meshing.balanced_revolution(outline)
    solid = revolved_outline(outline) if solid is None else solid
    if R is not None:
        solid = transformed(solid, R)
    return solid, functools.partial(_revolved_mesh, fine, sections, R)


def _marched(solid: Solid, pitch: np.ndarray | float) -> Callable[[], trimesh.Trimesh]:
    return functools.partial(meshing.marching_mesh, solid, pitch)


def _body_hint(radius: float, z0: float, z1: float, part: str = "body") -> GraspHint:
    """A hint around the z axis over z0..z1 (cans, bottles, cups)."""
    return GraspHint(part, np.array([0.0, 0.0, 0.5 * (z0 + z1)]), Z, radius, z1 - z0)


def _box_hint(solid: Solid, part: str = "body") -> GraspHint:
    """A hint along the longest bounding-box axis of a solid, radius the mean half of the others."""
    ext = solid.extents
    k = int(np.argmax(ext))
    return GraspHint(part, solid.center, np.eye(3)[k], float(np.delete(ext, k).mean() / 2), float(ext[k]))


# ============================================================================ textures per kind
def _labelled(rng: np.random.Generator, z0: float, z1: float) -> Texture:
    """Base texture with, most of the time, a label band between heights z0 and z1."""
    base = textures.random_texture(rng)
    if rng.random() >= LABEL_PROBABILITY:
        return base
    return Band(base, textures.random_texture(rng, uniform_probability=0.2), 2, z0, z1)


WOOD_PROBABILITY = 0.3  # tool handles in wood rather than a random texture
WOOD_HUE = (0.05, 0.1)
WOOD_GRAIN_M = (0.3 * CM, 1.0 * CM)


def _noise(rng: np.random.Generator, a: textures.RGB, b: textures.RGB, scale: Range) -> Noise:
    return Noise(a, b, rng.uniform(*scale), int(rng.integers(2**31)))


def _tool(rng: np.random.Generator, metal: Solid, handle: Solid) -> Texture:
    """Metal working part, coloured or wooden handle."""
    if rng.random() < WOOD_PROBABILITY:  # wood: two browns in noise
        light = textures.random_color(rng, WOOD_HUE, (0.4, 0.7), (0.3, 0.6))
        dark = textures.random_color(rng, WOOD_HUE, (0.5, 0.8), (0.2, 0.45))
        grip: Texture = _noise(rng, light, dark, WOOD_GRAIN_M)
    else:
        grip = textures.random_texture(rng)
    return ByPart((metal.sdf, handle.sdf), (Uniform(textures.metal_color(rng)), grip))


# ============================================================================ families
BOX_LONGEST = (4 * CM, 24 * CM)
BOX_RATIO = (0.15, 1.0)
BOX_MIN_EXTENT = 1.5 * CM
BOX_ROUNDING = (1.5 * MM, 8 * MM)


def build_box(rng: np.random.Generator) -> Blueprint:
    """Rounded cuboid (cereal box, phone, block), any of its sides vertical."""
    longest = _log_uniform(rng, *BOX_LONGEST)
    sides = np.maximum(longest * np.array([1.0, rng.uniform(*BOX_RATIO), rng.uniform(*BOX_RATIO)]), BOX_MIN_EXTENT)
    rng.shuffle(sides)
    ext = np.array([*sorted(sides[:2], reverse=True), sides[2]])
    r = min(rng.uniform(*BOX_ROUNDING), 0.45 * ext.min())
    solid = round_box(ext, r)
    params = {"size_x": ext[0], "size_y": ext[1], "size_z": ext[2], "edge_radius": r}
    mesh = functools.partial(meshing.round_box_mesh, ext, r)
    return Blueprint(solid, mesh, textures.random_texture(rng), params, (_box_hint(solid),), {"body": solid})


CAN: dict[str, Range] = {"radius": (2.5 * CM, 5 * CM), "height": (6 * CM, 20 * CM), "edge_radius": (1.5 * MM, 4 * MM)}
CAN_LID = 6 * MM  # metal rim band at the top and bottom when labelled


def build_can(rng: np.random.Generator) -> Blueprint:
    """Cylinder with rounded rims (food can, drink can, jar)."""
    p = _draw(rng, CAN)
    R, H = p["radius"], p["height"]
    e = p["edge_radius"]
    solid, mesh = _revolved(column_outline(R, 0.0, H, e), solid=revolved_round_rect(0.0, R, 0.0, H, e))
    tex = _labelled(rng, CAN_LID, H - CAN_LID)
    return Blueprint(solid, mesh, tex, p, (_body_hint(R, 0.0, H),), {"body": solid})


BALL_RADIUS = (1.5 * CM, 6 * CM)


def build_ball(rng: np.random.Generator) -> Blueprint:
    """Sphere (ball, orange), log-uniform radius."""
    R = _log_uniform(rng, *BALL_RADIUS)
    solid = sphere(R)
    hint = GraspHint("body", np.zeros(3), Z, R, 2 * R)
    mesh = functools.partial(meshing.sphere_mesh, R)
    return Blueprint(solid, mesh, textures.random_texture(rng), {"radius": R}, (hint,), {"body": solid})


QUADRIC_LONG = (2 * CM, 8 * CM)  # semi-axis along x
QUADRIC_WIDTH = (0.45, 1.0)  # y semi-axis / x semi-axis
QUADRIC_HEIGHT = (0.4, 1.3)  # z semi-axis / x semi-axis
SQ_EXPONENT = (0.3, 1.0)  # 1 round … 0.3 boxy; ≤ 1 keeps it convex and smooth


def _quadric(rng: np.random.Generator, e1: float, e2: float) -> Blueprint:
    a = rng.uniform(*QUADRIC_LONG)
    radii = np.array([a, a * rng.uniform(*QUADRIC_WIDTH), a * rng.uniform(*QUADRIC_HEIGHT)])
    solid = superquadric(radii, e1, e2)
    mesh = functools.partial(meshing.superquadric_mesh, radii, e1, e2)
    params = {"radius_x": radii[0], "radius_y": radii[1], "radius_z": radii[2], "e1": e1, "e2": e2}
    return Blueprint(solid, mesh, textures.random_texture(rng), params, (_box_hint(solid),), {"body": solid})


def build_ellipsoid(rng: np.random.Generator) -> Blueprint:
    """Triaxial ellipsoid (egg, stone, soap)."""
    return _quadric(rng, 1.0, 1.0)


def build_superquadric(rng: np.random.Generator) -> Blueprint:
    """Convex superquadric between a rounded box and an ellipsoid (soap bar, cushion, pebble)."""
    e1, e2 = rng.uniform(*SQ_EXPONENT, size=2)
    return _quadric(rng, float(e1), float(e2))


BOTTLE: dict[str, Range] = {
    "radius": (2.5 * CM, 4.5 * CM),
    "height": (15 * CM, 30 * CM),
    "neck_radius": (0.9 * CM, 1.5 * CM),
    "neck_height": (1.5 * CM, 4 * CM),
    "shoulder": (0.12, 0.3),  # shoulder height / total height
    "cap_height": (1.5 * CM, 2.5 * CM),
    "cap_lip": (1 * MM, 2.5 * MM),  # cap radius beyond the neck
    "base_edge": (3 * MM, 8 * MM),
}
CAP_EDGE = 1.5 * MM
SHOULDER_POINTS = 12


def bottle_outline(p: dict[str, float]) -> np.ndarray:
    """Profile of a bottle: rounded base, body, a cosine shoulder down to the neck, a capped neck."""
    R, H, Rn, rb = p["radius"], p["height"], p["neck_radius"], p["base_edge"]
    z_cap = H - p["cap_height"]
    z_neck = z_cap - p["neck_height"]
    z_body = z_neck - p["shoulder"] * H
    s = np.linspace(0.0, 1.0, SHOULDER_POINTS)
    shoulder = np.stack([Rn + (R - Rn) * 0.5 * (1 + np.cos(np.pi * s)), z_body + (z_neck - z_body) * s], axis=1)
    Rc = Rn + p["cap_lip"]
    cap = [[Rc, z_cap], *_arc((Rc - CAP_EDGE, H - CAP_EDGE), CAP_EDGE, 0.0, np.pi / 2, ARC_POINTS // 2)]
    base = _arc((R - rb, rb), rb, -np.pi / 2, 0.0)
    return np.concatenate([[[0.0, 0.0]], base, shoulder, [[Rn, z_cap]], cap, [[0.0, H]]])


def build_bottle(rng: np.random.Generator) -> Blueprint:
    """Bottle (water, wine, detergent): revolved random profile with a cap."""
    p = _draw(rng, BOTTLE)
    solid, mesh = _revolved(bottle_outline(p))
    z_cap = p["height"] - p["cap_height"]
    z_body = z_cap - p["neck_height"] - p["shoulder"] * p["height"]
    tex = Band(_labelled(rng, 0.15 * z_body, 0.9 * z_body), Uniform(textures.random_color(rng)), 2, z_cap, np.inf)
    neck = _body_hint(p["neck_radius"], z_cap - p["neck_height"], p["height"], "neck")
    hints = (_body_hint(p["radius"], 0.0, z_body), neck)
    return Blueprint(solid, mesh, tex, p, hints, {"body": solid})


CUP: dict[str, Range] = {
    "radius": (3 * CM, 4.5 * CM),  # at the rim, wall centre
    "taper": (0.65, 0.95),  # bottom / rim radius
    "height": (7 * CM, 14 * CM),
    "wall": (MIN_WALL, 5 * MM),
    "corner": (5 * MM, 12 * MM),
}


def cup_path(rim_radius: float, bottom_radius: float, height: float, half_wall: float, corner: float) -> np.ndarray:
    """Wall centre line of a tapered cup: bottom from the axis, a rounded corner, the side up."""
    side = np.array([rim_radius - bottom_radius, height - 2 * half_wall])
    side /= np.linalg.norm(side)
    tilt = np.arctan2(side[0], side[1])  # side's lean outwards from vertical
    c = (bottom_radius - corner, half_wall + corner)
    bend = _arc(c, corner, -np.pi / 2, -tilt, ARC_POINTS)
    return np.concatenate([[[0.0, half_wall]], bend, [[rim_radius, height - half_wall]]])


def build_cup(rng: np.random.Generator) -> Blueprint:
    """Open tapered cup or glass: a revolved thin wall with a hollow interior."""
    p = _draw(rng, CUP)
    h = p["wall"] / 2
    path = cup_path(p["radius"], p["radius"] * p["taper"], p["height"], h, p["corner"])
    solid, mesh = _revolved(shell_outline(path, h), solid=revolved_stroke(path, h))
    hint = _body_hint(0.5 * (1 + p["taper"]) * p["radius"] + h, 0.0, p["height"])
    return Blueprint(solid, mesh, textures.random_texture(rng), p, (hint,), {"body": solid})


MUG: dict[str, Range] = {
    "radius": (3.2 * CM, 4.5 * CM),  # wall centre
    "height": (7.5 * CM, 11 * CM),
    "wall": (5 * MM, 7 * MM),  # ceramic; thinner walls would need a finer grid than the budget allows
    "corner": (4 * MM, 8 * MM),
    "handle_radius": (4 * MM, 6.5 * MM),
    "handle_reach": (1.8 * CM, 3.2 * CM),  # beyond the outer wall
    "handle_top": (0.7, 0.88),  # attachment heights / mug height
    "handle_bottom": (0.15, 0.4),
    "squareness": (0.4, 1.0),  # exponent of the D-shaped handle path: 1 round, smaller squarer
}
HANDLE_POINTS = 11
HANDLE_CLEARANCE = 0.5 * MM  # handle ends stop this far short of the cavity
# marching-cubes cells across the thinnest part: ≥ 1 across a wall keeps the topology (projection
# puts the vertices back on the surface), 2 keep a round rim smooth; ~3 across a tube keep its
# section round
MUG_CELLS_PER_WALL = 2.0
CELLS_PER_TUBE = 3.0
MUG_COARSE = 2.5  # coarse / fine grid spacing away from the rim, bottom, wall and handle
MUG_SECTIONS = 40  # angular sections away from the handle


def handle_path(x_attach: float, x_out: float, z0: float, z1: float, squareness: float) -> np.ndarray:
    """D-shaped centre line in the xz-plane leaving the body horizontally at z1, reaching x_out
    and coming back at z0: x = x_attach + (x_out − x_attach)·cos(θ)^q, z = mid + half·sin(θ)."""
    theta = np.linspace(np.pi / 2, -np.pi / 2, HANDLE_POINTS)
    x = x_attach + (x_out - x_attach) * np.cos(theta).clip(min=0.0) ** squareness
    z = 0.5 * (z0 + z1) + 0.5 * (z1 - z0) * np.sin(theta)
    return np.stack([x, np.zeros_like(x), z], axis=1)


def build_mug(rng: np.random.Generator) -> Blueprint:
    """Mug: a straight revolved wall (hollow, open top) and a D-shaped tube handle on +x."""
    p = _draw(rng, MUG)
    R, H, h, rh = p["radius"], p["height"], p["wall"] / 2, p["handle_radius"]
    body = revolved_stroke(cup_path(R, R, H, h, p["corner"]), h)
    # the ends' spheres stop short of the cavity (ρ ≥ inner radius + rh), so no subtraction is needed
    x_attach = R - h + rh + HANDLE_CLEARANCE
    x_out = R + h + p["handle_reach"] - rh
    z0, z1 = p["handle_bottom"] * H, p["handle_top"] * H
    handle = tube(handle_path(x_attach, x_out, z0, z1, p["squareness"]), rh)
    solid = union(body, handle)
    handle_hint = GraspHint("handle", np.array([x_out, 0.0, 0.5 * (z0 + z1)]), Z, rh, z1 - z0)
    hints = (handle_hint, _body_hint(R + h, 0.0, H))
    mesh = functools.partial(meshing.cylindrical_mesh, solid, *mug_axes(p, x_attach, x_out, z0, z1))
    return Blueprint(solid, mesh, textures.random_texture(rng), p, hints, {"body": body, "handle": handle})


def mug_axes(p: dict[str, float], x_attach: float, x_out: float, z0: float, z1: float) -> list[np.ndarray]:
    """Cylindrical grid for a mug: fine (``MUG_CELLS_PER_WALL`` across the wall) over the wall,
    the bottom, the rim, the handle's bends and the handle's angular sector; coarse elsewhere."""
    R, H, h, rh = p["radius"], p["height"], p["wall"] / 2, p["handle_radius"]
    fine = min(2 * h / MUG_CELLS_PER_WALL, 2 * rh / CELLS_PER_TUBE)
    coarse = MUG_COARSE * fine
    pad = 2 * fine
    rho = refined_axis(0.0, x_out + rh + pad, coarse, fine, [(R - h - pad, x_out + rh + pad)])
    half_sector = (rh + pad) / (x_attach - rh)
    theta = refined_axis(-np.pi, np.pi, 2 * np.pi / MUG_SECTIONS, fine / (x_out + rh), [(-half_sector, half_sector)])
    bands = [(-pad, 2 * h + pad), (H - 2 * h - pad, H + pad)] + [(zb - rh - pad, zb + rh + pad) for zb in (z0, z1)]
    return [rho, theta, refined_axis(-pad, H + pad, coarse, fine, bands)]


BOWL: dict[str, Range] = {
    "radius": (5.5 * CM, 10 * CM),  # rim, wall centre
    "depth": (0.35, 0.65),  # depth / rim radius
    "wall": (MIN_WALL, 6 * MM),
    "flatness": (2.0, 3.5),  # exponent k of the profile z ∝ ρ^k: larger, flatter bottom
}
BOWL_POINTS = 20


def build_bowl(rng: np.random.Generator) -> Blueprint:
    """Bowl: a revolved thin wall z = depth·(ρ/R)^k, concave, open at the top."""
    p = _draw(rng, BOWL)
    R, D, h = p["radius"], p["depth"] * p["radius"], p["wall"] / 2
    s = np.linspace(0.0, 1.0, BOWL_POINTS)
    path = np.stack([R * s, h + D * s ** p["flatness"]], axis=1)
    solid, mesh = _revolved(shell_outline(path, h), solid=revolved_stroke(path, h))
    hints = (_body_hint(R + h, 0.0, D + 2 * h), GraspHint("rim", np.array([R, 0.0, D + h]), Y, h, R))
    return Blueprint(solid, mesh, textures.random_texture(rng), p, hints, {"body": solid})


BANANA: dict[str, Range] = {
    "length": (15 * CM, 22 * CM),  # along the curve
    "bend": (np.radians(35), np.radians(75)),  # angle turned from end to end
    "radius": (1.5 * CM, 2.1 * CM),
    "stem_length": (1.5 * CM, 3 * CM),
    "stem_radius": (3.5 * MM, 4.5 * MM),
}
BANANA_END = 0.35  # radius at the ends / largest radius
BANANA_PLUMPNESS = 0.7  # exponent of the radius profile sin(πs)^p: smaller, fuller
BANANA_STEM_FLARE = 1.3  # stem radius where it meets the fruit / at its end
BANANA_POINTS = 13
BANANA_HUE = (0.1, 0.22)  # ripe yellow … green-yellow
BANANA_SPOTS_M = (0.5 * CM, 2 * CM)  # size of the brownish blotches


def build_banana(rng: np.random.Generator) -> Blueprint:
    """Banana: a bent tapered capsule (round cones along an arc in the xy-plane) with a stem."""
    p = _draw(rng, BANANA)
    bend_radius = p["length"] / p["bend"]
    phi = np.linspace(-p["bend"] / 2, p["bend"] / 2, BANANA_POINTS)
    arc = bend_radius * np.stack([np.sin(phi), np.cos(phi) - 1.0, np.zeros_like(phi)], axis=1)
    s = np.linspace(0.0, 1.0, BANANA_POINTS)
    radii = p["radius"] * (BANANA_END + (1 - BANANA_END) * np.sin(np.pi * s) ** BANANA_PLUMPNESS)
    body = tube(arc, radii)
    out = np.array([np.cos(phi[-1]), -np.sin(phi[-1]), 0.0])  # tangent at the stem end
    r_end, r_stem = radii[-1], p["stem_radius"]
    stem_pts = arc[-1] + np.outer([0.0, 0.5 * r_end, 0.5 * r_end + p["stem_length"]], out)
    stem = tube(stem_pts, np.array([r_end, BANANA_STEM_FLARE * r_stem, r_stem]))
    solid = union(body, stem)
    yellow = textures.random_color(rng, BANANA_HUE, (0.6, 0.9), (0.75, 0.95))
    spots = textures.random_color(rng, (0.06, 0.12), (0.5, 0.8), (0.35, 0.6))
    stem_color = textures.random_color(rng, (0.05, 0.25), (0.4, 0.7), (0.2, 0.4))
    tex = ByPart((body.sdf, stem.sdf), (_noise(rng, yellow, spots, BANANA_SPOTS_M), Uniform(stem_color)))
    pitch = 2 * r_stem / CELLS_PER_TUBE
    hint = GraspHint("body", arc[BANANA_POINTS // 2], X, p["radius"], 0.5 * p["length"])
    return Blueprint(solid, _marched(solid, pitch), tex, p, (hint,), {"body": body, "stem": stem})


BLADE_THICKNESS = (MIN_WALL, 4 * MM)
KNIFE: dict[str, Range] = {
    "blade_length": (9 * CM, 18 * CM),
    "blade_width": (1.6 * CM, 3.5 * CM),
    "thickness": BLADE_THICKNESS,
    "belly": (1.5, 4.0),  # exponent of the edge curve: larger, straighter edge and sharper tip
    "handle_length": (9 * CM, 12.5 * CM),
}
KNIFE_TIP_WIDTH = 2 * MM
KNIFE_EDGE_POINTS = 16
GRIP: dict[str, Range] = {
    "width": (1.8 * CM, 2.6 * CM),
    "thickness": (1.2 * CM, 1.8 * CM),
    "rounding": (0.3, 0.45),  # edge radius / handle thickness
}
EDGE_ROUND = 0.45  # edge radius / thickness of a flat part: nearly a fully round edge
JOINT_OVERLAP = 5 * MM  # parts overlap so that their union is one piece
KNIFE_PITCH = 2.25 * MM  # in-plane marching-cubes pitch: resolves the blade's tip and round edge
SPATULA_PITCH = 2.5 * MM  # a spatula's plate is broad and flat: coarser keeps it near the budget
CELLS_PER_PLATE = 3.0  # marching-cubes cells across a blade or plate


def flat_plate(shape: Callable[[float], Solid], thickness: float) -> Solid:
    """A plate of ``thickness`` in the xy-plane with round edges: ``shape(half_height)`` is the
    extruded outline, grown by the edge rounding EDGE_ROUND·thickness. Exact."""
    r = EDGE_ROUND * thickness
    return offset(shape(thickness / 2 - r), r)


def grip(rng: np.random.Generator, length: float, x_end: float, y_center: float = 0.0) -> Solid:
    """A rounded-box handle along x ending at x_end (+ overlap into the part it holds)."""
    d = _draw(rng, GRIP)
    box = round_box([length, d["width"], d["thickness"]], d["rounding"] * d["thickness"])
    return translated(box, [x_end + JOINT_OVERLAP - length / 2, y_center, 0.0])


def _handle_hint(handle: Solid) -> GraspHint:
    ext = handle.extents
    return GraspHint("handle", handle.center, X, float(ext[1:].mean() / 2), float(ext[0]))


def build_knife(rng: np.random.Generator) -> Blueprint:
    """Knife lying flat: a thin blade (≥ 3 mm, round edges) with a curved edge, and a handle."""
    p = _draw(rng, KNIFE)
    L, W = p["blade_length"], p["blade_width"]
    x = np.linspace(L, 0.0, KNIFE_EDGE_POINTS)
    edge = -np.maximum(W * np.sqrt(1.0 - (x / L) ** p["belly"]), KNIFE_TIP_WIDTH)
    outline = np.concatenate([[[0.0, 0.0]], np.stack([x, edge], axis=1)])
    blade = flat_plate(functools.partial(extruded_polygon, outline), p["thickness"])
    handle = grip(rng, p["handle_length"], 0.0, -0.5 * W)
    solid = union(blade, handle)
    pitch = np.array([KNIFE_PITCH, KNIFE_PITCH, p["thickness"] / CELLS_PER_PLATE])
    hints = (_handle_hint(handle), GraspHint("blade", blade.center, X, p["thickness"] / 2, L))
    parts = {"blade": blade, "handle": handle}
    return Blueprint(solid, _marched(solid, pitch), _tool(rng, blade, handle), p, hints, parts)


SPATULA: dict[str, Range] = {
    "head_length": (6 * CM, 10 * CM),
    "head_width": (5 * CM, 8.5 * CM),
    "corner": (0.5 * CM, 2 * CM),
    "thickness": BLADE_THICKNESS,
    "neck_length": (3 * CM, 7 * CM),
    "neck_width": (1.2 * CM, 2 * CM),
    "handle_length": (10 * CM, 13 * CM),
}


def build_spatula(rng: np.random.Generator) -> Blueprint:
    """Spatula / turner lying flat: a thin rounded plate, a flat neck, a handle."""
    p = _draw(rng, SPATULA)
    t, Ln = p["thickness"], p["neck_length"]
    half_w = p["head_width"] / 2
    outline = functools.partial(extruded_round_rect, [0.0, -half_w], [p["head_length"], half_w], p["corner"])
    head = flat_plate(outline, t)
    neck = translated(round_box([Ln + 2 * JOINT_OVERLAP, p["neck_width"], t], EDGE_ROUND * t), [-Ln / 2, 0.0, 0.0])
    handle = grip(rng, p["handle_length"], -Ln)
    working = union(head, neck)
    solid = union(working, handle)
    pitch = np.array([SPATULA_PITCH, SPATULA_PITCH, t / CELLS_PER_PLATE])
    parts = {"head": working, "handle": handle}
    return Blueprint(solid, _marched(solid, pitch), _tool(rng, working, handle), p, (_handle_hint(handle),), parts)


HAMMER: dict[str, Range] = {
    "handle_length": (20 * CM, 27 * CM),
    "handle_width": (2.2 * CM, 3.2 * CM),  # in the swing plane (y)
    "handle_thickness": (1.6 * CM, 2.4 * CM),
    "head_length": (8 * CM, 12 * CM),
    "head_radius": (1.1 * CM, 1.6 * CM),
    "peen": (0.5, 0.8),  # ball-peen radius / face radius
}
HAMMER_HANDLE_ROUNDING = 0.45  # edge radius / handle thickness
HAMMER_TAPER_START = 0.1  # where the head starts tapering to the peen, / head length from its middle
HAMMER_EDGE = 3 * MM
CELLS_PER_SOLID_PART = 6.0  # marching-cubes cells across the thickness of a solid tool part
HAMMER_MAX_PITCH = HAMMER_EDGE  # …and no coarser than the head's edge rounding


def hammer_head(length: float, radius: float, peen: float) -> Solid:
    """Head along z: a cylinder with a flat, round-edged striking face at +length/2, tapering
    (a round cone) to a ball peen of radius ``peen`` at −length/2. Analytic, exact outside."""
    z_taper = -HAMMER_TAPER_START * length
    face = revolved_round_rect(0.0, radius, z_taper, length / 2, HAMMER_EDGE)
    taper = tube(np.array([[0.0, 0.0, -length / 2 + peen], [0.0, 0.0, z_taper]]), np.array([peen, radius]))
    return union(face, taper)


def build_hammer(rng: np.random.Generator) -> Blueprint:
    """Hammer lying flat: a rounded-box handle along x, a revolved head along y at its end."""
    p = _draw(rng, HAMMER)
    Lh, Rh, th = p["handle_length"], p["head_radius"], p["handle_thickness"]
    handle = translated(round_box([Lh, p["handle_width"], th], HAMMER_HANDLE_ROUNDING * th), [Lh / 2, 0.0, 0.0])
    head = transformed(hammer_head(p["head_length"], Rh, p["peen"] * Rh), Z_TO_Y, [Lh - 0.5 * Rh, 0.0, 0.0])
    solid = union(head, handle)
    pitch = min(min(th, 2 * Rh) / CELLS_PER_SOLID_PART, HAMMER_MAX_PITCH)
    hint = GraspHint("handle", np.array([0.4 * Lh, 0.0, 0.0]), X, 0.25 * (p["handle_width"] + th), 0.6 * Lh)
    parts = {"head": head, "handle": handle}
    return Blueprint(solid, _marched(solid, pitch), _tool(rng, head, handle), p, (hint,), parts)


SCREWDRIVER: dict[str, Range] = {
    "handle_length": (8 * CM, 12 * CM),
    "handle_radius": (1.2 * CM, 1.7 * CM),
    "shaft_length": (6 * CM, 14 * CM),
    "shaft_radius": (2.5 * MM, 4 * MM),
    "tip_length": (0.8 * CM, 1.5 * CM),
}
DRIVER_BACK_ROUND = 0.4  # rounding of the handle's back end / handle radius
DRIVER_FERRULE = 0.85  # where the handle starts narrowing to the shaft, / handle length
DRIVER_TIP_RADIUS = 1.5 * MM  # the tip stays ≥ 3 mm across


def screwdriver_outline(p: dict[str, float]) -> np.ndarray:
    """Profile along the tool axis (z from the handle's back end to the tip)."""
    Rh, Lh, Rs = p["handle_radius"], p["handle_length"], p["shaft_radius"]
    L = Lh + p["shaft_length"]
    rb = DRIVER_BACK_ROUND * Rh
    back = _arc((Rh - rb, rb), rb, -np.pi / 2, 0.0)
    tip = _arc((0.0, L - DRIVER_TIP_RADIUS), DRIVER_TIP_RADIUS, 0.0, np.pi / 2, ARC_POINTS // 2)
    ferrule_and_shaft = [[Rh, DRIVER_FERRULE * Lh], [Rs, Lh], [Rs, L - p["tip_length"]]]
    return np.concatenate([[[0.0, 0.0]], back, ferrule_and_shaft, tip])


def build_screwdriver(rng: np.random.Generator) -> Blueprint:
    """Screwdriver lying along x: one revolved profile (handle, ferrule, shaft, tip)."""
    p = _draw(rng, SCREWDRIVER)
    solid, mesh = _revolved(screwdriver_outline(p), Z_TO_X)
    tex = Band(textures.random_texture(rng), Uniform(textures.metal_color(rng)), 0, p["handle_length"], np.inf)
    Lh = p["handle_length"]
    hint = GraspHint("handle", np.array([0.5 * Lh, 0.0, 0.0]), X, p["handle_radius"], Lh)
    return Blueprint(solid, mesh, tex, p, (hint,), {"body": solid})


RING_RADIUS = (1.2 * CM, 5 * CM)  # to the centre of the section
RING_SECTION = (MIN_WALL, 0.45)  # half-width: at least MIN_WALL, at most this share of the radius
RING_FLAT_PROBABILITY = 0.4  # rectangular section (tape roll, washer) instead of round (torus)
RING_ASPECT = (0.6, 2.5)  # half-height / half-width of a rectangular section
RING_CORNER = (0.2, 0.6)  # corner radius / smaller half side
RING_CIRCLE_POINTS = 48


def build_ring(rng: np.random.Generator) -> Blueprint:
    """Ring lying flat: a torus or a rounded-rectangle section revolved about z (holed)."""
    R = rng.uniform(*RING_RADIUS)
    w = rng.uniform(RING_SECTION[0], RING_SECTION[1] * R)
    p = {"radius": R, "half_width": w, "half_height": w}
    if rng.random() < RING_FLAT_PROBABILITY:
        hh = p["half_height"] = w * rng.uniform(*RING_ASPECT)
        corner = min(w, hh) * rng.uniform(*RING_CORNER)
        outline = rounded_rect(R - w, R + w, -hh, hh, corner)
        exact = revolved_round_rect(R - w, R + w, -hh, hh, corner)
    else:
        a = np.linspace(0.0, 2 * np.pi, RING_CIRCLE_POINTS, endpoint=False)
        outline = np.stack([R + w * np.cos(a), w * np.sin(a)], axis=1)
        exact = torus(R, w)
    solid, mesh = _revolved(outline, solid=exact)
    rim = GraspHint("rim", np.array([R, 0.0, 0.0]), Y, w, R)
    hints = (rim, GraspHint("body", np.zeros(3), Z, R + w, 2 * p["half_height"]))
    return Blueprint(solid, mesh, textures.random_texture(rng), p, hints, {"body": solid})
