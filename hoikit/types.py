"""hoikit's conventions, stated once.

Every other module takes its frames, units and orders from here:

- **Units**: metres everywhere inside hoikit. Centimetres (and millimetres) appear only in reported
  metrics, and then the unit is part of the key name (``cd_cm2``, ``mpjpe_mm``).
- **Camera frame**: OpenCV — x right, y down, z forward. ``K`` is in pixels for the image *as
  loaded* (after EXIF rotation). Pixel centres sit at integer coordinates: pixel (0, 0) covers
  [-0.5, 0.5]².
- **Images**: H×W×3 ``uint8`` RGB at the boundary, float in [0, 1] inside.
- **Similarity transforms**: ``Sim3(s, R, t)`` maps x to x' = s·R·x + t.
- **Hand joints**: 21 joints in MediaPipe/OpenPose order (0 wrist, 1–4 thumb, 5–8 index,
  9–12 middle, 13–16 ring, 17–20 pinky). Left hands are mirrored to right hands, never handled by a
  second code path.
- **SDF**: negative inside.
- **Meshes**: ``trimesh.Trimesh`` at the boundary, (V, 3) float / (F, 3) int tensors inside.
- **Rectified flow**: t = 0 is noise, t = 1 is data; the network returns a velocity v;
  Euler step x ← x + (σ_{i+1} − σ_i)·v; clean estimate x̂₁ = x_t + (1 − σ_t)·v.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

# --------------------------------------------------------------------------------------- units
M_TO_CM = 100.0
M_TO_MM = 1000.0
CM = 0.01  # one centimetre in metres
MM = 0.001  # one millimetre in metres

# --------------------------------------------------------------------------------------- hands
HAND_JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)  # fmt: skip
NUM_HAND_JOINTS = 21
WRIST = 0
# parent of each joint in the kinematic tree (-1 for the root)
HAND_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
FINGERTIPS: tuple[int, ...] = (4, 8, 12, 16, 20)
# joints of each finger, base to tip, thumb first
FINGERS: tuple[tuple[int, ...], ...] = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
Handedness = Literal["left", "right"]

# ------------------------------------------------------------------------------- alignments
Alignment = Literal["none", "icp-ts", "sim3"]
ALIGNMENTS: tuple[str, ...] = ("none", "icp-ts", "sim3")


# ------------------------------------------------------------------------------------ camera
@dataclass(frozen=True)
class Camera:
    """Pinhole camera in the OpenCV convention.

    Attributes:
        K: (3, 3) intrinsics in pixels for an image of ``width`` × ``height``.
        width, height: image size in pixels.
        source: where the intrinsics came from (``"given"``, ``"exif"``, ``"default-fov"``, …).
    """

    K: np.ndarray
    width: int
    height: int
    source: str = "given"

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        object.__setattr__(self, "K", K)
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera image size must be positive, got {self.width}x{self.height}")

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float, source: str = "default-fov") -> "Camera":
        """Square pixels, principal point at the image centre, horizontal field of view in degrees."""
        f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2.0)
        K = np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
        return cls(K, width, height, source)

    def resized(self, width: int, height: int) -> "Camera":
        """The same camera for the image resized to ``width`` × ``height`` (pixel-centre convention)."""
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0, 0] *= sx
        K[1, 1] *= sy
        K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
        K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
        return Camera(K, width, height, self.source)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> "Camera":
        """The same camera for the crop whose top-left pixel is (x0, y0)."""
        K = self.K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        return Camera(K, width, height, self.source)

    def project(self, points: Any) -> Any:
        """Project camera-frame points to pixels.

        Args:
            points: (..., 3) metres, camera frame (numpy array or torch tensor).
        Returns:
            (..., 2) pixel coordinates (same array type).
        """
        K = self.K
        z = points[..., 2:3]
        x = points[..., 0:1] / z
        y = points[..., 1:2] / z
        u = K[0, 0] * x + K[0, 1] * y + K[0, 2]
        v = K[1, 1] * y + K[1, 2]
        if isinstance(points, np.ndarray):
            return np.concatenate([u, v], axis=-1)
        import torch

        return torch.cat([u, v], dim=-1)

    def to_dict(self) -> dict:
        return {"K": self.K.tolist(), "image_size": [self.width, self.height], "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        w, h = d["image_size"]
        return cls(np.asarray(d["K"], dtype=np.float64), int(w), int(h), d.get("source", "given"))


# -------------------------------------------------------------------------------------- Sim3
def _swap_last(R: Any) -> Any:
    return R.swapaxes(-1, -2)


@dataclass(frozen=True)
class Sim3:
    """Similarity transform x' = s·R·x + t.

    Works with numpy arrays and with torch tensors (then it is differentiable), and broadcasts over
    leading batch dimensions: ``s`` (...,), ``R`` (..., 3, 3), ``t`` (..., 3).
    """

    s: Any
    R: Any
    t: Any

    @classmethod
    def identity(cls) -> "Sim3":
        return cls(np.float64(1.0), np.eye(3), np.zeros(3))

    def apply(self, points: Any) -> Any:
        """points: (..., N, 3) → (..., N, 3)."""
        s = self.s[..., None, None] if getattr(self.s, "ndim", 0) else self.s
        return s * (points @ _swap_last(self.R)) + self.t[..., None, :]

    def apply_vectors(self, vectors: Any) -> Any:
        """Directions (normals): rotation only. (..., N, 3) → (..., N, 3)."""
        return vectors @ _swap_last(self.R)

    def compose(self, other: "Sim3") -> "Sim3":
        """``self ∘ other``: apply ``other`` first, then ``self``."""
        s = self.s * other.s
        R = self.R @ other.R
        st = self.s[..., None] if getattr(self.s, "ndim", 0) else self.s
        t = st * (other.t[..., None, :] @ _swap_last(self.R))[..., 0, :] + self.t
        return Sim3(s, R, t)

    __matmul__ = compose

    def inverse(self) -> "Sim3":
        s_inv = 1.0 / self.s
        R_inv = _swap_last(self.R)
        st = s_inv[..., None] if getattr(s_inv, "ndim", 0) else s_inv
        t_inv = -st * (self.t[..., None, :] @ _swap_last(R_inv))[..., 0, :]
        return Sim3(s_inv, R_inv, t_inv)

    def matrix(self) -> np.ndarray:
        """(4, 4) homogeneous matrix (numpy, unbatched)."""
        M = np.eye(4)
        M[:3, :3] = float(self.s) * np.asarray(self.R, dtype=np.float64)
        M[:3, 3] = np.asarray(self.t, dtype=np.float64)
        return M

    @classmethod
    def from_matrix(cls, M: np.ndarray) -> "Sim3":
        """Inverse of :meth:`matrix` for a 4×4 similarity (uniform scale, proper rotation)."""
        M = np.asarray(M, dtype=np.float64)
        A = M[:3, :3]
        s = np.cbrt(np.linalg.det(A))
        if not np.isfinite(s) or s <= 0:
            raise ValueError("matrix is not a similarity transform with positive scale")
        return cls(np.float64(s), A / s, M[:3, 3].copy())

    def numpy(self) -> "Sim3":
        """A detached float64 numpy copy (for export)."""

        def conv(x: Any) -> np.ndarray:
            if hasattr(x, "detach"):
                x = x.detach().cpu().numpy()
            return np.asarray(x, dtype=np.float64)

        return Sim3(conv(self.s), conv(self.R), conv(self.t))

    def torch(self, dtype: Any = None) -> "Sim3":
        """The same transform as torch tensors of ``dtype`` (default float32); keeps gradients."""
        import torch

        dtype = dtype or torch.float32
        f = lambda x: x.to(dtype) if hasattr(x, "detach") else torch.as_tensor(np.asarray(x), dtype=dtype)
        return Sim3(f(self.s), f(self.R), f(self.t))

    def to_dict(self) -> dict:
        T = self.numpy()
        return {"s": float(T.s), "R": T.R.tolist(), "t": T.t.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Sim3":
        return cls(np.float64(d["s"]), np.asarray(d["R"], dtype=np.float64), np.asarray(d["t"], dtype=np.float64))


# ---------------------------------------------------------------------------- results
SCHEMA_VERSION = 1


@dataclass
class HandEstimate:
    """A reconstructed hand in the camera frame.

    Attributes:
        joints: (21, 3) metres, MediaPipe/OpenPose order.
        vertices: (V, 3) metres; faces: (F, 3) int.
        side: ``"left"`` | ``"right"``.
        model: ``"hoikit-hand"`` or ``"mano"``.
        keypoints2d: (21, 2) detected pixels, when a detector ran.
        params: model parameters (pose, shape, transform) as plain lists.
    """

    joints: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    side: Handedness
    model: str = "hoikit-hand"
    keypoints2d: np.ndarray | None = None
    params: dict = field(default_factory=dict)


@dataclass
class ObjectEstimate:
    """A reconstructed object: its mesh in the camera frame and how it got there.

    Attributes:
        vertices: (V, 3) metres, camera frame; faces: (F, 3) int.
        to_camera: the generator's canonical frame → camera frame.
        generator: which shape generator made it.
    """

    vertices: np.ndarray
    faces: np.ndarray
    to_camera: Sim3
    generator: str = ""


@dataclass
class Reconstruction:
    """Everything one reconstruction produced (one photo, or one video frame's worth plus more)."""

    camera: Camera
    hand: HandEstimate | None
    object: ObjectEstimate | None
    source: str = ""
    timings: dict = field(default_factory=dict)  # seconds per stage
    losses: dict = field(default_factory=dict)  # loss traces per phase
    warnings: list = field(default_factory=list)
    backends: dict = field(default_factory=dict)  # role → member used
    extras: dict = field(default_factory=dict)
