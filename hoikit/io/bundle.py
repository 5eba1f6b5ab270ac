"""The result folder of one reconstruction (DESIGN.md "Outputs"), written atomically.

``result.json`` (schema-versioned), ``hand.ply``, ``object.ply``, ``scene.glb`` and any pictures
the caller rendered (``overlay.png``, ``views.png``). Everything is written into a temporary
folder that replaces the target only when complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np
import trimesh

from hoikit.io.mesh import save_scene_glb
from hoikit.io.results import atomic_dir, to_jsonable, write_json_atomic
from hoikit.types import SCHEMA_VERSION, Reconstruction


def reconstruction_json(recon: Reconstruction) -> dict:
    """The JSON record of a reconstruction (no mesh vertices: those are in the PLY files)."""
    hand = recon.hand
    obj = recon.object
    return to_jsonable({
        "schema_version": SCHEMA_VERSION,
        "source": recon.source,
        "camera": recon.camera.to_dict(),
        "hand": None if hand is None else {
            "side": hand.side, "model": hand.model, "joints3d": hand.joints,
            "keypoints2d": hand.keypoints2d, "params": hand.params, "mesh": "hand.ply",
        },
        "object": None if obj is None else {
            "generator": obj.generator, "canonical_to_camera": obj.to_camera.to_dict(), "mesh": "object.ply",
        },
        "timings_s": recon.timings,
        "losses": recon.losses,
        "warnings": recon.warnings,
        "backends": recon.backends,
        **recon.extras,
    })  # fmt: skip


def _png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(image)).save(path, optimize=False)


def meshes_of(recon: Reconstruction) -> dict[str, trimesh.Trimesh]:
    out = {}
    if recon.hand is not None:
        out["hand"] = trimesh.Trimesh(recon.hand.vertices, recon.hand.faces, process=False)
    if recon.object is not None:
        out["object"] = trimesh.Trimesh(recon.object.vertices, recon.object.faces, process=False)
    return out


def write_bundle(out_dir: str | os.PathLike, recon: Reconstruction, images: Mapping[str, np.ndarray] = {}) -> Path:
    """Write the whole result folder; returns its path."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        meshes = meshes_of(recon)
        for name, mesh in meshes.items():
            mesh.export(tmp / f"{name}.ply")
        if meshes:
            save_scene_glb(tmp / "scene.glb", meshes, recon.camera)
        for name, image in images.items():
            _png(tmp / name, image)
        write_json_atomic(tmp / "result.json", reconstruction_json(recon))
    return out_dir
