"""Video in: a video file (decoded with PyAV) or a folder of frames, every ``stride``-th frame,
bounded in size, with the camera of the frames as processed and optional per-frame mask folders.

Intrinsics follow the photo pipeline (:func:`hoikit.io.images.camera_for`): explicit ``fx/fy/cx/cy``
in pixels of the original frames, else the default field of view across the longer side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoikit.errors import InputError
from hoikit.io.images import DEFAULT_FOV_DEG, Intrinsics, LoadedImage, camera_for
from hoikit.types import Camera

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
MAX_SIDE_PX = 640  # frames larger than this are processed downscaled (K follows)
MIN_FRAMES = 2


@dataclass
class Clip:
    """Frames of one video as hoikit processes them.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB.
        camera: intrinsics of the processed frames (shared by every frame).
        indices: (T,) index of each kept frame in the source (stride applied).
        names: one name per kept frame (file stem, or ``frame_000123``).
        source: the path given.
        fps: frames per second of the source (30 for a folder), divided by the stride.
        notes: what was done (downscale, stride), for result.json.
    """

    frames: np.ndarray
    camera: Camera
    indices: np.ndarray
    names: list[str]
    source: str
    fps: float = 30.0
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)


def frame_files(folder: Path) -> list[Path]:
    """Image files of a frame folder in natural order (``frame_2`` before ``frame_10``)."""
    import re

    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    key = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)]
    return sorted(files, key=key)


def _read_folder(folder: Path, stride: int, limit: int | None) -> tuple[list[np.ndarray], list[int], list[str], float]:
    from hoikit.io.images import load_image

    files = frame_files(folder)
    if not files:
        raise InputError(f"{folder}: no image files in the frame folder (looked for {', '.join(IMAGE_SUFFIXES)})")
    picked = list(range(0, len(files), stride))[:limit]
    rgbs = [load_image(files[i], max_side=100_000).rgb for i in picked]
    return rgbs, picked, [files[i].stem for i in picked], 30.0


def _read_video(path: Path, stride: int, limit: int | None) -> tuple[list[np.ndarray], list[int], list[str], float]:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: no video stream in the file")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 30.0)
            rgbs, picked = [], []
            for i, frame in enumerate(container.decode(stream)):
                if i % stride == 0:
                    rgbs.append(frame.to_ndarray(format="rgb24"))
                    picked.append(i)
                    if limit is not None and len(rgbs) >= limit:
                        break
    except InputError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as e:  # type: ignore[attr-defined]
        raise InputError(f"{path}: cannot decode the video ({str(e).splitlines()[0][:120]})") from None
    if not rgbs:
        raise InputError(f"{path}: the video has no decodable frames")
    return rgbs, picked, [f"frame_{i:06d}" for i in picked], fps


def _downscaled(rgbs: list[np.ndarray], max_side: int) -> tuple[list[np.ndarray], float]:
    import cv2

    h, w = rgbs[0].shape[:2]
    if max(h, w) <= max_side:
        return rgbs, 1.0
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return [cv2.resize(r, size, interpolation=cv2.INTER_AREA) for r in rgbs], size[0] / w


def read_clip(
    path: str | os.PathLike, stride: int = 1, intrinsics: Intrinsics = Intrinsics(), max_side: int = MAX_SIDE_PX,
    max_frames: int | None = None, default_fov_deg: float = DEFAULT_FOV_DEG,
) -> Clip:
    """Every ``stride``-th frame of a video file or frame folder (at most ``max_frames``).

    Raises:
        InputError: missing path, unreadable video, no frames, frames of different sizes (exit 2).
    """
    p = Path(path)
    if stride < 1:
        raise InputError(f"--stride must be at least 1, got {stride}")
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    rgbs, picked, names, fps = _read_folder(p, stride, max_frames) if p.is_dir() else _read_video(p, stride, max_frames)
    sizes = {r.shape[:2] for r in rgbs}
    if len(sizes) > 1:
        raise InputError(f"{p}: frames have different sizes ({sorted(sizes)[:3]}…)")
    if len(rgbs) < MIN_FRAMES:
        raise InputError(f"{p}: {len(rgbs)} frame(s) after stride {stride}; the video pipeline needs at least {MIN_FRAMES}")
    h, w = rgbs[0].shape[:2]
    rgbs, scale = _downscaled(rgbs, max_side)
    notes = [f"stride {stride}: {len(rgbs)} frames"] + ([f"downscaled from {w}x{h} by {scale:.3f}"] if scale != 1.0 else [])
    size_now = (rgbs[0].shape[1], rgbs[0].shape[0])
    probe = LoadedImage(rgbs[0], p, (w, h), scale)
    camera = camera_for(probe, intrinsics, default_fov_deg)
    assert (camera.width, camera.height) == size_now
    return Clip(np.stack(rgbs), camera, np.asarray(picked), names, str(p), fps / stride, notes)


def read_mask_folder(folder: str | os.PathLike, names: list[str], indices: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, H, W) bool masks for the kept frames from a folder of mask images: matched by the frame's
    name (same stem), else by its source index in natural order. ``size`` = (W, H) processed.
    An empty mask is allowed (the object can be hidden in a frame)."""
    import cv2
    from PIL import Image, UnidentifiedImageError

    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d}: no such mask folder")
    files = frame_files(d)
    by_stem = {f.stem: f for f in files}
    out = []
    for name, idx in zip(names, indices):
        f = by_stem.get(name) or (files[idx] if idx < len(files) else None)
        if f is None:
            raise InputError(f"{d}: no mask for frame {name} (index {idx}; {len(files)} mask files)")
        try:
            with Image.open(f) as img:
                a = np.asarray(img.getchannel("A") if img.mode in ("RGBA", "LA") else img.convert("L"))
        except (UnidentifiedImageError, OSError) as e:
            raise InputError(f"{f}: cannot read the mask ({str(e).splitlines()[0][:100]})") from None
        m = a > 127
        if (m.shape[1], m.shape[0]) != tuple(size):
            m = cv2.resize(m.astype(np.uint8), tuple(size), interpolation=cv2.INTER_NEAREST) > 0
        out.append(m)
    return np.stack(out)
