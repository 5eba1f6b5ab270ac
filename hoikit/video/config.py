"""Every setting of the video method (AlignHOI on a CPU), in one place, and its ablation variants.

Variants (AlignHOI supplementary Table B): ``full`` (top-n retrieval + geometric verification +
continuous refinement), ``top1`` (the most similar template, no verification), ``no_template_pose``
(no discrete template: the pose starts from the hand and the previous frame, then refinement),
``no_refine`` (the verified template pose as is), ``sfm_init`` (object poses from pycolmap SfM
instead of templates; needs pycolmap).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Variant = Literal["full", "top1", "no_template_pose", "no_refine", "sfm_init"]
VARIANTS: tuple[str, ...] = ("full", "top1", "no_template_pose", "no_refine", "sfm_init")
Features = Literal["silhouette", "dinov2"]


@dataclass(frozen=True)
class TemplateConfig:
    """The template set (AlignHOI A.2): ``view_directions`` × ``inplane_rotations`` poses of the prior,
    rendered as ``size``-pixel crops; retrieval keeps ``top_n``."""

    view_directions: int = 57
    inplane_rotations: int = 14
    size: int = 64
    top_n: int = 5
    features: Features = "silhouette"
    # DINOv2 bag of words (used with features="dinov2")
    dinov2_layer: int | None = None
    pca_dim: int = 256
    vocabulary: int = 2048
    # geometric verification: silhouette IoU minus this × (angle to the hand-implied rotation / π)
    hand_agreement: float = 0.5
    # a verified template more than this from the clip's hand-relative consensus is an outlier
    outlier_deg: float = 35.0


@dataclass(frozen=True)
class RefineConfig:
    """Continuous pose refinement of every frame at once (silhouette + hand + temporal terms)."""

    iterations: int = 100
    lr_rotation: float = 0.02  # radians
    lr_translation: float = 0.004  # metres
    lr_log_scale: float = 0.01
    points: int = 300  # surface samples of the current shape
    mask_pixels: int = 250  # object-mask pixels sampled per frame
    contour_only: bool = False  # cover only the mask's outline away from the hand (else every mask pixel)
    w_outside: float = 1.0  # projected points outside the (object ∪ hand) mask, per pixel of distance
    w_cover: float = 1.0  # object-mask pixels far from every projected point
    w_hand_rotation: float = 20.0  # 1 − cos(angle to the hand-implied rotation): the rigid-grasp prior
    w_hand_translation: float = 0.02  # offset to the hand-implied translation per 5 cm, weak (depth is the hand's guess)
    w_smooth: float = 2.0  # second differences of translation (per cm) and rotation (per 0.1 rad)


@dataclass(frozen=True)
class CarveConfig:
    """Visual hull on a voxel grid (canonical frame) and its SDF refinement."""

    resolution: int = 64
    dilate_px: int = 1  # masks grown by this before carving (silhouette noise)
    tolerance: float = 0.05  # a voxel survives up to this share of frames voting against it
    support: float = 0.5  # … and must land on the object in this share of the frames it lands on object or hand
    hand_depth: bool = True  # voxels in front of the fitted hand are carved where the hand is
    hand_solid: bool = True  # voxels deep inside the fitted hand (in the object's frame) are not object
    photo_threshold: float = 0.04  # photo-consistency carving: largest chromaticity std of a surface voxel (0: off)
    photo_rounds: int = 6


@dataclass(frozen=True)
class AlignConfig:
    """Hand-object alignment and refinement (AlignHOI 3.4, A.4)."""

    iterations: int = 40
    lr_translation: float = 0.002
    w_mask: float = 1.0  # projected hand vertices on background, per pixel
    w_contact: float = 0.5  # squared distance of the contact fingertips to the surface, per cm²
    w_penetration: float = 200.0  # mean depth of hand vertices inside the object, per metre
    w_pose: float = 0.1  # the per-frame translation residual, per cm²
    w_keypoints: float = 0.05  # 2D keypoints, per pixel² / 100
    # articulation (with the hand model): shape and per-frame pose residuals after the translation
    articulation_iterations: int = 15
    lr_pose: float = 0.01  # radians
    lr_shape: float = 0.002  # hand length (m) and ratios
    w_pose_residual: float = 1.0  # mean squared joint-angle residual, per 0.1 rad²
    w_shape_residual: float = 1.0  # squared relative shape residual, per 10 %²


@dataclass(frozen=True)
class VideoConfig:
    """The video method's settings (module docstring)."""

    variant: Variant = "full"
    stride: int = 1
    max_frames: int | None = None
    prior_segments: int = 4
    # The generated prior decodes the generator's regressed latent for the crop when it has one
    # (hoikit-small), else a flow sample; False = always a flow sample
    prior_regressed: bool = True
    pose_rounds: int = 2  # refine poses → carve → refine against the carve → carve
    # Gaussian smoothing of the hand joints over time (frames). 2 rather than 1: on the synthetic clips
    # (3 px keypoint noise) MPJPE 4.1 → 3.0 mm and the hand-implied rotation error 2.7° → 1.9° (seed 7)
    smooth_sigma_frames: float = 2.0
    seed: int = 0
    templates: TemplateConfig = field(default_factory=TemplateConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    carve: CarveConfig = field(default_factory=CarveConfig)
    align: AlignConfig = field(default_factory=AlignConfig)

    def with_variant(self, variant: Variant) -> "VideoConfig":
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        return replace(self, variant=variant)

    @property
    def uses_templates(self) -> bool:
        return self.variant in ("full", "top1", "no_refine")

    @property
    def refines(self) -> bool:
        return self.variant != "no_refine"
