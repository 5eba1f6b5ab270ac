"""``oakink:DIR`` — OakInk-Image in its official layout (DIR = the ``image`` folder, or the OakInk
root that holds it)::

    DIR/anno/seq_all.json                     every frame: [sequence path, _, frame, camera index]
    DIR/anno/split/split0_ho/seq_test.json    the hand-object test split (same entries)
    DIR/anno/cam_intr/<key>.pkl               3×3 intrinsics
    DIR/anno/hand_j/<key>.pkl                 (21, 3) joints, metres, camera frame
    DIR/anno/obj_transf/<key>.pkl             4×4 object pose (canonical → camera)
    DIR/stream_release_v2/<sequence path>/<camera>_color_<frame>.png
    DIR/obj/<object id>.obj|.ply              object models (object id = sequence path's first "_" field)

``<key>`` is the entry's fields joined by "__" with "/" replaced by "__". Object models are
centred on their bounding box before posing, as OakInk's own toolkit does. The joints are taken to
be in MediaPipe order (OakInk's MANO layer orders them so); hands are right hands.

Named splits: ``test`` (split0_ho's seq_test.json) and ``followmyhold`` — 903 frames spread
evenly over the test split (FollowMyHold's exact list is not available offline).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.eval.loaders.base import EvalSample, Source, camera_from_K, every_nth, image_size, pose_mesh, read_pickle, require, select_split

CAMERAS = ("north_east_color", "south_east_color", "north_west_color", "south_west_color")
TEST_SPLIT = ("anno", "split", "split0_ho", "seq_test.json")
FOLLOWMYHOLD_COUNT = 903
MESH_SUFFIXES = (".obj", ".ply")


def entry_key(entry: list) -> str:
    return "__".join(str(x) for x in entry).replace("/", "__")


def _load_pickle_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    require([path], "OakInk annotation")
    try:
        a = np.asarray(read_pickle(path), dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: not a numeric array") from None
    if a.shape != shape:
        raise InputError(f"{path}: expected shape {shape}, got {a.shape}")
    return a


def _object_mesh(root: Path, object_id: str):
    from hoikit.io.mesh import load_mesh

    paths = [root / "obj" / f"{object_id}{s}" for s in MESH_SUFFIXES]
    found = next((p for p in paths if p.is_file()), None)
    if found is None:
        require(paths[:1], f"OakInk object {object_id}")
    mesh = load_mesh(found)
    mesh.vertices -= 0.5 * (mesh.vertices.min(0) + mesh.vertices.max(0))
    return mesh


class OakInkSource(Source):
    """ids: the entries' keys (``<key>`` above); ``entries`` maps a key to its entry."""

    name = "oakink"

    def __init__(self, root: Path, ids: list[str], entries: dict[str, list]):
        super().__init__(root, ids)
        self.entries = entries

    def load(self, sample_id: str) -> EvalSample:
        seq, _, frame, cam = self.entries[sample_id]
        anno = self.root / "anno"
        image = self.root / "stream_release_v2" / seq / f"{CAMERAS[int(cam)]}_{frame}.png"
        require([image], f"OakInk sample {sample_id}")
        K = _load_pickle_array(anno / "cam_intr" / f"{sample_id}.pkl", (3, 3))
        joints = _load_pickle_array(anno / "hand_j" / f"{sample_id}.pkl", (21, 3))
        T = _load_pickle_array(anno / "obj_transf" / f"{sample_id}.pkl", (4, 4))
        object_id = seq.split("/")[0].split("_")[0]
        w, h = image_size(image)
        mesh = pose_mesh(_object_mesh(self.root, object_id), T[:3, :3], T[:3, 3])
        return EvalSample(sample_id, image, camera_from_K(K, w, h, "oakink"), mesh, joints, "right", {"object": object_id, "sequence": seq})


def _entries(path: Path) -> list[list]:
    require([path], "OakInk-Image")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, list) or not all(isinstance(e, list) and len(e) == 4 for e in data):
        raise InputError(f"{path}: expected a list of [sequence, _, frame, camera] entries")
    return data


def open_oakink(root: Path, split: str | None = None) -> OakInkSource:
    if (root / "image" / "anno").is_dir():
        root = root / "image"
    require([root / "anno" / "seq_all.json", root / "stream_release_v2", root / "obj"], f"OakInk-Image at {root}")
    entries = {entry_key(e): e for e in _entries(root / "anno" / "seq_all.json")}
    ids = sorted(entries)
    if split in ("test", "followmyhold"):
        test_entries = _entries(root.joinpath(*TEST_SPLIT))
        entries.update({entry_key(e): e for e in test_entries})
        test = [entry_key(e) for e in test_entries]
        ids = test if split == "test" else every_nth(test, FOLLOWMYHOLD_COUNT)
        return OakInkSource(root, ids, entries)
    return OakInkSource(root, select_split(ids, split, {}, f"OakInk-Image at {root}"), entries)
