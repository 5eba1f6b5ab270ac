"""The video pipeline: one monocular clip in, the held object (canonical mesh + per-frame poses) and
the hand of every frame out (AlignHOI on a CPU).

``perceive_video`` turns a video into :class:`VideoInputs` (frames, camera, per-frame hand
detections, masks when given); ``reconstruct`` runs the method on those inputs; ``reconstruct_video``
does both and writes the result folder. Benchmarks call ``reconstruct`` with ground-truth
perception inputs.

Stages (timed in ``timings``): hands → masks → prior → poses (templates, verification,
refinement; ``pose_rounds`` rounds of refine → carve) → carve (visual hull, SDF refinement,
colours) → align (hand-object) → write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import trimesh

from hoikit.errors import HoikitError, InputError
from hoikit.runtime import deterministic
from hoikit.types import Camera
from hoikit.video.carve import Poses
from hoikit.video.config import VideoConfig
from hoikit.video.hands import HandTrack
from hoikit.video.masks import ClipMasks


@dataclass
class VideoInputs:
    """Perception results for one clip (pixels, metres, camera frame).

    Attributes:
        frames: (T, H, W, 3) uint8; camera: shared intrinsics.
        detections: one :class:`hoikit.perception.hands.HandDetection` or None per frame.
        object_masks, hand_masks: (T, H, W) bool or None (then the embedded segmentation runs).
        side: "auto" | "left" | "right".
    """

    frames: np.ndarray
    camera: Camera
    detections: list
    object_masks: np.ndarray | None = None
    hand_masks: np.ndarray | None = None
    side: str = "auto"
    source: str = ""
    names: list[str] = field(default_factory=list)
    fps: float = 30.0
    notes: list[str] = field(default_factory=list)
    backends: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class VideoReconstruction:
    """Everything one clip produced.

    Attributes:
        object_mesh: canonical frame, metres, vertex colours (None if carving failed).
        poses: object canonical → camera per frame.
        hand: the fitted (and aligned) hand of every frame.
        masks: the masks used.
    """

    camera: Camera
    object_mesh: trimesh.Trimesh | None
    poses: Poses
    hand: HandTrack
    masks: ClipMasks
    source: str = ""
    names: list[str] = field(default_factory=list)
    fps: float = 30.0
    timings: dict = field(default_factory=dict)
    losses: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    backends: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.poses)

    def object_vertices(self, k: int) -> np.ndarray:
        """(V, 3) the object mesh in frame ``k``'s camera frame."""
        return self.poses.apply(np.asarray(self.object_mesh.vertices))[k] if self.object_mesh is not None else np.zeros((0, 3))

    def frame(self, k: int):
        """Frame ``k`` as a :class:`hoikit.types.Reconstruction` (for overlays and the viewer)."""
        from hoikit.types import HandEstimate, ObjectEstimate, Reconstruction, Sim3

        h = self.hand
        hand = HandEstimate(h.joints[k], h.vertices[k], h.faces, h.side, h.model, h.keypoints2d[k])
        obj = None
        if self.object_mesh is not None:
            T = Sim3(np.float64(self.poses.s), self.poses.R[k], self.poses.t[k])
            obj = ObjectEstimate(self.object_vertices(k), np.asarray(self.object_mesh.faces), T, self.backends.get("shape", ""))
        return Reconstruction(self.camera, hand, obj, source=f"{self.source}#{k}")


class _Clock:
    def __init__(self, timings: dict):
        self.timings = timings

    def __call__(self, name: str):
        clock = self

        class _T:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.timings[name] = clock.timings.get(name, 0.0) + time.perf_counter() - self.t0

        return _T()


def _initial_object_pose(hand: HandTrack, masks: ClipMasks, camera: Camera, ref: int) -> tuple[np.ndarray, np.ndarray]:
    """The object at the reference frame: camera-aligned axes, centre on the mask centroid's ray at
    the grasp's depth."""
    from hoikit.video.pose import grasp_depth, mask_centroid, ray_point

    return np.eye(3), ray_point(mask_centroid(masks.object[ref]), grasp_depth(hand.joints[ref]), camera)


def _surface(mesh: trimesh.Trimesh, n: int, seed: int) -> np.ndarray:
    from hoikit.geometry.sampling import sample_surface

    return sample_surface(mesh, n, seed)[0]


def _recentred(mesh: trimesh.Trimesh, poses: Poses, hand_poses: Poses) -> tuple[trimesh.Trimesh, Poses, Poses]:
    """Scale folded into the shape and the canonical origin moved to its bounding-box centre; the
    hand-implied poses follow the new origin (the mesh is carved in the scaled frame already)."""
    v = np.asarray(mesh.vertices)
    c = 0.5 * (v.min(0) + v.max(0))
    out = trimesh.Trimesh(v - c, np.asarray(mesh.faces), process=False)
    shift = lambda p: Poses(p.R.copy(), p.t + p.s * np.einsum("tij,j->ti", p.R, c), p.s)
    return out, shift(poses), shift(hand_poses)


def _photo_carved(c, poses: Poses, camera: Camera, frames: np.ndarray, masks: ClipMasks, cfg: VideoConfig):
    """The carving after photo-consistency carving of its surface (unchanged if that empties it)."""
    from hoikit.video.carve import Carving, occupancy_sdf, photo_carve, sdf_mesh

    occ = photo_carve(c.sdf < 0, c.half, poses, camera, frames, masks.object, masks.hand, cfg.carve.photo_threshold, rounds=cfg.carve.photo_rounds)
    sdf = occupancy_sdf(occ, 2 * c.half / (occ.shape[0] - 1))
    mesh = sdf_mesh(sdf, c.half)
    return c if mesh is None else Carving(mesh, sdf, c.half, float(occ.mean()))


def _scale_folded(shape: trimesh.Trimesh, poses: Poses) -> tuple[trimesh.Trimesh, Poses]:
    """The same placement with the scale folded into the shape (the next carve happens in metres)."""
    scaled = trimesh.Trimesh(np.asarray(shape.vertices) * poses.s, np.asarray(shape.faces), process=False)
    return scaled, Poses(poses.R.copy(), poses.t.copy(), 1.0)


CARVE_FALLBACKS = ((0.15, 0.3), (0.3, 0.1))  # (tolerance, support) tried after the configured carve


def _carve_robust(poses: Poses, camera: Camera, masks: ClipMasks, half: float, hand: HandTrack, hand_depth, cfg: VideoConfig, warnings: list):
    """The visual hull with the configured strictness and with looser ones, the one whose silhouettes
    match the object masks best (:func:`hoikit.video.carve.mask_iou`), and its settings. Noisy real
    masks, and pose errors of a few degrees on a long thin object, carve away in a few frames what
    the others see: the strict hull of a 24 cm screwdriver kept a 3 cm piece. All are tried: a strict
    hull that matches well (IoU ≥ 0.7) may still have lost a thin handle that a looser one keeps. An
    empty strict hull is also a warning."""
    from hoikit.video.carve import carve_settings, hand_in_object, mask_iou

    c = cfg.carve
    solid = (hand_in_object(hand.vertices, poses), hand.faces) if c.hand_solid else None
    settings = ((c.tolerance, c.support), *CARVE_FALLBACKS)
    hulls = carve_settings(poses, camera, masks.object, masks.hand, half, settings, c.resolution, c.dilate_px, hand_depth, solid)
    scored = [(mask_iou(out.mesh, poses, camera, masks.object, masks.hand), k) for k, out in enumerate(hulls) if out is not None]
    if not scored:
        return None, {}
    iou, k = max(scored, key=lambda s: s[0])  # the first of equals, as before
    (tol, sup), out = settings[k], hulls[k]
    if hulls[0] is None:
        warnings.append(f"the strict visual hull was empty; carved with tolerance {tol} and support {sup} (mask IoU {iou:.2f})")
    return out, {"tolerance": tol, "support": sup, "mask_iou": round(iou, 4)}


@deterministic()
def reconstruct(inputs: VideoInputs, hand_model, cfg: VideoConfig = VideoConfig(), generator=None, features=None) -> VideoReconstruction:
    """Run the method on perception inputs (module docstring). ``generator``: a shape generator for
    the prior (None: the visual hull of the selected frames); ``features``: a
    :class:`hoikit.perception.roles.FeatureExtractor` for template retrieval (None: silhouettes).

    Raises:
        NoHandError: no hand in any frame (exit 3).
        HoikitError: no object visible in any frame.
    """
    from hoikit.video.carve import hand_depth_maps, vertex_colours
    from hoikit.video.hands import track_hand
    from hoikit.video.masks import clip_masks
    from hoikit.video.pose import hand_implied_poses, refine_poses, refine_targets
    from hoikit.video.prior import hull_prior, object_half_size, select_frames

    t_all = time.perf_counter()
    timings: dict = dict(inputs.timings)
    clock = _Clock(timings)
    warnings: list = list(inputs.notes)
    losses: dict = {}
    camera = inputs.camera
    with clock("hands"):
        hand = track_hand(inputs.detections, camera, hand_model, inputs.side, cfg.smooth_sigma_frames, inputs.source)
    with clock("masks"):
        masks = clip_masks(inputs.frames, hand.keypoints2d, inputs.object_masks, inputs.hand_masks, None)
    area = masks.visible_area()
    if not area.any():
        raise HoikitError(f"{inputs.source or 'video'}: the object is not visible in any frame (empty masks)")
    with clock("prior"):
        chosen = select_frames(area, cfg.prior_segments)
        ref = chosen[0]
        hand_poses = hand_implied_poses(hand.R, hand.t, ref, _initial_object_pose(hand, masks, camera, ref))
        half = object_half_size(masks.object, hand_poses.t[:, 2], camera)
        prior = hull_prior(chosen, hand_poses, camera, masks.object, masks.hand, half)
        if generator is not None:
            from hoikit.video.prior import generated_prior

            prior = generated_prior(generator, inputs.frames[ref], masks.object[ref], prior, cfg.seed, cfg.prior_regressed)
    with clock("poses"):
        poses = _initial_poses(cfg, prior.mesh, hand_poses, camera, masks, inputs, features, warnings)
    hand_depth = None
    if cfg.carve.hand_depth:
        with clock("carve"):
            hand_depth = hand_depth_maps(hand.vertices, hand.faces, camera)
    targets = refine_targets(masks.object, masks.hand, cfg.refine.mask_pixels, cfg.seed, contour_only=cfg.refine.contour_only)
    shape = prior.mesh
    carved = False
    for r in range(cfg.pose_rounds):
        if cfg.refines:
            with clock("poses"):
                poses, losses[f"refine_{r}"] = refine_poses(_surface(shape, cfg.refine.points, cfg.seed), poses, camera, targets, hand_poses, cfg.refine)
        with clock("carve"):
            shape, poses = _scale_folded(shape, poses)
            last = r == cfg.pose_rounds - 1
            c, carving = _carve_robust(poses, camera, masks, half, hand, hand_depth, cfg, warnings if last else [])  # the kept shape's warning only
        if c is None:
            warnings.append(f"round {r}: the visual hull is empty; keeping the previous shape")
            break
        if last and cfg.carve.photo_threshold > 0:
            with clock("photo_carve"):
                c = _photo_carved(c, poses, camera, inputs.frames, masks, cfg)
        carved = True
        shape, poses, hand_poses = _recentred(c.mesh, poses, hand_poses)
    mesh = None
    if not carved and len(shape.faces):
        warnings.append("the object mesh is the coarse prior placed by the refined poses (carving found no consistent volume)")
    if carved or len(shape.faces):
        with clock("colour"):
            mesh = shape.copy()
            mesh.visual.vertex_colors = vertex_colours(np.asarray(mesh.vertices), np.asarray(mesh.vertex_normals), poses, camera, inputs.frames, masks.object)
        if cfg.align.iterations > 0:
            from hoikit.video.align import align_hand

            with clock("align"):
                hand, losses["align"] = align_hand(hand, mesh, poses, camera, masks.object, masks.hand, cfg.align, hand_model)
    else:
        warnings.append("no object mesh: carving found no consistent volume")
    timings["total"] = time.perf_counter() - t_all + sum(inputs.timings.values())
    return VideoReconstruction(
        camera=camera, object_mesh=mesh, poses=poses, hand=hand, masks=masks, source=inputs.source, names=inputs.names,
        fps=inputs.fps, timings=timings, losses=losses, warnings=warnings,
        backends={**inputs.backends, "segmentation": masks.source, "prior": prior.source, "hands_model": hand.model},
        extras={"config": {"variant": cfg.variant}, "prior_frames": prior.frames, "reference_frame": ref,
                "hand_fit_residual_mm": hand.fit_residual_mm, "carving": carving if carved else {}},
    )  # fmt: skip


def _initial_poses(cfg: VideoConfig, prior_mesh, hand_poses: Poses, camera, masks, inputs, features, warnings) -> Poses:
    """Each variant's starting poses."""
    if cfg.variant == "no_template_pose":
        return hand_poses.copy()
    if cfg.variant == "sfm_init":
        from hoikit.video.sfm import sfm_poses

        return sfm_poses(inputs.frames, masks, camera, hand_poses)
    from hoikit.video.templates import template_poses

    return template_poses(prior_mesh, hand_poses, camera, masks, cfg.templates, top1=cfg.variant == "top1", features=features, frames=inputs.frames)


# ------------------------------------------------------------------------------ perception
@dataclass(frozen=True)
class VideoOptions:
    """How a video becomes :class:`VideoInputs` (embedded defaults unless files are given)."""

    hand: Literal["auto", "left", "right", "largest"] = "auto"
    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None
    stride: int = 1
    max_frames: int | None = None
    object_masks: Path | None = None  # a folder of per-frame object masks
    hand_masks: Path | None = None  # a folder of per-frame hand masks
    mirrored: bool = False


def perceive_video(path: str | Path, options: VideoOptions = VideoOptions(), detector=None, segmenter=None) -> VideoInputs:
    """Frames, camera, per-frame MediaPipe hands and the masks (given folders, else ``segmenter``'s
    video tracking, else GrabCut propagated — the latter two run inside :func:`reconstruct`'s mask
    stage unless given here).

    Raises:
        InputError: unreadable video or mask folder (exit 2).
        NoHandError: no hand in any frame (exit 3).
    """
    from hoikit.io.images import Intrinsics
    from hoikit.perception.hands import HandDetectorConfig, MediaPipeHands
    from hoikit.video.frames import read_clip, read_mask_folder
    from hoikit.video.hands import detect_clip

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    clip = read_clip(path, options.stride, Intrinsics(options.fx, options.fy, options.cx, options.cy), max_frames=options.max_frames)
    size = (clip.camera.width, clip.camera.height)
    obj = read_mask_folder(options.object_masks, clip.names, clip.indices, size) if options.object_masks else None
    hnd = read_mask_folder(options.hand_masks, clip.names, clip.indices, size) if options.hand_masks else None
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    detector = detector or MediaPipeHands(HandDetectorConfig(mirrored=options.mirrored))
    dets = detect_clip(clip.frames, detector, options.hand)
    timings["detect"] = time.perf_counter() - t0
    if not any(d is not None for d in dets):
        from hoikit.errors import NoHandError

        raise NoHandError(f"{path}: no hand found in any of the {len(dets)} frames")
    n = sum(d is not None for d in dets)
    notes = list(clip.notes) + ([f"a hand was found in {n} of {len(dets)} frames; the others are interpolated"] if n < len(dets) else [])
    from hoikit.video.masks import propagated_source

    seg = "given" if obj is not None else ("sam2" if segmenter is not None else propagated_source())
    backends = {"hands": "mediapipe", "segmentation": seg}
    inputs = VideoInputs(clip.frames, clip.camera, dets, obj, hnd, options.hand, str(path), clip.names, clip.fps, notes, backends, timings)
    if obj is None and segmenter is not None:
        from hoikit.video.masks import hand_masks, segmenter_masks
        from hoikit.video.hands import fill_gaps

        kp = fill_gaps(np.stack([d.keypoints2d if d is not None else np.zeros((21, 2)) for d in dets]), np.array([d is not None for d in dets]))
        hand = hnd if hnd is not None else hand_masks(kp, clip.frames.shape[1:3])
        t0 = time.perf_counter()
        inputs.object_masks, inputs.hand_masks = segmenter_masks(clip.frames, kp, hand, segmenter), hand
        timings["segmentation"] = time.perf_counter() - t0
    return inputs


def default_generator():
    """hoikit-small with its shipped weights, or None when they are not there (the hull prior is used)."""
    from hoikit.errors import MissingCheckpointError
    from hoikit.shape.small.generator import HoikitSmall

    try:
        return HoikitSmall.load()
    except MissingCheckpointError:
        return None


def prior_generator(weights: str | Path | None):
    """The coarse-prior generator that ``--weights`` names: None (the visual hull) without it,
    hoikit-small with the shipped file for ``"default"``, else with that file (MissingCheckpointError
    naming it when it is not there)."""
    if not weights:
        return None
    from hoikit.shape.small.generator import HoikitSmall

    return HoikitSmall.load(None if str(weights) == "default" else weights)


def reconstruct_video(
    path: str | Path, out_dir: str | Path | None = None, config: VideoConfig | None = None, options: VideoOptions = VideoOptions(),
    hand_model=None, segmenter=None, features=None, overlay: bool = True, generator=None,
) -> VideoReconstruction:
    """One video (file or frame folder) → the object (canonical mesh + per-frame poses) and the hand
    of every frame; writes the result folder when ``out_dir`` is given.

    ``generator``: a shape generator for the coarse prior (``"auto"``: hoikit-small with its shipped
    weights); None (default) = the visual hull of the selected frames, which scored better than
    hoikit-small's shape on the synthetic clips (docs/video.md).

    Example::

        import hoikit
        rec = hoikit.reconstruct_video("clip.mp4", "out/clip")
        rec.object_mesh, rec.poses.R, rec.hand.joints
    """
    from hoikit.hand import load_hand_model
    from hoikit.video.outputs import write_video_result

    cfg = config or VideoConfig()
    options = VideoOptions(**{**options.__dict__, "stride": cfg.stride if options.stride == 1 else options.stride})
    inputs = perceive_video(path, options, segmenter=segmenter)
    if generator == "auto":
        generator = default_generator()
    recon = reconstruct(inputs, hand_model or load_hand_model(), cfg, generator=generator, features=features)
    if out_dir is not None:
        t0 = time.perf_counter()
        write_video_result(out_dir, recon, inputs.frames, overlay)
        recon.timings["write"] = time.perf_counter() - t0
    return recon
