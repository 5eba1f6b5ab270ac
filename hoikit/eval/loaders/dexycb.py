"""``dexycb:DIR`` — DexYCB in its official layout::

    DIR/<subject>/<sequence>/meta.yml           ycb_ids, ycb_grasp_ind, mano_sides
    DIR/<subject>/<sequence>/<serial>/color_<frame:06d>.jpg
    DIR/<subject>/<sequence>/<serial>/labels_<frame:06d>.npz   pose_y (n_obj, 3, 4) object poses in
                                                              the camera frame; joint_3d (1, 21, 3)
    DIR/calibration/intrinsics/<serial>_640x480.yml            color: fx, fy, ppx, ppy
    DIR/models/<ycb name>/textured_simple.obj

DexYCB is already OpenCV-frame, metres, and its 21 joints are in MediaPipe order. Frames without
a hand (joint_3d all −1) are skipped. The held object is ``ycb_ids[ycb_grasp_ind]``.

Named split: ``followmyhold`` — 1000 frames spread evenly over the sorted ids (FollowMyHold's exact
list is not public offline; this rule is deterministic and documented in docs/eval.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.eval.loaders.base import EvalSample, Source, camera_from_K, every_nth, image_size, pose_mesh, require, select_split
from hoikit.eval.loaders.ycb import ycb_model

YCB_CLASSES = (
    "002_master_chef_can", "003_cracker_box", "004_sugar_box", "005_tomato_soup_can", "006_mustard_bottle",
    "007_tuna_fish_can", "008_pudding_box", "009_gelatin_box", "010_potted_meat_can", "011_banana",
    "019_pitcher_base", "021_bleach_cleanser", "024_bowl", "025_mug", "035_power_drill", "036_wood_block",
    "037_scissors", "040_large_marker", "051_large_clamp", "052_extra_large_clamp", "061_foam_brick",
)  # fmt: skip  (DexYCB's class ids are 1-based indices into this list)
FOLLOWMYHOLD_COUNT = 1000


def read_yaml(path: Path) -> dict:
    import yaml

    require([path], "DexYCB")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a YAML mapping")
    return data


def intrinsics(root: Path, serial: str) -> np.ndarray:
    c = read_yaml(root / "calibration" / "intrinsics" / f"{serial}_640x480.yml").get("color") or {}
    try:
        return np.array([[c["fx"], 0.0, c["ppx"]], [0.0, c["fy"], c["ppy"]], [0.0, 0.0, 1.0]], dtype=np.float64)
    except KeyError as e:
        raise InputError(f"{root / 'calibration' / 'intrinsics' / f'{serial}_640x480.yml'}: missing color.{e.args[0]}") from None


class DexYCBSource(Source):
    """ids: "<subject>/<sequence>/<serial>/<frame>"."""

    name = "dexycb"

    def load(self, sample_id: str) -> EvalSample:
        subject, seq, serial, frame = sample_id.split("/")
        folder = self.root / subject / seq
        image, labels = folder / serial / f"color_{frame}.jpg", folder / serial / f"labels_{frame}.npz"
        require([image, labels], f"DexYCB sample {sample_id}")
        meta = read_yaml(folder / "meta.yml")
        try:
            with np.load(labels) as z:
                pose_y, joints = np.asarray(z["pose_y"], np.float64), np.asarray(z["joint_3d"], np.float64).reshape(-1, 21, 3)
        except (KeyError, ValueError, OSError) as e:
            raise InputError(f"{labels}: not a DexYCB label file ({type(e).__name__}: {e})") from None
        grasp = int(meta["ycb_grasp_ind"])
        pose = pose_y[grasp]
        w, h = image_size(image)
        obj = YCB_CLASSES[int(meta["ycb_ids"][grasp]) - 1]
        side = str(meta.get("mano_sides", ["right"])[0])
        return EvalSample(
            sample_id, image, camera_from_K(intrinsics(self.root, serial), w, h, "dexycb"),
            pose_mesh(ycb_model(self.root / "models", obj), pose[:, :3], pose[:, 3]),
            joints[0], side, {"object": obj, "sequence": f"{subject}/{seq}", "serial": serial},
        )  # fmt: skip


def _has_hand(labels: Path) -> bool:
    with np.load(labels) as z:
        return bool(np.all(np.asarray(z["joint_3d"]) != -1))


def open_dexycb(root: Path, split: str | None = None) -> DexYCBSource:
    seqs = sorted(p.parent for p in root.glob("*-subject-*/*/meta.yml"))
    if not seqs:
        require([root / "<date>-subject-<nn>" / "<sequence>" / "meta.yml"], f"DexYCB at {root}")
    require([root / "calibration" / "intrinsics", root / "models"], f"DexYCB at {root}")
    ids = []
    for seq in seqs:
        for labels in sorted(seq.glob("*/labels_*.npz")):
            if _has_hand(labels):
                ids.append(f"{seq.parent.name}/{seq.name}/{labels.parent.name}/{labels.stem.removeprefix('labels_')}")
    if not ids:
        raise InputError(f"DexYCB at {root}: no frames with a hand under <subject>/<sequence>/<serial>/labels_*.npz")
    named = {"followmyhold": lambda all_ids: every_nth(all_ids, FOLLOWMYHOLD_COUNT)}
    return DexYCBSource(root, select_split(ids, split, named, f"DexYCB at {root}"))
