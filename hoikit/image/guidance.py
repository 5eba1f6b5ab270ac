"""Inference-time guidance with staged optimisation (FollowMyHold Sec. 4.2, Algorithm 1).

The rectified flow is integrated from noise (t = 0) to data (t = 1). At the guided steps the
velocity ``v`` of the current step becomes an optimisation variable next to the hand and object
transforms ``T_h``, ``T_o``: each inner Adam step forms the clean estimate x̂₁ = x_t + (1 − σ_t)·v,
decodes its SDF on a grid, meshes it (differentiable marching cubes), places the mesh with
``T_o``, renders the hand and object, and back-propagates the 2D and 3D objective into
(v, T_o, T_h). The flow step then uses the steered velocity.

Phases (the schedule and every weight: :class:`hoikit.image.config.ImageConfig`):

1. **hand** (at τ₁): only ``T_h``; hand silhouette (object pixels ignored), 2D keypoints, and the
   hand's normals and disparity when there is depth; translation/scale regularisers.
2. **object** (at τ₂): ``T_o`` and ``v``, hand fixed; the object's visible silhouette, normals,
   disparity; regularisers and mesh smoothness.
3. **joint** (after τ₂, to the end): ``v``, ``T_o``, ``T_h``; the hand+object maps, intersection
   (eq. 3, soft) and proximity (eq. 4), and the phase-1/2 terms at lower weights.

Transforms act about the current centre of their mesh (scale and rotate in place, then shift),
as in the official release, so a small rotation does not swing the object across the image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from hoikit.geometry.grid import sample_grid
from hoikit.geometry.marching_cubes import marching_cubes
from hoikit.geometry.sampling import every_kth
from hoikit.geometry.sim3 import Sim3Params
from hoikit.image.config import ImageConfig, PhaseWeights
from hoikit.image.cues import Cues
from hoikit.objectives.image import disparity_loss, keypoint_loss, normal_loss, silhouette_bce
from hoikit.objectives.interaction import intersection_loss, overlap_grid, proximity_loss, surface_loss
from hoikit.objectives.regularisers import laplacian_smoothness, scale_reg, translation_reg
from hoikit.render.renderer import render
from hoikit.shape.interface import Conditioning, ShapeGenerator, clean_estimate, decode_grid, euler_step, flow_sigmas, velocity_towards
from hoikit.types import M_TO_CM, Sim3

TRANSLATION_UNIT_M = 0.05  # translation regularisers count in units of 5 cm
DISPARITY_UNIT_REL = 0.05  # disparity errors count in units of 5 % of the scene's disparity
INTERSECTION_GRID = 16


@dataclass
class HandState:
    """The fitted hand in the camera frame before ``T_h``: mesh, joints and its SDF (metres)."""

    vertices: torch.Tensor  # (V, 3)
    faces: torch.Tensor  # (F, 3)
    joints: torch.Tensor  # (21, 3)
    sdf: Callable[[torch.Tensor], torch.Tensor]  # (N, 3) camera-frame points → (N,) metres

    @property
    def centre(self) -> torch.Tensor:
        v = self.vertices
        return 0.5 * (v.min(0).values + v.max(0).values)


@dataclass
class GuidanceResult:
    latent: torch.Tensor
    hand_transform: Sim3  # applied to the fitted hand (camera frame)
    object_transform: Sim3  # canonical → camera
    losses: dict = field(default_factory=dict)  # phase → list of per-iteration totals
    timings: dict = field(default_factory=dict)


def about(T: Sim3, centre: torch.Tensor) -> Sim3:
    """``T`` acting about ``centre``: x ↦ c + s·R·(x − c) + t."""
    return Sim3(T.s, T.R, centre - T.s * (T.R @ centre) + T.t)


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """(H, W) separable Gaussian blur (σ in pixels; ≤ 0 returns the input)."""
    if sigma <= 0:
        return img
    r = max(1, int(3 * sigma))
    x = torch.arange(-r, r + 1, dtype=img.dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    im = img[None, None]
    im = torch.nn.functional.conv2d(torch.nn.functional.pad(im, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    im = torch.nn.functional.conv2d(torch.nn.functional.pad(im, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return im[0, 0]


class GuidedSampler:
    """One guided generation for one image. ``run()`` returns the final latent and transforms."""

    def __init__(self, gen: ShapeGenerator, cond: Conditioning, cues: Cues, hand: HandState, cfg: ImageConfig,
                 place_object: Callable[[np.ndarray], Sim3], object_cloud: np.ndarray | None = None):  # fmt: skip
        self.gen, self.cond, self.cues, self.hand, self.cfg = gen, cond, cues, hand, cfg
        # the object's measured surface points (camera frame, metres), evenly subsampled
        self._surface_points = None
        if object_cloud is not None and len(object_cloud):
            self._surface_points = torch.as_tensor(every_kth(object_cloud, cfg.surface_points), dtype=torch.float32)
        self.place_object = place_object  # canonical vertices of a coarse shape → canonical→camera
        self.hand_params = Sim3Params(rotation="axis-angle", dtype=torch.float32)
        self.obj_params = Sim3Params(rotation="axis-angle", dtype=torch.float32)
        self.T_init: Sim3 | None = None  # canonical → camera, set when the object first appears
        self.losses: dict[str, list[float]] = {}
        self.blur = cfg.blur_px * cfg.crop_px / 160.0
        self._targets = {k: gaussian_blur(getattr(cues, k), self.blur) for k in ("hand_mask", "object_mask", "hoi_mask")}

    # ------------------------------------------------------------------- current geometry
    def hand_transform(self) -> Sim3:
        return about(self.hand_params(), self.hand.centre)

    def posed_hand(self) -> tuple[torch.Tensor, torch.Tensor]:
        T = self.hand_transform()
        return T.apply(self.hand.vertices), T.apply(self.hand.joints)

    def object_transform(self) -> Sim3:
        """canonical → camera: the initial placement, then ``T_o`` about the placed centre."""
        T0 = self.T_init.torch()
        return about(self.obj_params(), self._object_centre).compose(T0)

    def decode(self, latent: torch.Tensor, res: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """SDF grid (R, R, R) and its mesh (canonical units) for one latent."""
        grid = decode_grid(self.gen, latent, res)[0]
        verts, faces = marching_cubes(grid, self.gen.bounds)
        return grid, verts.to(grid.dtype), faces

    def ensure_placed(self, latent_hat: torch.Tensor) -> None:
        """Place the object the first time it is needed (from the current clean estimate)."""
        if self.T_init is not None:
            return
        with torch.no_grad():
            _, verts, _ = self.decode(latent_hat, self.cfg.grid_res)
        v = verts.numpy().astype(np.float64)
        if len(v) == 0:  # nothing decoded yet: a unit cube stands in for the extent
            v = np.array([[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]])
        self.T_init = self.place_object(v)
        self._object_centre = torch.as_tensor(self.T_init.apply(0.5 * (v.min(0) + v.max(0))[None])[0], dtype=torch.float32)

    # --------------------------------------------------------------------------- losses
    def objective(self, w: PhaseWeights, step: int, hand_free: bool, latent_hat: torch.Tensor | None, with_object: bool) -> tuple[torch.Tensor, dict]:
        """The weighted sum of one phase's terms for the current variables."""
        cfg, cues = self.cfg, self.cues
        hv, hj = self.posed_hand()
        if not hand_free:
            hv, hj = hv.detach(), hj.detach()
        meshes = [(hv, self.hand.faces)]
        terms: dict[str, torch.Tensor] = {}
        ov = grid = None
        if with_object:
            grid, vc, faces = self.decode(latent_hat, cfg.grid_res) if latent_hat is not None else self._fixed_mesh
            if len(faces) == 0:
                raise _EmptyMesh()
            T = self.object_transform()
            ov = T.apply(vc)
            meshes.append((ov, faces))
            if w.smoothness:
                terms["smoothness"] = w.smoothness * laplacian_smoothness(vc, faces)
        out = render(meshes, cues.crop)
        blur = lambda x: gaussian_blur(x, self.blur)
        hand_sil = out.part_silhouettes[0]
        if w.sil_hand:
            # with no object rendered, pixels the object hides in the photo are not evidence
            valid = None if with_object else 1.0 - cues.object_mask
            terms["sil_hand"] = w.sil_hand * silhouette_bce(blur(hand_sil), self._targets["hand_mask"], valid)
        if with_object and w.sil_object:
            terms["sil_object"] = w.sil_object * silhouette_bce(blur(out.part_silhouettes[1]), self._targets["object_mask"])
        if with_object and w.sil_hoi:
            terms["sil_hoi"] = w.sil_hoi * silhouette_bce(blur(out.silhouette), self._targets["hoi_mask"])
        if w.keypoints:
            terms["keypoints"] = w.keypoints * keypoint_loss(hj, cues.keypoints2d, cues.crop) / cfg.crop_px**2 * 100.0
        if cues.has_depth and (w.normal or w.disparity):
            sel = out.mask & cues.depth_valid
            if not with_object:
                sel = sel & (cues.object_mask < 0.5)
            if w.normal:
                terms["normal"] = w.normal * normal_loss(out.normals, cues.normals, sel & (cues.normals.abs().sum(-1) > 0))
            if w.disparity:
                terms["disparity"] = w.disparity * disparity_loss(out.disparity, cues.disparity, sel) * self._disparity_unit
        if with_object and w.surface and self._surface_points is not None and grid is not None:
            To = self.object_transform()  # not ``T``: same gradient, other summation order, and the sampler amplifies it
            sdf = sample_grid(grid, self.gen.bounds, To.inverse().apply(self._surface_points)) * To.s
            terms["surface"] = w.surface * surface_loss(sdf, cfg.surface_cap_m) * M_TO_CM
        if hand_free and w.hand_translation:
            terms["hand_translation"] = w.hand_translation * translation_reg(self.hand_params.t / TRANSLATION_UNIT_M)
        if with_object and w.object_translation:
            terms["object_translation"] = w.object_translation * translation_reg(self.obj_params.t / TRANSLATION_UNIT_M)
        if w.scale:
            terms["scale"] = w.scale * (scale_reg(self.hand_params.log_s) + scale_reg(self.obj_params.log_s))
        if with_object and w.proximity:
            terms["proximity"] = w.proximity * proximity_loss(hv, ov, cfg.proximity_margin_m) / cfg.proximity_margin_m
        if with_object and w.intersection and grid is not None:
            factor = cfg.late_intersection_factor if step >= cfg.num_steps - 3 else 1.0
            terms["intersection"] = factor * w.intersection * self._intersection(hv, ov, grid)
        total = sum(terms.values())
        return total, {k: float(v.detach()) for k, v in terms.items()}

    @property
    def _disparity_unit(self) -> float:
        """Disparity errors are counted relative to the scene's disparity (1/m varies with depth)."""
        d = self.cues.disparity
        if d is None or not (d > 0).any():
            return 1.0
        return float(1.0 / (DISPARITY_UNIT_REL * d[d > 0].median()))

    def _intersection(self, hv: torch.Tensor, ov: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        pts = overlap_grid(hv, ov, INTERSECTION_GRID)
        if len(pts) == 0:
            return hv.sum() * 0.0
        Th = self.hand_transform()
        sdf_h = self.hand.sdf(Th.inverse().apply(pts)) * Th.s
        To = self.object_transform()
        sdf_o = sample_grid(grid, self.gen.bounds, To.inverse().apply(pts)) * To.s
        return intersection_loss(sdf_h, sdf_o, self.cfg.intersection_temperature_m)

    # ------------------------------------------------------------------------ optimisation
    def optimise(self, phase: str, x: torch.Tensor, sigma: float, v: torch.Tensor, step: int) -> torch.Tensor:
        """Run one phase's inner loop at flow step ``step``; returns the (possibly steered) velocity."""
        cfg = self.cfg
        weights = {"hand": cfg.hand_phase, "object": cfg.object_phase, "joint": cfg.joint_phase}[phase]
        iters = {"hand": cfg.hand_iters, "object": cfg.object_iters, "joint": cfg.joint_iters}[phase]
        steer = phase != "hand" and cfg.ablation != "no_guidance"
        hand_free = phase in ("hand", "joint")
        with_object = phase != "hand"
        v_var = v.clone().requires_grad_(steer)
        groups = []
        if steer:
            groups.append({"params": [v_var], "lr": cfg.lr.velocity})
        hand_scale_free = self.cues.has_depth or not cfg.metric_hand  # no depth: the metric hand is the anchor
        hand_factor = cfg.lr.joint_hand_factor if phase == "joint" else 1.0
        for params, free, scaled, f in ((self.hand_params, hand_free, hand_scale_free, hand_factor), (self.obj_params, with_object, True, 1.0)):
            if free:
                groups += [{"params": [params.rot], "lr": f * cfg.lr.rotation}, {"params": [params.t], "lr": f * cfg.lr.translation}]
                if scaled:
                    groups.append({"params": [params.log_s], "lr": f * cfg.lr.log_scale})
        opt = torch.optim.Adam(groups, betas=(0.9, 0.99))
        trace = self.losses.setdefault(f"{phase}@{step}", [])
        if with_object and not steer:
            self._fixed_mesh = self.decode(clean_estimate(x, v, sigma), cfg.grid_res)
        for _ in range(iters):
            latent_hat = clean_estimate(x, v_var, sigma) if steer else None
            try:
                total, _ = self.objective(weights, step, hand_free, latent_hat, with_object)
            except _EmptyMesh:
                break
            opt.zero_grad()
            total.backward()
            opt.step()
            trace.append(float(total.detach()))
        return v_var.detach()

    # ------------------------------------------------------------------------------- run
    def schedule(self) -> dict[int, str]:
        """Flow step → phase, by ablation (FollowMyHold Table 2)."""
        cfg = self.cfg
        t1, t2, n = cfg.hand_step, cfg.guidance_start, cfg.num_steps
        later = {i: "joint" for i in range(t2 + 1, n)}
        return {
            "full": {t1: "hand", t2: "object", **later},
            "no_phase1": {t2: "object", **later},
            "no_phase2": {t1: "hand", **{i: "joint" for i in range(t2, n)}},
            "swap_phases": {t1: "object", t2: "hand", **later},
            "joint_only": {i: "joint" for i in range(t1, n)},
            "no_guidance": {},
        }[cfg.ablation]

    def run(self, generator: torch.Generator | None = None) -> GuidanceResult:
        cfg = self.cfg
        sig = flow_sigmas(cfg.num_steps)
        x = torch.randn(1, *self.gen.latent_shape, generator=generator)
        plan = self.schedule()
        timings: dict[str, float] = {}
        for i in range(cfg.num_steps):
            s, s_next = float(sig[i]), float(sig[i + 1])
            scale = cfg.guidance_scale
            if cfg.decay_guidance_scale and i > cfg.guidance_start:
                scale = max(1.0, scale * (1.0 - i / cfg.num_steps))
            with torch.no_grad():
                if i < cfg.regressed_steps and self.cond.mean is not None:
                    v = velocity_towards(x, self.cond.mean, s)
                else:
                    v = self.gen.velocity(x, torch.full((1,), s), self.cond, scale)
            phase = plan.get(i)
            if phase:
                t0 = time.perf_counter()
                if phase != "hand":
                    self.ensure_placed(clean_estimate(x, v, s))
                v = self.optimise(phase, x, s, v, i)
                timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - t0
            x = euler_step(x, v, s, s_next)
        if cfg.ablation == "no_guidance":  # sample first, then optimise the transforms alone
            t0 = time.perf_counter()
            self.ensure_placed(x)
            v0 = torch.zeros_like(x)
            for phase in ("hand", "object", "joint"):
                self.optimise(phase, x, 1.0, v0, cfg.num_steps)
            timings["transforms"] = time.perf_counter() - t0
        self.ensure_placed(x)
        return GuidanceResult(x.detach(), self.hand_transform().numpy(), self.object_transform().numpy(), self.losses, timings)


class _EmptyMesh(Exception):
    """The decoded field has no surface (the inner loop stops)."""
