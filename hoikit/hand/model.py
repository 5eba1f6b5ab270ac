"""hoikit's licence-free articulated hand model (PyTorch, batched, differentiable).

``HandModel()(pose, shape, transform, side)`` → :class:`~hoikit.hand.protocol.HandOutput` with joints
(B, 21, 3), a watertight mesh (B, V, 3) + faces, and an analytic SDF of the same posed hand.

How vertices are made: the shipped unit-hand template (:mod:`hoikit.hand.template`) is first fitted
to the shape with one affine map per part (the palm stretches across and along, each capsule
moves with its joint and stretches along its bone), blended with the skinning weights; then posed
by dual-quaternion skinning with the forward-kinematics bone transforms; mirrored for a left hand;
moved by the global Sim3; and finally snapped onto the posed SDF by one clamped step along the
normals, so mesh and SDF describe the same hand. Every step is differentiable w.r.t. pose, shape
and transform.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hoikit.hand import parts as P
from hoikit.hand.protocol import FitResult, HandOutput, batched_transform, check_side, faces_for_side, mirror_x
from hoikit.hand.skeleton import (
    DEFAULT_HAND_LENGTH_M,
    DOF_NAMES,
    HAND_LENGTH_RANGE_M,
    NUM_POSE,
    NUM_SHAPE,
    SHAPE_LOWER,
    SHAPE_NAMES,
    SHAPE_UPPER,
    DofTable,
    _middle_chain_hl,
    as_shape,
    forward_kinematics,
    joint_frames,
    pose_limits,
    relaxed_pose,
    rest_joints,
)
from hoikit.hand.skinning import SKIN_FALLOFF_HL, dual_quaternion_skinning, skin_weights, snap_to_surface
from hoikit.hand.template import TEMPLATE_PATH, load_template, unit_parts
from hoikit.types import FINGERTIPS, Sim3

UNIT_SHAPE = (1.0, 1.0, 1.0)  # the template's shape: hand length 1, unit ratios
# the largest step (in hand lengths, ~3.7 mm for a 19 cm hand) that snaps a skinned vertex onto the SDF
SNAP_MAX_HL = 0.02


def template_skin_weights(vertices: np.ndarray) -> np.ndarray:
    """(V, 16) skinning weights of unit-template vertices over the parts (palm, 15 capsules)."""
    parts = unit_parts()
    palm, capsules = P.part_sdf(torch.as_tensor(vertices, dtype=torch.float64)[None], parts)
    distances = torch.cat([palm[..., None], capsules], -1)[0].numpy()
    return skin_weights(distances, P.part_neighbours(), SKIN_FALLOFF_HL)


class HandModel(torch.nn.Module):
    """Articulated hand: 21 named joint angles, 3 shape numbers, a ~2.7k-vertex closed mesh, an SDF.

    Parameters (see :mod:`hoikit.hand.skeleton` for the frame and the meaning of each):
        pose: (B, 21) radians, :data:`DOF_NAMES`; zero = flat hand; limits from :meth:`pose_limits`.
        shape: (B, 3) or (3,)/(1, 3) shared by the batch: (hand_length_m, palm_width, finger_length).
        transform: Sim3 canonical → output frame (batched or not); None = identity.
        side: "right" or "left" (the right hand mirrored in x after posing, before ``transform``).
    """

    num_pose = NUM_POSE
    num_shape = NUM_SHAPE
    name = "hoikit-hand"
    dof_names = DOF_NAMES
    shape_names = SHAPE_NAMES
    palm_joints = (0, 1, 5, 9, 13, 17)

    def __init__(self, dtype: torch.dtype = torch.float32, template_path: Path = TEMPLATE_PATH):
        super().__init__()
        vertices, faces = load_template(template_path)
        weights = template_skin_weights(vertices)
        table = DofTable.build(dtype)
        unit = torch.tensor(UNIT_SHAPE, dtype=torch.float64)[None]
        tips = rest_joints(unit)[0, list(FINGERTIPS)].numpy()
        self.register_buffer("template", torch.as_tensor(vertices, dtype=dtype))
        self.register_buffer("_faces", torch.as_tensor(faces, dtype=torch.long))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=dtype))
        self.register_buffer("pivot", torch.as_tensor(weights.argmax(1), dtype=torch.long))
        self.register_buffer("slot_dof", table.slot_dof)
        self.register_buffer("slot_axis", table.slot_axis)
        self.register_buffer("unit_rest", rest_joints(unit)[0].to(dtype))
        self.register_buffer("bone_axis", torch.as_tensor(joint_frames()[:, :, 1], dtype=dtype))
        # the template vertex nearest to each fingertip joint (thumb, index, middle, ring, pinky)
        self.fingertip_vertices = tuple(int(np.linalg.norm(vertices - t, axis=1).argmin()) for t in tips)

    # ------------------------------------------------------------------ parameters
    @property
    def faces(self) -> torch.Tensor:
        """(F, 3) long, outward for a right hand (see :func:`faces_for_side`)."""
        return self._faces

    @property
    def num_vertices(self) -> int:
        return self.template.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self.template.dtype

    def pose_limits(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(lower (21,), upper (21,)) radians."""
        return pose_limits(self.dtype, self.template.device)

    def shape_limits(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(lower (3,), upper (3,)): adult hand lengths and small ratio ranges."""
        return (self.template.new_tensor(SHAPE_LOWER), self.template.new_tensor(SHAPE_UPPER))

    def default_pose(self) -> torch.Tensor:
        """(21,) the relaxed pose (the fitting prior's mean)."""
        return relaxed_pose(self.dtype, self.template.device)

    def default_shape(self) -> torch.Tensor:
        return as_shape(None, self.dtype, self.template.device)[0]

    def shape_for_scale(self, scale: float) -> torch.Tensor:
        """(3,) the default shape made ``scale`` times larger (hand length clamped to the adult range)."""
        shape = self.default_shape().clone()
        shape[0] = float(np.clip(DEFAULT_HAND_LENGTH_M * scale, *HAND_LENGTH_RANGE_M))
        return shape

    # ------------------------------------------------------------------ geometry
    def _table(self) -> DofTable:
        return DofTable(self.slot_dof, self.slot_axis)

    def shaped_vertices(self, shape: torch.Tensor) -> torch.Tensor:
        """Rest-pose (zero pose) vertices for shapes (Bs, 3) → (Bs, V, 3) metres, canonical frame."""
        A, offset = self._shape_maps(shape)
        return torch.einsum("vp,bpij,vj->bvi", self.weights, A, self.template) + self.weights @ offset

    def _shape_maps(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-part affine maps unit template → shaped rest hand: x ↦ A x + offset, A (Bs, 16, 3, 3),
        offset (Bs, 16, 3). The palm scales across by palm_width and along by the along-hand rescaling;
        a capsule keeps its cross-section and stretches along its bone to the shaped joint spacing."""
        hl, palm_width, finger_length = shape.unbind(-1)
        rest = rest_joints(shape)
        along = _middle_chain_hl(finger_length.new_tensor(1.0)) / _middle_chain_hl(finger_length)
        palm = torch.diag_embed(torch.stack([palm_width, along, torch.ones_like(hl)], -1)) * hl[:, None, None]
        start, end = P.CAPSULE_START, P.CAPSULE_END
        unit_len = (self.unit_rest[end] - self.unit_rest[start]).norm(dim=-1)
        stretch = (rest[:, end] - rest[:, start]).norm(dim=-1) / (hl[:, None] * unit_len)  # (Bs, 15)
        d = self.bone_axis[start]  # (15, 3)
        eye = torch.eye(3, dtype=shape.dtype, device=shape.device)
        caps = hl[:, None, None, None] * (eye + (stretch - 1)[..., None, None] * (d[:, :, None] * d[:, None, :]))
        A = torch.cat([palm[:, None], caps], 1)
        cap_offset = rest[:, start] - (caps @ self.unit_rest[start][..., None])[..., 0]
        return A, torch.cat([torch.zeros_like(cap_offset[:, :1]), cap_offset], 1)

    def forward(
        self,
        pose: torch.Tensor,
        shape: torch.Tensor | None = None,
        transform: Sim3 | None = None,
        side: str = "right",
        vertices: bool = True,
    ) -> HandOutput:
        """Posed hands.

        Args:
            pose: (B, 21) radians. shape: (B, 3), or (3,)/(1, 3) shared, or None (default adult hand).
            transform: canonical → output Sim3 (batched or not, numpy or torch); None = identity.
            side: "right" or "left". vertices: False skips skinning (joints and SDF only; faster).
        Returns:
            HandOutput: joints (B, 21, 3), vertices (B, V, 3) | None, faces, side, and parts for ``sdf``.
        """
        side = check_side(side)
        pose = torch.as_tensor(pose, dtype=self.dtype, device=self.template.device)
        pose = pose[None] if pose.dim() == 1 else pose
        B = pose.shape[0]
        shape = rest_shape = as_shape(shape, self.dtype, self.template.device)
        rest = rest_joints(rest_shape)
        joints, rotations = forward_kinematics(pose, rest, self._table())
        T = batched_transform(transform, B, self.dtype, self.template.device)
        mirror = side == "left"
        out_joints = T.apply(mirror_x(joints) if mirror else joints)
        shape = shape.expand(B, -1) if shape.shape[0] == 1 else shape
        faces = faces_for_side(self._faces, side)

        def make_parts() -> P.PosedParts:
            return P.posed_parts(rest.expand(B, -1, -1), joints, rotations, shape, T, mirror)

        parts, verts = make_parts, None
        if vertices:
            parts = make_parts()
            part_rot = rotations[:, P.PART_JOINT]
            part_t = joints[:, P.PART_JOINT] - (part_rot @ rest.expand(B, -1, -1)[:, P.PART_JOINT][..., None])[..., 0]
            posed = dual_quaternion_skinning(self.shaped_vertices(rest_shape), self.weights, self.pivot, part_rot, part_t)
            verts = T.apply(mirror_x(posed) if mirror else posed)
            max_step = SNAP_MAX_HL * shape[:, 0] * T.s
            verts = snap_to_surface(verts, faces, lambda x: P.hand_sdf(x, parts), max_step)
        return HandOutput(out_joints, verts, faces, side, parts)

    def fit_to_joints(self, targets, **kwargs) -> FitResult:
        """Fit pose, shape and the global transform to 3D joints; see :func:`hoikit.hand.fitting.fit_joints`."""
        from hoikit.hand.fitting import fit_joints

        return fit_joints(self, targets, **kwargs)
