"""Training data for hoikit-small: procedural objects rendered from random views.

One sample = one object seen once:

- the image input exactly as the single-image pipeline builds it: the object rendered (textured,
  shaded) on a random background, optionally partly hidden by finger-like occluders that are then
  removed with the same OpenCV inpainting and amodal mask the pipeline uses, then cut out by
  :func:`hoikit.shape.crops.object_crop`;
- the target shape in the view-aligned, size-normalised frame (:mod:`hoikit.shape.frames`):
  surface points with normals (the encoder's input) and SDF samples near the surface and in the
  cube (the decoder's targets), from the object's analytic SDF.

YCB objects are never used here: they are the held-out test of generalisation to real shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hoikit.shape.crops import object_crop
from hoikit.shape.frames import ShapeFrame, normalising_frame
from hoikit.shape.small.model import BOUNDS, SHAPE_EXTENT
from hoikit.types import Camera, Sim3

SKIN_TONES = np.array([[0.96, 0.80, 0.69], [0.89, 0.67, 0.53], [0.78, 0.57, 0.44], [0.55, 0.38, 0.26], [0.36, 0.22, 0.14]])


@dataclass(frozen=True)
class PriorDataConfig:
    """What each training sample contains and how views are drawn."""

    image_size: int = 224  # the full render
    crop_size: int = 128  # object crop kept on disk (the network resizes it)
    enc_points: int = 1024  # stored; training draws SmallConfig.enc_points of them per step
    near_points: int = 1536  # SDF samples around the surface
    uniform_points: int = 512  # SDF samples anywhere in the cube
    near_sigmas: tuple[float, ...] = (0.01, 0.04)  # canonical units
    occlusion_prob: float = 0.6
    upright_prob: float = 0.5  # otherwise a uniformly random orientation
    fov_deg: tuple[float, float] = (45.0, 75.0)
    distance_m: tuple[float, float] = (0.25, 0.7)


def random_rotation(rng: np.random.Generator, upright_prob: float) -> np.ndarray:
    """Object → camera rotation: either uniform, or the object's +z roughly up in the image
    (camera −y) with a random turn about it and a tilt of up to ~45°."""
    from scipy.spatial.transform import Rotation

    if rng.random() >= upright_prob:
        return Rotation.random(random_state=rng).as_matrix()
    up = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # object +z → camera −y
    yaw = Rotation.from_rotvec([0.0, 0.0, rng.uniform(0, 2 * math.pi)]).as_matrix()
    tilt = Rotation.from_rotvec(rng.normal(size=3) * 0.35).as_matrix()
    return tilt @ up @ yaw


def _camera_and_pose(obj, rng: np.random.Generator, cfg: PriorDataConfig) -> tuple[Camera, Sim3]:
    cam = Camera.from_fov(cfg.image_size, cfg.image_size, rng.uniform(*cfg.fov_deg), source="synthetic")
    R = random_rotation(rng, cfg.upright_prob)
    size = float(np.linalg.norm(obj.extents))
    # as close as the hand-held range allows while the object still fits well inside the image
    z_fit = size * cam.fx / (0.75 * cfg.image_size)
    z = max(rng.uniform(*cfg.distance_m), z_fit)
    half = 0.5 * cfg.image_size / cam.fx * z
    xy = rng.uniform(-1, 1, size=2) * max(0.0, half - 0.6 * size)
    return cam, Sim3(np.float64(1.0), R, np.array([xy[0], xy[1], z]))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random smooth background: two colours blended along a random direction, plus noise."""
    a, b = rng.uniform(0, 1, size=(2, 3))
    d = rng.normal(size=2)
    yy, xx = np.mgrid[0:size, 0:size] / size
    t = np.clip((xx * d[0] + yy * d[1]) / (abs(d).sum() + 1e-9) + 0.5, 0, 1)[..., None]
    img = (1 - t) * a + t * b + rng.normal(scale=0.03, size=(size, size, 3))
    return np.clip(img, 0, 1).astype(np.float32)


def finger_occluders(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W) bool: 2–4 parallel finger-like capsules crossing the object, as a grasp would."""
    import cv2

    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    size = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
    out = np.zeros((h, w), np.uint8)
    angle = rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    width = max(3, int(size * rng.uniform(0.10, 0.2)))
    start = np.array([rng.choice(xs), rng.choice(ys)], float) - direction * size * rng.uniform(0.3, 0.8)
    for k in range(int(rng.integers(2, 5))):
        p0 = start + normal * k * width * 1.05
        p1 = p0 + direction * size * rng.uniform(0.5, 1.1)
        cv2.line(out, tuple(np.round(p0).astype(int)), tuple(np.round(p1).astype(int)), 1, width)
    return out.astype(bool)


def _view_image(obj, cam: Camera, pose: Sim3, rng: np.random.Generator, cfg: PriorDataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Render the object, maybe occlude + inpaint like the pipeline; returns (rgb uint8, amodal mask)."""
    from hoikit.perception.inpainting import inpaint_hand_opencv
    from hoikit.render.preview import TexturedMesh, render_rgb

    verts = torch.as_tensor(pose.apply(np.asarray(obj.mesh.vertices)), dtype=torch.float32)
    faces = torch.as_tensor(np.asarray(obj.mesh.faces), dtype=torch.long)
    light = rng.normal(size=3) * 0.6 + np.array([0.0, -0.5, -1.0])
    textured = TexturedMesh(verts, faces, cam_to_canonical=pose.inverse(), texture=obj.texture)
    rgb, out = render_rgb([textured], cam, to_light=light, ambient=rng.uniform(0.25, 0.55), background=_background(rng, cfg.image_size))
    rgb8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    mask = out.mask.numpy()
    if rng.random() < cfg.occlusion_prob:
        hand = finger_occluders(mask, rng) & mask  # only what covers the object matters here
        visible = mask & ~hand
        if visible.sum() > 0.3 * mask.sum():
            tone = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.85, 1.1)
            rgb8 = rgb8.copy()
            rgb8[hand] = np.clip(tone * 255, 0, 255).astype(np.uint8)
            res = inpaint_hand_opencv(rgb8, hand, visible)
            return res.rgb, res.amodal
    return rgb8, mask


def shape_targets(obj, pose: Sim3, frame: ShapeFrame, rng: np.random.Generator, cfg: PriorDataConfig) -> dict:
    """Encoder points/normals and SDF samples in the canonical cube (SDF in canonical units)."""
    from hoikit.geometry.sampling import sample_surface

    can_to_obj = pose.inverse().compose(frame.to_camera())  # canonical → object frame
    obj_to_can = can_to_obj.inverse()
    pts, fidx = sample_surface(obj.mesh, cfg.enc_points + cfg.near_points, seed=int(rng.integers(2**31)))
    normals = np.asarray(obj.mesh.face_normals)[fidx]
    surf = obj_to_can.apply(pts)
    nrm = normals @ obj_to_can.R.T
    enc = np.concatenate([surf[: cfg.enc_points], nrm[: cfg.enc_points]], axis=1)
    near = surf[cfg.enc_points :]
    sig = rng.choice(cfg.near_sigmas, size=(len(near), 1))
    q = np.concatenate([near + rng.normal(size=near.shape) * sig, rng.uniform(*BOUNDS, size=(cfg.uniform_points, 3))])
    with torch.no_grad():
        sdf = obj.sdf(torch.as_tensor(can_to_obj.apply(q))).numpy() / frame.scale
    return {"enc": enc.astype(np.float16), "query": q.astype(np.float16), "sdf": sdf.astype(np.float16)}


@dataclass
class PriorView:
    """One rendered view of an object: what the generator sees and where the shape truly is.

    Attributes:
        crop: (S, S, 4) uint8 object crop (white background, alpha = amodal mask).
        camera: the render's camera.
        pose: object canonical frame → camera frame.
        frame: the generator's canonical frame for this view (canonical → camera).
    """

    crop: np.ndarray
    camera: Camera
    pose: Sim3
    frame: ShapeFrame

    def canonical_to_object(self) -> Sim3:
        return self.pose.inverse().compose(self.frame.to_camera())


def render_view(obj, rng: np.random.Generator, cfg: PriorDataConfig = PriorDataConfig()) -> PriorView:
    """Render ``obj`` (a :class:`hoikit.synth.SynthObject`) from a random view, as the pipeline sees it."""
    cam, pose = _camera_and_pose(obj, rng, cfg)
    frame = normalising_frame(pose.apply(np.asarray(obj.mesh.vertices)), SHAPE_EXTENT)
    rgb, amodal = _view_image(obj, cam, pose, rng, cfg)
    return PriorView(object_crop(rgb, amodal, cfg.crop_size)[0], cam, pose, frame)


def make_sample(obj, rng: np.random.Generator, cfg: PriorDataConfig = PriorDataConfig()) -> dict:
    """One training sample of ``obj`` from a random view: the crop and the shape targets."""
    view = render_view(obj, rng, cfg)
    targets = shape_targets(obj, view.pose, view.frame, rng, cfg)
    return {"crop": view.crop, **targets, "scale": np.float32(view.frame.scale)}


SAMPLE_KEYS = ("crop", "enc", "query", "sdf", "scale")


def generate_shard(path: Path, seed: int, n_objects: int, views_per_object: int, cfg: PriorDataConfig = PriorDataConfig()) -> Path:
    """Write ``n_objects × views_per_object`` samples of procedural objects to one .npz shard."""
    from hoikit.synth import sample_object

    rng = np.random.default_rng(seed)
    samples: list[dict] = []
    families: list[str] = []
    for _ in range(n_objects):
        obj = sample_object(rng)
        for _ in range(views_per_object):
            samples.append(make_sample(obj, rng, cfg))
            families.append(obj.family)
    arrays = {k: np.stack([s[k] for s in samples]) for k in SAMPLE_KEYS}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, family=np.array(families), **arrays)
    tmp.replace(path)
    return path
