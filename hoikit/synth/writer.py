"""``hoikit synth``: write a synthetic benchmark folder. The format is documented in
docs/synth-format.md; :mod:`hoikit.eval.datasets` reads it back.

Sample ``i`` of a run with seed ``S`` is made from its own generator (:func:`hoikit.synth.scene.sample_rng`),
so a sample can be made again alone, workers do not change the output, and the same seed gives
byte-identical files (the PNG writer, :mod:`hoikit.io.png`, and the NPY, PLY and JSON ones embed
no time or path). Each sample
folder is written to a temporary folder and renamed when complete; ``index.json`` is written last.
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from hoikit.io.png import write_png
from hoikit.types import Camera

FORMAT = "hoikit-synth"
FORMAT_VERSION = 1
DEFAULT_IMAGE_SIZE = (512, 512)
DEFAULT_VIDEO_SIZE = (640, 480)
OBJECT_CHOICES = ("procedural", "ycb", "all")
MIN_IMAGE_SIDE = 16  # pixels; smaller images hold no usable hand

# file names inside a sample folder (docs/synth-format.md)
RGB, MASK_HAND, MASK_OBJECT, DEPTH, NORMALS = "rgb.png", "mask_hand.png", "mask_object.png", "depth.npy", "normals.png"
HAND_MESH, OBJECT_MESH, OBJECT_CANONICAL, HAND_IN_OBJECT = "hand.ply", "object.ply", "object_canonical.ply", "hand_in_object.ply"
META, INDEX = "meta.json", "index.json"
FRAME_DIRS = {"rgb": "frames", "mask_hand": "masks_hand", "mask_object": "masks_object", "depth": "depth", "normals": "normals"}


@dataclass(frozen=True)
class SynthSettings:
    """What ``hoikit synth`` makes (every field is recorded in index.json).

    Attributes:
        n: number of samples; seed: run seed; video: clips instead of single images;
        frames: frames per clip; objects: "procedural" | "ycb" | "all";
        size: (W, H), default 512×512 for images, 640×480 for video; normals: write normal maps.
    """

    n: int
    seed: int = 0
    video: bool = False
    frames: int = 24
    objects: str = "all"
    size: tuple[int, int] | None = None
    normals: bool = False

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.size) if self.size else (DEFAULT_VIDEO_SIZE if self.video else DEFAULT_IMAGE_SIZE)  # type: ignore[return-value]

    def check(self) -> None:
        """Raises ValueError for settings no run can use."""
        W, H = self.image_size
        if self.n < 0 or self.frames < 1 or min(W, H) < MIN_IMAGE_SIDE:
            raise ValueError(
                f"need n ≥ 0, frames ≥ 1 and an image of at least {MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE}, "
                f"got n={self.n}, frames={self.frames}, size={W}×{H}"
            )
        if self.objects not in OBJECT_CHOICES:
            raise ValueError(f"objects must be one of {OBJECT_CHOICES}, got {self.objects!r}")

    def to_dict(self) -> dict:
        return {**asdict(self), "size": list(self.image_size)}


@dataclass
class RunResult:
    """What a run wrote: sample ids in index order, and the indices that failed with why."""

    out: Path
    ids: list[str]
    failures: list[dict] = field(default_factory=list)
    families: dict[str, int] = field(default_factory=dict)


def sample_id(index: int) -> str:
    return f"{index:06d}"


# ------------------------------------------------------------------------------ file writers
def mask_png(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, 255, 0).astype(np.uint8)


def normals_png(normals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit normals (H, W, 3) → uint8 round((n + 1) / 2 · 255), 0 where ``mask`` is False."""
    encoded = np.round((normals.astype(np.float64) + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    return np.where(mask[..., None], encoded, 0).astype(np.uint8)


def write_mesh(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Binary PLY (float32 vertices, int32 faces), exactly the geometry given when the vertices are
    float32-representable (the scene rounds them so before rendering)."""
    import trimesh

    trimesh.Trimesh(vertices, faces, process=False).export(path, file_type="ply")


def _camera_dict(camera: Camera) -> dict:
    return {"K": camera.K.tolist(), "image_size": [camera.width, camera.height]}


def _hfov_deg(camera: Camera) -> float:
    return float(np.degrees(2 * np.arctan(camera.width / (2 * camera.fx))))


# ------------------------------------------------------------------------------ samples
def _object_record(sample, obj_mesh_name: str | None) -> dict:
    obj = sample.obj
    params = {k: v for k, v in obj.params.items() if "path" not in k}  # no machine paths in the files
    record = {
        "family": obj.family, "name": obj.name, "source": obj.source, "held_out": obj.held_out,
        "extents_m": obj.extents.tolist(), "params": params, "mesh_canonical": OBJECT_CANONICAL,
    }  # fmt: skip
    if obj_mesh_name:
        record["mesh"] = obj_mesh_name
    return record


def _hand_record(sample) -> dict:
    from hoikit.hand.skeleton import DOF_NAMES

    g = sample.grasp
    return {
        "side": g.side, "pose": g.pose.tolist(), "pose_names": list(DOF_NAMES), "shape": g.shape.tolist(),
        "skin_rgb": list(sample.appearance.skin_rgb),
    }  # fmt: skip


def _grasp_record(sample) -> dict:
    g = sample.grasp.to_dict()
    for k in ("pose", "shape", "side"):
        g.pop(k)
    return {**g, "objects_tried": sample.objects_tried}


def _frame_files(folder: Path, frame, names: dict[str, str], normals: bool) -> None:
    write_png(folder / names["rgb"], frame.rgb)
    write_png(folder / names["mask_hand"], mask_png(frame.mask_hand))
    write_png(folder / names["mask_object"], mask_png(frame.mask_object))
    np.save(folder / names["depth"], frame.depth.astype(np.float32))
    if normals:
        write_png(folder / names["normals"], normals_png(frame.normals, frame.depth > 0))


def write_image_sample(folder: Path, sample, settings: SynthSettings, index: int) -> dict:
    """Write one image sample's files into ``folder``; returns its meta record."""
    frame = sample.frames[0]
    names = {"rgb": RGB, "mask_hand": MASK_HAND, "mask_object": MASK_OBJECT, "depth": DEPTH, "normals": NORMALS}
    _frame_files(folder, frame, names, settings.normals)
    write_mesh(folder / HAND_MESH, frame.hand_vertices, sample.hand_faces)
    write_mesh(folder / OBJECT_MESH, frame.object_vertices, sample.object_faces)
    write_mesh(folder / OBJECT_CANONICAL, sample.object_vertices, sample.object_faces)
    files = {k: v for k, v in names.items() if k != "normals" or settings.normals}
    hand = {**_hand_record(sample), "mesh": HAND_MESH, "joints3d": frame.joints3d.tolist(), "joints2d": frame.joints2d.tolist(),
            "transform": frame.hand_transform.to_dict()}  # fmt: skip
    obj = {**_object_record(sample, OBJECT_MESH), "pose": frame.object_pose.tolist(), "visible_fraction": frame.object_visible_fraction}
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "id": sample_id(index), "seed": settings.seed, "index": index,
        "type": "image", **_camera_dict(frame.camera), "hfov_deg": _hfov_deg(frame.camera), "files": files,
        "hand": hand, "object": obj, "grasp": _grasp_record(sample), "appearance": sample.appearance.to_dict(),
    }  # fmt: skip


def write_video_sample(folder: Path, sample, settings: SynthSettings, index: int) -> dict:
    """Write one clip's files into ``folder``; returns its meta record."""
    for d in FRAME_DIRS.values():
        if d != FRAME_DIRS["normals"] or settings.normals:
            (folder / d).mkdir()
    write_mesh(folder / OBJECT_CANONICAL, sample.object_vertices, sample.object_faces)
    write_mesh(folder / HAND_IN_OBJECT, sample.grasp.vertices, sample.hand_faces)
    frames = []
    for i, frame in enumerate(sample.frames):
        names = {k: f"{d}/{i:06d}.{'npy' if k == 'depth' else 'png'}" for k, d in FRAME_DIRS.items()}
        _frame_files(folder, frame, names, settings.normals)
        frames.append({
            "index": i, **_camera_dict(frame.camera), "files": {k: v for k, v in names.items() if k != "normals" or settings.normals},
            "hand": {"joints3d": frame.joints3d.tolist(), "joints2d": frame.joints2d.tolist(), "transform": frame.hand_transform.to_dict()},
            "object": {"pose": frame.object_pose.tolist(), "visible_fraction": frame.object_visible_fraction},
        })  # fmt: skip
    first = sample.frames[0]
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "id": sample_id(index), "seed": settings.seed, "index": index,
        "type": "video", "num_frames": len(frames), **_camera_dict(first.camera), "hfov_deg": _hfov_deg(first.camera),
        "hand": {**_hand_record(sample), "mesh_in_object": HAND_IN_OBJECT}, "object": _object_record(sample, None),
        "grasp": _grasp_record(sample), "appearance": sample.appearance.to_dict(), "frames": frames,
    }  # fmt: skip


# ------------------------------------------------------------------------------ runs
def _readable(*paths: Path) -> None:
    """The temporary-file helpers create owner-only files and folders; a dataset is for sharing."""
    for p in paths:
        p.chmod(0o755 if p.is_dir() else 0o644)


@lru_cache(maxsize=1)
def _model():
    from hoikit.hand.model import HandModel

    return HandModel()


def make_sample(settings: SynthSettings, index: int):
    """The :class:`hoikit.synth.scene.SceneSample` of sample ``index`` (not written)."""
    from hoikit.synth.scene import SceneConfig, VideoConfig, families_for, make_image_sample, make_video_sample

    W, H = settings.image_size
    config = SceneConfig(width=W, height=H, families=families_for(settings.objects))
    if settings.video:
        return make_video_sample(settings.seed, index, _model(), config, VideoConfig(frames=settings.frames))
    return make_image_sample(settings.seed, index, _model(), config)


def save_sample(out: Path, settings: SynthSettings, index: int, sample) -> Path:
    """Write a made sample's folder under ``out`` atomically; returns the folder."""
    from hoikit.io.results import atomic_dir, write_json_atomic

    target = out / sample_id(index)
    with atomic_dir(target) as folder:
        write = write_video_sample if settings.video else write_image_sample
        write_json_atomic(folder / META, write(folder, sample, settings, index))
        _readable(folder, folder / META)
    return target


def write_sample(out: Path, settings: SynthSettings, index: int) -> dict:
    """Make and write sample ``index`` under ``out``; returns a short record (id, family, or the
    error that stopped it)."""
    from hoikit.synth.grasp import GraspFailure

    try:
        sample = make_sample(settings, index)
    except GraspFailure as e:
        return {"index": index, "error": str(e)}
    save_sample(out, settings, index, sample)
    return {"index": index, "id": sample_id(index), "family": sample.obj.family, "accepted": bool(sample.grasp.accepted)}


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _records(out: Path, settings: SynthSettings, workers: int) -> Iterator[dict]:
    """Write every sample, in this process or in ``workers`` spawned ones; records in index order."""
    if workers <= 1:
        yield from (write_sample(out, settings, i) for i in range(settings.n))
        return
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init) as pool:
        yield from pool.map(write_sample, [out] * settings.n, [settings] * settings.n, range(settings.n))


def write_dataset(out: str | Path, settings: SynthSettings, workers: int = 1, progress: Callable[[dict], None] | None = None) -> RunResult:
    """Write ``settings.n`` samples and ``index.json`` under ``out`` (created; existing sample
    folders of the same ids are replaced)."""
    from hoikit.io.results import write_json_atomic

    settings.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = RunResult(out, [])
    for record in _records(out, settings, workers):
        if progress is not None:
            progress(record)
        if "error" in record:
            result.failures.append(record)
            continue
        result.ids.append(record["id"])
        result.families[record["family"]] = result.families.get(record["family"], 0) + 1
    index = {
        "format": FORMAT, "version": FORMAT_VERSION, "settings": settings.to_dict(), "samples": result.ids,
        "failures": result.failures, "families": dict(sorted(result.families.items())),
    }  # fmt: skip
    _readable(write_json_atomic(out / INDEX, index))
    return result


def print_progress(record: dict) -> None:
    line = f"{record['index']:6d} {record.get('family', 'FAILED')}" + ("" if "error" not in record else f": {record['error']}")
    print(line, file=sys.stderr)
