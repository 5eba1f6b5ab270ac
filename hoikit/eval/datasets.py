"""Dataset readers. ``SynthDataset`` reads what ``hoikit synth`` writes (docs/synth-format.md) into
typed samples for the pipelines and benchmarks.

    ds = SynthDataset("bench/synth")
    for sample in ds:          # SynthImageSample or SynthVideoSample, in index order
        ...

Everything is in the OpenCV camera frame in metres (:mod:`hoikit.types`). A missing or malformed
folder or file raises :class:`hoikit.errors.InputError` naming the file and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import trimesh

from hoikit.errors import InputError
from hoikit.types import Camera, NUM_HAND_JOINTS, Sim3

FORMAT = "hoikit-synth"
SUPPORTED_VERSIONS = (1,)
INDEX, META = "index.json", "meta.json"


# ------------------------------------------------------------------------------ records
@dataclass
class HandTruth:
    """The hand of one frame.

    Attributes:
        joints3d: (21, 3) metres, camera frame, MediaPipe order; joints2d: (21, 2) pixels.
        side: "right" | "left".
        mesh: the hand mesh in the camera frame (exactly the rendered geometry).
        pose: (21,) joint angles, radians (hoikit's hand model, ``pose_names`` order).
        shape: (3,) hand shape; transform: canonical hand frame → camera (the model's global transform).
    """

    joints3d: np.ndarray
    joints2d: np.ndarray
    side: str
    mesh: trimesh.Trimesh
    pose: np.ndarray
    shape: np.ndarray
    transform: Sim3


@dataclass
class ObjectTruth:
    """The object of one frame.

    Attributes:
        family: procedural family or "ycb"; name: the family, or the YCB model id.
        mesh: in the camera frame; mesh_canonical: in the object's canonical frame;
        pose: (4, 4) canonical → camera (``mesh`` = ``pose`` applied to ``mesh_canonical``).
        visible_fraction: visible pixels / pixels it covers when rendered alone.
    """

    family: str
    name: str
    mesh: trimesh.Trimesh
    mesh_canonical: trimesh.Trimesh
    pose: np.ndarray
    visible_fraction: float


@dataclass
class SynthFrame:
    """One rendered view: image (H, W, 3) uint8, masks (H, W) bool (visible pixels of each),
    depth (H, W) float32 metres (0 on background), normals (H, W, 3) float32 camera frame or None
    when not written, the camera, and the hand and object ground truth."""

    index: int
    image: np.ndarray
    mask_hand: np.ndarray
    mask_object: np.ndarray
    depth: np.ndarray
    normals: np.ndarray | None
    camera: Camera
    hand: HandTruth
    object: ObjectTruth


@dataclass
class SynthImageSample:
    """A single-image sample. ``meta`` is the raw meta.json (grasp, appearance, …)."""

    id: str
    path: Path
    frame: SynthFrame
    meta: dict[str, Any]

    # the frame's fields, for readers that only handle images
    image = property(lambda self: self.frame.image)
    mask_hand = property(lambda self: self.frame.mask_hand)
    mask_object = property(lambda self: self.frame.mask_object)
    depth = property(lambda self: self.frame.depth)
    normals = property(lambda self: self.frame.normals)
    camera = property(lambda self: self.frame.camera)
    hand = property(lambda self: self.frame.hand)
    object = property(lambda self: self.frame.object)

    @property
    def family(self) -> str:
        return self.frame.object.family


@dataclass
class SynthVideoSample:
    """A clip: per-frame lists (``frames[i]`` has the image, masks, depth, camera, hand and object
    of frame i); the hand's grasp and the object are the same in every frame."""

    id: str
    path: Path
    frames: list[SynthFrame]
    meta: dict[str, Any]

    @property
    def family(self) -> str:
        return self.frames[0].object.family

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def images(self) -> list[np.ndarray]:
        return [f.image for f in self.frames]

    @property
    def cameras(self) -> list[Camera]:
        return [f.camera for f in self.frames]

    @property
    def joints3d(self) -> np.ndarray:
        """(T, 21, 3)."""
        return np.stack([f.hand.joints3d for f in self.frames])

    @property
    def object_poses(self) -> np.ndarray:
        """(T, 4, 4)."""
        return np.stack([f.object.pose for f in self.frames])


SynthSample = SynthImageSample | SynthVideoSample


# ------------------------------------------------------------------------------ low-level readers
def read_json(path: Path) -> dict:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _field(d: dict, key: str, path: Path) -> Any:
    """``d[key]`` (keys may be dotted), or an InputError naming the file and the key."""
    value: Any = d
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise InputError(f"{path}: missing field {key!r}")
        value = value[part]
    return value


def _array(d: dict, key: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    try:
        a = np.asarray(_field(d, key, path), dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: field {key!r} is not numeric") from None
    if a.shape != shape or not np.isfinite(a).all():
        raise InputError(f"{path}: field {key!r} should be a finite array of shape {shape}, got {a.shape}")
    return a


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
            return np.asarray(im)
    except Exception as e:  # PIL raises several types for unreadable files
        raise InputError(f"{path}: not a readable PNG ({type(e).__name__})") from None


def _image(path: Path, size: tuple[int, int], channels: int | None) -> np.ndarray:
    """A PNG of (W, H) = size with the given channel count (None: single channel)."""
    a = _png(path)
    want = (size[1], size[0]) + ((channels,) if channels else ())
    if a.shape != want or a.dtype != np.uint8:
        raise InputError(f"{path}: expected a uint8 image of shape {want}, got {a.dtype} {a.shape}")
    return a


def _mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    return _image(path, size, None) > 127


def _depth(path: Path, size: tuple[int, int]) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        d = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"{path}: not a readable .npy array ({e})") from None
    if d.shape != (size[1], size[0]) or d.dtype != np.float32:
        raise InputError(f"{path}: expected float32 depth of shape {(size[1], size[0])}, got {d.dtype} {d.shape}")
    return d


def decode_normals(encoded: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The writer's 8-bit normal encoding back to unit vectors (H, W, 3) float32, 0 off ``mask``."""
    n = encoded.astype(np.float32) / 127.5 - 1.0
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-6)
    return np.where(mask[..., None], n, 0.0).astype(np.float32)


def _mesh(path: Path) -> trimesh.Trimesh:
    from hoikit.io.mesh import load_mesh

    return load_mesh(path)


def posed_mesh(mesh: trimesh.Trimesh, pose: np.ndarray) -> trimesh.Trimesh:
    """``mesh`` moved by a 4×4 pose, the same float64 formula the writer renders with."""
    from hoikit.synth.poses import apply_pose

    return trimesh.Trimesh(apply_pose(pose, mesh.vertices), np.asarray(mesh.faces), process=False)


# ------------------------------------------------------------------------------ samples
def _camera(d: dict, path: Path) -> Camera:
    K = _array(d, "K", (3, 3), path)
    size = _field(d, "image_size", path)
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise InputError(f"{path}: field 'image_size' should be [W, H] positive integers, got {size!r}")
    return Camera(K, size[0], size[1], "synthetic")


def _frame(folder: Path, meta_path: Path, d: dict, files: dict, hand_static: dict, obj_static: dict,
           hand_mesh: trimesh.Trimesh, obj_canonical: trimesh.Trimesh, obj_mesh: trimesh.Trimesh | None, index: int) -> SynthFrame:
    """One frame from its meta record ``d`` (with K, image_size, hand.*, object.*) and the files."""
    camera = _camera(d, meta_path)
    size = (camera.width, camera.height)
    pose = _array(d, "object.pose", (4, 4), meta_path)
    t = _field(d, "hand.transform", meta_path)
    transform = Sim3.from_dict(t) if isinstance(t, dict) and {"s", "R", "t"} <= set(t) else None
    if transform is None:
        raise InputError(f"{meta_path}: field 'hand.transform' should have s, R and t")
    mask_hand = _mask(folder / _field(files, "mask_hand", meta_path), size)
    mask_object = _mask(folder / _field(files, "mask_object", meta_path), size)
    depth = _depth(folder / _field(files, "depth", meta_path), size)
    normals = None
    if "normals" in files:
        normals = decode_normals(_image(folder / files["normals"], size, 3), depth > 0)
    hand = HandTruth(
        joints3d=_array(d, "hand.joints3d", (NUM_HAND_JOINTS, 3), meta_path),
        joints2d=_array(d, "hand.joints2d", (NUM_HAND_JOINTS, 2), meta_path),
        side=hand_static["side"], mesh=hand_mesh, pose=hand_static["pose"], shape=hand_static["shape"], transform=transform,
    )  # fmt: skip
    obj = ObjectTruth(
        family=obj_static["family"], name=obj_static["name"],
        mesh=obj_mesh if obj_mesh is not None else posed_mesh(obj_canonical, pose),
        mesh_canonical=obj_canonical, pose=pose, visible_fraction=float(_field(d, "object.visible_fraction", meta_path)),
    )  # fmt: skip
    return SynthFrame(index, _image(folder / _field(files, "rgb", meta_path), size, 3), mask_hand, mask_object, depth, normals, camera, hand, obj)


def _static(meta: dict, path: Path) -> tuple[dict, dict]:
    """The per-sample hand and object fields shared by every frame."""
    side = _field(meta, "hand.side", path)
    if side not in ("left", "right"):
        raise InputError(f"{path}: field 'hand.side' should be 'left' or 'right', got {side!r}")
    hand = {"side": side, "pose": _array(meta, "hand.pose", (21,), path), "shape": _array(meta, "hand.shape", (3,), path)}
    obj = {"family": str(_field(meta, "object.family", path)), "name": str(_field(meta, "object.name", path))}
    return hand, obj


def _check_format(meta: dict, path: Path) -> None:
    if meta.get("format") != FORMAT or meta.get("version") not in SUPPORTED_VERSIONS:
        raise InputError(f"{path}: not a {FORMAT} file of a supported version {SUPPORTED_VERSIONS} "
                         f"(format={meta.get('format')!r}, version={meta.get('version')!r})")  # fmt: skip


def load_sample(folder: str | Path) -> SynthSample:
    """Read one sample folder (image or video).

    Raises:
        InputError: the folder, a file or a field is missing or malformed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such sample folder")
    meta_path = folder / META
    meta = read_json(meta_path)
    _check_format(meta, meta_path)
    hand_static, obj_static = _static(meta, meta_path)
    obj_canonical = _mesh(folder / _field(meta, "object.mesh_canonical", meta_path))
    kind = meta.get("type")
    if kind == "image":
        files = _field(meta, "files", meta_path)
        frame = _frame(folder, meta_path, meta, files, hand_static, obj_static, _mesh(folder / _field(meta, "hand.mesh", meta_path)),
                       obj_canonical, _mesh(folder / _field(meta, "object.mesh", meta_path)), 0)  # fmt: skip
        return SynthImageSample(str(meta.get("id", folder.name)), folder, frame, meta)
    if kind == "video":
        hand_in_object = _mesh(folder / _field(meta, "hand.mesh_in_object", meta_path))
        records = _field(meta, "frames", meta_path)
        if not isinstance(records, list) or not records:
            raise InputError(f"{meta_path}: field 'frames' should be a non-empty list")
        frames = []
        for i, d in enumerate(records):
            pose = _array(d, "object.pose", (4, 4), meta_path)
            files = _field(d, "files", meta_path)
            frames.append(_frame(folder, meta_path, d, files, hand_static, obj_static, posed_mesh(hand_in_object, pose), obj_canonical, None, i))
        return SynthVideoSample(str(meta.get("id", folder.name)), folder, frames, meta)
    raise InputError(f"{meta_path}: field 'type' should be 'image' or 'video', got {kind!r}")


class SynthDataset:
    """A folder written by ``hoikit synth``: ``len``, indexing by position, iteration in index
    order, ``ids`` and the run's ``settings``. Samples are read on access (not cached)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: no such dataset folder")
        index = read_json(self.root / INDEX)
        _check_format(index, self.root / INDEX)
        ids = index.get("samples")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InputError(f"{self.root / INDEX}: field 'samples' should be a list of sample ids")
        missing = [i for i in ids if not (self.root / i).is_dir()]
        if missing:
            raise InputError(f"{self.root}: sample folders listed in {INDEX} are missing: {missing[:5]}{' …' if len(missing) > 5 else ''}")
        self.ids: list[str] = ids
        self.settings: dict = index.get("settings", {})
        self.index = index

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> SynthSample:
        return load_sample(self.root / self.ids[i])

    def __iter__(self) -> Iterator[SynthSample]:
        return (load_sample(self.root / i) for i in self.ids)

    @cached_property
    def is_video(self) -> bool:
        return bool(self.settings.get("video", False))
