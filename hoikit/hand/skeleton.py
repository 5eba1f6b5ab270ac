"""hoikit's licence-free hand skeleton: rest joints from anatomical proportions, joint DoFs and limits,
differentiable forward kinematics.

Canonical right-hand frame (every quantity here is in it unless said otherwise):
    origin  the wrist joint (joint 0);
    +y      from the wrist towards the middle-finger MCP (joint 9), along the palm;
    +z      the palm normal, pointing out of the palm (volar side); fingers flex towards +z;
    +x      = y × z, towards the thumb (radial side).
A left hand is this right hand mirrored in x (see :mod:`hoikit.hand.model`); nothing here knows sides.

Proportions (all relative to hand length HL = wrist to middle fingertip, a straight hand):
    Buchholz, Armstrong & Goldstein (1992), "Anthropometric data for describing the kinematics of the
    human hand", Ergonomics 35(3):261-273: segment lengths as fractions of HL, and the base-joint
    locations (thumb CMC and finger MCPs) as fractions of HL (along the hand) and of hand breadth HB
    (across). The middle-finger chain sums to 0.990 HL there; hoikit rescales lengths along the hand so
    that it sums to exactly 1, which makes HL exact by construction.

Shape (B, 3): ``hand_length_m`` (wrist → middle fingertip, metres), ``palm_width`` (ratio: scales the
across-the-hand spacing of the base joints) and ``finger_length`` (ratio: scales the phalanges against
the palm, with HL held fixed).

Pose (B, 21) radians, one angle per named degree of freedom (:data:`DOF_NAMES`); zero is the flat
hand (fingers straight, slightly spread, thumb in the palm plane), :data:`RELAXED_POSE_DEG` a relaxed
half-open hand. Limits are active ranges of motion, :data:`POSE_LIMITS_DEG`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from hoikit.types import FINGERS, HAND_PARENTS, NUM_HAND_JOINTS

FINGER_NAMES: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
SHAPE_NAMES: tuple[str, ...] = ("hand_length_m", "palm_width", "finger_length")
NUM_SHAPE = len(SHAPE_NAMES)

# adult hand lengths (wrist crease → middle fingertip), 5th-95th percentile women to men
HAND_LENGTH_RANGE_M = (0.16, 0.21)
DEFAULT_HAND_LENGTH_M = 0.185
PALM_WIDTH_RANGE = (0.9, 1.1)
FINGER_LENGTH_RANGE = (0.92, 1.08)
DEFAULT_SHAPE = (DEFAULT_HAND_LENGTH_M, 1.0, 1.0)
SHAPE_LOWER = (HAND_LENGTH_RANGE_M[0], PALM_WIDTH_RANGE[0], FINGER_LENGTH_RANGE[0])
SHAPE_UPPER = (HAND_LENGTH_RANGE_M[1], PALM_WIDTH_RANGE[1], FINGER_LENGTH_RANGE[1])

# hand breadth at the metacarpal heads / hand length (adult means, ≈ 8.6 cm / 19 cm)
HAND_BREADTH_RATIO = 0.45

# Buchholz et al. 1992: base joint (thumb CMC, finger MCP) at (along the hand in HL, across in HB,
# radial positive), and the three phalanx (thumb: metacarpal + two phalanx) lengths in HL.
BASE_JOINT_LOCATION: dict[str, tuple[float, float]] = {
    "thumb": (0.073, 0.196),
    "index": (0.447, 0.251),
    "middle": (0.446, 0.0),
    "ring": (0.409, -0.206),
    "pinky": (0.368, -0.402),
}
SEGMENT_LENGTHS_HL: dict[str, tuple[float, float, float]] = {
    "thumb": (0.251, 0.196, 0.158),
    "index": (0.245, 0.143, 0.097),
    "middle": (0.266, 0.170, 0.108),
    "ring": (0.244, 0.165, 0.107),
    "pinky": (0.204, 0.117, 0.093),
}
# The thumb's first segment is a metacarpal: it belongs to the palm and keeps its length when
# ``finger_length`` changes; every other listed segment is a phalanx.
_SCALES_WITH_FINGER_LENGTH = {name: (name != "thumb", True, True) for name in FINGER_NAMES}
# The volar (palmar) offset of the base joints, in HL: the thumb CMC sits in front of the palm
# and the ring/pinky MCPs drop forward along the transverse metacarpal arch.
BASE_JOINT_VOLAR_HL: dict[str, float] = {"thumb": 0.03, "index": 0.0, "middle": 0.0, "ring": 0.008, "pinky": 0.02}

# Zero pose: each finger points along its metacarpal's direction reduced by this fraction, so the
# flat hand is slightly spread (gaps between fingers, as in a relaxed flat hand and MANO's template).
REST_SPREAD_FRACTION = 0.5
# The flat thumb lies in the palm plane at this angle from +y towards the radial side...
THUMB_REST_ANGLE_DEG = 35.0
# ...with its pad turned this far from the palm normal towards the index finger (the thumb is
# pronated against the fingers, so its MCP/IP flexion moves the tip across the palm).
THUMB_PRONATION_DEG = 60.0

# Local joint axes: column 0 flexion axis, column 1 bone axis (towards the child), column 2 pad normal.
FLEX, TWIST, SPREAD = 0, 1, 2


@dataclass(frozen=True)
class Dof:
    """One rotational degree of freedom.

    ``joint`` is the joint that rotates (moving its descendants); ``axis`` is FLEX (about the joint's
    local x), TWIST (about the bone) or SPREAD (about the pad normal, signed so that positive spreads the
    digit away from the middle finger, and for the middle finger towards the thumb). Limits and the
    relaxed value are in degrees.
    """

    name: str
    joint: int
    axis: int
    lower_deg: float
    upper_deg: float
    relaxed_deg: float


def _finger_dofs(name: str, mcp: int, spread: tuple[float, float], relaxed: tuple[float, float, float]) -> list[Dof]:
    """MCP spread + flexion, PIP and DIP flexion. Limits are typical active ranges (normal values such as
    the AAOS's MCP 0–90°, PIP 0–100°, DIP 0–90° flexion), widened a little and with some
    hyperextension, since a fit must not fail on a flexible hand."""
    return [
        Dof(f"{name}_mcp_spread", mcp, SPREAD, spread[0], spread[1], 0.0),
        Dof(f"{name}_mcp_flex", mcp, FLEX, -25.0, 90.0, relaxed[0]),
        Dof(f"{name}_pip_flex", mcp + 1, FLEX, -5.0, 110.0, relaxed[1]),
        Dof(f"{name}_dip_flex", mcp + 2, FLEX, -10.0, 90.0, relaxed[2]),
    ]


# Order within one joint is the composition order: R = R(first) · R(second) · …, so the MCP spreads
# about the palm-fixed normal and then flexes about the spread axis (a universal joint).
DOFS: tuple[Dof, ...] = (
    # thumb CMC: radial abduction in the palm plane (+ away from the index), palmar abduction out of
    # it (towards +z), axial pronation (+ turns the pad towards the fingers)
    Dof("thumb_cmc_spread", 1, SPREAD, -35.0, 25.0, -15.0),
    Dof("thumb_cmc_flex", 1, FLEX, -15.0, 70.0, 20.0),
    Dof("thumb_cmc_twist", 1, TWIST, -20.0, 45.0, 10.0),
    Dof("thumb_mcp_flex", 2, FLEX, -10.0, 65.0, 10.0),
    Dof("thumb_ip_flex", 3, FLEX, -20.0, 85.0, 10.0),
    *_finger_dofs("index", 5, (-15.0, 20.0), (20.0, 25.0, 10.0)),
    *_finger_dofs("middle", 9, (-15.0, 15.0), (25.0, 35.0, 12.0)),
    *_finger_dofs("ring", 13, (-15.0, 15.0), (30.0, 40.0, 15.0)),
    *_finger_dofs("pinky", 17, (-15.0, 25.0), (35.0, 45.0, 18.0)),
)
DOF_NAMES: tuple[str, ...] = tuple(d.name for d in DOFS)
NUM_POSE = len(DOFS)
POSE_LIMITS_DEG: dict[str, tuple[float, float]] = {d.name: (d.lower_deg, d.upper_deg) for d in DOFS}
RELAXED_POSE_DEG: dict[str, float] = {d.name: d.relaxed_deg for d in DOFS}
MAX_DOFS_PER_JOINT = 3


# ------------------------------------------------------------------------------ rest geometry
def _spread_sign(finger: str) -> float:
    """+1 when spreading this digit moves it towards +x (radial): the thumb, index and middle finger."""
    return -1.0 if finger in ("ring", "pinky") else 1.0


def _frame(bone: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """(3, 3) orthonormal frame, columns (flexion axis, bone, pad normal); positive rotation about the
    flexion axis turns the bone towards the pad."""
    y = bone / np.linalg.norm(bone)
    z = pad - y * (pad @ y)
    z = z / np.linalg.norm(z)
    return np.stack([np.cross(y, z), y, z], axis=1)


def _rotate_about(v: np.ndarray, axis: np.ndarray, angle_rad: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    return v * math.cos(angle_rad) + np.cross(axis, v) * math.sin(angle_rad) + axis * (axis @ v) * (1 - math.cos(angle_rad))


def _finger_rest_direction(finger: str) -> np.ndarray:
    """Unit direction of the straight digit in the zero pose (palm plane, z = 0)."""
    if finger == "thumb":
        angle = math.radians(THUMB_REST_ANGLE_DEG)
    else:
        along, across = BASE_JOINT_LOCATION[finger]
        angle = REST_SPREAD_FRACTION * math.atan2(across * HAND_BREADTH_RATIO, along)
    return np.array([math.sin(angle), math.cos(angle), 0.0])


def joint_frames() -> np.ndarray:
    """(21, 3, 3) rest (zero-pose) frame of every joint in the canonical frame; the wrist's is the identity.

    Columns: flexion axis, bone axis, pad normal. The thumb MCP and IP frames are pronated about the
    bone by :data:`THUMB_PRONATION_DEG`; its CMC frame is not, so CMC flexion lifts the thumb out of
    the palm plane.
    """
    frames = np.tile(np.eye(3), (NUM_HAND_JOINTS, 1, 1))
    palm_normal = np.array([0.0, 0.0, 1.0])
    for name, joints in zip(FINGER_NAMES, FINGERS):
        bone = _finger_rest_direction(name)
        base = _frame(bone, palm_normal)
        frames[list(joints)] = base
        if name == "thumb":
            # the pad turns from the palm normal towards the index finger, i.e. towards −(flexion axis)
            pad = _rotate_about(palm_normal, bone, -math.radians(THUMB_PRONATION_DEG))
            frames[list(joints[1:])] = _frame(bone, pad)
    return frames


def dof_axes() -> tuple[np.ndarray, np.ndarray]:
    """Where each DoF acts, for :func:`joint_rotations`.

    Returns:
        slot_dof (21, MAX_DOFS_PER_JOINT) int: the DoF index in each composition slot of each joint, −1
            where unused; slot_axis (21, MAX_DOFS_PER_JOINT, 3): the signed unit rotation axis of that
            slot in the canonical rest frame.
    """
    frames = joint_frames()
    finger_of = {j: FINGER_NAMES[f] for f, joints in enumerate(FINGERS) for j in joints}
    slot_dof = -np.ones((NUM_HAND_JOINTS, MAX_DOFS_PER_JOINT), dtype=np.int64)
    slot_axis = np.zeros((NUM_HAND_JOINTS, MAX_DOFS_PER_JOINT, 3))
    used = np.zeros(NUM_HAND_JOINTS, dtype=np.int64)
    for i, dof in enumerate(DOFS):
        axis = frames[dof.joint][:, dof.axis].copy()
        if dof.axis == SPREAD:
            # rotating about +z (pad normal) turns the bone towards −x of the joint frame
            axis *= -_spread_sign(finger_of[dof.joint])
        slot_dof[dof.joint, used[dof.joint]] = i
        slot_axis[dof.joint, used[dof.joint]] = axis
        used[dof.joint] += 1
    return slot_dof, slot_axis


def _base_joints_unit() -> np.ndarray:
    """(6, 3) wrist + five base joints for HL = 1, unit shape ratios (x in HL)."""
    out = [np.zeros(3)]
    for name in FINGER_NAMES:
        along, across = BASE_JOINT_LOCATION[name]
        out.append(np.array([across * HAND_BREADTH_RATIO, along, BASE_JOINT_VOLAR_HL[name]]))
    return np.stack(out)


def _middle_chain_hl(finger_length: torch.Tensor) -> torch.Tensor:
    """Wrist → middle tip in Buchholz HL units for a finger-length ratio (so lengths can be rescaled)."""
    return BASE_JOINT_LOCATION["middle"][0] + finger_length * sum(SEGMENT_LENGTHS_HL["middle"])


def as_shape(shape: torch.Tensor | None, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """(B, 3) or (3,) or None (the default adult hand) → (B, 3) tensor (``dtype`` defaults to the
    input's, float32 for None)."""
    if shape is None:
        shape = torch.tensor(DEFAULT_SHAPE, dtype=dtype or torch.float32, device=device)
    shape = torch.as_tensor(shape, dtype=dtype, device=device)
    return shape[None] if shape.dim() == 1 else shape


@lru_cache(maxsize=1)
def _rest_constants() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """base joints (6, 3) unit hand; per digit: rest direction (5, 3), segment lengths in HL (5, 3),
    whether each segment scales with ``finger_length`` (5, 3)."""
    directions = np.stack([_finger_rest_direction(n) for n in FINGER_NAMES])
    lengths = np.array([SEGMENT_LENGTHS_HL[n] for n in FINGER_NAMES])
    scaled = np.array([_SCALES_WITH_FINGER_LENGTH[n] for n in FINGER_NAMES])
    return _base_joints_unit(), directions, lengths, scaled


def rest_joints(shape: torch.Tensor) -> torch.Tensor:
    """Zero-pose joint positions for hand shapes.

    Args:
        shape: (B, 3) (hand_length_m, palm_width, finger_length).
    Returns:
        (B, 21, 3) metres, canonical frame; differentiable w.r.t. ``shape``. The middle fingertip is at
        exactly (0, hand_length_m, 0).
    """
    hl, palm_width, finger_length = shape.unbind(-1)
    base, directions, lengths, scaled = (torch.as_tensor(c, device=shape.device) for c in _rest_constants())
    base, directions, lengths = (c.to(shape.dtype) for c in (base, directions, lengths))
    along_scale = 1.0 / _middle_chain_hl(finger_length)  # (B,) Buchholz HL → true HL
    base = base[None] * torch.stack([palm_width, along_scale, torch.ones_like(hl)], dim=-1)[:, None]  # (B, 6, 3)
    stretch = along_scale[:, None, None] * torch.where(scaled, finger_length[:, None, None], torch.ones_like(lengths))
    steps = (stretch * lengths)[..., None] * directions[:, None, :]  # (B, 5, 3 segments, 3)
    digits = torch.cat([base[:, 1:, None], base[:, 1:, None] + steps.cumsum(2)], 2)  # (B, 5, 4, 3)
    joints = torch.cat([base[:, :1], digits.flatten(1, 2)], 1)  # FINGERS row by row is joints 1..20
    return joints * hl[:, None, None]


# ------------------------------------------------------------------------------ pose helpers
def _deg_tensor(values, dtype, device) -> torch.Tensor:
    return torch.tensor([math.radians(v) for v in values], dtype=dtype, device=device)


def pose_limits(dtype: torch.dtype = torch.float32, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(lower (21,), upper (21,)) radians."""
    return (_deg_tensor([d.lower_deg for d in DOFS], dtype, device), _deg_tensor([d.upper_deg for d in DOFS], dtype, device))


def relaxed_pose(dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """(21,) radians: a relaxed, half-open hand."""
    return _deg_tensor([d.relaxed_deg for d in DOFS], dtype, device)


def pose_from_dict(angles_deg: dict[str, float], base: torch.Tensor | None = None) -> torch.Tensor:
    """(21,) radians from named angles in degrees; unnamed DoFs come from ``base`` (zero by default)."""
    unknown = set(angles_deg) - set(DOF_NAMES)
    if unknown:
        raise KeyError(f"unknown hand DoF names {sorted(unknown)}; known: {DOF_NAMES}")
    pose = torch.zeros(NUM_POSE, dtype=torch.float64) if base is None else base.detach().clone()
    for name, value in angles_deg.items():
        pose[DOF_NAMES.index(name)] = math.radians(value)
    return pose


def squash_to_limits(u: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """Unconstrained (…, P) → angles inside [lower, upper] (sigmoid), for optimisers without bounds."""
    return lower + (upper - lower) * torch.sigmoid(u)


def unsquash_from_limits(pose: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, margin: float = 1e-4) -> torch.Tensor:
    """Inverse of :func:`squash_to_limits` (angles are first clamped ``margin`` inside the limits)."""
    frac = ((pose - lower) / (upper - lower)).clamp(margin, 1.0 - margin)
    return torch.log(frac) - torch.log1p(-frac)


def limit_violation(pose: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """(…,) sum of squared excursions (rad²) outside the limits: a penalty for free-form optimisers."""
    return ((lower - pose).clamp_min(0) ** 2 + (pose - upper).clamp_min(0) ** 2).sum(-1)


# ------------------------------------------------------------------------------ kinematics
def axis_rotation(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation about fixed unit axes (Rodrigues); smooth in the angle everywhere.

    Args:
        axis: (..., 3) unit vectors; angle: (...,) radians (broadcast against axis[..., 0]).
    Returns:
        (..., 3, 3).
    """
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis.shape[:-1], 3, 3)
    s, c = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device)
    return eye + s * K + (1 - c) * (K @ K)


@dataclass(frozen=True)
class DofTable:
    """Tensors that map a pose vector to per-joint rotations (see :func:`dof_axes`)."""

    slot_dof: torch.Tensor  # (21, S) long, −1 = unused
    slot_axis: torch.Tensor  # (21, S, 3)

    @classmethod
    def build(cls, dtype: torch.dtype, device=None) -> "DofTable":
        slot_dof, slot_axis = dof_axes()
        return cls(torch.as_tensor(slot_dof, device=device), torch.as_tensor(slot_axis, dtype=dtype, device=device))


def joint_rotations(pose: torch.Tensor, table: DofTable) -> torch.Tensor:
    """Local rotation of every joint, expressed in the canonical rest frame.

    Args:
        pose: (B, 21) radians.
    Returns:
        (B, 21, 3, 3); identity for joints without DoFs (wrist, tips).
    """
    padded = torch.cat([pose, torch.zeros_like(pose[:, :1])], dim=1)  # index −1 → a zero angle
    angles = padded[:, table.slot_dof]  # (B, 21, S)
    R = axis_rotation(table.slot_axis[None], angles)  # (B, 21, S, 3, 3)
    out = R[:, :, 0]
    for slot in range(1, R.shape[2]):
        out = out @ R[:, :, slot]
    return out


def forward_kinematics(pose: torch.Tensor, rest: torch.Tensor, table: DofTable) -> tuple[torch.Tensor, torch.Tensor]:
    """Posed joints in the canonical frame (the wrist is fixed; the global transform comes after).

    Args:
        pose: (B, 21) radians; rest: (B or 1, 21, 3) rest joints (:func:`rest_joints`).
    Returns:
        joints (B, 21, 3) and world rotations (B, 21, 3, 3) of each joint's frame; the segment from a
        joint to its child moves rigidly with ``x ↦ R_j (x − rest_j) + joints_j``.
    """
    Q = joint_rotations(pose, table)
    rest = rest.expand(pose.shape[0], -1, -1)
    # the tree below the wrist is five chains of four joints; walk it one level (five joints) at a time
    R_par = Q[:, :1].expand(-1, len(FINGERS), -1, -1)
    p_par = rest[:, :1].expand(-1, len(FINGERS), -1)
    rest_par = p_par
    positions, rotations = [], []
    for level in _CHAINS.T:
        rest_here = rest[:, level]
        p_par = p_par + (R_par @ (rest_here - rest_par)[..., None])[..., 0]
        R_par = R_par @ Q[:, level]
        rest_par = rest_here
        positions.append(p_par)
        rotations.append(R_par)
    B = pose.shape[0]
    joints = torch.cat([rest[:, :1], torch.stack(positions, 2).reshape(B, -1, 3)], 1)
    rots = torch.cat([Q[:, :1], torch.stack(rotations, 2).reshape(B, -1, 3, 3)], 1)
    return joints, rots


# FINGERS read row by row is joints 1..20, which lets forward_kinematics stack levels without a scatter
_CHAINS = np.asarray(FINGERS)
assert _CHAINS.ravel().tolist() == list(range(1, NUM_HAND_JOINTS)) and all(
    HAND_PARENTS[c[0]] == 0 and all(HAND_PARENTS[b] == a for a, b in zip(c, c[1:])) for c in FINGERS
)
