"""The non-differentiable half of the renderer: a z-buffer and silhouette-edge crossings.

Both are plain loops compiled by numba (``cache=True``: compiled once per machine, no C compiler
needed at install). They decide *which* triangle each pixel sees and *where* visible silhouette
edges cross between pixel centres; :mod:`hoikit.render.renderer` then recomputes every
continuous quantity from the vertex positions in torch, so gradients reach the vertices.

Conventions (:mod:`hoikit.types`): camera frame x right, y down, z forward, metres; pixel centres
at integer coordinates; images indexed [row y, column x].
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import torch
from numba import njit

from hoikit.render.projection import pixel_rays, ray_triangle
from hoikit.types import Camera

DEFAULT_NEAR = 1e-3  # metres; triangles with a vertex at or before this depth are not drawn


# ------------------------------------------------------------------------------------ z-buffer
@njit(cache=True, nogil=True)
def _clamp_px(v, n):  # pragma: no cover - compiled
    """A float pixel coordinate clamped to [-1, n]: int() of a huge projection (a vertex just in
    front of the near plane) would overflow."""
    return min(max(v, -1.0), float(n))


@njit(cache=True, nogil=True)
def _zbuffer(uv, z, faces, height, width, near):  # pragma: no cover - compiled
    """Nearest face per pixel centre: face index (-1 none) and depth (inf none)."""
    face_idx = np.full((height, width), -1, dtype=np.int64)
    depth = np.full((height, width), np.inf)
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        za, zb, zc = z[a], z[b], z[c]
        if za <= near or zb <= near or zc <= near:
            continue
        ax, ay, bx, by, cx, cy = uv[a, 0], uv[a, 1], uv[b, 0], uv[b, 1], uv[c, 0], uv[c, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0.0 or not np.isfinite(area):
            continue
        inv_area = 1.0 / area
        x0 = max(0, int(np.ceil(_clamp_px(min(ax, bx, cx), width))))
        x1 = min(width - 1, int(np.floor(_clamp_px(max(ax, bx, cx), width))))
        y0 = max(0, int(np.ceil(_clamp_px(min(ay, by, cy), height))))
        y1 = min(height - 1, int(np.floor(_clamp_px(max(ay, by, cy), height))))
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                w0 = ((bx - x) * (cy - y) - (by - y) * (cx - x)) * inv_area
                w1 = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) * inv_area
                w2 = 1.0 - w0 - w1
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                # 1/z is affine in screen space: perspective-correct depth
                d = 1.0 / (w0 / za + w1 / zb + w2 / zc)
                if d < depth[y, x]:
                    depth[y, x] = d
                    face_idx[y, x] = f
    return face_idx, depth


@dataclass(frozen=True)
class Fragments:
    """What the z-buffer saw at each pixel centre (no gradients).

    Attributes:
        face_idx: (H, W) long, index into the scene's faces, -1 for background.
        bary: (H, W, 3) perspective-correct barycentric coordinates of the visible point.
        depth: (H, W) metres (z of the visible point), 0 for background.
    """

    face_idx: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """(H, W) bool, True where a face is visible."""
        return self.face_idx >= 0


def project_numpy(vertices: np.ndarray, camera: Camera) -> np.ndarray:
    """(V, 3) camera-frame metres → (V, 2) pixels; points at z ≤ 0 get non-finite pixels (ignored)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return camera.project(np.asarray(vertices, dtype=np.float64))


def zbuffer_numpy(vertices: np.ndarray, faces: np.ndarray, camera: Camera, near: float = DEFAULT_NEAR):
    """The z-buffer on numpy arrays: (V, 3) float64 metres, (F, 3) int64 →
    face index (H, W) int64 (-1 background) and depth (H, W) float64 (inf background)."""
    uv = project_numpy(vertices, camera)
    return _zbuffer(uv, np.ascontiguousarray(vertices[:, 2]), faces, camera.height, camera.width, near)


def to_numpy(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Detached contiguous float64 / int64 CPU copies for the numba kernels."""
    v = np.ascontiguousarray(vertices.detach().cpu().numpy(), dtype=np.float64)
    return v, np.ascontiguousarray(faces.detach().cpu().numpy(), dtype=np.int64)


def covered_pixels(face_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (N,) of the covered pixels of a z-buffer face image and their faces (N,)."""
    flat = face_idx.ravel()
    pixels = np.flatnonzero(flat >= 0)
    return pixels, flat[pixels]


def pixel_hits(
    vertices: torch.Tensor, faces: torch.Tensor, pixels: torch.Tensor, visible: torch.Tensor, camera: Camera
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each covered pixel's ray meets its face, recomputed in torch from the vertices.

    Args:
        vertices: (V, 3) camera-frame metres; faces: (F, 3) long.
        pixels: (N,) long flat indices y·W + x of covered pixels; visible: (N,) long their faces.
    Returns:
        depth (N,) metres, bary (N, 3) — differentiable w.r.t. ``vertices`` (exact for the fixed
        visible face).
    """
    tri = vertices[faces[visible]]  # (N, 3, 3)
    return ray_triangle(pixel_rays(pixels, camera, vertices.dtype), tri)


def rasterize(vertices: torch.Tensor, faces: torch.Tensor, camera: Camera, near: float = DEFAULT_NEAR) -> Fragments:
    """Z-buffer a triangle mesh (no gradient; see :func:`hoikit.render.render` for the gradient path).

    Triangles are drawn from both sides (no back-face culling) and a pixel is covered when its
    centre lies inside or on the projected triangle. Triangles with a vertex nearer than ``near``
    are skipped rather than clipped.

    Args:
        vertices: (V, 3) camera-frame metres.
        faces: (F, 3) long.
        camera: pinhole intrinsics and image size (H = camera.height, W = camera.width).
    Returns:
        :class:`Fragments` on ``vertices``' device, bary/depth in its dtype.
    """
    face_np, _ = zbuffer_numpy(*to_numpy(vertices, faces), camera, near)
    dev = vertices.device
    face_idx = torch.as_tensor(face_np, device=dev)
    pixels, visible = (torch.as_tensor(a, device=dev) for a in covered_pixels(face_np))
    with torch.no_grad():
        depth, bary = pixel_hits(vertices, faces, pixels, visible, camera)
    H, W = face_np.shape
    return Fragments(face_idx, scatter_pixels(bary, pixels, (H, W, 3)), scatter_pixels(depth, pixels, (H, W)))


def scatter_pixels(values: torch.Tensor, pixels: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """(N, ...) values at flat pixel indices → image of ``shape`` with zeros elsewhere (differentiable)."""
    flat = values.new_zeros((shape[0] * shape[1], *shape[2:]))
    return flat.index_put((pixels,), values).reshape(shape)


# ------------------------------------------------------------------------ silhouette crossings
def face_neighbours(faces: np.ndarray) -> np.ndarray:
    """(F, 3) index of the face across edge k = (v_k, v_{k+1}) of each face; -1 on boundary and
    non-manifold edges (both count as silhouette edges for the renderer)."""
    F = len(faces)
    a, b = faces, np.roll(faces, -1, axis=1)
    n_v = int(faces.max()) + 1 if F else 0
    key = (np.minimum(a, b) * n_v + np.maximum(a, b)).ravel()
    order = np.argsort(key, kind="stable")
    ks = key[order]
    eq = ks[1:] == ks[:-1]  # eq[i]: half-edges order[i] and order[i+1] share an edge
    prev_eq = np.concatenate([[False], eq[:-1]])
    next_eq = np.concatenate([eq[1:], [False]])
    pair = np.flatnonzero(eq & ~prev_eq & ~next_eq)  # exactly two half-edges
    nb = np.full(3 * F, -1, dtype=np.int64)
    h0, h1 = order[pair], order[pair + 1]
    nb[h0], nb[h1] = h1 // 3, h0 // 3
    return nb.reshape(F, 3)


@njit(cache=True, nogil=True)
def _silhouette_edges(uv, z, faces, neighbours, near):  # pragma: no cover - compiled
    """Half-edges (face, k) on the screen-space silhouette: boundary edges, and edges whose two
    faces have opposite screen orientation (a fold of the projection: a contour edge).

    Returns (E, 2) int64 rows (face, k); each geometric edge appears once.
    """
    F = faces.shape[0]
    facing = np.zeros(F, dtype=np.int64)  # +1 / -1 screen orientation, 0 not drawn
    for f in range(F):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        if z[a] <= near or z[b] <= near or z[c] <= near:
            continue
        area = (uv[b, 0] - uv[a, 0]) * (uv[c, 1] - uv[a, 1]) - (uv[b, 1] - uv[a, 1]) * (uv[c, 0] - uv[a, 0])
        if area > 0.0:
            facing[f] = 1
        elif area < 0.0:
            facing[f] = -1
    out = np.empty((3 * F, 2), dtype=np.int64)
    n = 0
    for f in range(F):
        if facing[f] == 0:
            continue
        for k in range(3):
            g = neighbours[f, k]
            if g >= 0 and facing[g] != 0:
                # shared with a drawn face: silhouette only where the projection folds, and
                # then emitted from the lower face index only
                if facing[g] == facing[f] or g < f:
                    continue
            out[n, 0] = f
            out[n, 1] = k
            n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def _crossings(uv, z, faces, face_mesh, edges, face_idx, depth):  # pragma: no cover - compiled
    """Pixel pairs that a visible silhouette edge separates, one row per (edge, pair).

    A mostly vertical edge is met row by row between horizontal neighbours, a mostly horizontal
    one column by column between vertical neighbours (each pixel pair is then cut by the edge
    at most once along a straight outline). The pixel on the edge's triangle side is the
    *inside* pixel ``o``, the other one ``n``. A crossing is kept when ``o`` shows the edge's
    mesh and ``n`` shows background or something farther than the edge at the crossing.

    Returns (M, 7) int64 rows: o_x, o_y, n_x, n_y, axis (0: horizontal pair, 1: vertical pair),
    vertex a, vertex b of the edge.
    """
    height, width = face_idx.shape
    cap = 0
    for e in range(edges.shape[0]):
        f, k = edges[e, 0], edges[e, 1]
        a, b = faces[f, k], faces[f, (k + 1) % 3]
        extent = max(abs(uv[b, 0] - uv[a, 0]), abs(uv[b, 1] - uv[a, 1]))
        cap += int(min(extent, float(max(height, width)))) + 2
    out = np.empty((cap, 7), dtype=np.int64)
    n = 0
    for e in range(edges.shape[0]):
        f, k = edges[e, 0], edges[e, 1]
        a, b, c = faces[f, k], faces[f, (k + 1) % 3], faces[f, (k + 2) % 3]
        mesh = face_mesh[f]
        ax, ay, bx, by = uv[a, 0], uv[a, 1], uv[b, 0], uv[b, 1]
        dx, dy = bx - ax, by - ay
        if dx == 0.0 and dy == 0.0:
            continue
        side_c = dx * (uv[c, 1] - ay) - dy * (uv[c, 0] - ax)  # which side the triangle is on
        axis = 0 if abs(dy) >= abs(dx) else 1
        # "along" is the pair's direction, "across" the scan-line coordinate
        a_al, a_ac, d_al, d_ac = (ax, ay, dx, dy) if axis == 0 else (ay, ax, dy, dx)
        n_al, n_ac = (width, height) if axis == 0 else (height, width)
        lo = max(0, int(np.ceil(_clamp_px(min(a_ac, a_ac + d_ac), n_ac))))
        hi = min(n_ac - 1, int(np.ceil(_clamp_px(max(a_ac, a_ac + d_ac), n_ac))) - 1)  # half-open [min, max)
        for line in range(lo, hi + 1):
            s = (line - a_ac) / d_ac
            cross = a_al + s * d_al
            p0 = int(np.floor(cross))
            p1 = p0 + 1
            # signed side of p1 relative to the edge, in (x, y) order
            px, py = (p1, line) if axis == 0 else (line, p1)
            side_p1 = dx * (py - ay) - dy * (px - ax)
            o, q = (p1, p0) if side_p1 * side_c > 0.0 else (p0, p1)
            if o < 0 or o >= n_al or q < 0 or q >= n_al:
                continue
            ox, oy, qx, qy = (o, line, q, line) if axis == 0 else (line, o, line, q)
            fo = face_idx[oy, ox]
            if fo < 0 or face_mesh[fo] != mesh:
                continue
            z_edge = 1.0 / ((1.0 - s) / z[a] + s / z[b])
            fq = face_idx[qy, qx]
            if fq >= 0 and depth[qy, qx] <= z_edge:
                continue
            out[n, 0], out[n, 1], out[n, 2], out[n, 3] = ox, oy, qx, qy
            out[n, 4], out[n, 5], out[n, 6] = axis, a, b
            n += 1
    return out[:n]


@dataclass(frozen=True)
class Crossings:
    """Visible silhouette edges crossing between neighbouring pixel centres (no gradients).

    Attributes:
        inside: (M,) long flat pixel index (y·W + x) on the edge's triangle side.
        outside: (M,) long flat pixel index of its neighbour across the edge.
        axis: (M,) long, 0 for a horizontal pixel pair, 1 for a vertical one.
        edge: (M, 2) long scene vertex indices of the edge's ends.
        line: (M,) the pair's row (axis 0) or column (axis 1), pixels.
        inside_pos: (M,) the inside pixel's column (axis 0) or row (axis 1), pixels.
        step: (M,) +1 or -1, from the inside pixel towards the outside one.
    """

    inside: torch.Tensor
    outside: torch.Tensor
    axis: torch.Tensor
    edge: torch.Tensor
    line: torch.Tensor
    inside_pos: torch.Tensor
    step: torch.Tensor

    def __len__(self) -> int:
        return len(self.inside)


def crossings_numpy(
    vertices: np.ndarray,
    faces: np.ndarray,
    face_mesh: np.ndarray,
    face_idx: np.ndarray,
    depth: np.ndarray,
    camera: Camera,
    near: float = DEFAULT_NEAR,
) -> np.ndarray:
    """Silhouette crossings on numpy arrays (see :func:`silhouette_crossings`); depth has inf on
    background. Returns the (M, 7) rows of ``_crossings``."""
    uv = project_numpy(vertices, camera)
    z = np.ascontiguousarray(vertices[:, 2])
    edges = _silhouette_edges(uv, z, faces, face_neighbours(faces), near)
    return _crossings(uv, z, faces, np.ascontiguousarray(face_mesh, dtype=np.int64), edges, face_idx, depth)


def crossings_from_rows(rows: np.ndarray, width: int, device) -> Crossings:
    """Pack the (M, 7) kernel rows into :class:`Crossings` tensors."""
    axis = rows[:, 4]
    ox, oy, qx, qy = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    t = lambda x: torch.as_tensor(np.ascontiguousarray(x), device=device)  # noqa: E731
    return Crossings(
        inside=t(oy * width + ox),
        outside=t(qy * width + qx),
        axis=t(axis),
        edge=t(rows[:, 5:7]),
        line=t(np.where(axis == 0, oy, ox)),
        inside_pos=t(np.where(axis == 0, ox, oy)),
        step=t(np.where(axis == 0, qx - ox, qy - oy)),
    )


def silhouette_crossings(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    face_mesh: torch.Tensor,
    fragments: Fragments,
    camera: Camera,
    near: float = DEFAULT_NEAR,
) -> Crossings:
    """Find where visible silhouette edges cut between pixel centres (input of anti-aliasing).

    Args:
        vertices: (V, 3) camera-frame metres; faces: (F, 3) long.
        face_mesh: (F,) long, which mesh of the scene each face belongs to.
        fragments: the z-buffer of the same scene.
    Returns:
        :class:`Crossings` on ``vertices``' device.
    """
    v, f = to_numpy(vertices, faces)
    face_idx = fragments.face_idx.cpu().numpy()
    depth = np.where(face_idx >= 0, fragments.depth.detach().cpu().numpy().astype(np.float64), np.inf)
    rows = crossings_numpy(v, f, face_mesh.cpu().numpy(), face_idx, depth, camera, near)
    return crossings_from_rows(rows, camera.width, vertices.device)
