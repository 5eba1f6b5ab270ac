"""The hand as balls, for fast clearance tests against an object SDF while a grasp is searched.

A ball of radius r centred at c is clear of a solid by ``sdf(c) − r`` (exactly, when the SDF is
exact outside; a lower bound for the lower-bound SDFs), so the clearance of a whole link is the
minimum over the balls that fill it. Each tapered capsule of the hand (:mod:`hoikit.hand.parts`)
is filled by balls along its axis with linearly varying radii, the palm slab by balls on a grid
over its polygon. Between two neighbouring balls the union dips by about spacing²/(8·r) below
the true surface, so the spacings below keep that under half a millimetre on the fingers and
about one millimetre on the palm; callers ask for a clearance larger than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from hoikit.hand.parts import CAPSULE_START, NUM_CAPSULES, PALM_HALF_THICKNESS_HL, PosedParts, capsule_rest, palm_outline
from hoikit.hand.protocol import MIRROR_X
from hoikit.hand.skeleton import DofTable, forward_kinematics, rest_joints
from hoikit.types import Sim3

SDF = Callable[[torch.Tensor], torch.Tensor]

BALLS_PER_CAPSULE = 6  # ≤ 5 mm apart on a 2.5 cm phalanx: dips ≤ 0.4 mm at an 8 mm radius
PALM_BALL_SPACING_HL = 0.05  # ≈ 9 mm for a 19 cm hand: dips ≈ 0.7 mm at the 14 mm half-thickness


@dataclass(frozen=True)
class Balls:
    """Balls filling a batch of hands, grouped by link.

    Attributes:
        centres: (B, L, M, 3) metres, in the frame of the hand's output transform.
        radii: (B, L, M) metres.
    """

    centres: torch.Tensor
    radii: torch.Tensor

    def clearance(self, sdf: SDF, links: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) per link: the smallest sdf(centre) − radius over its balls (metres; < 0 overlaps).
        ``links`` (L,) bool: evaluate only those links (the SDF is the cost), +inf for the others."""
        B, L, M, _ = self.centres.shape
        out = torch.full((B, L), torch.inf, dtype=self.radii.dtype)
        keep = torch.ones(L, dtype=torch.bool) if links is None else links
        if not bool(keep.any()):
            return out
        with torch.no_grad():
            d = sdf(self.centres[:, keep].reshape(-1, 3)).reshape(B, -1, M).to(self.radii.dtype)
        out[:, keep] = (d - self.radii[:, keep]).amin(-1)
        return out

    def moved(self, transform: Sim3) -> "Balls":
        """The balls carried by a rigid or similarity transform (numpy Sim3)."""
        R = torch.as_tensor(float(transform.s) * np.asarray(transform.R), dtype=self.centres.dtype)
        t = torch.as_tensor(np.asarray(transform.t), dtype=self.centres.dtype)
        return Balls(self.centres @ R.T + t, self.radii * float(transform.s))

    def flat(self) -> "Balls":
        """All balls as one hand and one link: (1, 1, B·L·M)."""
        return Balls(self.centres.reshape(1, 1, -1, 3), self.radii.reshape(1, 1, -1))

    @staticmethod
    def join(a: "Balls", b: "Balls") -> "Balls":
        """Two sets merged into one hand with one link, (1, 1, N_a + N_b): a whole-hand clearance
        in one SDF call."""
        fa, fb = a.flat(), b.flat()
        return Balls(torch.cat([fa.centres, fb.centres], 2), torch.cat([fa.radii, fb.radii], 2))


def capsule_balls(parts: PosedParts, per_capsule: int = BALLS_PER_CAPSULE) -> Balls:
    """Balls along the 15 finger/thumb capsules of posed hands: (B, 15, per_capsule)."""
    t = torch.linspace(0.0, 1.0, per_capsule, dtype=parts.a.dtype, device=parts.a.device)
    centres = parts.a[:, :, None] + t[:, None] * (parts.b - parts.a)[:, :, None]
    radii = parts.radii[..., :1] + t * (parts.radii[..., 1:] - parts.radii[..., :1])
    assert centres.shape[1] == NUM_CAPSULES
    return Balls(centres, radii)


def palm_ball_centres(shape: torch.Tensor, spacing_hl: float = PALM_BALL_SPACING_HL) -> np.ndarray:
    """(P, 3) ball centres on a square grid inside the palm polygon (z = 0) and along its edges,
    for one hand shape (3,); canonical right-hand frame, metres."""
    polygon = palm_outline(torch.as_tensor(shape, dtype=torch.float64)[None])[0].numpy()
    step = spacing_hl * float(shape[0])
    lo, hi = polygon.min(0), polygon.max(0)
    xs, ys = (np.arange(lo[k] + step / 2, hi[k], step) for k in range(2))
    grid = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    edge = np.roll(polygon, -1, axis=0) - polygon
    rel = grid[:, None] - polygon[None]
    inside = (edge[None, :, 0] * rel[..., 1] - edge[None, :, 1] * rel[..., 0] >= 0).all(1)
    rim = [polygon[k] + np.linspace(0, 1, int(np.ceil(np.linalg.norm(e) / step)), endpoint=False)[:, None] * e for k, e in enumerate(edge)]
    xy = np.concatenate([grid[inside], *rim])
    return np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)


class HandBalls:
    """Balls of one hand (shape and side fixed) in its own frame — the canonical right-hand frame,
    mirrored in x for a left hand — for batches of poses; move them with :meth:`Balls.moved`.

    Kinematics go straight through :mod:`hoikit.hand.skeleton` with the rest joints kept, which
    costs a fraction of a full model call for the many small batches a grasp search makes.
    """

    def __init__(self, shape: torch.Tensor, side: str, dtype: torch.dtype = torch.float32):
        self.shape = torch.as_tensor(shape, dtype=dtype).reshape(1, 3)
        self.side = side
        self.mirror = side == "left"
        self.rest = rest_joints(self.shape)
        self.table = DofTable.build(dtype)
        a_rest, b_rest, radii = capsule_rest(self.rest, self.shape[:, 0])
        self.capsule_axis = b_rest - a_rest  # (1, 15, 3) start → end in the rest pose
        self.ball_t = torch.linspace(0.0, 1.0, BALLS_PER_CAPSULE, dtype=dtype)
        self.ball_radii = radii[..., :1] + self.ball_t * (radii[..., 1:] - radii[..., :1])  # (1, 15, M)
        palm = palm_ball_centres(self.shape[0])
        palm = palm * np.asarray(MIRROR_X) if self.mirror else palm
        centres = torch.as_tensor(palm, dtype=dtype)[None, None]
        radius = PALM_HALF_THICKNESS_HL * float(self.shape[0, 0])
        self.palm = Balls(centres, torch.full(centres.shape[:-1], radius, dtype=dtype))

    def canonical_joints(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) joints of poses (B, 21) in the canonical right-hand frame (never mirrored)."""
        return forward_kinematics(poses.to(self.shape.dtype), self.rest, self.table)[0]

    def joints(self, poses: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) joints of poses (B, 21) in the hand's own frame (mirrored for a left hand)."""
        joints = self.canonical_joints(poses)
        return joints * joints.new_tensor(MIRROR_X) if self.mirror else joints

    def digits(self, poses: torch.Tensor) -> Balls:
        """(B, 15, M) balls of the digit links for poses (B, 21) radians, in the hand's own frame.

        Each capsule moves rigidly with its start joint, as in :func:`hoikit.hand.parts.posed_parts`
        (its start at the joint, its end turned with the joint's rotation); the rest of that
        function's work (palm, global transform) is not needed here, many times per grasp."""
        joints, rotations = forward_kinematics(poses.to(self.shape.dtype), self.rest, self.table)
        a = joints[:, CAPSULE_START]
        b = a + (rotations[:, CAPSULE_START] @ self.capsule_axis[..., None])[..., 0]
        centres = a[:, :, None] + self.ball_t[:, None] * (b - a)[:, :, None]
        if self.mirror:
            centres = centres * centres.new_tensor(MIRROR_X)
        return Balls(centres, self.ball_radii.expand(len(poses), -1, -1))
