"""A result folder (``hoikit image``, ``hoikit video`` or one sample of ``hoikit eval``) read back
for display: one scene per photo, one per frame of a video result.

Meshes are in the camera frame of the photo, metres (DESIGN.md "Outputs").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from hoikit.errors import InputError
from hoikit.types import Camera

CONTACT_RADIUS_M = 0.01  # hand vertices nearer the object than this are shown as contacts


@dataclass
class ResultScene:
    """Attributes:
        folder: the result folder; record: its result.json.
        hand, object: meshes or None; camera: the photo's camera or None.
        photo: (H, W, 3) uint8 overlay.png (the photo with the meshes) or None.
    """

    folder: Path
    record: dict
    hand: trimesh.Trimesh | None
    object: trimesh.Trimesh | None
    camera: Camera | None
    photo: np.ndarray | None


def _mesh(path: Path) -> trimesh.Trimesh | None:
    from hoikit.io.mesh import load_mesh

    return load_mesh(path) if path.is_file() else None


def load_result(folder: str | Path) -> ResultScene:
    """Read a result folder; InputError when it is not one."""
    folder = Path(folder)
    path = folder / "result.json"
    if not path.is_file():
        raise InputError(f"{folder}: not a result folder (no result.json)")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    camera = Camera.from_dict(record["camera"]) if isinstance(record.get("camera"), dict) else None
    photo = None
    if (folder / "overlay.png").is_file():
        from PIL import Image

        with Image.open(folder / "overlay.png") as im:
            photo = np.asarray(im.convert("RGB"))
    return ResultScene(folder, record, _mesh(folder / "hand.ply"), _mesh(folder / "object.ply"), camera, photo)


def is_video_result(folder: Path) -> bool:
    return all((folder / f).is_file() for f in ("result.json", "trajectory.json", "hands.npz"))


def overlay_video_frames(path: Path) -> list[np.ndarray]:
    """The frames (H, W, 3) uint8 of a result's overlay.mp4; [] when it is absent or unreadable."""
    if not path.is_file():
        return []
    import av

    try:
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.error.FFmpegError, OSError):
        return []


def load_video_frames(folder: str | Path) -> list[ResultScene]:
    """A ``hoikit video`` result as one scene per frame: the hand of that frame (hands.npz), the
    canonical object.ply posed by trajectory.json (x_cam = s·R·x + t), the overlay.mp4 frame."""
    folder = Path(folder)
    base = load_result(folder)
    try:
        traj = json.loads((folder / "trajectory.json").read_text())
        with np.load(folder / "hands.npz") as z:
            verts, faces = z["vertices"], z["faces"]
    except (json.JSONDecodeError, KeyError, ValueError, OSError) as e:
        raise InputError(f"{folder}: unreadable video result ({type(e).__name__}: {e})") from None
    photos = overlay_video_frames(folder / "overlay.mp4")
    scenes = []
    for k, fr in enumerate(traj["frames"]):
        obj = None
        if base.object is not None:
            o = fr["object"]
            v = float(o["s"]) * np.asarray(base.object.vertices) @ np.asarray(o["R"]).T + np.asarray(o["t"])
            obj = trimesh.Trimesh(v, base.object.faces, process=False)
        hand = trimesh.Trimesh(verts[k], faces, process=False) if k < len(verts) else None
        scenes.append(ResultScene(folder, {**base.record, "frame": fr.get("name", str(k))}, hand, obj, base.camera,
                                  photos[k] if k < len(photos) else None))  # fmt: skip
    return scenes


def load_scenes(folder: str | Path) -> list[ResultScene]:
    """One scene for a photo's result folder; one per frame for a video's."""
    folder = Path(folder)
    return load_video_frames(folder) if is_video_result(folder) else [load_result(folder)]


def contacts(hand: trimesh.Trimesh, obj: trimesh.Trimesh, radius_m: float = CONTACT_RADIUS_M) -> tuple[np.ndarray, np.ndarray]:
    """Hand vertices within ``radius_m`` of the object (K, 3) and their distances (K,) in metres."""
    from hoikit.geometry.knn import nearest

    d = nearest(np.asarray(hand.vertices, np.float64), np.asarray(obj.vertices, np.float64))[0]
    near = d < radius_m
    return np.asarray(hand.vertices)[near], d[near]


def distance_colors(d: np.ndarray, radius_m: float = CONTACT_RADIUS_M) -> np.ndarray:
    """(K, 3) uint8: red at contact, fading to yellow at ``radius_m``."""
    u = np.clip(d / radius_m, 0, 1)[:, None]
    return ((1 - u) * np.array([230, 30, 30]) + u * np.array([250, 220, 40])).astype(np.uint8)


def result_folders(root: str | Path) -> list[Path]:
    """``root`` itself when it is a result folder, else the result folders below it (an eval run's
    ``results/<id>/``, a batch's ``<name>/``), sorted."""
    root = Path(root)
    if (root / "result.json").is_file():
        return [root]
    found = sorted(p.parent for p in root.glob("**/result.json") if not any(part.startswith(".") for part in p.parts))
    if not found and not (root / "summary.json").is_file():
        raise InputError(f"{root}: no result.json here or below (give a result folder or a `hoikit eval` output folder)")
    return found
