"""What every hand model gives the pipelines, so hoikit's model and MANO swap with ``--mano PATH``.

Both :class:`hoikit.hand.model.HandModel` and :class:`hoikit.hand.mano.ManoModel` satisfy
:class:`HandModelLike`: batched differentiable ``forward`` to 21 joints (MediaPipe/OpenPose order) and
vertices in the output frame, parameter bounds and priors, and ``fit_to_joints``.

Frames: ``forward`` poses the hand in the model's canonical right-hand frame (wrist at the origin),
mirrors x for a left hand, then applies the global similarity ``transform`` (canonical → output frame,
typically the OpenCV camera frame): x_out = s·R·x + t, so t is the wrist position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

from hoikit.types import Sim3

Side = Literal["right", "left"]
SIDES: tuple[str, ...] = ("right", "left")
# flipping x turns a right hand into a left one; joint order and parameters stay the same
MIRROR_X = (-1.0, 1.0, 1.0)


def check_side(side: str) -> Side:
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    return side  # type: ignore[return-value]


def mirror_x(points: torch.Tensor) -> torch.Tensor:
    """(..., 3) → the same points mirrored in the x = 0 plane."""
    return points * points.new_tensor(MIRROR_X)


def faces_for_side(faces: torch.Tensor, side: str) -> torch.Tensor:
    """Mirroring reverses orientation: a left hand's triangles are listed the other way round so its
    normals still point outward."""
    return faces.flip(-1) if check_side(side) == "left" else faces


def batched_transform(transform: Sim3 | None, batch: int, dtype: torch.dtype, device=None) -> Sim3:
    """A Sim3 with torch tensors s (B,), R (B, 3, 3), t (B, 3) from one that may be unbatched, numpy,
    or None (identity). Gradients flow through tensors given in ``transform``."""
    if transform is None:
        transform = Sim3(1.0, torch.eye(3), torch.zeros(3))

    def conv(x, tail: tuple[int, ...]) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=dtype, device=device)
        return x.expand(batch, *tail) if x.dim() == len(tail) else x

    return Sim3(conv(transform.s, ()), conv(transform.R, (3, 3)), conv(transform.t, (3,)))


@dataclass
class HandOutput:
    """A batch of posed hands in the output frame.

    Attributes:
        joints: (B, 21, 3) metres, MediaPipe/OpenPose order.
        vertices: (B, V, 3) metres, or None when not asked for.
        faces: (F, 3) long, outward for this ``side``.
        side: "right" or "left".
        parts: the posed analytic parts behind :meth:`sdf`, or a function making them on first use
            (hoikit's model); None for models without an analytic SDF (MANO).
    """

    joints: torch.Tensor
    vertices: torch.Tensor | None
    faces: torch.Tensor
    side: str
    parts: object | None = None

    def posed_parts(self):
        """The :class:`hoikit.hand.parts.PosedParts` of this batch (built now if deferred)."""
        if self.parts is None:
            raise NotImplementedError("this hand model has no analytic SDF; use a mesh SDF of .vertices/.faces")
        if callable(self.parts):
            self.parts = self.parts()
        return self.parts

    def sdf(self, points: torch.Tensor) -> torch.Tensor:
        """Signed distance of the posed hands, negative inside: points (B, N, 3) or (N, 3) → (B, N)."""
        from hoikit.hand.parts import hand_sdf

        parts = self.posed_parts()
        points = points if points.dim() == 3 else points[None].expand(self.joints.shape[0], -1, -1)
        return hand_sdf(points.to(self.joints.dtype), parts)

    def meshes(self) -> list:
        """One ``trimesh.Trimesh`` per batch item (detached, float64), for export and metrics."""
        import trimesh

        if self.vertices is None:
            raise ValueError("vertices were not computed (forward(..., vertices=False))")
        F = self.faces.cpu().numpy()
        return [trimesh.Trimesh(v.detach().cpu().double().numpy(), F, process=False) for v in self.vertices]


@dataclass
class FitResult:
    """A hand model fitted to 3D joints.

    Attributes:
        pose: (B, P) pose parameters (radians); shape: (B, S) or (1, S) when shared over the batch.
        transform: torch Sim3, s (B,), R (B, 3, 3), t (B, 3): canonical → target frame.
        side: the side the model was posed as.
        joints: (B, 21, 3) fitted joints; residual_m: (B, 21) distance to each target joint (metres).
        iterations, seconds, converged: optimiser bookkeeping.
    """

    pose: torch.Tensor
    shape: torch.Tensor
    transform: Sim3
    side: str
    joints: torch.Tensor
    residual_m: torch.Tensor
    iterations: int
    seconds: float
    converged: bool

    @property
    def mean_error_m(self) -> float:
        return float(self.residual_m.mean())


@runtime_checkable
class HandModelLike(Protocol):
    """The interface the pipelines use; see the module docstring for frames."""

    num_pose: int
    num_shape: int
    # joints rigid with the wrist whatever the pose (wrist, thumb CMC, finger MCPs): used to initialise
    # the global transform
    palm_joints: tuple[int, ...]

    @property
    def faces(self) -> torch.Tensor: ...

    def forward(
        self,
        pose: torch.Tensor,
        shape: torch.Tensor | None = None,
        transform: Sim3 | None = None,
        side: str = "right",
        vertices: bool = True,
    ) -> HandOutput: ...

    def pose_limits(self) -> tuple[torch.Tensor, torch.Tensor]: ...

    def shape_limits(self) -> tuple[torch.Tensor, torch.Tensor]: ...

    def default_pose(self) -> torch.Tensor: ...

    def default_shape(self) -> torch.Tensor: ...

    def shape_for_scale(self, scale: float) -> torch.Tensor: ...

    def fit_to_joints(self, targets, **kwargs) -> FitResult: ...
