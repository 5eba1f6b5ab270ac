"""``ho3d:DIR`` — HO3D-v3 in its official layout::

    DIR/train/<SEQ>/rgb/<frame>.jpg
    DIR/train/<SEQ>/meta/<frame>.pkl      camMat (3×3), objName, objRot (axis-angle), objTrans,
                                          handJoints3D (21×3), all in HO3D's OpenGL camera frame
    DIR/models/<objName>/textured_simple.obj   (the YCB-Video models; also DIR/YCB_Video_Models/models)

HO3D's camera looks down −z with y up (OpenGL): hoikit flips y and z into OpenCV. Its 21 joints are
MANO's 16 followed by the five tips; :data:`HO3D_TO_MEDIAPIPE` reorders them. The evaluation split
has no full hand joints, so it is not read; every HO3D hand is a right hand.

Named split: ``hold`` — the 18 HO3D-v3 training sequences HOLD and AlignHOI report on (every
frame of each; the video protocol subsamples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.eval.loaders.base import EvalSample, Source, camera_from_K, image_size, pose_mesh, read_pickle, require, select_split
from hoikit.eval.loaders.ycb import ycb_model

HOLD_SEQUENCES: tuple[str, ...] = (
    "ABF12", "ABF14", "BB12", "BB13", "GPMF12", "GPMF14", "GSF12", "GSF13", "MC1",
    "MC4", "MDF12", "MDF14", "SM2", "SM4", "SMu1", "SMu40", "ShSu10", "ShSu12",
)  # fmt: skip
# HO3D joint i (MANO order + tips) for MediaPipe joint k: wrist, thumb, index, middle, ring, pinky
HO3D_TO_MEDIAPIPE = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
SPLIT_DIR = "train"


def _models_dir(root: Path) -> Path:
    for d in (root / "models", root / "YCB_Video_Models" / "models"):
        if d.is_dir():
            return d
    raise InputError(f"HO3D at {root}: no YCB models; expected {root / 'models'}/<objName>/textured_simple.obj "
                     f"(or {root / 'YCB_Video_Models' / 'models'})")  # fmt: skip


class HO3DSource(Source):
    """ids: "<SEQ>/<frame>"."""

    name = "ho3d"

    def load(self, sample_id: str) -> EvalSample:
        seq, frame = sample_id.split("/")
        folder = self.root / SPLIT_DIR / seq
        image, meta_path = folder / "rgb" / f"{frame}.jpg", folder / "meta" / f"{frame}.pkl"
        require([image, meta_path], f"HO3D sample {sample_id}")
        meta = read_pickle(meta_path)
        if not isinstance(meta, dict):
            raise InputError(f"{meta_path}: expected a dict of annotations")
        missing = [k for k in ("camMat", "objName", "objRot", "objTrans", "handJoints3D") if meta.get(k) is None]
        if missing:
            raise InputError(f"{meta_path}: no {', '.join(missing)} (HO3D's evaluation split has no full ground truth)")
        from scipy.spatial.transform import Rotation

        R = OPENGL_TO_OPENCV @ Rotation.from_rotvec(np.asarray(meta["objRot"], dtype=np.float64).reshape(3)).as_matrix()
        t = OPENGL_TO_OPENCV @ np.asarray(meta["objTrans"], dtype=np.float64).reshape(3)
        joints = np.asarray(meta["handJoints3D"], dtype=np.float64).reshape(21, 3) @ OPENGL_TO_OPENCV.T
        w, h = image_size(image)
        return EvalSample(
            sample_id, image, camera_from_K(meta["camMat"], w, h, "ho3d"),
            pose_mesh(ycb_model(_models_dir(self.root), str(meta["objName"])), R, t),
            joints[list(HO3D_TO_MEDIAPIPE)], "right", {"object": str(meta["objName"]), "sequence": seq},
        )  # fmt: skip


def open_ho3d(root: Path, split: str | None = None) -> HO3DSource:
    base = root / SPLIT_DIR
    require([base], f"HO3D-v3 at {root} (official layout: train/<SEQ>/rgb/*.jpg, train/<SEQ>/meta/*.pkl)")
    seqs = sorted(p.name for p in base.iterdir() if (p / "meta").is_dir())
    if split == "hold":
        absent = [s for s in HOLD_SEQUENCES if s not in seqs]
        if absent:
            require([base / s / "meta" for s in absent], "HO3D-v3 split 'hold'")
        seqs = list(HOLD_SEQUENCES)
    ids = [f"{s}/{p.stem}" for s in seqs for p in sorted((base / s / "meta").glob("*.pkl"))]
    if not ids:
        raise InputError(f"HO3D-v3 at {root}: no annotated frames under {base}/<SEQ>/meta/*.pkl")
    return HO3DSource(root, ids if split == "hold" else select_split(ids, split, {}, f"HO3D-v3 at {root}"))
