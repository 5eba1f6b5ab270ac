"""Loss terms of the two pipelines, one small pure function each, weights left to the caller.

- :mod:`~hoikit.objectives.image`: rendered maps against observed ones — normals, disparity,
  silhouette (BCE), 2D keypoints (FollowMyHold Sec. 4.2) and masked IoU (AlignHOI eqs. 12–13).
- :mod:`~hoikit.objectives.regularisers`: translation, scale drift, mesh smoothness.
- :mod:`~hoikit.objectives.interaction`: hand–object intersection and proximity (FollowMyHold
  eqs. 3–4), contact and penetration (AlignHOI eqs. 14–15).

Every term returns a scalar tensor and is differentiable in its tensor inputs. Names are imported
on first use.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "image": ["disparity_loss", "iou_validity", "keypoint_loss", "masked_iou_loss", "normal_loss", "silhouette_bce"],
    "regularisers": ["laplacian_smoothness", "scale_reg", "translation_reg", "uniform_laplacian"],
    "interaction": [
        "contact_loss", "intersection_loss", "nearest_distance", "overlap_grid", "penetration_loss",
        "proximity_loss", "soft_inside", "surface_loss",
    ],
})  # fmt: skip
