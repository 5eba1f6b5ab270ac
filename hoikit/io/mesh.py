"""Mesh files in and out: forgiving loading with clear errors, PLY/OBJ export, GLB scenes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np
import trimesh

from hoikit.errors import InputError
from hoikit.types import Camera

# node colours used in exported scenes (RGBA)
HAND_COLOR = (224, 172, 140, 255)
OBJECT_COLOR = (90, 140, 220, 255)
NODE_COLORS = {"hand": HAND_COLOR, "object": OBJECT_COLOR}


def load_mesh(path: str | os.PathLike) -> trimesh.Trimesh:
    """Load any triangle mesh trimesh reads (scenes are merged into one mesh).

    Raises:
        InputError: the file is missing, is not a mesh trimesh can read, or has no faces.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, expected a mesh file")
    try:
        loaded = trimesh.load(p, force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for unreadable files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{p}: not a mesh file hoikit can read ({reason[:120]})") from None
    if not isinstance(loaded, trimesh.Trimesh):
        raise InputError(f"{p}: holds no triangle mesh (found {type(loaded).__name__})")
    if len(loaded.faces) == 0 or len(loaded.vertices) == 0:
        raise InputError(f"{p}: the mesh is empty (0 faces)")
    if not np.isfinite(loaded.vertices).all():
        raise InputError(f"{p}: the mesh has non-finite vertex coordinates")
    return loaded


def _atomic_target(path: Path) -> tuple[Path, Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp), path


def save_mesh(mesh: trimesh.Trimesh, path: str | os.PathLike) -> Path:
    """Write ``mesh`` as PLY, OBJ or GLB (by suffix), atomically."""
    tmp, path = _atomic_target(Path(path))
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("ply", "obj", "glb", "stl", "off"):
        raise ValueError(f"unsupported mesh format: {path.suffix}")
    try:
        mesh.export(tmp, file_type=suffix)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def colored(mesh: trimesh.Trimesh, rgba: tuple[int, int, int, int]) -> trimesh.Trimesh:
    """A copy of ``mesh`` with one vertex colour everywhere (kept when it has its own colours)."""
    out = mesh.copy()
    has_own = out.visual.kind == "vertex" or out.visual.kind == "texture"
    if not has_own:
        out.visual.vertex_colors = np.tile(np.asarray(rgba, dtype=np.uint8), (len(out.vertices), 1))
    return out


def build_scene(meshes: Mapping[str, trimesh.Trimesh], camera: Camera | None = None) -> trimesh.Scene:
    """A trimesh scene with one named node per mesh (``hand``, ``object``, …), in the camera frame.

    Scenes are stored in the OpenCV camera frame (x right, y down, z forward). glTF viewers use a
    y-up, looking-down-−z convention, so a root node ``opencv_to_gltf`` rotates 180° about x; the
    named mesh nodes hang below it with identity transforms, so their vertices stay in the
    camera frame.
    """
    scene = trimesh.Scene()
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    scene.graph.update(frame_to="opencv_to_gltf", frame_from=scene.graph.base_frame, matrix=flip)
    for name, mesh in meshes.items():
        scene.add_geometry(
            colored(mesh, NODE_COLORS.get(name, (200, 200, 200, 255))),
            node_name=name,
            geom_name=name,
            parent_node_name="opencv_to_gltf",
        )
    if camera is not None:
        fov_x = np.degrees(2 * np.arctan(camera.width / (2 * camera.fx)))
        fov_y = np.degrees(2 * np.arctan(camera.height / (2 * camera.fy)))
        scene.camera = trimesh.scene.Camera(name="camera", resolution=(camera.width, camera.height), fov=(fov_x, fov_y))
        scene.camera_transform = np.eye(4)  # glTF camera at the origin looking down −z = OpenCV +z after the flip
    return scene


def save_scene_glb(path: str | os.PathLike, meshes: Mapping[str, trimesh.Trimesh], camera: Camera | None = None) -> Path:
    """Write a GLB scene with named nodes (see :func:`build_scene`), atomically."""
    tmp, path = _atomic_target(Path(path))
    try:
        data = build_scene(meshes, camera).export(file_type="glb")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

