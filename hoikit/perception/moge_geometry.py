"""MoGe-2 behind the :class:`~hoikit.perception.roles.GeometryEstimator` protocol.

MoGe is not on PyPI (it is installed from its repository, with a git-pinned ``utils3d``), so this
adapter is written against its documented API: ``MoGeModel.from_pretrained(<model.pt file>)`` and
``infer(image (3, H, W) float in [0, 1], use_fp16=False)`` returning ``points`` (H, W, 3) in the
OpenCV camera frame (metres for MoGe-2), ``mask`` (H, W), ``normal`` (H, W, 3, normal variants only)
and ``intrinsics`` (3, 3) *normalised* by the image size. hoikit converts the intrinsics to pixels
with its pixel-centre convention (:mod:`hoikit.types`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hoikit.perception.roles import PartialGeometry


def intrinsics_to_pixels(K_norm: np.ndarray, width: int, height: int) -> np.ndarray:
    """(3, 3) pixel intrinsics from MoGe's normalised ones.

    MoGe measures image coordinates in units of the image size from the image's top-left *corner*
    (fx/W, fy/H, principal point 0.5 at the centre). hoikit puts pixel centres at integers, so a
    normalised coordinate u maps to u·W − 0.5 pixels.
    """
    K = np.asarray(K_norm, dtype=np.float64).reshape(3, 3)
    S = np.array([[width, 0.0, -0.5], [0.0, height, -0.5], [0.0, 0.0, 1.0]])
    return S @ K


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def geometry_from_output(output: Mapping[str, Any], width: int, height: int) -> PartialGeometry:
    """Convert MoGe's ``infer`` dict to :class:`PartialGeometry` (invalid points zeroed)."""
    mask = _numpy(output["mask"]).astype(bool) if "mask" in output else None
    points = _numpy(output["points"]).astype(np.float32)
    finite = np.isfinite(points).all(axis=-1)
    mask = finite if mask is None else (mask & finite)
    points = np.where(mask[..., None], points, 0.0).astype(np.float32)
    normals = None
    if output.get("normal") is not None:
        normals = np.where(mask[..., None], _numpy(output["normal"]), 0.0).astype(np.float32)
    K = intrinsics_to_pixels(_numpy(output["intrinsics"]), width, height)
    return PartialGeometry(points=points, mask=mask, K=K, normals=normals)


@dataclass
class MoGeGeometry:
    """MoGe-2 metric point maps on the CPU (float32)."""

    model: Any
    name: str = "moge-2"

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> "MoGeGeometry":
        """The ``model.pt`` file (not its folder)."""
        if path is None:
            from hoikit.models.checkpoints import resolve_checkpoint
            from hoikit.models.registry import MOGE_2

            path = resolve_checkpoint(MOGE_2)
        from moge.model.v2 import MoGeModel

        model = MoGeModel.from_pretrained(str(Path(path).expanduser()))
        return cls(model.float().eval())

    def estimate(self, rgb: np.ndarray) -> PartialGeometry:
        import torch

        image = torch.from_numpy(np.ascontiguousarray(rgb)).float().div(255.0).permute(2, 0, 1)
        with torch.no_grad():
            output = self.model.infer(image, use_fp16=False)
        return geometry_from_output(output, rgb.shape[1], rgb.shape[0])
