"""Object reconstruction from posed frames (AlignHOI 3.3, on a CPU): a visual hull carved on a voxel
grid in the object's canonical frame from the masks (the mask term), its surface then carved by
photo-consistency across the frames that see it (the photometric term), turned into a signed
distance grid (an exact distance transform: Eikonal by construction), meshed by marching cubes,
and coloured from the frames. (AlignHOI optimises a neural SDF by volume rendering instead.)

Occlusion: a voxel is carved away by a frame only where that frame sees background — pixels of the
object *or* the hand (which may hide the object) keep it — and it must fall on the object mask in
at least one frame. The hand itself is solid: voxels well inside the fitted hand (brought into the
object's frame) are not object either — where fingers wrap behind the object they bound its
thickness, which silhouettes from a limited range of views cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import trimesh

from hoikit.types import Camera


@dataclass
class Poses:
    """Object canonical frame → camera, per frame: x_cam = s·R_t·x + t_t (scale shared by the clip).

    Attributes:
        R: (T, 3, 3); t: (T, 3) metres; s: shared scale.
    """

    R: np.ndarray
    t: np.ndarray
    s: float = 1.0

    def __len__(self) -> int:
        return len(self.R)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) canonical → (T, N, 3) camera frame."""
        return self.s * np.einsum("tij,nj->tni", self.R, points) + self.t[:, None, :]

    def at(self, k: int, points: np.ndarray) -> np.ndarray:
        """(N, 3) canonical → (N, 3) in frame ``k``'s camera frame."""
        return self.s * points @ self.R[k].T + self.t[k]

    def scaled_canonical(self) -> "Poses":
        """The same poses for canonical points multiplied by ``s`` (scale folded into the shape)."""
        return Poses(self.R.copy(), self.t.copy(), 1.0)

    def copy(self) -> "Poses":
        return Poses(self.R.copy(), self.t.copy(), float(self.s))


def project(points_cam: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(..., 3) camera-frame points → (..., 2) pixels (``Camera.project`` with the depth clamped at
    1 µm, so points behind the camera stay finite; callers test the depth) and (...,) depth."""
    z = points_cam[..., 2]
    return camera.project(np.concatenate([points_cam[..., :2], np.maximum(z, 1e-6)[..., None]], -1)), z


def dilate(masks: np.ndarray, px: int) -> np.ndarray:
    """(T, H, W) bool masks grown by ``px`` pixels."""
    if px <= 0:
        return masks
    from scipy.ndimage import binary_dilation

    st = np.zeros((1, 2 * px + 1, 2 * px + 1), bool)
    st[0] = True
    return binary_dilation(masks, structure=st)


HAND_DEPTH_MARGIN_M = 0.01  # a point this far in front of the hand's surface is seen, not hidden


def hand_depth_maps(vertices: np.ndarray, faces: np.ndarray, camera: Camera) -> np.ndarray:
    """(T, H, W) depth (metres) of the hand mesh of each frame, 0 where the hand does not render."""
    from hoikit.render.raster import zbuffer_numpy

    out = np.zeros((len(vertices), camera.height, camera.width))
    for k, v in enumerate(vertices):
        face, depth = zbuffer_numpy(np.asarray(v, np.float64), np.asarray(faces, np.int64), camera)
        out[k] = np.where(face >= 0, depth, 0.0)
    return out


HAND_INTERIOR_MARGIN_M = 0.004  # only voxels this deep inside the fitted hand are removed (fit and pose errors)


def hand_in_object(vertices: np.ndarray, poses: Poses) -> np.ndarray:
    """(V, 3) the hand in the object's canonical frame: each vertex's median over the frames.

    Args:
        vertices: (T, V, 3) the fitted hand of each frame, camera frame.
    """
    canon = np.einsum("tji,tvj->tvi", poses.R, vertices - poses.t[:, None, :]) / poses.s  # R^T (v - t) / s
    return np.median(canon, axis=0)


def hand_interior(points: np.ndarray, hand_vertices: np.ndarray, faces: np.ndarray, margin: float = HAND_INTERIOR_MARGIN_M) -> np.ndarray:
    """(N,) bool: ``points`` (N, 3) more than ``margin`` inside the hand mesh (V, 3) + faces (winding
    number sign, exact distance; only points in the hand's bounding box are queried)."""
    from hoikit.eval.metrics import signed_distance

    lo, hi = hand_vertices.min(0) - margin, hand_vertices.max(0) + margin
    near = np.flatnonzero(((points >= lo) & (points <= hi)).all(1))
    out = np.zeros(len(points), bool)
    if len(near):
        mesh = trimesh.Trimesh(hand_vertices, faces, process=False)
        out[near] = signed_distance(mesh, points[near]) < -margin
    return out


@dataclass
class HullVotes:
    """Per-point counts over the frames (each (N,) int): frames that see the point, that vote against
    it (it lands on carving background), where it lands on the object, on the hand (not object).
    Thresholded by :meth:`occupied`; counting is the expensive part, so several strictness
    settings share one count."""

    seen: np.ndarray
    against: np.ndarray
    on_object: np.ndarray
    on_hand: np.ndarray

    def occupied(self, tolerance: float, support: float = 0.0) -> np.ndarray:
        """(N,) bool: which points survive carving.

        Args:
            tolerance: a point survives when at most this share of the frames that see it vote against.
            support: a point must land on the object mask in at least this share of the frames where it
                lands on the object or the hand: space that only ever hides behind the hand (which
                moves with the object) is not kept.
        """
        supported = self.on_object >= np.maximum(support * (self.on_object + self.on_hand), 1)
        return supported & (self.against <= tolerance * np.maximum(self.seen, 1))


def hull_votes(
    points: np.ndarray, poses: Poses, camera: Camera, object_masks: np.ndarray, keep_masks: np.ndarray,
    hand_masks: np.ndarray | None = None, hand_depth: np.ndarray | None = None,
) -> HullVotes:
    """Project canonical points into every frame and count their votes (:class:`HullVotes`).

    Args:
        points: (N, 3) canonical-frame points (voxel centres).
        object_masks: (T, H, W) visible object masks; keep_masks: (T, H, W) pixels that do not carve
            (object ∪ hand, dilated).
        hand_masks, hand_depth: (T, H, W) when the hand's depth is known: a point on a hand pixel is
            carved when it lies in front of the hand (a held object's grasped part would otherwise
            stay hidden behind the hand in every frame and never be carved).
    """
    N = len(points)
    votes = HullVotes(*(np.zeros(N, np.int32) for _ in range(4)))
    H, W = object_masks.shape[1:]
    for k in range(len(poses)):
        cam = poses.at(k, points)
        uv, z = project(cam, camera)
        ui, vi = np.rint(uv[:, 0]).astype(np.int64), np.rint(uv[:, 1]).astype(np.int64)
        inside = (z > 1e-3) & (ui >= 0) & (ui < W) & (vi >= 0) & (vi < H)
        idx = np.flatnonzero(inside)
        keep = keep_masks[k, vi[idx], ui[idx]]
        obj = object_masks[k, vi[idx], ui[idx]]
        hand = hand_masks[k, vi[idx], ui[idx]] & ~obj if hand_masks is not None else np.zeros_like(obj)
        if hand_depth is not None:
            front = z[idx] < hand_depth[k, vi[idx], ui[idx]] - HAND_DEPTH_MARGIN_M
            keep &= ~(hand & front)
        votes.seen[idx] += 1
        votes.against[idx[~keep]] += 1
        votes.on_object[idx[obj]] += 1
        votes.on_hand[idx[hand]] += 1
    return votes


def occupancy_sdf(occupied: np.ndarray, spacing: float) -> np.ndarray:
    """(R, R, R) occupancy → signed distance (metres, negative inside), half a voxel at the boundary."""
    from scipy.ndimage import distance_transform_edt

    outside = distance_transform_edt(~occupied) * spacing
    inside = distance_transform_edt(occupied) * spacing
    return np.where(occupied, -(inside - 0.5 * spacing), outside - 0.5 * spacing)


def largest_piece(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    parts = mesh.split(only_watertight=False)
    return max(parts, key=lambda m: len(m.faces)) if len(parts) > 1 else mesh


def sdf_mesh(sdf: np.ndarray, half: float) -> trimesh.Trimesh | None:
    """Marching cubes of a cube grid over [-half, half]³; the largest connected piece."""
    from hoikit.geometry.marching_cubes import marching_cubes

    if not (sdf < 0).any() or not (sdf > 0).any():
        return None
    v, f = marching_cubes(torch.as_tensor(sdf, dtype=torch.float64), (-half, half))
    if len(f) == 0:
        return None
    return largest_piece(trimesh.Trimesh(v.numpy(), f.numpy(), process=True))


@dataclass
class Carving:
    """A carved object: its mesh (canonical frame, metres), the SDF grid it came from, the grid's half-size."""

    mesh: trimesh.Trimesh
    sdf: np.ndarray
    half: float
    occupied_fraction: float


def carve_settings(
    poses: Poses, camera: Camera, object_masks: np.ndarray, hand_masks: np.ndarray, half: float, settings: Sequence[tuple[float, float]],
    resolution: int = 64, dilate_px: int = 1, hand_depth: np.ndarray | None = None, hand_solid: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Carving | None]:
    """Visual hulls over the cube [-half, half]³ (canonical frame), as SDF grids and meshes, one per
    (tolerance, support) in ``settings`` (:meth:`HullVotes.occupied`; the votes are counted once).
    ``hand_solid``: the hand in the canonical frame, (V, 3) vertices and (F, 3) faces
    (:func:`hand_in_object`); voxels deep inside it are removed (module docstring)."""
    from hoikit.geometry.grid import grid_points

    pts = grid_points(resolution, (-half, half), dtype=torch.float64).reshape(-1, 3).numpy()
    keep = dilate(object_masks | hand_masks, dilate_px)
    votes = hull_votes(pts, poses, camera, object_masks, keep, hand_masks, hand_depth)
    solid = hand_interior(pts, *hand_solid) if hand_solid is not None else np.zeros(len(pts), bool)
    return [_carving(votes.occupied(tol, sup) & ~solid, half, resolution) for tol, sup in settings]


def carve(
    poses: Poses, camera: Camera, object_masks: np.ndarray, hand_masks: np.ndarray, half: float, resolution: int = 64,
    dilate_px: int = 1, tolerance: float = 0.05, hand_depth: np.ndarray | None = None, support: float = 0.0,
    hand_solid: tuple[np.ndarray, np.ndarray] | None = None,
) -> Carving | None:
    """One visual hull (:func:`carve_settings` with one setting)."""
    return carve_settings(poses, camera, object_masks, hand_masks, half, [(tolerance, support)], resolution, dilate_px, hand_depth, hand_solid)[0]


def _carving(occ: np.ndarray, half: float, resolution: int) -> Carving | None:
    """(N,) occupancy of the grid → the largest connected piece, holes filled, its SDF and mesh."""
    occ = occ.reshape((resolution,) * 3)
    if occ.sum() < 8:
        return None
    from scipy.ndimage import binary_fill_holes, label

    lab, n = label(occ)
    if n > 1:  # the largest connected piece: stray voxels carved from bad frames go
        sizes = np.bincount(lab.ravel())[1:]
        occ = lab == (1 + int(np.argmax(sizes)))
    occ = binary_fill_holes(occ)
    spacing = 2 * half / (resolution - 1)
    sdf = occupancy_sdf(occ, spacing)
    mesh = sdf_mesh(sdf, half)
    return None if mesh is None else Carving(mesh, sdf, half, float(occ.mean()))


def mask_iou(mesh: trimesh.Trimesh, poses: Poses, camera: Camera, object_masks: np.ndarray, hand_masks: np.ndarray, every: int = 3) -> float:
    """Mean IoU of the posed mesh's silhouette with the object masks over every ``every``-th frame,
    hand pixels left out of both (the hand may hide the object)."""
    from hoikit.render.raster import zbuffer_numpy

    V, F = np.asarray(mesh.vertices), np.asarray(mesh.faces, np.int64)
    ious = []
    for k in range(0, len(poses), every):
        drawn = zbuffer_numpy(poses.at(k, V), F, camera)[0] >= 0
        free = ~hand_masks[k]
        union = ((drawn | object_masks[k]) & free).sum()
        ious.append((drawn & object_masks[k] & free).sum() / union if union else 0.0)
    return float(np.mean(ious)) if ious else 0.0


def vertex_colours(
    vertices: np.ndarray, normals: np.ndarray, poses: Poses, camera: Camera, frames: np.ndarray, object_masks: np.ndarray,
    max_views: int = 8,
) -> np.ndarray:
    """(V, 4) uint8 colours: for each vertex, the mean colour over the frames that see it most
    frontally (normal towards the camera) where it lands on the object mask.

    Args:
        vertices, normals: (V, 3) canonical frame.
    """
    V = len(vertices)
    H, W = object_masks.shape[1:]
    scores = np.full((len(poses), V), -np.inf)
    colours = np.zeros((len(poses), V, 3))
    for k in range(len(poses)):
        cam = poses.at(k, vertices)
        n = normals @ poses.R[k].T
        view = -cam / np.linalg.norm(cam, axis=1, keepdims=True)
        facing = (n * view).sum(1)
        uv, z = project(cam, camera)
        ui, vi = np.rint(uv[:, 0]).astype(np.int64), np.rint(uv[:, 1]).astype(np.int64)
        ok = (ui >= 0) & (ui < W) & (vi >= 0) & (vi < H) & (facing > 0.2)
        idx = np.flatnonzero(ok)
        ok_obj = object_masks[k, vi[idx], ui[idx]]
        idx = idx[ok_obj]
        scores[k, idx] = facing[idx]
        colours[k, idx] = frames[k, vi[idx], ui[idx]]
    order = np.argsort(-scores, axis=0)[:max_views]
    best = np.take_along_axis(scores, order, 0)
    w = np.isfinite(best).astype(np.float64)
    picked = np.take_along_axis(colours, order[..., None], 0)
    mean = (picked * w[..., None]).sum(0) / np.maximum(w.sum(0), 1)[:, None]
    grey = np.full(3, 160.0)
    rgb = np.where(w.sum(0)[:, None] > 0, mean, grey)
    return np.concatenate([np.clip(rgb, 0, 255), np.full((V, 1), 255)], 1).astype(np.uint8)


# ------------------------------------------------------------------------- photo-consistency
def _surface_voxels(occ: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    return occ & ~binary_erosion(occ, border_value=0)


def photo_carve(
    occ: np.ndarray, half: float, poses: Poses, camera: Camera, frames: np.ndarray, object_masks: np.ndarray, hand_masks: np.ndarray,
    threshold: float = 0.06, min_views: int = 3, rounds: int = 4, max_share: float = 0.15,
) -> np.ndarray:
    """Space carving by photo-consistency (Kutulakos & Seitz): surface voxels whose chromaticity
    differs across the frames that see them are removed, a few rounds, visibility from the current
    shape's depth. Chromaticity (rgb / sum) because the light stays with the camera while the object
    turns: shading changes, colour does not.

    Args:
        occ: (R, R, R) occupancy over [-half, half]³ (canonical frame).
        threshold: largest per-channel std of chromaticity a surface voxel may show.
        max_share: at most this share of the surface voxels goes per round (the worst first).
    Returns:
        the carved occupancy.
    """
    from hoikit.geometry.grid import grid_points
    from hoikit.render.raster import zbuffer_numpy

    R = occ.shape[0]
    spacing = 2 * half / (R - 1)
    pts_all = grid_points(R, (-half, half), dtype=torch.float64).numpy()
    chroma = frames.astype(np.float64) + 1.0
    chroma = chroma / chroma.sum(-1, keepdims=True)
    occ = occ.copy()
    H, W = object_masks.shape[1:]
    for _ in range(rounds):
        sdf = occupancy_sdf(occ, spacing)
        mesh = sdf_mesh(sdf, half)
        if mesh is None:
            break
        surf = np.argwhere(_surface_voxels(occ))
        P = pts_all[surf[:, 0], surf[:, 1], surf[:, 2]]
        V, F = np.asarray(mesh.vertices), np.asarray(mesh.faces, np.int64)
        s1 = np.zeros((len(P), 3))
        s2 = np.zeros((len(P), 3))
        n = np.zeros(len(P))
        for k in range(len(poses)):
            cam = poses.at(k, P)
            _, depth = zbuffer_numpy(poses.at(k, V), F, camera)
            uv, z = project(cam, camera)
            ui, vi = np.rint(uv[:, 0]).astype(np.int64), np.rint(uv[:, 1]).astype(np.int64)
            ok = (ui >= 0) & (ui < W) & (vi >= 0) & (vi < H)
            idx = np.flatnonzero(ok)
            vis = (z[idx] <= depth[vi[idx], ui[idx]] + 1.5 * spacing) & object_masks[k, vi[idx], ui[idx]] & ~hand_masks[k, vi[idx], ui[idx]]
            idx = idx[vis]
            c = chroma[k, vi[idx], ui[idx]]
            s1[idx] += c
            s2[idx] += c * c
            n[idx] += 1
        seen = n >= min_views
        mean = s1 / np.maximum(n, 1)[:, None]
        std = np.sqrt(np.maximum(s2 / np.maximum(n, 1)[:, None] - mean**2, 0)).max(1)
        bad = seen & (std > threshold)
        if not bad.any():
            break
        worst = np.argsort(-np.where(bad, std, -1))[: max(1, int(max_share * len(surf)))]
        worst = worst[bad[worst]]
        occ[surf[worst, 0], surf[worst, 1], surf[worst, 2]] = False
    return occ
