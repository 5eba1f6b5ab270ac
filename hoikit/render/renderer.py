"""Differentiable rendering of a few triangle meshes (hand, object) through a pinhole camera.

How the gradient gets to the vertices:

1. A numba z-buffer (:func:`hoikit.render.raster.rasterize`) picks the visible face of every
   pixel centre. This is a discrete choice and has no gradient.
2. For each covered pixel the ray through its centre is intersected in torch with the plane of
   its face: depth, perspective-correct barycentrics and interpolated normals are then smooth
   functions of that face's three vertices (exact derivatives for a fixed visibility).
3. Coverage itself changes only where a silhouette edge crosses a pixel; that is where the
   silhouettes get their gradient, by analytic anti-aliasing in the manner of nvdiffrast (Laine
   et al. 2020): where a visible silhouette edge separates two neighbouring pixel centres, the
   pixel it covers less than half (1D box filter along the pair) is blended with its neighbour by
   the covered fraction, computed from the edge's projected end points. The blend is applied to
   one-hot part labels, which makes every silhouette occlusion-aware: the hand's visible
   silhouette loses what the object covers and the union is one minus the background label.
   Unlike nvdiffrast, silhouette edges are found by scanning the projected contour edges (faces
   on either side with opposite screen orientation) rather than only the edges of the triangle
   under the pixel, so finely tessellated smooth meshes, whose outermost triangles are sub-pixel
   slivers, still get their outline anti-aliased.

Limits: gradients appear only on a one-pixel band at the outline (callers who need a wider basin
can blur both the rendered and the target silhouette); an outline formed by two meshes
interpenetrating (no silhouette edge) stays hard; triangles crossing the ``near`` plane are
skipped, not clipped; a pixel pair cut by two edges (sub-pixel features, a contour that zigzags
over the mesh) gets both blends, scaled to total at most one; a crossing whose pixel pair leaves the
image is dropped, so coverage is hard on the image border; depth, disparity and normals are
point-sampled at pixel centres (their gradients are those of the visible surface, not of the
outline).

Everything runs on any torch device; the two discrete passes run on the CPU (numba) and move a
few small arrays across.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from hoikit.render.projection import project
from hoikit.render.raster import (
    DEFAULT_NEAR,
    Crossings,
    Fragments,
    crossings_from_rows,
    covered_pixels,
    crossings_numpy,
    pixel_hits,
    scatter_pixels,
    to_numpy,
    zbuffer_numpy,
)
from hoikit.types import Camera

MeshTensors = tuple[torch.Tensor, torch.Tensor]  # (V, 3) camera-frame vertices, (F, 3) long faces


# ------------------------------------------------------------------------------ small pieces
def face_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(F, 3) area-weighted (unnormalised) normals: counter-clockwise faces point outward."""
    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    return torch.linalg.cross(v1 - v0, v2 - v0)


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(V, 3) unit normals: area-weighted mean of the adjacent face normals."""
    fn = face_normals(vertices, faces)
    vn = torch.zeros_like(vertices)
    for k in range(3):
        vn = vn.index_add(0, faces[:, k], fn)
    return torch.nn.functional.normalize(vn, dim=-1, eps=1e-20)


def interpolate(attr: torch.Tensor, faces: torch.Tensor, face_idx: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    """Per-vertex attribute → per-pixel image by barycentric interpolation.

    Args:
        attr: (V, C) per-vertex values (any C).
        faces: (F, 3) long, the faces ``face_idx`` indexes.
        face_idx: (H, W) long, -1 background.
        bary: (H, W, 3) barycentric coordinates (from :class:`RenderOutput` for gradients to
            vertex positions, or from :class:`Fragments`).
    Returns:
        (H, W, C), zero on background.
    """
    mask = face_idx >= 0
    tri = attr[faces[face_idx.clamp(min=0)]]  # (H, W, 3, C)
    out = (bary[..., None] * tri).sum(dim=-2)
    return torch.where(mask[..., None], out, torch.zeros_like(out))


def edge_alpha(crossings: Crossings, vertices: torch.Tensor, camera: Camera) -> torch.Tensor:
    """(M,) where each crossing's edge cuts its pixel pair: pixels from the inside pixel's centre
    towards the outside one's (in [0, 1]), differentiable w.r.t. the edge's vertices."""
    uv = project(vertices[crossings.edge], camera)  # (M, 2 ends, 2 coords)
    along = crossings.axis[:, None, None].expand(-1, 2, 1)
    (a_al, b_al), (a_ac, b_ac) = uv.gather(2, along)[..., 0].unbind(1), uv.gather(2, 1 - along)[..., 0].unbind(1)
    cross = a_al + (crossings.line.to(uv.dtype) - a_ac) / (b_ac - a_ac) * (b_al - a_al)
    return (cross - crossings.inside_pos.to(uv.dtype)) * crossings.step.to(uv.dtype)


def antialias(image: torch.Tensor, crossings: Crossings, vertices: torch.Tensor, camera: Camera) -> torch.Tensor:
    """Blend across visible silhouette edges by the fraction of each pixel they cover.

    For a pixel pair (inside o, outside q) cut by an edge at α pixels from o towards q, a 1D box
    filter says q is covered by o's surface for max(0, α − ½) and o is uncovered for
    max(0, ½ − α); each of the two moves towards the other's value by its fraction. α is a
    smooth function of the edge's projected end points, which is where the gradient comes from.
    A pixel blended by several crossings (a corner, a sub-pixel sliver) has its fractions scaled
    to total at most one, so every output pixel stays a convex combination of input pixels
    (one-hot labels stay in [0, 1] without clamping).

    Args:
        image: (H, W, C) any per-pixel quantity (part labels, colours, depth).
        crossings: from :func:`hoikit.render.raster.silhouette_crossings` on the same scene.
        vertices: (V, 3) the scene's camera-frame vertices (gradients flow to them).
    Returns:
        (H, W, C).
    """
    if len(crossings) == 0:
        return image
    H, W, C = image.shape
    flat = image.reshape(H * W, C)
    alpha = edge_alpha(crossings, vertices, camera)
    target = torch.cat([crossings.outside, crossings.inside])  # the pixel that changes
    source = torch.cat([crossings.inside, crossings.outside])  # the neighbour it moves towards
    weight = torch.cat([torch.relu(alpha - 0.5), torch.relu(0.5 - alpha)])
    # per-pixel totals over the few touched pixels only (no whole-image pass)
    touched, slot = torch.unique(target, return_inverse=True)
    total = weight.new_zeros(len(touched)).index_add(0, slot, weight)
    weight = weight / total.clamp(min=1.0)[slot]
    return flat.index_add(0, target, weight[:, None] * (flat[source] - flat[target])).reshape(H, W, C)


# ------------------------------------------------------------------------------------ scenes
@dataclass(frozen=True)
class Scene:
    """Several meshes as one: vertices and faces concatenated, each face tagged with its mesh.

    Attributes:
        vertices: (V, 3) camera-frame metres.
        faces: (F, 3) long, indices into ``vertices``.
        face_mesh: (F,) long, index of the mesh (= part id) each face came from.
        vertex_offsets: where each mesh's vertices start in ``vertices`` (len P + 1).
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    face_mesh: torch.Tensor
    vertex_offsets: tuple[int, ...]

    @property
    def num_parts(self) -> int:
        return len(self.vertex_offsets) - 1

    @classmethod
    def from_meshes(cls, meshes: Sequence[MeshTensors]) -> "Scene":
        if not meshes:
            raise ValueError("render needs at least one mesh")
        dtype = torch.promote_types(*(v.dtype for v, _ in meshes)) if len(meshes) > 1 else meshes[0][0].dtype
        offsets = np.cumsum([0] + [len(v) for v, _ in meshes]).tolist()
        device = meshes[0][0].device
        faces = torch.cat([f.to(device=device, dtype=torch.long) + o for (_, f), o in zip(meshes, offsets)])
        face_mesh = torch.cat([torch.full((len(f),), i, dtype=torch.long, device=device) for i, (_, f) in enumerate(meshes)])
        vertices = torch.cat([v.to(dtype) for v, _ in meshes])
        return cls(vertices, faces, face_mesh, tuple(offsets))


@dataclass(frozen=True)
class RenderOutput:
    """Per-pixel maps of one view. Images are (H, W) or (H, W, C); values are 0 on background.

    Attributes:
        silhouette: (H, W) soft union coverage in [0, 1], anti-aliased at visible outlines.
        part_silhouettes: (P, H, W) soft *visible* coverage of each mesh (occlusion-aware: what a
            nearer mesh hides is not counted); they sum to ``silhouette``.
        part_id: (H, W) long, mesh index at each pixel centre, -1 background.
        depth: (H, W) metres, z of the visible surface at the pixel centre (0 background).
        disparity: (H, W) 1/depth in 1/metres (0 background).
        normals: (H, W, 3) unit camera-frame normals (surfaces facing the camera have n_z < 0 for
            outward-oriented meshes), 0 on background.
        mask: (H, W) bool hard coverage of pixel centres.
        bary: (H, W, 3) perspective-correct barycentric coordinates, differentiable.
        fragments: the z-buffer (face indices into ``scene.faces``), no gradient.
        scene: the concatenated meshes.
        crossings: the visible silhouette edges between pixel pairs (None without anti-aliasing);
            pass them to :func:`antialias` to smooth the outlines of any other image (a preview).
    """

    silhouette: torch.Tensor
    part_silhouettes: torch.Tensor
    part_id: torch.Tensor
    depth: torch.Tensor
    disparity: torch.Tensor
    normals: torch.Tensor
    mask: torch.Tensor
    bary: torch.Tensor
    fragments: Fragments
    scene: Scene
    crossings: Crossings | None = None

    def interpolate(self, attrs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """(V_total, C) or one (V_i, C) per mesh of per-vertex values → (H, W, C) image."""
        attr = torch.cat(list(attrs)) if isinstance(attrs, (list, tuple)) else attrs
        return interpolate(attr, self.scene.faces, self.fragments.face_idx, self.bary)


def _hard_labels(
    face_idx: np.ndarray, face_mesh: np.ndarray, num_parts: int, dtype: torch.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Part id (H, W) int64 (-1 background) and its one-hot (H, W, P + 1) in ``dtype``'s numpy
    type, background first."""
    part_id = np.where(face_idx >= 0, face_mesh[np.maximum(face_idx, 0)], -1)
    one_hot = np.eye(num_parts + 1, dtype=torch.empty(0, dtype=dtype).numpy().dtype)[part_id + 1]
    return part_id, one_hot


def render(
    meshes: Sequence[MeshTensors],
    camera: Camera,
    *,
    smooth_normals: bool = True,
    antialias_edges: bool = True,
    near: float = DEFAULT_NEAR,
) -> RenderOutput:
    """Render silhouettes, depth, disparity, normals and part ids of several meshes.

    Gradients reach the vertices (and whatever produced them) through depth, disparity, normals,
    barycentrics, and — at visible outlines — the soft silhouettes. Under ``torch.no_grad()`` it
    is the fast preview path (no graph is built).

    Args:
        meshes: one (V_i, 3) camera-frame vertex tensor (metres) and (F_i, 3) long face tensor per
            part, in part-id order (e.g. [hand, object]). Faces counter-clockwise seen from outside.
        camera: intrinsics and image size.
        smooth_normals: interpolate area-weighted vertex normals (True) or use face normals.
        antialias_edges: blend silhouettes at visible outlines (needed for silhouette gradients).
        near: metres; triangles with a vertex nearer than this are skipped.
    Returns:
        :class:`RenderOutput` with H = camera.height, W = camera.width.
    """
    scene = Scene.from_meshes(meshes)
    V, faces, dev = scene.vertices, scene.faces, scene.vertices.device
    H, W = camera.height, camera.width
    v_np, f_np = to_numpy(V, faces)
    face_np, depth_np = zbuffer_numpy(v_np, f_np, camera, near)
    face_idx = torch.as_tensor(face_np, device=dev)
    # pixel bookkeeping in numpy: whole-image torch ops are what costs most on a busy small CPU
    pixels, visible = (torch.as_tensor(a, device=dev) for a in covered_pixels(face_np))

    depth_px, bary_px = pixel_hits(V, faces, pixels, visible, camera)
    if smooth_normals:
        normal_px = (bary_px[..., None] * vertex_normals(V, faces)[faces[visible]]).sum(dim=1)
    else:
        normal_px = face_normals(V, faces)[visible]
    normal_px = torch.nn.functional.normalize(normal_px, dim=-1, eps=1e-20)
    # one scatter for every per-pixel map: one gather in the backward pass
    maps = scatter_pixels(torch.cat([depth_px[:, None], 1.0 / depth_px[:, None], normal_px, bary_px], dim=1), pixels, (H, W, 8))

    mesh_np = scene.face_mesh.cpu().numpy()
    part_np, labels_np = _hard_labels(face_np, mesh_np, scene.num_parts, V.dtype)
    labels = torch.as_tensor(labels_np, device=dev)
    crossings = None
    if antialias_edges:
        rows = crossings_numpy(v_np, f_np, mesh_np, face_np, depth_np, camera, near)
        crossings = crossings_from_rows(rows, W, dev)
        labels = antialias(labels, crossings, V, camera)
    depth = maps[..., 0]
    return RenderOutput(
        silhouette=1.0 - labels[..., 0],
        part_silhouettes=labels[..., 1:].permute(2, 0, 1),
        part_id=torch.as_tensor(part_np, device=dev),
        depth=depth,
        disparity=maps[..., 1],
        normals=maps[..., 2:5],
        mask=torch.as_tensor(face_np >= 0, device=dev),
        bary=maps[..., 5:8],
        fragments=Fragments(face_idx, maps[..., 5:8].detach(), depth.detach()),
        scene=scene,
        crossings=crossings,
    )


# ---------------------------------------------------------------------------------- shading
DEFAULT_LIGHT = (0.0, -0.4, -1.0)  # towards the light, camera frame: from the camera, a bit above


def shade(
    normals: torch.Tensor,
    albedo: torch.Tensor,
    mask: torch.Tensor,
    *,
    to_light: Sequence[float] = DEFAULT_LIGHT,
    ambient: float = 0.35,
    background: Sequence[float] = (1.0, 1.0, 1.0),
) -> torch.Tensor:
    """Lambert + ambient shading for previews: albedo · (ambient + (1 − ambient) · max(0, n·l)).

    Args:
        normals: (H, W, 3) unit camera-frame normals.
        albedo: (H, W, 3) or (3,) colours in [0, 1].
        mask: (H, W) bool or soft coverage in [0, 1] (e.g. ``silhouette`` for smooth outlines).
        to_light: direction from the surface towards the light, camera frame (normalised here).
        background: colour where ``mask`` is 0.
    Returns:
        (H, W, 3) float RGB in [0, 1].
    """
    light = torch.nn.functional.normalize(torch.as_tensor(to_light, dtype=normals.dtype, device=normals.device), dim=0)
    lambert = (normals * light).sum(-1).clamp(min=0.0)
    rgb = albedo * (ambient + (1.0 - ambient) * lambert)[..., None]
    bg = torch.as_tensor(background, dtype=normals.dtype, device=normals.device)
    cover = mask.to(normals.dtype)[..., None]
    return (cover * rgb + (1.0 - cover) * bg).clamp(0.0, 1.0)
