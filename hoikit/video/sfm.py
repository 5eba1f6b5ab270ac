"""The SfM initialisation baseline (``--init sfm``, AlignHOI Table B "SfM Init"): object poses from
pycolmap's incremental mapping on the frames with everything but the object masked out, the
reconstruction's scale fixed by the hand-implied translations. pycolmap is optional.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.types import Camera
from hoikit.video.carve import Poses


def require_pycolmap():
    try:
        import pycolmap
    except ImportError:
        raise InputError("--init sfm needs the optional package 'pycolmap' (pip install pycolmap); it is not installed") from None
    return pycolmap


def sfm_poses(frames: np.ndarray, masks, camera: Camera, hand_poses: Poses) -> Poses:
    """Object poses from SfM on the masked frames; frames SfM did not register keep the hand-implied pose.

    Raises:
        InputError: pycolmap is not installed (exit 2), or SfM registered fewer than 3 frames.
    """
    pycolmap = require_pycolmap()
    from PIL import Image

    from hoikit.geometry.procrustes import umeyama

    with tempfile.TemporaryDirectory(prefix="hoikit-sfm-") as tmp:
        root = Path(tmp)
        (root / "images").mkdir()
        for k, (rgb, m) in enumerate(zip(frames, masks.object)):
            Image.fromarray(np.where(m[..., None], rgb, 0).astype(np.uint8)).save(root / "images" / f"{k:05d}.png")
        db = root / "db.db"
        opts = pycolmap.ImageReaderOptions()
        cam = pycolmap.Camera(model="PINHOLE", width=camera.width, height=camera.height, params=[camera.fx, camera.fy, camera.cx, camera.cy])
        pycolmap.extract_features(db, root / "images", camera_mode=pycolmap.CameraMode.SINGLE, camera_model="PINHOLE",
                                  reader_options=opts)  # fmt: skip
        pycolmap.match_sequential(db)
        maps = pycolmap.incremental_mapping(db, root / "images", root / "sparse")
        if not maps:
            raise InputError("SfM registered no frames (too little texture on the object)")
        rec = max(maps.values(), key=lambda r: r.num_reg_images())
        del cam
        centre = np.mean([p.xyz for p in rec.points3D.values()], axis=0) if len(rec.points3D) else np.zeros(3)
        R, t, idx = [], [], []
        for img in rec.images.values():
            k = int(Path(img.name).stem)
            pose = img.cam_from_world() if callable(getattr(img, "cam_from_world", None)) else img.cam_from_world
            M = pose.matrix()
            R.append(M[:3, :3])
            t.append(M[:3, 3])
            idx.append(k)
    if len(idx) < 3:
        raise InputError(f"SfM registered {len(idx)} frames; at least 3 are needed")
    idx = np.asarray(idx)
    Rw, tw = np.asarray(R), np.asarray(t)
    # the object is SfM's static world: its orientation is fixed to the hand-implied one at the first
    # registered frame, and the sparse cloud's centre in each camera, after a similarity onto the
    # hand-implied centres (SfM has no metric scale), is the object's translation
    out = hand_poses.copy()
    out.R[idx] = Rw @ Rw[0].T @ hand_poses.R[idx[0]]
    c = np.einsum("kij,j->ki", Rw, centre) + tw
    out.t[idx] = umeyama(c, hand_poses.t[idx], with_scale=True).apply(c)
    return out
