"""The hand's volume as simple parts, and its signed distance function (negative inside).

The hand is a rounded palm slab (a convex polygon in the palm plane, swept by a ball) plus one
tapered capsule (round cone) per segment: thumb metacarpal and phalanges, finger phalanges. Each
part moves rigidly with one joint, so the posed SDF is exact per part. The capsules of one digit are
joined by an exact minimum (consecutive capsules share the joint's sphere, so they meet smoothly);
digits are joined to each other (webs) and to the palm (knuckle fillets) by small smooth minima.

Radii are fractions of hand length, chosen from finger breadths and depths at the joints (e.g.
Vergara et al. 2018, dorsal and palmar hand anthropometry: index PIP ≈ 2.1 cm wide and 1.9 cm deep
for a 19 cm hand), a little under the mean of the two since a round capsule stands in for an
elliptical section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hoikit.hand.skeleton import BASE_JOINT_LOCATION, FINGER_NAMES, HAND_BREADTH_RATIO, _middle_chain_hl
from hoikit.types import FINGERS, Sim3

# radius at each joint of a digit (base, two middle joints, tip) in hand lengths
RADII_HL: dict[str, tuple[float, float, float, float]] = {
    "thumb": (0.070, 0.055, 0.049, 0.042),
    "index": (0.052, 0.049, 0.043, 0.038),
    "middle": (0.053, 0.050, 0.044, 0.039),
    "ring": (0.050, 0.047, 0.042, 0.037),
    "pinky": (0.045, 0.042, 0.038, 0.034),
}
# Palm outline, counter-clockwise seen from the palm side, as (along the hand in HL, across in HB) like
# Buchholz's joint table; the slab is this polygon swept by a ball of PALM_HALF_THICKNESS_HL. The distal
# edge sits PALM_DISTAL_INSET_HL behind the MCPs so the rounded rim ends at the knuckles.
PALM_HALF_THICKNESS_HL = 0.075
PALM_DISTAL_INSET_HL = 0.045
_PALM_OUTLINE = (
    ("wrist_ulnar", -0.02, -0.19),
    ("wrist_radial", -0.02, 0.19),
    ("thenar", 0.20, 0.245),
    ("index", "index", -0.02),
    ("middle", "middle", 0.0),
    ("ring", "ring", 0.0),
    ("pinky", "pinky", 0.055),
    ("hypothenar", 0.18, -0.31),
)
# Fillet radii (smooth-minimum widths): palm–digit rounds the knuckles; digit–digit closes gaps narrower
# than half of it into a web that opens in a rounded V, wide enough for the mesh to resolve. The surface
# moves out by at most a quarter of a fillet radius.
PALM_BLEND_HL = 0.02
WEB_BLEND_HL = 0.04

# part 0 is the palm (moves with the wrist); parts 1… are capsules, three per digit, thumb first
NUM_CAPSULES = 3 * len(FINGERS)
NUM_PARTS = 1 + NUM_CAPSULES
CAPSULE_START = np.array([chain[k] for chain in FINGERS for k in range(3)])  # joint each capsule moves with
CAPSULE_END = np.array([chain[k + 1] for chain in FINGERS for k in range(3)])
CAPSULE_RADII_HL = np.array([[RADII_HL[n][k], RADII_HL[n][k + 1]] for n in FINGER_NAMES for k in range(3)])
CAPSULE_AT_TIP = np.array([k == 2 for _ in FINGERS for k in range(3)])
PART_JOINT = np.concatenate([[0], CAPSULE_START])


def part_neighbours() -> list[set[int]]:
    """Parts adjacent in the kinematic tree (the palm touches every digit's first capsule)."""
    nbrs: list[set[int]] = [set() for _ in range(NUM_PARTS)]
    for d in range(len(FINGERS)):
        first = 1 + 3 * d
        nbrs[0].add(first)
        nbrs[first].add(0)
        for k in range(2):
            nbrs[first + k].add(first + k + 1)
            nbrs[first + k + 1].add(first + k)
    return nbrs


def palm_outline_unit() -> np.ndarray:
    """(K, 2) palm polygon (x across, y along) for HL = 1 and unit shape ratios, before the along-hand
    rescaling of :func:`palm_outline`; convex and counter-clockwise."""
    pts = []
    for _, along, across in _PALM_OUTLINE:
        if isinstance(along, str):  # anchored to a base joint: inset behind it, shifted across
            joint_along, joint_across = BASE_JOINT_LOCATION[along]
            along, across = joint_along - PALM_DISTAL_INSET_HL, joint_across + across
        pts.append((across * HAND_BREADTH_RATIO, along))
    return np.asarray(pts)


def palm_outline(shape: torch.Tensor) -> torch.Tensor:
    """(B, K, 2) palm polygon in metres for shapes (B, 3); the same affine rescaling as the base joints
    (:func:`hoikit.hand.skeleton.rest_joints`), so convexity is kept."""
    hl, palm_width, finger_length = shape.unbind(-1)
    along_scale = 1.0 / _middle_chain_hl(finger_length)
    unit = torch.as_tensor(palm_outline_unit(), dtype=shape.dtype, device=shape.device)
    return unit[None] * torch.stack([palm_width * hl, along_scale * hl], -1)[:, None]


def capsule_rest(rest: torch.Tensor, hand_length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Capsule end centres and radii in the rest pose.

    Args:
        rest: (B, 21, 3) rest joints; hand_length: (B,) metres.
    Returns:
        a, b (B, 15, 3) end-sphere centres and radii (B, 15, 2). A digit's last capsule ends one tip
        radius short of the tip joint, so the fingertip joint lies on the surface.
    """
    radii = torch.as_tensor(CAPSULE_RADII_HL, dtype=rest.dtype, device=rest.device)[None] * hand_length[:, None, None]
    a = rest[:, CAPSULE_START]
    b = rest[:, CAPSULE_END]
    direction = (b - a) / (b - a).norm(dim=-1, keepdim=True)
    at_tip = torch.as_tensor(CAPSULE_AT_TIP, device=rest.device)[None, :, None]
    b = torch.where(at_tip, b - direction * radii[..., 1:], b)
    return a, b, radii


# ------------------------------------------------------------------------------- distances
def _safe_norm(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Euclidean norm with a finite gradient at zero."""
    return (x * x).sum(dim).clamp_min(1e-18).sqrt()


def round_cone_sdf(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Exact signed distance to round cones (convex hull of two balls).

    Args:
        points: (B, N, 3); a, b: (B, P, 3) ball centres; radii: (B, P, 2) (at a, at b), with |ra − rb|
            shorter than |b − a|.
    Returns:
        (B, N, P) signed distances, negative inside.

    In the plane through the axis, with u along the axis from a and v ≥ 0 off it, the common tangent
    has unit normal (sin α, cos α), sin α = (ra − rb)/L; a point projects onto that tangent between the
    two tangent points when 0 ≤ u cos α − v sin α ≤ L cos α, and onto one ball otherwise.
    """
    axis = b - a
    length = _safe_norm(axis)  # (B, P)
    unit = axis / length[..., None]
    rel = points[:, :, None, :] - a[:, None]  # (B, N, P, 3)
    u = (rel * unit[:, None]).sum(-1)
    dist_a = _safe_norm(rel)
    v = (dist_a**2 - u**2).clamp_min(1e-18).sqrt()
    ra, rb = radii[..., 0][:, None], radii[..., 1][:, None]
    sin_a = (ra - rb) / length[:, None]
    cos_a = (1 - sin_a**2).sqrt()
    along_tangent = u * cos_a - v * sin_a
    side = u * sin_a + v * cos_a - ra
    end_a = dist_a - ra
    end_b = _safe_norm(points[:, :, None, :] - b[:, None]) - rb
    return torch.where(along_tangent < 0, end_a, torch.where(along_tangent > length[:, None] * cos_a, end_b, side))


def convex_slab_sdf(points: torch.Tensor, polygon: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Exact signed distance to a convex polygon in the z = 0 plane swept by a ball.

    Args:
        points: (B, N, 3) in the polygon's frame; polygon: (B, K, 2) counter-clockwise; radius: (B,).
    Returns:
        (B, N).
    """
    xy = points[..., :2]
    start = polygon[:, None]  # (B, 1, K, 2)
    edge = torch.roll(polygon, -1, dims=1)[:, None] - start
    rel = xy[:, :, None] - start  # (B, N, K, 2)
    t = ((rel * edge).sum(-1) / (edge * edge).sum(-1)).clamp(0, 1)
    to_edge = _safe_norm(rel - t[..., None] * edge).min(-1).values  # (B, N)
    inside = ((edge[..., 0] * rel[..., 1] - edge[..., 1] * rel[..., 0]) >= 0).all(-1)
    outside_2d = torch.where(inside, torch.zeros_like(to_edge), to_edge)
    return (outside_2d**2 + points[..., 2] ** 2).clamp_min(1e-18).sqrt() - radius[:, None]


def smooth_min(a: torch.Tensor, b: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Quadratic smooth minimum: min(a, b) where |a − b| ≥ k, at most k/4 below it elsewhere."""
    return torch.minimum(a, b) - (k - (a - b).abs()).clamp_min(0) ** 2 / (4 * k)


@dataclass
class PosedParts:
    """The hand's parts in the output frame, enough for :func:`hand_sdf`.

    Attributes:
        a, b: (B, 15, 3) capsule end centres; radii: (B, 15, 2); all in output metres.
        palm_polygon: (B, K, 2) and palm_radius (B,): the palm slab in the canonical right-hand frame.
        transform: the global Sim3 (batched torch tensors) from the canonical frame to the output frame,
            applied after mirroring x when ``mirror`` (a left hand).
        blend: (B, 2) fillet radii (palm–digit, digit–digit) in output metres.
    """

    a: torch.Tensor
    b: torch.Tensor
    radii: torch.Tensor
    palm_polygon: torch.Tensor
    palm_radius: torch.Tensor
    transform: Sim3
    mirror: bool
    blend: torch.Tensor

    def to_canonical(self, points: torch.Tensor) -> torch.Tensor:
        """Output-frame points (B, N, 3) → canonical right-hand frame."""
        q = self.transform.inverse().apply(points)
        return q * q.new_tensor([-1.0, 1.0, 1.0]) if self.mirror else q


def part_sdf(points: torch.Tensor, parts: PosedParts) -> tuple[torch.Tensor, torch.Tensor]:
    """(palm (B, N), capsules (B, N, 15)) signed distances in output metres."""
    palm = convex_slab_sdf(parts.to_canonical(points), parts.palm_polygon, parts.palm_radius)
    return palm * parts.transform.s[:, None], round_cone_sdf(points, parts.a, parts.b, parts.radii)


def posed_parts(
    rest: torch.Tensor, joints: torch.Tensor, rotations: torch.Tensor, shape: torch.Tensor, transform: Sim3, mirror: bool
) -> PosedParts:
    """Parts of posed hands.

    Args:
        rest: (B, 21, 3) rest joints; joints (B, 21, 3), rotations (B, 21, 3, 3): forward kinematics in
            the canonical frame; shape: (B, 3); transform: batched torch Sim3 (s (B,), R (B, 3, 3),
            t (B, 3)) from the (mirrored, when ``mirror``) canonical frame to the output frame.
    """
    hl = shape[:, 0]
    a_rest, b_rest, radii = capsule_rest(rest, hl)
    R = rotations[:, CAPSULE_START]
    a = joints[:, CAPSULE_START]
    b = a + (R @ (b_rest - a_rest)[..., None])[..., 0]
    if mirror:
        flip = a.new_tensor([-1.0, 1.0, 1.0])
        a, b = a * flip, b * flip
    s = transform.s
    return PosedParts(
        a=transform.apply(a),
        b=transform.apply(b),
        radii=radii * s[:, None, None],
        palm_polygon=palm_outline(shape),
        palm_radius=PALM_HALF_THICKNESS_HL * hl,
        transform=transform,
        mirror=mirror,
        blend=torch.stack([PALM_BLEND_HL * hl * s, WEB_BLEND_HL * hl * s], -1),
    )


def hand_sdf(points: torch.Tensor, parts: PosedParts) -> torch.Tensor:
    """Signed distance (metres, negative inside) of the posed hand at points (B, N, 3) → (B, N).

    Each digit is the exact union of its capsules; the digits are folded together with :func:`smooth_min`
    (webs between neighbours), then with the palm (rounded knuckles). Exact away from those
    fillets (a union of exact distances is exact outside); inside, and within a fillet, a close bound.
    Differentiable w.r.t. the points and every pose, shape and global input.
    """
    palm, capsules = part_sdf(points, parts)
    digits = capsules.unflatten(-1, (-1, 3)).min(-1).values.unbind(-1)  # 5 × (B, N)
    palm_k, web_k = parts.blend[:, None, 0], parts.blend[:, None, 1]
    hand = digits[0]
    for d in digits[1:]:
        hand = smooth_min(hand, d, web_k)
    return smooth_min(palm, hand, palm_k)
