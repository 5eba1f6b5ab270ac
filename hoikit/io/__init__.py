"""Input and output: meshes, result bundles (images and video come with the pipelines)."""

from hoikit.io.arrays import load_array, load_joints
from hoikit.io.mesh import build_scene, load_mesh, save_mesh, save_scene_glb
from hoikit.io.results import atomic_dir, dumps, to_jsonable, write_json_atomic

__all__ = ["load_array", "load_joints", "build_scene", "load_mesh", "save_mesh", "save_scene_glb", "atomic_dir", "dumps", "to_jsonable", "write_json_atomic"]
