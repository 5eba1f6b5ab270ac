"""Every weight, step count and schedule of the single-image method, in one place.

Presets: ``paper`` (FollowMyHold's published schedule: 20 flow steps, the hand phase at step 9,
guidance from step 10 to the end, 200/100/50 inner Adam steps, object guidance scale 5) and
``fast`` (the same algorithm sized for a 2-core CPU). Ablations (FollowMyHold Table 2) are
switches on the same config.

Loss weights: the phase weights follow the relative emphasis of the official release (silhouette
dominant for the object phase, proximity and HOI maps for the joint phase, a tiny intersection
weight raised near the end), re-scaled to hoikit's loss normalisations (keypoints in crop-relative
units, metric disparity in 1/m, SDFs in metres).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from hoikit.image.separation import SeparationConfig

Preset = Literal["paper", "fast"]
Ablation = Literal["full", "no_guidance", "no_phase1", "no_phase2", "swap_phases", "joint_only"]
ABLATIONS: tuple[str, ...] = ("full", "no_guidance", "no_phase1", "no_phase2", "swap_phases", "joint_only")


@dataclass(frozen=True)
class PhaseWeights:
    """Weights of one phase's objective. Zero switches a term off."""

    sil_hand: float = 0.0
    sil_object: float = 0.0
    sil_hoi: float = 0.0
    keypoints: float = 0.0
    normal: float = 0.0  # 1 − cos against the depth cue's normals (needs depth)
    disparity: float = 0.0  # L1 against the depth cue's disparity (needs depth)
    surface: float = 0.0  # mean |object SDF| at the depth cue's object points, cm (needs depth)
    hand_translation: float = 0.0  # ‖t_h‖² (metres²)
    object_translation: float = 0.0  # ‖t_o‖²
    scale: float = 0.0  # (log s)² for both transforms
    smoothness: float = 0.0  # uniform Laplacian of the object mesh
    intersection: float = 0.0  # soft FollowMyHold eq. 3
    proximity: float = 0.0  # FollowMyHold eq. 4 (hand → object, 1 cm margin)


@dataclass(frozen=True)
class LearningRates:
    """Adam step sizes per variable group."""

    log_scale: float = 0.01
    rotation: float = 0.02
    translation: float = 0.003  # metres
    velocity: float = 0.01  # latent units (0.03 let one-view silhouettes stretch the unseen depth)
    # the hand's step sizes in the joint phase are these × the above (the official release: 1e-4
    # against 1e-2 for scale and translation, 1e-2 against 0.5 for rotation): the hand was fitted in
    # phase 1, and the joint terms should move the object to it, not drag it onto the object
    joint_hand_factor: float = 0.01


@dataclass(frozen=True)
class ImageConfig:
    """The single-image method's schedule and weights (see module docstring)."""

    preset: Preset = "fast"
    ablation: Ablation = "full"
    num_steps: int = 10  # flow steps
    hand_step: int = 4  # τ1: the hand-only phase runs at this step
    guidance_start: int = 5  # τ2: object phase here, joint phase after it, to the end
    hand_iters: int = 60
    object_iters: int = 30
    joint_iters: int = 12
    metric_hand: bool = False  # True: without depth the hand keeps its placed (metric) scale; see docs/image.md "The hand's scale"
    guidance_scale: float = 1.0  # classifier-free guidance of the shape generator (1 = none: hoikit-small thins thin objects away under CFG)
    decay_guidance_scale: bool = True  # w·(1 − i/N) once guidance starts (official release)
    grid_res: int = 40  # SDF grid the guidance loop meshes (canonical cube)
    final_grid_res: int = 64  # the exported object mesh
    crop_px: int = 160  # the working crop around the hand and object (square)
    blur_px: float = 1.5  # silhouettes (rendered and target) are blurred by this σ (wider basin)
    proximity_margin_m: float = 0.01
    intersection_temperature_m: float = 0.002
    intersection_points: int = 4096
    surface_points: int = 1024  # depth points of the object the surface term uses (evenly subsampled)
    surface_cap_m: float = 0.03  # a depth point farther than this from the surface counts this much (mask errors)
    # the first this many flow steps follow the straight path from the noise to the generator's
    # deterministic latent (hoikit-small's latent regressor; generators without one ignore it)
    # instead of its velocity; 0: the flow alone. Up to guidance_start: the guided steps keep the
    # flow (48 synthetic photos, docs/image.md: full mean / median CD 5.43 / 3.68 → 4.62 / 2.54 cm²)
    regressed_steps: int = 5
    seed: int = 0
    surface_retries: int = 2  # guided samples drawn again (seed + 1, …) when one decodes to no surface
    lr: LearningRates = field(default_factory=LearningRates)
    hand_phase: PhaseWeights = field(
        default_factory=lambda: PhaseWeights(sil_hand=1.0, keypoints=1.0, normal=0.5, disparity=0.5, hand_translation=1.0, scale=0.1)
    )
    object_phase: PhaseWeights = field(
        default_factory=lambda: PhaseWeights(sil_object=4.0, normal=1.0, disparity=1.0, object_translation=1.0, scale=0.1, smoothness=0.05)
    )
    # proximity (a mean over every hand vertex, in units of its 1 cm margin) at 0.5: at 5 it outweighed
    # the silhouettes far more than in the official release (10·metres against 10·BCE) and grew the
    # object until it reached the whole hand (24 synthetic photos: object 13 % too large; CD mean 4.87 → 3.81)
    joint_phase: PhaseWeights = field(
        default_factory=lambda: PhaseWeights(
            sil_hand=0.5, sil_object=2.0, sil_hoi=2.0, keypoints=1.0, normal=1.0, disparity=1.0, hand_translation=1.0,
            object_translation=0.3, scale=0.1, smoothness=0.05, intersection=5.0, proximity=0.5,
        )
    )  # fmt: skip
    late_intersection_factor: float = 10.0  # the intersection weight × this over the last 3 steps
    separation: SeparationConfig = field(default_factory=SeparationConfig)  # the overlap left after guidance

    def with_ablation(self, ablation: Ablation) -> "ImageConfig":
        if ablation not in ABLATIONS:
            raise ValueError(f"unknown ablation {ablation!r}; expected one of {', '.join(ABLATIONS)}")
        return replace(self, ablation=ablation)


def preset(name: Preset = "fast") -> ImageConfig:
    """The named preset."""
    if name == "fast":
        return ImageConfig()
    if name == "paper":
        return ImageConfig(
            preset="paper", num_steps=20, hand_step=9, guidance_start=10, hand_iters=200, object_iters=100, joint_iters=50,
            guidance_scale=5.0, grid_res=64, final_grid_res=96, crop_px=256, regressed_steps=10,
        )  # fmt: skip
    raise ValueError(f"unknown preset {name!r}; expected 'fast' or 'paper'")
