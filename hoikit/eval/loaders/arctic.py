"""``arctic:DIR`` — ARCTIC in its official layout (DIR = ``arctic_data/data``)::

    DIR/raw_seqs/<subject>/<seq>.object.npy      (N, 7) per mocap frame: articulation angle (rad),
                                                 global rotation (axis-angle), translation (mm)
    DIR/raw_seqs/<subject>/<seq>.mano.npy        {"right"|"left": {"rot", "pose", "trans", "shape"}}
    DIR/raw_seqs/<subject>/<seq>.egocam.dist.npy {"R_k_cam_np" (N,3,3), "T_k_cam_np" (N,3,1),
                                                 "intrinsics" (3,3), "dist8"}   (view 0 only)
    DIR/meta/misc.json                           per subject: "ioi_offset", "world2cam" (8 × 4×4),
                                                 "intris_mat" (8 × 3×3) of the allocentric views 1-8
    DIR/meta/object_vtemplates/<object>/mesh.obj  template in mm;  parts.json: per vertex 0 = top
                                                 (the articulated part), 1 = bottom
    DIR/images/<subject>/<seq>/<view>/<image:05d>.jpg   image = mocap frame + ioi_offset

The object is ``<seq>``'s first ``_`` field. The true mesh of a frame: the top part turned by the
articulation angle about the template's −z axis, then the global rotation and translation (world,
mm → m), then the view's world-to-camera transform (OpenCV frame, metres, as ARCTIC's cameras
are). View 0 (egocentric) has a camera per frame and lens distortion that hoikit does not undo; its
photos are scored with the pinhole part only. ``images/`` is required: ``cropped_images/`` lack
the crop offsets needed for their intrinsics.

ARCTIC is bimanual: the hand that holds the object is taken to be the one whose MANO translation
is nearer to the object's centre. Hand joints are not produced (``joints3d`` is None): that needs
MANO's own forward pass in ARCTIC's parameter convention, so ARCTIC results carry object and
interaction metrics. Every ``.npy`` holding a dictionary is read with a restricted unpickler
(arrays only), never ``allow_pickle``.

Named split: ``followmyhold`` — 1000 images spread evenly over the sorted ids of the allocentric
views (FollowMyHold sampled 1000 images at random; its list is not public offline).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from hoikit.errors import InputError
from hoikit.eval.loaders.base import EvalSample, Source, camera_from_K, every_nth, image_size, require, select_split

FOLLOWMYHOLD_COUNT = 1000
ALLOCENTRIC_VIEWS = tuple(range(1, 9))
ARTICULATION_AXIS = np.array([0.0, 0.0, -1.0])


def read_npy(path: Path):
    """An ARCTIC ``.npy``: a plain array, or a pickled dictionary of arrays read without running
    pickled code (``hoikit.hand.mano.RestrictedUnpickler``). InputError when unreadable."""
    from numpy.lib import format as npformat

    from hoikit.hand.mano import RestrictedUnpickler, _plain

    require([path], "ARCTIC")
    try:
        with open(path, "rb") as f:
            major, _ = npformat.read_magic(f)
            read_header = npformat.read_array_header_1_0 if major == 1 else npformat.read_array_header_2_0
            _, _, dtype = read_header(f)
            if not dtype.hasobject:
                f.seek(0)
                return np.load(f, allow_pickle=False)
            obj = RestrictedUnpickler(f, encoding="latin1").load()
    except Exception as e:  # a truncated file, a foreign object
        raise InputError(f"{path}: not a readable ARCTIC array file ({type(e).__name__}: {e})") from None
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()  # np.save of a dict stores a 0-d object array
    return _plain(obj)


@lru_cache(maxsize=16)
def read_misc(root: Path) -> dict:
    path = root / "meta" / "misc.json"
    require([path], "ARCTIC")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None


@lru_cache(maxsize=16)
def object_template(root: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (V, 3) mm, faces (F, 3), top (V,) bool) of ARCTIC object ``name``."""
    folder = root / "meta" / "object_vtemplates" / name
    require([folder / "mesh.obj", folder / "parts.json"], f"ARCTIC object {name!r}")
    mesh = trimesh.load(folder / "mesh.obj", force="mesh", process=False)
    parts = np.asarray(json.loads((folder / "parts.json").read_text()))
    if parts.shape != (len(mesh.vertices),):
        raise InputError(f"{folder / 'parts.json'}: {parts.shape[0]} labels for {len(mesh.vertices)} vertices")
    return np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces), parts == 0


def articulated_object(vertices_mm: np.ndarray, top: np.ndarray, params: np.ndarray) -> np.ndarray:
    """World-frame vertices (V, 3) in metres of a template (V, 3) mm with ``top`` (V,) bool, for
    one frame's ``params`` (7,) = [angle, axis-angle (3), translation mm (3)]."""
    v = vertices_mm.copy()
    v[top] = Rotation.from_rotvec(ARTICULATION_AXIS * params[0]).apply(v[top])
    return (Rotation.from_rotvec(params[1:4]).apply(v) + params[4:7]) / 1000.0


class ArcticSource(Source):
    """ids: "<subject>/<seq>/<view>/<image:05d>"."""

    name = "arctic"

    def camera_pose(self, subject: str, seq: str, view: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(K (3, 3), world→camera (4, 4), metres) of ``view`` at mocap ``frame``."""
        if view == 0:
            ego = read_npy(self.root / "raw_seqs" / subject / f"{seq}.egocam.dist.npy")
            T = np.eye(4)
            T[:3, :3], T[:3, 3] = np.asarray(ego["R_k_cam_np"])[frame], np.asarray(ego["T_k_cam_np"])[frame].reshape(3)
            return np.asarray(ego["intrinsics"], np.float64), T
        misc = read_misc(self.root)[subject]
        return np.asarray(misc["intris_mat"][view - 1], np.float64), np.asarray(misc["world2cam"][view - 1], np.float64)

    def load(self, sample_id: str) -> EvalSample:
        subject, seq, view_s, image_s = sample_id.split("/")
        view, image_no = int(view_s), int(image_s)
        image = self.root / "images" / subject / seq / view_s / f"{image_s}.jpg"
        raw = self.root / "raw_seqs" / subject
        require([image, raw / f"{seq}.object.npy"], f"ARCTIC sample {sample_id}")
        frame = image_no - int(read_misc(self.root)[subject]["ioi_offset"])
        params = np.asarray(read_npy(raw / f"{seq}.object.npy"), np.float64)
        if params.ndim != 2 or params.shape[1] != 7 or not 0 <= frame < len(params):
            raise InputError(f"{raw / f'{seq}.object.npy'}: no object pose for image {image_no} (mocap frame {frame}, {params.shape})")
        obj = seq.split("_")[0]
        vertices, faces, top = object_template(self.root, obj)
        world = articulated_object(vertices, top, params[frame])
        K, world2cam = self.camera_pose(subject, seq, view, frame)
        cam = world @ world2cam[:3, :3].T + world2cam[:3, 3]
        w, h = image_size(image)
        return EvalSample(
            sample_id, image, camera_from_K(K, w, h, "arctic"), trimesh.Trimesh(cam, faces, process=False),
            None, holding_side(raw / f"{seq}.mano.npy", frame, params[frame, 4:7] / 1000.0),
            {"object": obj, "sequence": f"{subject}/{seq}", "view": view},
        )  # fmt: skip


def holding_side(mano_path: Path, frame: int, object_centre: np.ndarray) -> str | None:
    """The hand ("right" | "left") whose MANO translation (m, world) is nearer to the object's
    centre at ``frame``; None when the file is absent."""
    if not mano_path.exists():
        return None
    hands = read_npy(mano_path)
    dist = {side: float(np.linalg.norm(np.asarray(hands[side]["trans"])[frame] - object_centre)) for side in ("right", "left") if side in hands}
    return min(dist, key=dist.get) if dist else None


def open_arctic(root: Path, split: str | None = None) -> ArcticSource:
    require([root / "meta" / "misc.json", root / "raw_seqs", root / "images"], f"ARCTIC at {root}")
    ids = sorted(f"{p.parts[-4]}/{p.parts[-3]}/{p.parts[-2]}/{p.stem}" for p in root.glob("images/*/*/*/*.jpg"))
    if not ids:
        raise InputError(f"ARCTIC at {root}: no images under images/<subject>/<seq>/<view>/<image>.jpg")
    named = {"followmyhold": lambda all_ids: every_nth([i for i in all_ids if int(i.split("/")[2]) in ALLOCENTRIC_VIEWS], FOLLOWMYHOLD_COUNT)}
    return ArcticSource(root, select_split(ids, split, named, f"ARCTIC at {root}"))
