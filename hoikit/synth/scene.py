"""Synthetic scenes: a hand holding an object in front of a camera, rendered with exact ground truth.

One sample (:func:`make_image_sample`, :func:`make_video_sample`) is made from one numpy
``Generator`` (:func:`sample_rng`: seed and index), in this order, so any sample can be made
again alone:

1. **object and grasp**: an object from the chosen families and a checked grasp
   (:mod:`hoikit.synth.grasp`) with a random adult hand shape, left or right; when no grasp of
   the object passes the checks, another object is drawn (at most ``max_objects``).
2. **camera**: a pinhole camera with a horizontal field of view drawn in 45–75°, square pixels,
   the principal point at the image centre.
3. **pose**: hand and object turned together by a uniformly random rotation (so sometimes the
   palm faces the camera, sometimes the back of the hand, sometimes the object is in front);
   the object's centre (its canonical origin) on a ray at most ``off_axis_deg`` off the optical
   axis, at a distance drawn in 0.25–0.7 m among those at which hand and object fit the image.
4. **appearance**: a skin tone from a light-to-dark palette, a directional light from the
   camera's side, ambient light, a slight colour tint, sensor noise, and a procedural background
   (:mod:`hoikit.synth.backgrounds`).
5. **render** (:func:`render_frame`, :mod:`hoikit.synth.shading`) with :mod:`hoikit.render`'s
   z-buffer: shaded RGB with anti-aliased
   outlines; hard part labels at pixel centres give the visible hand and object masks
   (occlusion-aware); metric depth from the z-buffer; unit normals in the camera frame.

Video samples keep the grasp fixed and move hand and object together along a smooth trajectory
(:func:`video_trajectory`): a rotation about the object's centre and a translation, each a sum
of a few low-frequency sinusoids of the time, so the hand turns the object in front of the camera
and what is visible changes.

Frames: everything is in the OpenCV camera frame, metres (:mod:`hoikit.types`); ``object_pose``
maps the object's canonical frame to the camera (a rigid 4×4, scale 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from hoikit.hand.model import HandModel
from hoikit.hand.protocol import faces_for_side
from hoikit.runtime import single_threaded
from hoikit.synth.backgrounds import random_background
from hoikit.synth.base import SynthObject
from hoikit.synth.grasp import Grasp, GraspConfig, GraspFailure, make_grasp
from hoikit.synth.objects import FAMILIES, YCB, sample_object
from hoikit.synth.poses import apply_pose, as_float32, pose_matrix
from hoikit.synth.shading import coverage, finish_rgb, rasterize_visible, shade
from hoikit.types import Camera, Sim3

# ------------------------------------------------------------------------------ camera and pose
HFOV_DEG = (45.0, 75.0)
# the object's canonical origin (bounding-box centre) is at least DISTANCE_M[0] in front of the
# camera (depth z) and at most DISTANCE_M[1] from it (Euclidean), so either reading of "distance"
# stays in range
DISTANCE_M = (0.25, 0.7)
OFF_AXIS_DEG = 12.0  # the object's centre at most this far off the optical axis
FIT_MARGIN = 0.04  # hand and object keep this share of the image size from its border …
FIT_POINTS = 1500  # … tested on this many of their vertices
FIT_BISECTIONS = 12

# ------------------------------------------------------------------------------ appearance
# sRGB skin albedos from light to dark (roughly Fitzpatrick I–VI), jittered per sample
SKIN_TONES: tuple[tuple[float, float, float], ...] = (
    (0.96, 0.80, 0.69),
    (0.91, 0.72, 0.59),
    (0.80, 0.60, 0.46),
    (0.66, 0.47, 0.34),
    (0.49, 0.33, 0.23),
    (0.34, 0.23, 0.16),
)
SKIN_JITTER = 0.04  # relative, per channel
AMBIENT = (0.25, 0.55)
LIGHT_SPREAD = 1.0  # the light comes from (u, v, −1) with u, v uniform in ±this: the camera's side
TINT = 0.06  # light colour: each channel scaled by 1 ± this
NOISE_SIGMA = (0.0, 0.012)  # sensor noise, in [0, 1] units

# ------------------------------------------------------------------------------ video
VIDEO_FRAMES = 24
TRAJECTORY_WAVES = 3  # sinusoids per trajectory component
TURN_DEG = 35.0  # rotation amplitude per wave and axis
SHIFT_M = 0.02  # translation amplitude per wave and axis
WAVE_CYCLES = (0.25, 1.0)  # cycles of each wave over the clip


@dataclass(frozen=True)
class SceneConfig:
    """What to generate. ``families``: object families (:data:`hoikit.synth.objects.FAMILIES`
    and/or ``"ycb"``), None for every procedural family."""

    width: int = 512
    height: int = 512
    families: tuple[str, ...] | None = None
    hfov_deg: tuple[float, float] = HFOV_DEG
    distance_m: tuple[float, float] = DISTANCE_M
    off_axis_deg: float = OFF_AXIS_DEG
    left_probability: float = 0.5
    max_objects: int = 4
    grasp: GraspConfig = GraspConfig()


@dataclass(frozen=True)
class VideoConfig:
    """A clip: ``frames`` frames along a smooth trajectory (module docstring)."""

    frames: int = VIDEO_FRAMES
    waves: int = TRAJECTORY_WAVES
    turn_deg: float = TURN_DEG
    shift_m: float = SHIFT_M


@dataclass(frozen=True)
class Appearance:
    """How a scene looks: skin albedo (3,), light direction towards the light (3,, camera
    frame), ambient share, colour tint (3,), sensor noise σ and the background's layers."""

    skin_rgb: tuple[float, float, float]
    to_light: tuple[float, float, float]
    ambient: float
    tint: tuple[float, float, float]
    noise_sigma: float
    background: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "skin_rgb": list(self.skin_rgb), "to_light": list(self.to_light), "ambient": self.ambient,
            "tint": list(self.tint), "noise_sigma": self.noise_sigma, "background": list(self.background),
        }  # fmt: skip


@dataclass
class Frame:
    """One rendered view with its ground truth (camera frame, metres).

    Attributes:
        camera: intrinsics and image size.
        object_pose: (4, 4) object canonical frame → camera.
        hand_transform: canonical hand frame → camera (the hand model's global transform).
        hand_vertices: (V, 3) float64, exactly the rendered hand mesh; object_vertices (Vo, 3) likewise.
        joints3d: (21, 3); joints2d: (21, 2) pixels, their projection.
        rgb: (H, W, 3) uint8. mask_hand, mask_object: (H, W) bool, visible pixels of each.
        depth: (H, W) float32 metres, 0 on background. normals: (H, W, 3) float32 unit, 0 on background.
        object_visible_fraction: visible object pixels / pixels of the object rendered alone.
    """

    camera: Camera
    object_pose: np.ndarray
    hand_transform: Sim3
    hand_vertices: np.ndarray
    object_vertices: np.ndarray
    joints3d: np.ndarray
    joints2d: np.ndarray
    rgb: np.ndarray
    mask_hand: np.ndarray
    mask_object: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    object_visible_fraction: float


@dataclass
class SceneSample:
    """A generated sample: the object, the grasp, how it looks, and one frame (image) or several
    (video).

    Attributes:
        object_vertices (Vo, 3), object_faces (Fo, 3): the object's mesh in its canonical frame,
            vertices rounded to float32 (what a PLY file holds); every frame renders them.
        hand_faces: (F, 3) faces of ``grasp.vertices`` (the hand in the object frame, rounded
            likewise) and of ``Frame.hand_vertices``.
        objects_tried: objects drawn before one could be grasped.
    """

    obj: SynthObject
    grasp: Grasp
    object_vertices: np.ndarray
    object_faces: np.ndarray
    hand_faces: np.ndarray
    appearance: Appearance
    frames: list[Frame]
    objects_tried: int = 1


# ------------------------------------------------------------------------------ random draws
def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` of the run with ``seed`` (independent streams)."""
    return np.random.default_rng([int(seed), int(index)])


def families_for(objects: str) -> tuple[str, ...]:
    """Families for the writer's ``--objects``: "procedural", "ycb" or "all" (the YCB models only
    when their data is present; "ycb" alone without it is an error)."""
    from hoikit.synth.ycb import ycb_names

    procedural = tuple(FAMILIES)
    ycb = (YCB,) if ycb_names() else ()
    choices = {"procedural": procedural, "ycb": ycb, "all": procedural + ycb}
    if objects not in choices:
        raise ValueError(f"objects must be one of {sorted(choices)}, got {objects!r}")
    if not choices[objects]:
        raise ValueError("no YCB models found (set HOIKIT_REALDATA or see shared/realdata/README.md)")
    return choices[objects]


def grasped_object(rng: np.random.Generator, model: HandModel, config: SceneConfig) -> tuple[SynthObject, Grasp, int]:
    """An object and a grasp that passed the checks (or, after ``max_objects`` objects, the last
    object with its best grasp, ``accepted=False``), and how many objects were drawn."""
    last: tuple[SynthObject, Grasp] | None = None
    for tries in range(1, config.max_objects + 1):
        obj = sample_object(rng, config.families)
        side = "left" if rng.random() < config.left_probability else "right"
        try:
            grasp = make_grasp(obj, model, rng, side, config.grasp)
        except GraspFailure:
            continue
        if grasp.accepted:
            return obj, grasp, tries
        last = (obj, grasp)
    if last is None:
        raise GraspFailure(f"no object could be grasped in {config.max_objects} tries")
    return last[0], last[1], config.max_objects


def sample_camera(rng: np.random.Generator, width: int, height: int, hfov_deg: tuple[float, float] = HFOV_DEG) -> Camera:
    return Camera.from_fov(width, height, float(rng.uniform(*hfov_deg)), source="synthetic")


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) uniform on SO(3) (a random unit quaternion)."""
    from scipy.spatial.transform import Rotation

    q = rng.normal(size=4)
    return Rotation.from_quat(q / np.linalg.norm(q)).as_matrix()


def fits(points_cam: np.ndarray, camera: Camera, margin: float = FIT_MARGIN) -> bool:
    """Whether camera-frame points (N, 3) are in front of the camera and project inside the image
    with ``margin`` (a share of its size) to spare."""
    if np.any(points_cam[:, 2] <= 0):
        return False
    uv = camera.project(points_cam)
    lo = -0.5 + margin * np.array([camera.width, camera.height])
    hi = np.array([camera.width, camera.height]) - 0.5 - margin * np.array([camera.width, camera.height])
    return bool(np.all(uv >= lo) and np.all(uv <= hi))


def _off_axis_ray(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """A unit direction within ``max_deg`` of +z, uniform over the cone's solid angle."""
    cos_max = math.cos(math.radians(max_deg))
    cos_t = rng.uniform(cos_max, 1.0)
    phi = rng.uniform(0, 2 * np.pi)
    sin_t = math.sqrt(1 - cos_t**2)
    return np.array([sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t])


def nearest_fitting_distance(points: np.ndarray, R: np.ndarray, ray: np.ndarray, camera: Camera, bounds: tuple[float, float]) -> float | None:
    """The smallest distance in ``bounds`` along ``ray`` at which the object-frame points (N, 3),
    turned by R, fit the image (bisection: nearer never fits when farther does not); None when
    they do not fit even at the far bound."""
    turned = points @ R.T
    near, far = bounds
    if not fits(turned + far * ray, camera):
        return None
    if fits(turned + near * ray, camera):
        return near
    for _ in range(FIT_BISECTIONS):
        mid = 0.5 * (near + far)
        near, far = (near, mid) if fits(turned + mid * ray, camera) else (mid, far)
    return far


def sample_pose(rng: np.random.Generator, points: np.ndarray, camera: Camera, config: SceneConfig) -> np.ndarray:
    """(4, 4) object → camera: a uniform rotation, the object's centre off-axis at a distance at
    which ``points`` (object frame: the hand and object vertices) fit the image; when they fit
    nowhere, on the optical axis at the far bound."""
    R = random_rotation(rng)
    ray = _off_axis_ray(rng, config.off_axis_deg)
    bounds = (config.distance_m[0] / ray[2], config.distance_m[1])  # depth ≥ near, distance ≤ far
    nearest = nearest_fitting_distance(points, R, ray, camera, bounds)
    if nearest is None:
        ray, distance = np.array([0.0, 0.0, 1.0]), config.distance_m[1]
    else:
        distance = rng.uniform(nearest, config.distance_m[1])
    return pose_matrix(R, distance * ray)


def clamp_distance(t: np.ndarray, bounds: tuple[float, float] = DISTANCE_M) -> np.ndarray:
    """A centre (3,) moved along its ray so that its depth is ≥ bounds[0] and its distance ≤ bounds[1]."""
    norm = float(np.linalg.norm(t))
    return t * np.clip(norm, bounds[0] * norm / t[2], bounds[1]) / norm


def sample_appearance(rng: np.random.Generator) -> Appearance:
    skin = np.asarray(SKIN_TONES[rng.integers(len(SKIN_TONES))]) * (1 + rng.uniform(-SKIN_JITTER, SKIN_JITTER, 3))
    light = np.array([*rng.uniform(-LIGHT_SPREAD, LIGHT_SPREAD, 2), -1.0])
    light /= np.linalg.norm(light)
    tint = 1 + rng.uniform(-TINT, TINT, 3)
    return Appearance(
        skin_rgb=tuple(float(x) for x in np.clip(skin, 0, 1)),
        to_light=tuple(float(x) for x in light),
        ambient=float(rng.uniform(*AMBIENT)),
        tint=tuple(float(x) for x in tint),
        noise_sigma=float(rng.uniform(*NOISE_SIGMA)),
    )  # fmt: skip


# ------------------------------------------------------------------------------ rendering
@dataclass(frozen=True)
class Posed:
    """What every frame of a sample renders: the grasp (hand vertices and joints in the object's
    canonical frame), the hand's faces, the object's canonical mesh and its texture."""

    grasp: Grasp
    hand_faces: np.ndarray
    object_vertices: np.ndarray
    object_faces: np.ndarray
    texture: Callable[[np.ndarray], np.ndarray]


def render_frame(
    scene: Posed, object_pose: np.ndarray, camera: Camera, appearance: Appearance, background: np.ndarray, rng: np.random.Generator, *, stored: bool
) -> Frame:
    """Render hand (part 0) and object (part 1) posed by ``object_pose`` (4, 4; the hand follows
    through the grasp) over ``background`` (H, W, 3) float in [0, 1] (:mod:`hoikit.synth.shading`).

    ``stored``: the camera-frame meshes are written out as they are (single images), so their
    vertices are rounded to float32 before rendering and the files hold exactly the rendered
    geometry; otherwise (video) they are the canonical ones posed by :func:`apply_pose`, which is
    how a reader derives them.
    """
    hand_v = apply_pose(object_pose, scene.grasp.vertices)
    obj_v = apply_pose(object_pose, scene.object_vertices)
    if stored:
        hand_v, obj_v = as_float32(hand_v), as_float32(obj_v)
    seen = rasterize_visible([(hand_v, scene.hand_faces), (obj_v, scene.object_faces)], camera)
    to_object = np.linalg.inv(object_pose)
    skin = np.asarray(appearance.skin_rgb)
    albedo = [lambda p: np.broadcast_to(skin, p.shape), lambda p: np.asarray(scene.texture(apply_pose(to_object, p)))]
    linear = shade(seen, camera, albedo, appearance.to_light, appearance.ambient, background)
    joints3d = apply_pose(object_pose, scene.grasp.joints)
    mask_object = seen.part_id == 1
    alone = coverage(obj_v, scene.object_faces, camera)
    return Frame(
        camera=camera,
        object_pose=object_pose,
        hand_transform=Sim3.from_matrix(object_pose).compose(scene.grasp.hand_to_object),
        hand_vertices=hand_v,
        object_vertices=obj_v,
        joints3d=joints3d,
        joints2d=camera.project(joints3d),
        rgb=finish_rgb(linear, appearance.tint, appearance.noise_sigma, rng),
        mask_hand=seen.part_id == 0,
        mask_object=mask_object,
        depth=seen.depth,
        normals=seen.normals,
        object_visible_fraction=float(mask_object.sum()) / alone if alone else 1.0,
    )


# ------------------------------------------------------------------------------ samples
MIN_OBJECT_VISIBLE = 0.25  # a photo showing less of the object than this is no reconstruction task
POSE_TRIES = 8


def _fit_points(grasp: Grasp, object_vertices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Object-frame points standing in for hand and object when fitting them into the image."""
    pts = np.concatenate([grasp.vertices, object_vertices])
    return pts[rng.choice(len(pts), min(FIT_POINTS, len(pts)), replace=False)]


@dataclass
class _Setup:
    """Everything drawn before the first frame is rendered."""

    rng: np.random.Generator
    obj: SynthObject
    posed: Posed
    objects_tried: int
    camera: Camera
    pose: np.ndarray
    appearance: Appearance
    background: np.ndarray

    def render(self, pose: np.ndarray, stored: bool) -> Frame:
        return render_frame(self.posed, pose, self.camera, self.appearance, self.background, self.rng, stored=stored)

    def sample(self, frames: list[Frame]) -> SceneSample:
        p = self.posed
        return SceneSample(self.obj, p.grasp, p.object_vertices, p.object_faces, p.hand_faces, self.appearance, frames, self.objects_tried)


def _setup(seed: int, index: int, model: HandModel, config: SceneConfig) -> _Setup:
    """Steps 1–4 of the module docstring, in the order of the random draws."""
    rng = sample_rng(seed, index)
    obj, grasp, tries = grasped_object(rng, model, config)
    grasp = replace(grasp, vertices=as_float32(grasp.vertices))
    mesh = obj.mesh
    faces = np.asarray(mesh.faces, dtype=np.int64)
    posed = Posed(grasp, faces_for_side(model.faces, grasp.side).numpy(), as_float32(mesh.vertices), faces, obj.texture)
    camera = sample_camera(rng, config.width, config.height, config.hfov_deg)
    pose = sample_pose(rng, _fit_points(grasp, posed.object_vertices, rng), camera, config)
    appearance = sample_appearance(rng)
    background = random_background(camera.height, camera.width, rng)
    appearance = replace(appearance, background=background.layers)
    return _Setup(rng, obj, posed, tries, camera, pose, appearance, background.image)


@single_threaded
def make_image_sample(seed: int, index: int, model: HandModel, config: SceneConfig = SceneConfig()) -> SceneSample:
    """Sample ``index`` of the run ``seed``: one rendered image (module docstring). A view in
    which the hand hides all but ``MIN_OBJECT_VISIBLE`` of the object is drawn again (up to
    ``POSE_TRIES`` views; the last one is kept)."""
    setup = _setup(seed, index, model, config)
    frame = setup.render(setup.pose, stored=True)
    for _ in range(POSE_TRIES - 1):
        if frame.object_visible_fraction >= MIN_OBJECT_VISIBLE:
            break
        pose = sample_pose(setup.rng, _fit_points(setup.posed.grasp, setup.posed.object_vertices, setup.rng), setup.camera, config)
        frame = setup.render(pose, stored=True)
    return setup.sample([frame])


def _waves(rng: np.random.Generator, times: np.ndarray, waves: int, amplitude: float) -> np.ndarray:
    """(T, 3) a smooth random signal, zero at t = 0: the sum of ``waves`` sinusoids per axis with
    random amplitudes (up to ``amplitude``), frequencies and phases, minus its start value."""
    amp = rng.uniform(-amplitude, amplitude, (waves, 3))
    freq = rng.uniform(*WAVE_CYCLES, (waves, 3)) * 2 * np.pi
    phase = rng.uniform(0, 2 * np.pi, (waves, 3))
    signal = (amp * np.sin(freq * times[:, None, None] + phase)).sum(1)
    return signal - signal[:1]


def video_trajectory(rng: np.random.Generator, start: np.ndarray, frames: int, video: VideoConfig, distance_m: tuple[float, float] = DISTANCE_M) -> list[np.ndarray]:
    """Object → camera poses (4, 4) for ``frames`` frames starting at ``start``: a smooth rotation
    about the object's centre and a smooth translation (module docstring), the centre kept in
    ``distance_m`` (:func:`clamp_distance`)."""
    from scipy.spatial.transform import Rotation

    times = np.linspace(0.0, 1.0, frames)
    turn = _waves(rng, times, video.waves, math.radians(video.turn_deg))
    shift = _waves(rng, times, video.waves, video.shift_m)
    poses = []
    for k in range(frames):
        R = Rotation.from_rotvec(turn[k]).as_matrix() @ start[:3, :3]
        poses.append(pose_matrix(R, clamp_distance(start[:3, 3] + shift[k], distance_m)))
    return poses


@single_threaded
def make_video_sample(
    seed: int, index: int, model: HandModel, config: SceneConfig = SceneConfig(640, 480), video: VideoConfig = VideoConfig()
) -> SceneSample:
    """Sample ``index`` of the run ``seed``: ``video.frames`` frames of the hand turning and moving
    the object; grasp, camera, appearance and background fixed."""
    setup = _setup(seed, index, model, config)
    poses = video_trajectory(setup.rng, setup.pose, video.frames, video, config.distance_m)
    return setup.sample([setup.render(p, stored=False) for p in poses])
