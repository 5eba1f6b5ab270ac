"""``hoikit view DIR``: the result in the browser, in 3D (viser).

Shows the hand and object meshes in the camera frame of the photo (OpenCV: y down, so the view's
up is −y), the camera frustum textured with the photo (overlay.png), and the hand vertices near the
object coloured by distance (red = touching, yellow = 1 cm). When DIR holds several results (a
``hoikit video`` result's frames, an eval run's samples or clips) a timeline slider steps through them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.render.overlay import HAND_RGB, OBJECT_RGB
from hoikit.viewer.scene import ResultScene, contacts, distance_colors, load_scenes, result_folders

FRUSTUM_SCALE_M = 0.05


def _rgb255(c) -> tuple[int, int, int]:
    return tuple(int(round(255 * v)) for v in c)


def show_scene(server, scene: ResultScene, prefix: str = "/result") -> list:
    """Add one result's nodes under ``prefix``; returns the handles (to hide or remove them)."""
    handles = []
    for name, mesh, color in (("hand", scene.hand, HAND_RGB), ("object", scene.object, OBJECT_RGB)):
        if mesh is not None:
            handles.append(server.scene.add_mesh_simple(f"{prefix}/{name}", np.asarray(mesh.vertices, np.float32),
                                                        np.asarray(mesh.faces, np.uint32), color=_rgb255(color)))  # fmt: skip
    if scene.hand is not None and scene.object is not None:
        pts, d = contacts(scene.hand, scene.object)
        if len(pts):
            handles.append(server.scene.add_point_cloud(f"{prefix}/contacts", pts.astype(np.float32), distance_colors(d), point_size=0.002))
    if scene.camera is not None:
        K, w, h = scene.camera.K, scene.camera.width, scene.camera.height
        fov = float(2 * np.arctan2(h / 2, K[1, 1]))
        handles.append(server.scene.add_camera_frustum(f"{prefix}/camera", fov=fov, aspect=w / h, scale=FRUSTUM_SCALE_M,
                                                       image=scene.photo, wxyz=(1.0, 0.0, 0.0, 0.0), position=(0.0, 0.0, 0.0)))  # fmt: skip
    return handles


def frame_view(server, scene: ResultScene) -> None:
    """Point new clients' camera at the hand and object, from just behind the photo's camera."""
    meshes = [m for m in (scene.hand, scene.object) if m is not None]
    if not meshes:
        return
    pts = np.concatenate([np.asarray(m.vertices) for m in meshes])
    center = 0.5 * (pts.min(0) + pts.max(0))
    radius = float(np.linalg.norm(pts - center, axis=1).max())
    server.initial_camera.look_at = tuple(center)
    server.initial_camera.position = tuple(center + np.array([0.3, -0.5, -1.0]) * 2.5 * radius)  # behind, a bit above (−y)
    server.initial_camera.up = (0.0, -1.0, 0.0)


def start_viewer(root: str | Path, host: str = "127.0.0.1", port: int = 8080):
    """Start the viser server for ``root`` (a result folder, or a folder of them); returns it."""
    import viser

    folders = result_folders(root)
    if not folders:
        raise InputError(f"{root}: no result folders to show")
    server = viser.ViserServer(host=host, port=port, verbose=False)
    server.scene.set_up_direction("-y")  # the camera frame is OpenCV: y points down
    scenes = [s for f in folders for s in load_scenes(f)]
    labels = [f"{s.folder.name} · frame {s.record['frame']}" if "frame" in s.record else s.folder.name for s in scenes]
    shown = [show_scene(server, s, f"/r{i}") for i, s in enumerate(scenes)]
    frame_view(server, scenes[0])
    for handles in shown[1:]:
        for h in handles:
            h.visible = False
    if len(scenes) > 1:
        slider = server.gui.add_slider("timeline", min=0, max=len(scenes) - 1, step=1, initial_value=0)
        label = server.gui.add_text("result", initial_value=labels[0], disabled=True)

        @slider.on_update
        def _(_event) -> None:
            for i, handles in enumerate(shown):
                for h in handles:
                    h.visible = i == slider.value
            label.value = labels[int(slider.value)]

    return server


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = start_viewer(root, host, port)
    print(f"hoikit view: http://{host}:{server.get_port()} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(1.0)
    finally:
        server.stop()
