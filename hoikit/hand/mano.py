"""MANO for users who have ``MANO_RIGHT.pkl`` (its licence forbids redistribution; hoikit never ships it).

Loading: the file is a Python 2 pickle of chumpy objects, scipy sparse matrices and numpy arrays.
chumpy is broken on current numpy/Python, and a pickle can run arbitrary code, so the file is read by
a restricted unpickler: an allow-list of numpy's array-rebuilding functions, ``chumpy.*`` classes
mapped to a stand-in that keeps only the wrapped array, and ``scipy.sparse`` CSC matrices rebuilt from
their arrays. Anything else in the file is refused.

Model: :class:`ManoModel` is MANO's linear blend skinning with shape and pose blend shapes (Romero et
al. 2017), in torch, batched, with hoikit's hand protocol: 21 joints in MediaPipe/OpenPose order
(the 16 MANO joints reordered, fingertips from vertices 744, 320, 443, 554, 671), the wrist at the
origin of hoikit's canonical frame (+y towards the middle MCP, +z out of the palm, +x to the thumb),
left hands by mirroring, the global Sim3 applied last.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from hoikit.errors import InputError, MissingCheckpointError
from hoikit.geometry.rotations import axis_angle_to_matrix
from hoikit.hand.protocol import FitResult, HandOutput, batched_transform, check_side, faces_for_side, mirror_x
from hoikit.types import Sim3

MANO_ENV = "HOIKIT_MANO"
MANO_FILE = "MANO_RIGHT.pkl"
NUM_MANO_JOINTS = 16
MANO_POSE_DIM = 45  # axis-angle of the 15 finger joints; the root rotation is the global transform
MANO_SHAPE_DIM = 10
# MANO joints (0 wrist, 1-3 index, 4-6 middle, 7-9 pinky, 10-12 ring, 13-15 thumb) + 5 fingertips
# (16-20: thumb, index, middle, ring, pinky) → MediaPipe/OpenPose order
MANO_TO_OPENPOSE = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
MANO_FINGERTIP_VERTICES = (744, 320, 443, 554, 671)
# betas are standardised (unit variance over the MANO scans): ±3 σ covers the adult population
MANO_BETA_LIMIT = 3.0
MANO_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")


# ------------------------------------------------------------------------------ unpickling
class _ChumpyStandIn:
    """Takes the place of any chumpy class while unpickling; keeps the pickled state (``x`` is the array)."""

    def __setstate__(self, state):
        self.state = state


class _SparseStandIn:
    """Takes the place of scipy's CSC matrix class; rebuilt from data/indices/indptr afterwards."""

    def __setstate__(self, state):
        self.state = state


def _numpy_global(module: str, name: str):
    """numpy's array-rebuilding callables, under both numpy 1 (``numpy.core``) and 2 (``numpy._core``)."""
    allowed = {"_reconstruct", "scalar", "ndarray", "dtype"}
    if module not in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") or name not in allowed:
        return None
    if name in ("ndarray", "dtype"):
        return getattr(np, name)
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    return getattr(multiarray, name)


# object reconstruction, sets (chumpy keeps a set of dirty variables), and _codecs.encode, which a
# protocol-2 pickle written by Python 3 uses for bytes (an array's raw data); all are pure functions
_BUILTINS = {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("__builtin__", "object"), ("builtins", "object"),
             ("__builtin__", "set"), ("builtins", "set"), ("__builtin__", "frozenset"), ("builtins", "frozenset"),
             ("_codecs", "encode")}  # fmt: skip
_SPARSE_MODULES = ("scipy.sparse.csc", "scipy.sparse._csc", "scipy.sparse.compressed", "scipy.sparse._compressed")


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that builds only arrays: see the module docstring."""

    def find_class(self, module: str, name: str):
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        if module in _SPARSE_MODULES and name == "csc_matrix":
            return _SparseStandIn
        if (module, name) in _BUILTINS:
            import builtins
            import codecs
            import copyreg

            return {"_reconstructor": copyreg._reconstructor, "encode": codecs.encode}.get(name) or getattr(builtins, name)
        found = _numpy_global(module, name)
        if found is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a MANO file holds only arrays")
        return found


def _plain(obj):
    """Replace stand-ins by numpy arrays / scipy matrices, recursively."""
    if isinstance(obj, _ChumpyStandIn):
        if not isinstance(obj.state, dict) or "x" not in obj.state:
            raise InputError("MANO file holds a chumpy expression, not an array; re-export it with arrays")
        return np.asarray(_plain(obj.state["x"]))
    if isinstance(obj, _SparseStandIn):
        s = obj.state
        return scipy.sparse.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=tuple(s["_shape"]))
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def resolve_mano_path(path: str | os.PathLike | None = None) -> Path:
    """The MANO file: ``path`` if given, else ``$HOIKIT_MANO``; either may name the .pkl or a folder
    holding ``MANO_RIGHT.pkl``. Raises MissingCheckpointError saying where it looked."""
    source = "--mano" if path is not None else f"${MANO_ENV}"
    raw = path if path is not None else os.environ.get(MANO_ENV)
    if not raw:
        raise MissingCheckpointError(
            f"MANO model not found: pass --mano PATH/{MANO_FILE} or set {MANO_ENV} (neither was given); "
            "MANO cannot be shipped with hoikit (licence), download it from mano.is.tue.mpg.de"
        )
    candidate = Path(raw).expanduser()
    if candidate.is_dir():
        candidate = candidate / MANO_FILE
    if not candidate.is_file():
        raise MissingCheckpointError(f"MANO model not found: {source} points to {candidate}, which does not exist")
    return candidate


@dataclass(frozen=True)
class ManoData:
    """MANO's arrays (float64 numpy). Shapes: v_template (778, 3), faces (1538, 3), shapedirs
    (778, 3, 10), posedirs (778, 3, 135), J_regressor (16, 778) dense, weights (778, 16), parents (16,)
    with −1 for the root, hands_mean (45,) (MANO's mean relaxed pose; zeros when absent)."""

    v_template: np.ndarray
    faces: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    parents: np.ndarray
    hands_mean: np.ndarray


def load_mano(path: str | os.PathLike | None = None) -> ManoData:
    """Read a MANO pickle safely (no chumpy, no code execution). ``path`` as in :func:`resolve_mano_path`."""
    file = resolve_mano_path(path)
    try:
        with open(file, "rb") as f:
            raw = _plain(RestrictedUnpickler(f, encoding="latin1").load())
    except pickle.UnpicklingError as exc:
        raise InputError(f"{file}: {exc}") from exc
    missing = [k for k in MANO_KEYS if k not in raw]
    if missing:
        raise InputError(f"{file} is not a MANO model: missing {missing}")
    regressor = raw["J_regressor"]
    parents = np.asarray(raw["kintree_table"], dtype=np.int64)[0].copy()
    parents[0] = -1  # stored as the unsigned 2**32 − 1
    return ManoData(
        v_template=np.asarray(raw["v_template"], dtype=np.float64),
        faces=np.asarray(raw["f"], dtype=np.int64),
        shapedirs=np.asarray(raw["shapedirs"], dtype=np.float64)[..., :MANO_SHAPE_DIM],
        posedirs=np.asarray(raw["posedirs"], dtype=np.float64),
        J_regressor=np.asarray(regressor.todense() if scipy.sparse.issparse(regressor) else regressor, dtype=np.float64),
        weights=np.asarray(raw["weights"], dtype=np.float64),
        parents=parents,
        hands_mean=np.asarray(raw.get("hands_mean", np.zeros(MANO_POSE_DIM)), dtype=np.float64).reshape(-1),
    )


# ------------------------------------------------------------------------------ model
def canonical_rotation(joints: np.ndarray) -> np.ndarray:
    """(3, 3) rotation taking MANO's rest frame to hoikit's canonical one, from MANO joints (16, 3):
    +y wrist → middle MCP, +x from the pinky MCP towards the index MCP (radial), +z = x × y."""
    y = joints[4] - joints[0]
    y /= np.linalg.norm(y)
    x = joints[1] - joints[7]
    x -= y * (x @ y)
    x /= np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)])


class ManoModel(torch.nn.Module):
    """MANO with hoikit's hand protocol.

    Parameters:
        pose: (B, 45) axis-angle of the 15 finger joints, zero = MANO's flat hand; :meth:`default_pose`
            is MANO's mean relaxed pose. shape: (B, 10) betas, or (10,)/(1, 10) shared, or None (mean).
        transform, side: as in :class:`hoikit.hand.model.HandModel`.
    """

    name = "mano"

    num_pose = MANO_POSE_DIM
    num_shape = MANO_SHAPE_DIM
    palm_joints = (0, 1, 5, 9, 13, 17)

    def __init__(self, path: str | os.PathLike | ManoData | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        data = path if isinstance(path, ManoData) else load_mano(path)
        rest_joints = data.J_regressor @ data.v_template
        as_t = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
        self.register_buffer("v_template", as_t(data.v_template))
        self.register_buffer("shapedirs", as_t(data.shapedirs))
        self.register_buffer("posedirs", as_t(np.moveaxis(data.posedirs, -1, 0)))  # (135, 778, 3)
        self.register_buffer("J_regressor", as_t(data.J_regressor))
        self.register_buffer("weights", as_t(data.weights))
        self.register_buffer("hands_mean", as_t(data.hands_mean))
        self.register_buffer("canonical", as_t(canonical_rotation(rest_joints)))
        self.register_buffer("_faces", torch.as_tensor(data.faces, dtype=torch.long))
        self.parents = tuple(int(p) for p in data.parents)

    @property
    def faces(self) -> torch.Tensor:
        return self._faces

    @property
    def dtype(self) -> torch.dtype:
        return self.v_template.dtype

    def pose_limits(self) -> tuple[torch.Tensor, torch.Tensor]:
        """MANO has no joint limits; ±π per axis-angle component only keeps the fit on one branch."""
        lim = torch.full((MANO_POSE_DIM,), torch.pi, dtype=self.dtype)
        return -lim, lim

    def shape_limits(self) -> tuple[torch.Tensor, torch.Tensor]:
        lim = torch.full((MANO_SHAPE_DIM,), MANO_BETA_LIMIT, dtype=self.dtype)
        return -lim, lim

    def default_pose(self) -> torch.Tensor:
        return self.hands_mean.clone()

    def default_shape(self) -> torch.Tensor:
        return torch.zeros(MANO_SHAPE_DIM, dtype=self.dtype)

    def shape_for_scale(self, scale: float) -> torch.Tensor:
        """MANO's betas do not separate size from proportions: the mean shape (fit with ``fit_scale``
        when the targets' size is arbitrary)."""
        return self.default_shape()

    def _skin(self, pose: torch.Tensor, shape: torch.Tensor, ids) -> tuple[torch.Tensor, torch.Tensor]:
        """MANO LBS in MANO's frame: joints (B, 16, 3) and the vertices ``ids`` (B, n, 3) (a slice or
        index list: fitting needs only the five fingertips)."""
        B = pose.shape[0]
        v_shaped = self.v_template + torch.einsum("vcs,bs->bvc", self.shapedirs, shape)
        J = self.J_regressor @ v_shaped  # (B, 16, 3)
        R = axis_angle_to_matrix(pose.reshape(B, -1, 3))  # (B, 15, 3, 3)
        eye = torch.eye(3, dtype=pose.dtype)
        R = torch.cat([eye.expand(B, 1, 3, 3), R], 1)  # the root is posed by the global transform
        rot, pos = [R[:, 0]], [J[:, 0]]
        for i in range(1, NUM_MANO_JOINTS):
            p = self.parents[i]
            rot.append(rot[p] @ R[:, i])
            pos.append(pos[p] + (rot[p] @ (J[:, i] - J[:, p])[..., None])[..., 0])
        rot, pos = torch.stack(rot, 1), torch.stack(pos, 1)
        pose_feature = (R[:, 1:] - eye).reshape(B, -1)  # (B, 135)
        v_posed = v_shaped[:, ids] + torch.einsum("bp,pvc->bvc", pose_feature, self.posedirs[:, ids])
        t = pos - (rot @ J[..., None])[..., 0]  # bone transforms x ↦ rot x + t
        w = self.weights[ids]
        A = torch.einsum("vj,bjkl->bvkl", w, rot)
        return pos, (A @ v_posed[..., None])[..., 0] + torch.einsum("vj,bjk->bvk", w, t)

    def forward(
        self,
        pose: torch.Tensor,
        shape: torch.Tensor | None = None,
        transform: Sim3 | None = None,
        side: str = "right",
        vertices: bool = True,
    ) -> HandOutput:
        """Posed MANO hands: joints (B, 21, 3) in OpenPose order, vertices (B, 778, 3), faces (1538, 3)."""
        side = check_side(side)
        pose = torch.as_tensor(pose, dtype=self.dtype)
        pose = pose[None] if pose.dim() == 1 else pose
        B = pose.shape[0]
        shape = torch.zeros(1, MANO_SHAPE_DIM, dtype=self.dtype) if shape is None else torch.as_tensor(shape, dtype=self.dtype)
        shape = (shape[None] if shape.dim() == 1 else shape).expand(B, -1)
        tip_ids = list(MANO_FINGERTIP_VERTICES)
        joints16, verts = self._skin(pose, shape, slice(None) if vertices else tip_ids)
        tips = verts[:, tip_ids] if vertices else verts
        joints = torch.cat([joints16, tips], 1)[:, list(MANO_TO_OPENPOSE)]
        origin = joints[:, :1]
        to_canonical = lambda x: (x - origin) @ self.canonical.T  # noqa: E731
        T = batched_transform(transform, B, self.dtype)
        place = lambda x: T.apply(mirror_x(to_canonical(x)) if side == "left" else to_canonical(x))  # noqa: E731
        return HandOutput(place(joints), place(verts) if vertices else None, faces_for_side(self._faces, side), side, None)

    def fit_to_joints(self, targets, **kwargs) -> FitResult:
        """Fit pose, betas and the global transform to 3D joints; see :func:`hoikit.hand.fitting.fit_joints`."""
        from hoikit.hand.fitting import fit_joints

        return fit_joints(self, targets, **kwargs)
