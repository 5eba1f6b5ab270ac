"""2D terms: rendered maps (:class:`hoikit.render.RenderOutput`) against observed ones.

All maps are (H, W) or (H, W, C) tensors of one view; ``mask`` / ``valid`` arguments are (H, W)
bool or float weights selecting the pixels a term looks at. An empty selection gives 0.
"""

from __future__ import annotations

import torch

from hoikit.render.projection import project
from hoikit.types import Camera

BCE_EPS = 1e-6  # probabilities are kept in [eps, 1 - eps] so log() stays finite


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Weighted mean of (H, W) values over an (H, W) bool/float mask (all pixels when None)."""
    if mask is None:
        return values.mean()
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp(min=1e-12)


def normal_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Normal alignment 1 − cos(n̂, n) averaged over ``mask`` (FollowMyHold Sec. 4.2, L_norm).

    Args:
        pred, target: (H, W, 3) normals in the same frame (hoikit: camera frame); need not be unit.
        mask: (H, W) pixels where both are defined, e.g. ``render.mask & target_valid``.
    Returns:
        scalar in [0, 2].
    """
    cos = torch.nn.functional.cosine_similarity(pred, target, dim=-1, eps=1e-12)
    return _masked_mean(1.0 - cos, mask)


def disparity_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """L1 disparity |1/z − 1/z*| averaged over ``mask`` (FollowMyHold Sec. 4.2, L_disp).

    Args:
        pred, target: (H, W) disparity in 1/metres (``RenderOutput.disparity``).
        mask: (H, W) where both are valid (the rendered background has disparity 0).
    """
    return _masked_mean((pred - target).abs(), mask)


def silhouette_bce(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy of a soft silhouette against a mask (FollowMyHold Sec. 4.2, L_sil).

    Args:
        pred: (H, W) soft coverage in [0, 1] (``silhouette`` or one of ``part_silhouettes``).
        target: (H, W) observed mask in [0, 1].
        valid: (H, W) pixels that count (e.g. :func:`iou_validity` for a part's mask).
    Returns:
        scalar, mean over valid pixels (nats).
    """
    p = pred.clamp(BCE_EPS, 1.0 - BCE_EPS)
    t = target.to(p.dtype)
    return _masked_mean(-(t * p.log() + (1.0 - t) * (1.0 - p).log()), valid)


def keypoint_loss(
    points: torch.Tensor, keypoints: torch.Tensor, camera: Camera, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """2D keypoint reprojection: mean squared pixel distance (FollowMyHold Sec. 4.2.2, Phase 1).

    Args:
        points: (J, 3) camera-frame metres (e.g. the 21 posed hand joints).
        keypoints: (J, 2) detected pixels (x, y).
        weights: (J,) detection confidences (default all 1).
    Returns:
        scalar, pixels² (weighted mean over joints).
    """
    err = (project(points, camera) - keypoints.to(points.dtype)).square().sum(-1)
    if weights is None:
        return err.mean()
    w = weights.to(err.dtype)
    return (w * err).sum() / w.sum().clamp(min=1e-12)


def iou_validity(other_mask: torch.Tensor) -> torch.Tensor:
    """Validity map V of AlignHOI eq. 13 for one part: the *other* part's observed pixels are not
    valid, so an occluder (the object, when fitting the hand) cannot penalise the fit.

    Args:
        other_mask: (H, W) bool/float observed mask of the other class.
    Returns:
        (H, W) float, 1 valid / 0 ignored.
    """
    other = other_mask if other_mask.is_floating_point() else other_mask.to(torch.get_default_dtype())
    return 1.0 - other


def masked_iou_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Masked soft IoU loss 1 − Int/Uni (AlignHOI eqs. 12–13).

    Int = Σ V·M_pred·M_gt, Uni = Σ V·M_pred + Σ V·M_gt − Int. Use the part's *visible* rendered
    silhouette (``RenderOutput.part_silhouettes[p]``, occlusion-aware) and the validity map of
    :func:`iou_validity`. Unlike a per-pixel loss it stays informative when the masks barely
    overlap: with no overlap it is 1 and the gradient still shrinks the rendered area.

    Args:
        pred: (H, W) soft rendered mask in [0, 1].
        target: (H, W) observed mask in [0, 1].
        valid: (H, W) V, 1 where the pixel counts (default everywhere).
    Returns:
        scalar in [0, 1].
    """
    t = target.to(pred.dtype)
    v = torch.ones_like(pred) if valid is None else valid.to(pred.dtype)
    inter = (v * pred * t).sum()
    union = (v * pred).sum() + (v * t).sum() - inter
    return 1.0 - inter / union.clamp(min=1e-12)
