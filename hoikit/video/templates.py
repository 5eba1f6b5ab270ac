"""The template set (AlignHOI A.2): the prior rendered from ``view_directions`` directions spread
evenly over the view sphere × ``inplane_rotations`` rotations about the optical axis (57 × 14 = 798),
and per frame: retrieval of the top-n most similar templates, geometric verification keeping the
best candidate, and the candidate's pose placed in the frame.

Verification (embedded default, silhouettes): the candidate's silhouette IoU with the frame's mask
in the normalised crop, over the pixels the hand does not hide, minus ``hand_agreement`` × (angle
to the hand-implied rotation / π) — the held object turns with the hand, which separates
silhouette twins (an object and its mirror-symmetric view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from hoikit.types import Camera
from hoikit.geometry.sampling import sphere_directions as view_directions
from hoikit.video.carve import Poses
from hoikit.video.config import TemplateConfig

DISTANCE_RADII = 4.0  # templates are rendered with the object this many bounding radii away
FILL = 0.42  # … and the focal length chosen so that its bounding radius spans this share of the crop


def look_rotation(d: np.ndarray) -> np.ndarray:
    """(3, 3) object → camera rotation under which the object's direction ``d`` points at the camera (−z)."""
    back = -d / np.linalg.norm(d)  # object-frame direction that becomes camera +z
    up = np.array([0.0, 1.0, 0.0]) if abs(back[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, back)
    x /= np.linalg.norm(x)
    y = np.cross(back, x)
    return np.stack([x, y, back])  # rows: camera axes in object coordinates


def template_rotations(n_directions: int = 57, n_inplane: int = 14) -> np.ndarray:
    """(n_directions · n_inplane, 3, 3) object → camera rotations."""
    out = []
    for d in view_directions(n_directions):
        R = look_rotation(d)
        for k in range(n_inplane):
            a = 2 * np.pi * k / n_inplane
            Rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
            out.append(Rz @ R)
    return np.stack(out)


@dataclass
class TemplateSet:
    """Rendered templates of one shape.

    Attributes:
        rotations: (N, 3, 3) object → camera; masks: (N, S, S) bool silhouettes;
        camera: the template camera (S × S); distance: metres from the camera to the object origin.
        crops: (N, C, C) float normalised silhouettes (see :func:`hoikit.video.features.normalised_crop`);
        centre_offset: (N, 2) object origin's pixel − silhouette centroid, in units of sqrt(area);
        sqrt_area: (N,) pixels.
    """

    rotations: np.ndarray
    masks: np.ndarray
    camera: Camera
    distance: float
    crops: np.ndarray
    centre_offset: np.ndarray
    sqrt_area: np.ndarray
    images: np.ndarray | None = None  # (N, S, S, 3) uint8 shaded renders (for image features)


def render_templates(mesh: trimesh.Trimesh, cfg: TemplateConfig = TemplateConfig(), shaded: bool = False) -> TemplateSet:
    """Silhouettes (and with ``shaded`` grey Lambert renders) of ``mesh`` at every template rotation."""
    from hoikit.render.raster import zbuffer_numpy
    from hoikit.video.features import normalised_crop

    V = np.asarray(mesh.vertices, np.float64)
    F = np.asarray(mesh.faces, np.int64)
    radius = float(np.linalg.norm(V, axis=1).max())
    D = DISTANCE_RADII * radius
    S = cfg.size
    f = FILL * S * D / radius
    cam = Camera(np.array([[f, 0, (S - 1) / 2], [0, f, (S - 1) / 2], [0, 0, 1.0]]), S, S, "template")
    rots = template_rotations(cfg.view_directions, cfg.inplane_rotations)
    masks, crops, offs, areas, images = [], [], [], [], []
    normals = np.asarray(mesh.face_normals)
    for R in rots:
        Vc = V @ R.T + np.array([0, 0, D])
        face, _ = zbuffer_numpy(Vc, F, cam)
        m = face >= 0
        masks.append(m)
        ys, xs = np.nonzero(m)
        c = np.array([xs.mean(), ys.mean()]) if len(xs) else np.array([(S - 1) / 2] * 2)
        a = np.sqrt(max(len(xs), 1))
        offs.append((np.array([(S - 1) / 2, (S - 1) / 2]) - c) / a)
        areas.append(a)
        crops.append(normalised_crop(m.astype(np.float32), m))
        if shaded:
            n = normals @ R.T
            light = np.clip(-n[:, 2], 0, 1) * 0.7 + 0.3
            img = np.where(m, light[np.maximum(face, 0)], 1.0)
            images.append((np.repeat(img[..., None], 3, -1) * 255).astype(np.uint8))
    return TemplateSet(rots, np.stack(masks), cam, D, np.stack(crops), np.stack(offs), np.asarray(areas), np.stack(images) if shaded else None)


def masked_iou(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """IoU of (N, C, C) soft/bool crops ``a`` against one (C, C) ``b`` over ``valid`` pixels → (N,)."""
    a = a * valid
    bb = b * valid
    inter = np.minimum(a, bb).sum((1, 2))
    union = np.maximum(a, bb).sum((1, 2))
    return inter / np.maximum(union, 1e-6)


def place(ts: TemplateSet, i: int, mask: np.ndarray, depth: float, camera: Camera) -> np.ndarray:
    """(3,) camera-frame translation of template ``i`` placed on a frame's visible ``mask``: the object
    origin's pixel from the silhouette centroid and size, back-projected at ``depth`` (metres)."""
    ys, xs = np.nonzero(mask)
    c = np.array([xs.mean(), ys.mean()])
    px = c + ts.centre_offset[i] * np.sqrt(len(xs))
    return np.array([(px[0] - camera.cx) / camera.fx * depth, (px[1] - camera.cy) / camera.fy * depth, depth])


def consensus_rotation(rel: np.ndarray) -> np.ndarray:
    """(3, 3) the medoid of (N, 3, 3) rotations (the one with the smallest summed angle to the others)."""
    from hoikit.video.pose import rotation_angles

    cost = rotation_angles(rel[:, None], rel[None]).sum(1)
    return rel[int(np.argmin(cost))]


def reject_outliers(poses: Poses, hand_poses: Poses, valid: np.ndarray, max_deg: float) -> Poses:
    """Frames whose template rotation, seen from the hand, is more than ``max_deg`` from the clip's
    consensus (the medoid of the hand-relative rotations) take the hand-implied rotation instead:
    the grasp changes slowly, a wrong template (a silhouette twin) jumps."""
    from hoikit.video.pose import rotation_angles

    if valid.sum() < 3:
        return poses
    rel = np.einsum("tji,tjk->tik", hand_poses.R, poses.R)  # R_h^T R_o
    c = consensus_rotation(rel[valid][:: max(1, int(valid.sum()) // 60)])
    bad = ~valid | (np.degrees(rotation_angles(rel, c[None])) > max_deg)
    out = poses.copy()
    out.R[bad] = hand_poses.R[bad] @ c
    return out


@dataclass
class Retrieval:
    """Per frame: the candidates (top-n template indices), their scores and the winner."""

    candidates: np.ndarray  # (T, n)
    similarity: np.ndarray  # (T, n)
    verification: np.ndarray  # (T, n)
    winner: np.ndarray  # (T,) template index


def template_poses(
    prior_mesh: trimesh.Trimesh, hand_poses: Poses, camera: Camera, masks, cfg: TemplateConfig = TemplateConfig(), top1: bool = False,
    features=None, frames: np.ndarray | None = None, return_retrieval: bool = False,
):
    """Every frame's template pose: retrieve top-n by descriptor similarity, verify (module
    docstring), place the winner. Frames without a visible object take the hand-implied pose.
    ``features``: an image :class:`~hoikit.perception.roles.FeatureExtractor` (DINOv2), None for
    silhouette descriptors."""
    from hoikit.video.features import BagOfWords, frame_crop, silhouette_descriptors
    from hoikit.video.pose import rotation_angles

    if getattr(features, "name", None) == "silhouette":
        features = None
    ts = render_templates(prior_mesh, cfg, shaded=features is not None)
    T = len(hand_poses)
    if features is None:
        tdesc = silhouette_descriptors(ts.crops)
        fcrops = [frame_crop(masks.object[k], masks.hand[k]) for k in range(T)]
        fdesc = silhouette_descriptors(np.stack([obj + 0.5 * (1.0 - valid) for obj, valid in fcrops]))
    else:
        bow = BagOfWords.fit(features, ts.images, ts.masks, cfg.pca_dim, cfg.vocabulary)
        tdesc = bow.encode_many(features, ts.images, ts.masks)
        fcrops = [frame_crop(masks.object[k], masks.hand[k]) for k in range(T)]
        fdesc = np.stack([bow.encode_frame(features, frames[k], masks.object[k]) for k in range(T)])
    sim = fdesc @ tdesc.T  # (T, N) cosine (descriptors are unit length)
    n = 1 if top1 else cfg.top_n
    cand = np.argsort(-sim, axis=1)[:, :n]
    R = hand_poses.R.copy()
    t = hand_poses.t.copy()
    ver = np.zeros(cand.shape)
    winner = np.zeros(T, np.int64)
    for k in range(T):
        if not masks.object[k].any():
            winner[k] = -1
            continue
        crop, valid = fcrops[k]
        iou = masked_iou(ts.crops[cand[k]], crop, valid)
        agree = rotation_angles(ts.rotations[cand[k]], hand_poses.R[k][None]) / np.pi
        ver[k] = iou - cfg.hand_agreement * agree
        j = 0 if top1 else int(np.argmax(ver[k]))
        winner[k] = cand[k, j]
        R[k] = ts.rotations[winner[k]]
        t[k] = place(ts, winner[k], masks.object[k], float(hand_poses.t[k, 2]), camera)
    poses = Poses(R, t, hand_poses.s)
    if not top1:
        poses = reject_outliers(poses, hand_poses, winner >= 0, cfg.outlier_deg)
    if return_retrieval:
        return poses, Retrieval(cand, np.take_along_axis(sim, cand, 1), ver, winner)
    return poses
