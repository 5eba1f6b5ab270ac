"""Dataset loaders read tiny fake trees built here in each dataset's official layout."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation

from hoikit.errors import InputError
from hoikit.eval.loaders import open_dataset
from hoikit.eval.loaders.ho3d import HO3D_TO_MEDIAPIPE, HOLD_SEQUENCES

K = np.array([[600.0, 0, 320], [0, 610.0, 240], [0, 0, 1]])


def write_model(models: Path, name: str) -> trimesh.Trimesh:
    mesh = trimesh.creation.box(extents=[0.06, 0.04, 0.02])
    (models / name).mkdir(parents=True)
    mesh.export(models / name / "textured_simple.obj")
    return mesh


def write_photo(path: Path, size=(64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(path)


def ho3d_tree(root: Path, seqs=("ABF12", "MC1"), frames=2) -> dict:
    write_model(root / "models", "006_mustard_bottle")
    joints = np.arange(63, dtype=np.float64).reshape(21, 3) / 100
    for seq in seqs:
        for f in range(frames):
            write_photo(root / "train" / seq / "rgb" / f"{f:04d}.jpg")
            meta = {"camMat": K, "objName": "006_mustard_bottle", "objRot": np.array([[0.0], [0.0], [np.pi / 2]]),
                    "objTrans": np.array([0.01, 0.02, -0.5]), "handJoints3D": joints}  # fmt: skip
            (root / "train" / seq / "meta").mkdir(parents=True, exist_ok=True)
            (root / "train" / seq / "meta" / f"{f:04d}.pkl").write_bytes(pickle.dumps(meta))
    return {"joints": joints}


def test_ho3d_reads_the_official_layout_into_opencv_frame(tmp_path):
    truth = ho3d_tree(tmp_path)
    ds = open_dataset(f"ho3d:{tmp_path}")
    assert ds.ids == ["ABF12/0000", "ABF12/0001", "MC1/0000", "MC1/0001"]
    s = ds.load("MC1/0001")
    assert (s.camera.width, s.camera.height) == (64, 48) and np.allclose(s.camera.K, K)
    # OpenGL → OpenCV: the object 0.5 m in front of the camera has z = +0.5
    assert np.allclose(s.object_mesh.bounding_box.centroid, [0.01, -0.02, 0.5], atol=1e-9)
    # the box (6 × 4 cm) turned 90° about z: its long side is along y
    assert np.allclose(s.object_mesh.extents, [0.04, 0.06, 0.02], atol=1e-9)
    expect = truth["joints"][list(HO3D_TO_MEDIAPIPE)] * np.array([1, -1, -1])
    assert np.allclose(s.joints3d, expect) and s.joints3d[4, 0] == pytest.approx(0.48)  # thumb tip = HO3D joint 16
    assert s.side == "right" and s.info["object"] == "006_mustard_bottle"


def test_ho3d_hold_split_names_the_missing_sequences(tmp_path):
    ho3d_tree(tmp_path)
    with pytest.raises(InputError) as e:
        open_dataset(f"ho3d:{tmp_path}", "hold")
    assert str(tmp_path / "train" / "ABF14" / "meta") in str(e.value)
    ho3d_tree(tmp_path / "all", seqs=HOLD_SEQUENCES, frames=1)
    ds = open_dataset(f"ho3d:{tmp_path / 'all'}", "hold")
    assert len(HOLD_SEQUENCES) == 18 and len(ds.ids) == 18


def test_ho3d_missing_data_names_expected_paths(tmp_path):
    with pytest.raises(InputError, match="train"):
        open_dataset(f"ho3d:{tmp_path}")
    ho3d_tree(tmp_path)
    (tmp_path / "train" / "MC1" / "rgb" / "0000.jpg").unlink()
    ds = open_dataset(f"ho3d:{tmp_path}")
    with pytest.raises(InputError, match=r"MC1/rgb/0000\.jpg"):
        ds.load("MC1/0000")


def dexycb_tree(root: Path, frames=3) -> None:
    write_model(root / "models", "025_mug")
    write_model(root / "models", "011_banana")
    intr = root / "calibration" / "intrinsics"
    intr.mkdir(parents=True)
    (intr / "836212060125_640x480.yml").write_text("color:\n  fx: 600.0\n  fy: 610.0\n  ppx: 320.0\n  ppy: 240.0\n")
    seq = root / "20200709-subject-01" / "20200709_141754"
    seq.mkdir(parents=True)
    (seq / "meta.yml").write_text("ycb_ids: [10, 14]\nycb_grasp_ind: 1\nmano_sides: [left]\n")
    for f in range(frames):
        write_photo(seq / "836212060125" / f"color_{f:06d}.jpg")
        pose = np.zeros((2, 3, 4))
        pose[:, :, :3] = np.eye(3)
        pose[1, :, 3] = [0.1, 0.0, 0.6]
        joints = np.full((1, 21, 3), -1.0) if f == 0 else np.linspace(0, 0.1, 63).reshape(1, 21, 3)
        np.savez(seq / "836212060125" / f"labels_{f:06d}.npz", pose_y=pose, joint_3d=joints)


def test_dexycb_reads_the_official_layout(tmp_path):
    dexycb_tree(tmp_path)
    ds = open_dataset(f"dexycb:{tmp_path}")
    # frame 0 has no hand (joint_3d = -1) and is not a sample
    assert ds.ids == [f"20200709-subject-01/20200709_141754/836212060125/{f:06d}" for f in (1, 2)]
    s = ds.load(ds.ids[1])
    assert s.info["object"] == "025_mug" and s.side == "left"  # ycb id 14, the grasped one
    assert np.allclose(s.camera.K, K) and np.allclose(s.object_mesh.bounding_box.centroid, [0.1, 0.0, 0.6])
    assert s.joints3d.shape == (21, 3) and s.joints3d[20, 2] == pytest.approx(0.1)
    assert open_dataset(f"dexycb:{tmp_path}", "followmyhold").ids == ds.ids  # fewer than 1000: all


def test_dexycb_missing_data_and_split_files(tmp_path):
    with pytest.raises(InputError, match="meta.yml"):
        open_dataset(f"dexycb:{tmp_path}")
    dexycb_tree(tmp_path)
    split = tmp_path / "split.csv"
    split.write_text("id\n20200709-subject-01/20200709_141754/836212060125/000002\n")
    assert open_dataset(f"dexycb:{tmp_path}", str(split)).ids == ["20200709-subject-01/20200709_141754/836212060125/000002"]
    split.write_text("nope/1\n")
    with pytest.raises(InputError, match="not in DexYCB"):
        open_dataset(f"dexycb:{tmp_path}", str(split))
    (tmp_path / "models" / "025_mug" / "textured_simple.obj").unlink()
    ds = open_dataset(f"dexycb:{tmp_path}")
    with pytest.raises(InputError, match="025_mug/textured_simple.obj"):
        ds.load(ds.ids[0])


def arctic_tree(root: Path) -> dict:
    """ARCTIC's layout: one subject, one sequence of 4 mocap frames, views 0 and 3."""
    rng = np.random.default_rng(0)
    tpl = root / "meta" / "object_vtemplates" / "box"
    tpl.mkdir(parents=True)
    box = trimesh.creation.box(extents=[120.0, 80.0, 40.0])  # mm, as ARCTIC's templates
    box.export(tpl / "mesh.obj")
    parts = (np.asarray(box.vertices)[:, 2] < 0).astype(int)  # top (0) = the upper face's vertices
    (tpl / "parts.json").write_text(json.dumps(parts.tolist()))
    world2cam = np.eye(4)
    world2cam[:3, :3], world2cam[:3, 3] = Rotation.from_rotvec([0.1, -0.2, 0.3]).as_matrix(), [0.05, -0.02, 0.9]
    misc = {"s01": {"ioi_offset": 10, "world2cam": [np.eye(4).tolist()] * 2 + [world2cam.tolist()] + [np.eye(4).tolist()] * 5,
                    "intris_mat": [K.tolist()] * 8}}
    (root / "meta" / "misc.json").write_text(json.dumps(misc))
    raw = root / "raw_seqs" / "s01"
    raw.mkdir(parents=True)
    obj = np.concatenate([rng.uniform(0, 1, (4, 1)), rng.normal(0, 0.5, (4, 3)), rng.normal(0, 50, (4, 3))], 1)
    np.save(raw / "box_grab_01.object.npy", obj)
    trans = {"right": obj[:, 4:7] / 1000 + 0.02, "left": obj[:, 4:7] / 1000 + 0.4}
    np.save(raw / "box_grab_01.mano.npy", {s: {"trans": t, "rot": np.zeros((4, 3))} for s, t in trans.items()}, allow_pickle=True)
    ego = {"R_k_cam_np": np.repeat(np.eye(3)[None], 4, 0), "T_k_cam_np": np.tile([[0.0], [0.0], [0.5]], (4, 1, 1)), "intrinsics": K, "dist8": np.zeros(8)}
    np.save(raw / "box_grab_01.egocam.dist.npy", ego, allow_pickle=True)
    for view in (0, 3):
        for image in (10, 11, 12, 13):
            write_photo(root / "images" / "s01" / "box_grab_01" / str(view) / f"{image:05d}.jpg")
    return {"box": box, "parts": parts, "obj": obj, "world2cam": world2cam}


def arctic_world(t: dict, frame: int) -> np.ndarray:
    """Independently: the top part turned about −z by the angle (about +z by −angle), then posed, mm → m."""
    p = t["obj"][frame]
    c, sn = np.cos(-p[0]), np.sin(-p[0])
    Rz = np.array([[c, -sn, 0], [sn, c, 0], [0, 0, 1]])
    v = np.asarray(t["box"].vertices, float)
    v = np.where((t["parts"] == 0)[:, None], v @ Rz.T, v)
    return (v @ Rotation.from_rotvec(p[1:4]).as_matrix().T + p[4:7]) / 1000


def test_arctic_reads_the_official_layout(tmp_path):
    t = arctic_tree(tmp_path)
    ds = open_dataset(f"arctic:{tmp_path}")
    assert len(ds.ids) == 8 and open_dataset(f"arctic:{tmp_path}", "followmyhold").ids == [i for i in ds.ids if "/3/" in i]
    s = ds.load("s01/box_grab_01/3/00012")  # image 12 = mocap frame 12 - ioi_offset 10 = 2
    cam = arctic_world(t, 2) @ t["world2cam"][:3, :3].T + t["world2cam"][:3, 3]
    np.testing.assert_allclose(s.object_mesh.vertices, cam, atol=1e-9)
    np.testing.assert_allclose(s.camera.K, K)
    assert s.side == "right" and s.joints3d is None and s.info["object"] == "box"
    ego = ds.load("s01/box_grab_01/0/00010")  # egocentric: per-frame camera R = I, T = (0, 0, 0.5)
    np.testing.assert_allclose(ego.object_mesh.vertices, arctic_world(t, 0) + [0, 0, 0.5], atol=1e-9)


def test_arctic_missing_data_and_unsafe_pickles(tmp_path):
    with pytest.raises(InputError, match="meta/misc.json"):
        open_dataset(f"arctic:{tmp_path}")
    arctic_tree(tmp_path)
    (tmp_path / "meta" / "object_vtemplates" / "box" / "parts.json").unlink()
    ds = open_dataset(f"arctic:{tmp_path}")
    with pytest.raises(InputError, match="box/parts.json"):
        ds.load(ds.ids[0])
    # a .npy whose pickle would run code is refused, not executed
    np.save(tmp_path / "raw_seqs" / "s01" / "box_grab_01.object.npy", np.array([Exploit()], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="not a readable ARCTIC array file"):
        ds.load(ds.ids[0])


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def oakink_tree(root: Path) -> list[list]:
    img = root / "image"
    write_model(img / "obj", "A01001").export(img / "obj" / "A01001.obj")  # a box centred at 0
    entries = [["A01001_0001_0000/2021-09-26-19-59-58", 0, f, c] for f in (10, 11) for c in (0, 2)]
    (img / "anno" / "split" / "split0_ho").mkdir(parents=True)
    (img / "anno" / "seq_all.json").write_text(json.dumps(entries))
    (img / "anno" / "split" / "split0_ho" / "seq_test.json").write_text(json.dumps(entries[:2]))
    T = np.eye(4)
    T[:3, 3] = [0.0, 0.05, 0.5]
    for e in entries:
        key = "__".join(str(x) for x in e).replace("/", "__")
        for sub, value in (("cam_intr", K), ("hand_j", np.full((21, 3), 0.25)), ("obj_transf", T)):
            (img / "anno" / sub).mkdir(parents=True, exist_ok=True)
            (img / "anno" / sub / f"{key}.pkl").write_bytes(pickle.dumps(value))
        cam = ("north_east_color", "south_east_color", "north_west_color", "south_west_color")[e[3]]
        write_photo(img / "stream_release_v2" / e[0] / f"{cam}_{e[2]}.png")
    return entries


def test_oakink_reads_the_official_layout(tmp_path):
    entries = oakink_tree(tmp_path)
    ds = open_dataset(f"oakink:{tmp_path}")
    assert len(ds.ids) == 4
    test = open_dataset(f"oakink:{tmp_path}", "test")
    assert test.ids == ["A01001_0001_0000__2021-09-26-19-59-58__0__10__0", "A01001_0001_0000__2021-09-26-19-59-58__0__10__2"]
    s = test.load(test.ids[1])
    assert s.image_path.name == "north_west_color_10.png" and s.info["object"] == "A01001"
    assert np.allclose(s.camera.K, K) and np.allclose(s.object_mesh.bounding_box.centroid, [0.0, 0.05, 0.5])
    assert s.joints3d.shape == (21, 3) and open_dataset(f"oakink:{tmp_path}", "followmyhold").ids == test.ids
    (tmp_path / "image" / "anno" / "hand_j" / f"{test.ids[0]}.pkl").unlink()
    with pytest.raises(InputError, match="hand_j"):
        test.load(test.ids[0])
    assert entries


def test_oakink_missing_layout_names_expected_paths(tmp_path):
    with pytest.raises(InputError, match=r"seq_all\.json"):
        open_dataset(f"oakink:{tmp_path}")
