"""The single-image pipeline: one photo in, a hand and the object it holds out (FollowMyHold).

``perceive`` turns a photo into :class:`ImageInputs` (camera, hand keypoints and metric joints,
hand and object masks, optional depth) with the embedded perception (or given masks/depth);
``reconstruct`` runs the method on those inputs; ``reconstruct_image`` does both and writes the
result folder. Benchmarks call ``reconstruct`` with ground-truth perception inputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import trimesh

from hoikit.errors import HoikitError
from hoikit.image.config import ImageConfig
from hoikit.image.cues import build_cues
from hoikit.image.guidance import GuidedSampler, HandState
from hoikit.image.placement import place_object, refine_with_cloud
from hoikit.runtime import deterministic
from hoikit.shape.interface import decode_grid
from hoikit.types import Camera, Handedness, HandEstimate, ObjectEstimate, Reconstruction, Sim3

HandSide = Literal["auto", "left", "right", "largest"]


@dataclass
class ImageInputs:
    """Perception results for one photo (image pixels, metres, camera frame).

    Attributes:
        rgb: (H, W, 3) uint8.
        camera: intrinsics of ``rgb``.
        keypoints2d: (21, 2) pixels; joints3d: (21, 3) metres, camera frame (placed by PnP).
        side: the hand's side (``"auto"`` lets the fit decide between left and right).
        hand_mask, object_mask: (H, W) bool visible masks.
        depth: (H, W) metres (0 unknown) or None.
    """

    rgb: np.ndarray
    camera: Camera
    keypoints2d: np.ndarray
    joints3d: np.ndarray
    side: Handedness | Literal["auto"]
    hand_mask: np.ndarray
    object_mask: np.ndarray
    depth: np.ndarray | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)
    backends: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- hand
def fit_hand(model, joints3d: np.ndarray, side: str) -> tuple[HandState, HandEstimate, float]:
    """Fit the hand model to the 21 camera-frame joints; with ``side="auto"`` both sides are fitted
    and the one with the smaller residual is kept. Returns (state, estimate, mean residual m)."""
    from hoikit.hand.fitting import fit_joints

    sides = ("right", "left") if side == "auto" else (side,)
    fits = [fit_joints(model, joints3d, side=s) for s in sides]
    best = min(fits, key=lambda f: f.mean_error_m)
    out = model(best.pose.to(model.dtype), best.shape.to(model.dtype), best.transform.torch(model.dtype), side=best.side)
    verts = out.vertices[0].detach().float()
    joints = out.joints[0].detach().float()
    if out.parts is not None:
        sdf = lambda p: out.sdf(p.to(out.joints.dtype))[0].to(p.dtype)
    else:  # MANO: the mesh's own signed distance
        from hoikit.geometry.sdf import mesh_signed_distance

        sdf = lambda p: mesh_signed_distance(p, verts, out.faces)
    state = HandState(verts, out.faces, joints, sdf)
    est = HandEstimate(
        joints=joints.numpy().astype(np.float64), vertices=verts.numpy().astype(np.float64), faces=out.faces.numpy(),
        side=best.side, model=getattr(model, "name", type(model).__name__),
        params={"pose": best.pose[0].tolist(), "shape": best.shape[0].tolist(), "fit_residual_mm": best.mean_error_m * 1000},
    )  # fmt: skip
    return state, est, best.mean_error_m


def _moved(state: HandState, T: Sim3) -> HandState:
    """The hand state after a camera-frame similarity ``T`` (numpy)."""
    Tt = T.torch()
    inv = Tt.inverse()
    return HandState(Tt.apply(state.vertices), state.faces, Tt.apply(state.joints), lambda p: state.sdf(inv.apply(p)) * Tt.s)


# -------------------------------------------------------------------------------- method
def _object_mesh(sdf: torch.Tensor, bounds: tuple[float, float]) -> trimesh.Trimesh | None:
    """The final object in canonical units from its SDF grid: marching cubes, the largest connected piece only."""
    from hoikit.shape.interface import grid_to_mesh

    mesh = grid_to_mesh(sdf, bounds)
    if mesh is None:
        return None
    parts = mesh.split(only_watertight=False)
    return max(parts, key=lambda m: len(m.faces)) if len(parts) > 1 else mesh


def _separate(sdf: torch.Tensor, bounds: tuple[float, float], T_o: Sim3, hand: HandState, mesh_can: trimesh.Trimesh,
              cfg: ImageConfig, object_cloud: np.ndarray | None):  # fmt: skip
    """The object shift that takes it out of the posed ``hand``, anchored to the object's depth
    points when there are any (:mod:`hoikit.image.separation`); ``sdf`` is the object's canonical grid."""
    from hoikit.geometry.grid import sample_grid
    from hoikit.image.separation import separate

    inv = T_o.inverse().torch()
    object_sdf = lambda p: sample_grid(sdf, bounds, inv.apply(p)) * float(T_o.s)
    return separate(hand.sdf, hand.vertices.numpy(), object_sdf, T_o.apply(np.asarray(mesh_can.vertices)), cfg.separation, object_cloud)


@deterministic()
def reconstruct(inputs: ImageInputs, gen, hand_model, cfg: ImageConfig = ImageConfig(), inpainter=None) -> Reconstruction:
    """Run the method on perception inputs (see :class:`ImageInputs`); ``inpainter`` (an
    :class:`hoikit.perception.roles.Inpainter`, e.g. FLUX.1 Kontext) replaces OpenCV's hand removal."""
    from hoikit.io.depth import backproject

    t_all = time.perf_counter()
    timings = dict(inputs.timings)
    warnings: list[str] = list(inputs.notes)
    if not inputs.object_mask.any():
        raise HoikitError(f"{inputs.source or 'image'}: the object mask is empty")
    t0 = time.perf_counter()
    hand, hand_est, residual = fit_hand(hand_model, inputs.joints3d, inputs.side)
    hand_est.keypoints2d = inputs.keypoints2d
    timings["hand_fit"] = time.perf_counter() - t0
    inpainted = None
    if inpainter is not None:
        from hoikit.perception.inpainting import InpaintResult, amodal_object_mask

        rgb = inpainter.inpaint(inputs.rgb, inputs.hand_mask, inputs.object_mask)
        inpainted = InpaintResult(rgb, amodal_object_mask(inputs.object_mask, inputs.hand_mask), inpainter.name)
    cues = build_cues(inputs.rgb, inputs.camera, inputs.keypoints2d, inputs.hand_mask, inputs.object_mask, cfg.crop_px, inputs.depth, inpainted)
    object_cloud = None
    if inputs.depth is not None:  # two-step ICP, step 2 first: the hand onto its partial cloud
        K = inputs.camera.K
        hand_cloud = backproject(inputs.depth, K, inputs.hand_mask)
        T_h = refine_with_cloud(hand.vertices.numpy().astype(np.float64), hand_cloud)
        hand = _moved(hand, T_h)
        object_cloud = backproject(inputs.depth, K, inputs.object_mask)
    t0 = time.perf_counter()
    cond = gen.condition(cues.object_rgba)
    timings["condition"] = time.perf_counter() - t0

    def placement(canonical_vertices: np.ndarray) -> Sim3:
        joints = hand.joints.numpy().astype(np.float64)
        if object_cloud is None or len(object_cloud) < 50:
            return place_object(canonical_vertices, cues, joints)
        front = float(np.median(np.linalg.norm(object_cloud, axis=1)))
        T0 = place_object(canonical_vertices, cues, joints, front_distance=front)
        return refine_with_cloud(T0.apply(canonical_vertices), object_cloud).compose(T0)

    for attempt in range(cfg.surface_retries + 1):  # a sample without a surface is drawn again
        result = GuidedSampler(gen, cond, cues, hand, cfg, placement, object_cloud).run(torch.Generator().manual_seed(cfg.seed + attempt))
        for k, v in result.timings.items():
            timings[f"guidance_{k}"] = timings.get(f"guidance_{k}", 0.0) + v
        t0 = time.perf_counter()
        with torch.no_grad():
            sdf = decode_grid(gen, result.latent, cfg.final_grid_res)[0].float()
        mesh_can = _object_mesh(sdf, gen.bounds)
        timings["final_mesh"] = timings.get("final_mesh", 0.0) + time.perf_counter() - t0
        if mesh_can is not None:
            break
        warnings.append(f"seed {cfg.seed + attempt}: the generated shape has no surface")
    T_h = result.hand_transform
    hand_est.vertices = T_h.apply(hand.vertices.numpy().astype(np.float64))
    hand_est.joints = T_h.apply(hand.joints.numpy().astype(np.float64))
    hand_est.params["guidance_transform"] = T_h.to_dict()
    obj_est = separation = None
    if mesh_can is None:
        warnings.append("the generated shape has no surface; no object mesh was produced")
    else:
        T_o = result.object_transform
        if cfg.separation.enabled:
            t0 = time.perf_counter()
            separation = _separate(sdf, gen.bounds, T_o, _moved(hand, T_h), mesh_can, cfg, object_cloud)
            T_o = Sim3(T_o.s, T_o.R, T_o.t + separation.shift)
            timings["separation"] = time.perf_counter() - t0
        obj_est = ObjectEstimate(T_o.apply(np.asarray(mesh_can.vertices)), np.asarray(mesh_can.faces), T_o, gen.name)
    timings["total"] = time.perf_counter() - t_all + sum(inputs.timings.values())
    return Reconstruction(
        camera=inputs.camera, hand=hand_est, object=obj_est, source=inputs.source, timings=timings,
        losses={k: v[-1] if v else None for k, v in result.losses.items()}, warnings=warnings,
        backends={**inputs.backends, "shape": gen.name, "hands_model": hand_est.model, "inpainting": cues.inpaint_source},
        extras={"config": {"preset": cfg.preset, "ablation": cfg.ablation, "steps": cfg.num_steps},
                "hand_fit_residual_mm": residual * 1000, "crop_box": list(cues.crop_box),
                "separation": separation.to_dict() if separation else None},
    )  # fmt: skip


# ------------------------------------------------------------------------------ perception
@dataclass(frozen=True)
class PerceptionOptions:
    """How a photo becomes :class:`ImageInputs` (the embedded defaults unless files are given)."""

    hand: HandSide = "auto"
    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None
    object_mask: Path | None = None
    depth: Path | None = None
    mirrored: bool = False  # a selfie-style image: MediaPipe's handedness labels then hold
    side_confidence: float = 0.8  # below this MediaPipe handedness score the fit picks the side


def perceive(photo: str | Path, options: PerceptionOptions = PerceptionOptions(), detector=None, models: "Models | None" = None) -> ImageInputs:
    """Perception of one photo: image + intrinsics, MediaPipe hand (with retries) placed by PnP,
    object mask (given, else ``models.segmenter`` prompted by the grasp, else the embedded
    segmenter on the grasp: hoikit-seg or GrabCut), depth (given, else ``models.geometry`` such as MoGe-2, else none).

    Raises:
        InputError: unreadable image / mask / depth (exit 2).
        NoHandError: no hand, or none of the requested side (exit 3).
    """
    from hoikit.errors import NoHandError
    from hoikit.io.depth import load_depth
    from hoikit.io.images import Intrinsics, camera_for, load_image, load_mask
    from hoikit.perception.hands import HandDetectorConfig, MediaPipeHands, choose_hand, no_hand_error, place_in_camera
    from hoikit.perception.graspseg.segmenter import DEFAULT_EMBEDDED, embedded_masks
    from hoikit.perception.segmentation import grasp_prompt, hand_mask_from_keypoints, or_grasp_region

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    image = load_image(photo)
    camera = camera_for(image, Intrinsics(options.fx, options.fy, options.cx, options.cy))
    given_mask = load_mask(options.object_mask, image.size) if options.object_mask else None
    depth = load_depth(options.depth, image.size) if options.depth else None
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    detector = detector or MediaPipeHands(HandDetectorConfig(mirrored=options.mirrored))
    hands = detector.detect(image.rgb)
    if not hands:
        raise no_hand_error(str(photo), detector.tried)
    hand = choose_hand(hands, options.hand, given_mask)
    if hand is None:
        raise NoHandError(f"{photo}: no {options.hand} hand found ({len(hands)} hand(s) of the other side)")
    joints = place_in_camera(hand, camera)
    timings["hands"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    notes = list(image.notes)
    backends = {"hands": f"mediapipe ({hand.attempt})", "depth": "given" if depth is not None else "none"}
    if given_mask is not None:
        hand_mask = hand_mask_from_keypoints(hand.keypoints2d, given_mask.shape)
        object_mask, backends["segmentation"] = given_mask & ~hand_mask, "given"
    elif models is not None and models.segmenter is not None:
        hand_mask = hand_mask_from_keypoints(hand.keypoints2d, image.rgb.shape[:2])
        object_mask = models.segmenter.segment(image.rgb, grasp_prompt(hand.keypoints2d, hand_mask)) & ~hand_mask
        backends["segmentation"] = models.segmenter.name
    else:
        others = tuple(h.keypoints2d for h in hands if h is not hand)
        masks = embedded_masks(image.rgb, hand.keypoints2d, others, models.embedded_segmenter if models else DEFAULT_EMBEDDED)
        hand_mask, object_mask, backends["segmentation"] = masks.hand, masks.object, masks.source
    if depth is None and models is not None and models.geometry is not None:
        depth = _depth_at(models.geometry.estimate(image.rgb).depth, image.size)
        backends["depth"] = models.geometry.name
    object_mask, fell_back = or_grasp_region(object_mask, hand.keypoints2d, hand_mask)
    if fell_back:
        notes.append("object segmentation found nothing; using the region the grasp encloses")
    timings["segmentation"] = time.perf_counter() - t0
    side = hand.side if (options.hand in ("left", "right") or hand.side_score >= options.side_confidence) else "auto"
    return ImageInputs(image.rgb, camera, hand.keypoints2d, joints, side, hand_mask, object_mask, depth, str(photo), notes, backends, timings)


def _depth_at(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) depth resized (nearest) to ``size`` = (W, H) when an estimator worked at another size."""
    import cv2

    if depth.shape[::-1] == tuple(size):
        return depth
    return cv2.resize(depth, tuple(size), interpolation=cv2.INTER_NEAREST)


# ------------------------------------------------------------------------------ end to end
@dataclass(frozen=True)
class Models:
    """The members in use (loaded once per batch): shape generator and hand model, and the
    optional perception adapters — ``None`` means the embedded default (``embedded_segmenter``,
    no/given depth, OpenCV inpainting)."""

    generator: object
    hand: object
    segmenter: object | None = None
    geometry: object | None = None
    inpainter: object | None = None
    embedded_segmenter: str = "hoikit-seg"  # used when ``segmenter`` is None: "hoikit-seg" or "grabcut"

    @classmethod
    def load(cls, config=None, weights: Path | None = None) -> "Models":
        """Members chosen by a :class:`hoikit.models.registry.ModelsConfig` (default: embedded ones).

        Raises:
            MissingCheckpointError: an adapter's checkpoint is not on disk (names every place looked).
        """
        from hoikit.hand import load_hand_model
        from hoikit.models.registry import ModelsConfig, load_backend
        from hoikit.perception.graspseg.segmenter import DEFAULT_EMBEDDED, EMBEDDED_SEGMENTERS

        config = config or ModelsConfig()
        chosen = {role: getattr(config, role) for role in ("segmentation", "depth", "inpainting", "shape")}
        embedded = {"segmentation": EMBEDDED_SEGMENTERS, "depth": ("depth-file",), "inpainting": ("opencv-telea",), "shape": ("hoikit-small",)}
        extra = {role: load_backend(role, config) for role, name in chosen.items() if name not in embedded[role] and role != "shape"}
        if chosen["shape"] == "hoikit-small":
            from hoikit.shape.small.generator import HoikitSmall

            gen = HoikitSmall.load(weights)
        else:
            gen = load_backend("shape", config)
        seg = chosen["segmentation"] if chosen["segmentation"] in EMBEDDED_SEGMENTERS else DEFAULT_EMBEDDED
        return cls(gen, load_hand_model(config.mano), extra.get("segmentation"), extra.get("depth"), extra.get("inpainting"), seg)


def pictures(rgb: np.ndarray, recon: Reconstruction) -> dict[str, np.ndarray]:
    """overlay.png and views.png of a reconstruction."""
    from hoikit.render.overlay import overlay, views

    return {"overlay.png": overlay(rgb, recon), "views.png": views(recon)}


def reconstruct_image(
    photo: str | Path,
    out_dir: str | Path | None = None,
    config: ImageConfig | None = None,
    options: PerceptionOptions = PerceptionOptions(),
    models: Models | None = None,
) -> Reconstruction:
    """One photo → hand + object (camera frame, metres); writes the result folder when ``out_dir``.

    Example::

        import hoikit
        rec = hoikit.reconstruct_image("photo.jpg", "out/photo")
        rec.object.vertices, rec.hand.joints
    """
    from hoikit.io.bundle import write_bundle

    cfg = config or ImageConfig()
    models = models or Models.load()
    inputs = perceive(photo, options, models=models)
    recon = reconstruct(inputs, models.generator, models.hand, cfg, models.inpainter)
    if out_dir is not None:
        t0 = time.perf_counter()
        write_bundle(out_dir, recon, pictures(inputs.rgb, recon))
        recon.timings["write"] = time.perf_counter() - t0
    return recon
