import json

import numpy as np
import pytest
import trimesh

from hoikit.io import atomic_dir, load_mesh, save_mesh, save_scene_glb, write_json_atomic
from hoikit.types import Camera


def test_glb_scene_has_named_nodes_in_camera_frame(tmp_path):
    hand = trimesh.creation.icosphere(subdivisions=2, radius=0.02)
    hand.apply_translation([0.05, 0.02, 0.4])
    obj = trimesh.creation.box(extents=[0.05, 0.05, 0.1])
    obj.apply_translation([0.0, 0.0, 0.45])
    path = save_scene_glb(tmp_path / "scene.glb", {"hand": hand, "object": obj}, Camera.from_fov(640, 480, 60))
    scene = trimesh.load(path)
    assert isinstance(scene, trimesh.Scene)
    names = set(scene.graph.nodes_geometry)
    assert {"hand", "object"} <= names
    # nodes are expressed through the OpenCV → glTF flip: world = (x, −y, −z)
    T, geom = scene.graph["hand"]
    world = trimesh.transform_points(scene.geometry[geom].vertices, T)
    np.testing.assert_allclose(world.mean(axis=0), hand.vertices.mean(axis=0) * [1, -1, -1], atol=1e-6)
    np.testing.assert_allclose(scene.geometry[geom].vertices, hand.vertices, atol=1e-6)


@pytest.mark.parametrize("suffix", ["ply", "obj"])
def test_mesh_round_trip(tmp_path, suffix):
    m = trimesh.creation.icosphere(subdivisions=2, radius=0.03)
    path = save_mesh(m, tmp_path / f"m.{suffix}")
    back = load_mesh(path)
    assert len(back.faces) == len(m.faces)
    np.testing.assert_allclose(np.sort(back.vertices, axis=0), np.sort(m.vertices, axis=0), atol=1e-6)
    assert not list(tmp_path.glob(".m.*"))  # no temporary left behind


def test_json_atomic_writes_nan_as_null(tmp_path):
    p = write_json_atomic(tmp_path / "r.json", {"a": np.float32(1.5), "b": float("nan"), "c": np.arange(3)})
    assert json.loads(p.read_text()) == {"a": 1.5, "b": None, "c": [0, 1, 2]}


def test_atomic_dir_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "result"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as d:
            (d / "half.txt").write_text("x")
            raise RuntimeError("crash")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(target) as d:
        (d / "a.txt").write_text("1")
    with atomic_dir(target) as d:
        (d / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["result"]
