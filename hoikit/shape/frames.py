"""The frame a shape generator works in: view-aligned and size-normalised.

hoikit-small (like Hunyuan3D-2) outputs the object as the camera sees it. Its canonical frame is
the camera frame turned so that +z runs along the ray through the object's centre (so an object
off the optical axis looks the same as one on it), then centred on the object's bounding box and
scaled so the box's largest half-side is ``extent``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoikit.types import Sim3


def view_rotation(center_cam: np.ndarray) -> np.ndarray:
    """(3, 3) R_va whose columns are the view-aligned axes in camera coordinates.

    z' = the unit ray to ``center_cam``; x' = the camera x axis made orthogonal to z'; y' = z' × x'
    (still pointing down in the image). Camera point X ↔ view-aligned R_vaᵀ X.
    """
    z = np.asarray(center_cam, dtype=np.float64)
    z = z / np.linalg.norm(z)
    x = np.array([1.0, 0.0, 0.0]) - z[0] * z
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


@dataclass(frozen=True)
class ShapeFrame:
    """canonical → camera: X_cam = R_va (scale · X_can + center_va).

    Attributes:
        R_va: (3, 3) view rotation (see :func:`view_rotation`).
        center_va: (3,) bounding-box centre in view-aligned coordinates, metres.
        scale: metres per canonical unit.
    """

    R_va: np.ndarray
    center_va: np.ndarray
    scale: float

    def to_camera(self) -> Sim3:
        return Sim3(np.float64(self.scale), self.R_va, self.R_va @ self.center_va)


def normalising_frame(points_cam: np.ndarray, extent: float = 0.9, center_cam: np.ndarray | None = None) -> ShapeFrame:
    """The frame in which ``points_cam`` (N, 3) fit the canonical cube with half-side ``extent``.

    ``center_cam`` picks the view ray (default: the bounding-box centre of the points).
    """
    pts = np.asarray(points_cam, dtype=np.float64)
    if center_cam is None:
        center_cam = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    R = view_rotation(center_cam)
    va = pts @ R
    lo, hi = va.min(axis=0), va.max(axis=0)
    return ShapeFrame(R, 0.5 * (lo + hi), float((hi - lo).max() / 2.0 / extent))
