"""The result folder of a clip: ``object.ply`` (canonical frame, vertex colours), ``trajectory.json``
(per frame: the object's canonical → camera pose and centre, the hand's joints and transform),
``hands.npz`` (per-frame hand vertices and joints, shared faces), ``overlay.mp4`` (the meshes over
the frames), ``sequence.glb`` (hand and object of evenly spaced frames as named nodes, camera frame)
and ``result.json`` (camera, timings per stage, losses, warnings, backends). Written into a
temporary folder renamed when complete (:func:`hoikit.io.results.atomic_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from hoikit.io.results import atomic_dir, to_jsonable, write_json_atomic
from hoikit.types import SCHEMA_VERSION

if TYPE_CHECKING:
    from hoikit.video.pipeline import VideoReconstruction

GLB_FRAMES = 8  # sequence.glb holds this many evenly spaced frames


def trajectory_json(recon: "VideoReconstruction") -> dict:
    """Per-frame object pose and centre, hand joints and transform (metres, camera frame)."""
    from hoikit.eval.metrics import bbox_center

    centre = bbox_center(recon.object_mesh) if recon.object_mesh is not None else np.zeros(3)
    centres = recon.poses.apply(centre[None])[:, 0]
    h = recon.hand
    frames = [
        {"frame": k, "name": recon.names[k] if k < len(recon.names) else str(k),
         "object": {"s": recon.poses.s, "R": recon.poses.R[k], "t": recon.poses.t[k], "centre": centres[k]},
         "hand": {"joints3d": h.joints[k], "R": h.R[k], "t": h.t[k], "s": h.s[k], "detected": bool(h.detected[k])}}
        for k in range(len(recon))
    ]  # fmt: skip
    return to_jsonable({"schema_version": SCHEMA_VERSION, "fps": recon.fps, "units": "metres, OpenCV camera frame",
                        "object_pose": "x_cam = s * R @ x_canonical + t", "frames": frames})  # fmt: skip


def result_json(recon: "VideoReconstruction", files: list[str]) -> dict:
    return to_jsonable({
        "schema_version": SCHEMA_VERSION, "type": "video", "source": recon.source, "frames": len(recon),
        "camera": recon.camera.to_dict(), "hand": {"side": recon.hand.side, "model": recon.hand.model, "shape": recon.hand.shape,
        "fit_residual_mm": recon.hand.fit_residual_mm}, "object": None if recon.object_mesh is None else
        {"mesh": "object.ply", "vertices": len(recon.object_mesh.vertices), "faces": len(recon.object_mesh.faces)},
        "timings_s": recon.timings, "losses": recon.losses, "warnings": recon.warnings, "backends": recon.backends,
        "files": files, **recon.extras,
    })  # fmt: skip


def overlay_frames(frames: np.ndarray, recon: "VideoReconstruction"):
    """Yield (H, W, 3) uint8 frames with the shaded hand and object drawn over them."""
    from hoikit.render.overlay import overlay

    for k, rgb in enumerate(frames):
        yield overlay(rgb, recon.frame(k))


def write_mp4(path: str | os.PathLike, images, fps: float) -> Path:
    """Encode (H, W, 3) uint8 images as an H.264 MP4 (MPEG-4 Part 2 if libx264 is missing) with PyAV."""
    import av

    path = Path(path)
    with av.open(str(path), mode="w") as container:
        stream = None
        for img in images:
            h, w = img.shape[:2]
            img = np.ascontiguousarray(img[: h - h % 2, : w - w % 2])  # yuv420p needs even sizes
            if stream is None:
                try:
                    stream = container.add_stream("libx264", rate=max(1, round(fps)))
                except (av.error.FFmpegError, ValueError):  # type: ignore[attr-defined]
                    stream = container.add_stream("mpeg4", rate=max(1, round(fps)))
                stream.width, stream.height, stream.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def sequence_meshes(recon: "VideoReconstruction", n: int = GLB_FRAMES) -> dict[str, trimesh.Trimesh]:
    """Named meshes ``frame_0007_hand`` / ``frame_0007_object`` for ``n`` evenly spaced frames."""
    from hoikit.io.mesh import HAND_COLOR, colored

    out = {}
    for k in np.unique(np.linspace(0, len(recon) - 1, min(n, len(recon))).round().astype(int)):
        out[f"frame_{k:04d}_hand"] = colored(trimesh.Trimesh(recon.hand.vertices[k], recon.hand.faces, process=False), HAND_COLOR)
        if recon.object_mesh is not None:
            m = recon.object_mesh.copy()
            m.vertices = recon.object_vertices(k)
            out[f"frame_{k:04d}_object"] = m
    return out


def write_video_result(out_dir: str | os.PathLike, recon: "VideoReconstruction", frames: np.ndarray, overlay: bool = True) -> Path:
    """Write the result folder (module docstring); returns its path."""
    from hoikit.io.mesh import save_scene_glb

    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        files = []
        if recon.object_mesh is not None:
            recon.object_mesh.export(tmp / "object.ply")
            files.append("object.ply")
        write_json_atomic(tmp / "trajectory.json", trajectory_json(recon))
        np.savez_compressed(tmp / "hands.npz", vertices=recon.hand.vertices.astype(np.float32), faces=recon.hand.faces,
                            joints=recon.hand.joints.astype(np.float32), keypoints2d=recon.hand.keypoints2d.astype(np.float32))  # fmt: skip
        save_scene_glb(tmp / "sequence.glb", sequence_meshes(recon), recon.camera)
        files += ["trajectory.json", "hands.npz", "sequence.glb"]
        if overlay:
            write_mp4(tmp / "overlay.mp4", overlay_frames(frames, recon), recon.fps)
            files.append("overlay.mp4")
        write_json_atomic(tmp / "result.json", result_json(recon, files + ["result.json"]))
    return out_dir
