"""Hands: hoikit's licence-free articulated hand model, and MANO for users who have its file.

- :class:`HandModel` (``model``): 21 joints (MediaPipe/OpenPose order), 21 named joint angles with limits,
  3 shape numbers (hand length, palm width, finger length), a closed ~2.7k-vertex mesh and an
  analytic SDF, batched and differentiable in torch; left hands by mirroring.
- :class:`ManoModel` / :func:`load_mano` (``mano``): MANO from ``MANO_RIGHT.pkl`` (``--mano PATH`` or
  ``$HOIKIT_MANO``), read without chumpy by a restricted unpickler.
- :func:`fit_joints` (``fitting``): either model fitted to 21 3D joints (pose, shape, global transform).
- ``protocol``: what both models give the pipelines (:class:`HandOutput`, :class:`FitResult`).
- ``skeleton``: the canonical frame, proportions, DoFs and limits, forward kinematics.

Names are imported on first use.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "model": ["HandModel"],
    "mano": ["ManoModel", "ManoData", "load_mano", "resolve_mano_path", "MANO_ENV", "MANO_TO_OPENPOSE", "MANO_FINGERTIP_VERTICES"],
    "fitting": ["FitConfig", "fit_joints"],
    "protocol": ["FitResult", "HandModelLike", "HandOutput"],
    "skeleton": [
        "DOF_NAMES", "SHAPE_NAMES", "DEFAULT_SHAPE", "POSE_LIMITS_DEG", "RELAXED_POSE_DEG",
        "pose_from_dict", "pose_limits", "relaxed_pose", "rest_joints", "squash_to_limits",
        "unsquash_from_limits", "limit_violation",
    ],
})  # fmt: skip


def load_hand_model(mano: str | None = None, dtype=None):
    """The pipelines' single switch: MANO when a path is given (``--mano PATH``) or ``$HOIKIT_MANO`` is
    set, else hoikit's model."""
    import os

    import torch

    from hoikit.hand import mano as mano_module
    from hoikit.hand.model import HandModel

    dtype = dtype or torch.float32
    if mano or os.environ.get(mano_module.MANO_ENV):
        return mano_module.ManoModel(mano, dtype=dtype)
    return HandModel(dtype=dtype)
