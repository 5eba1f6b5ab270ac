"""The object record that every synthetic object source produces (procedural families, YCB).

Canonical object frame (metres): origin at the centre of the object's axis-aligned bounding box,
+z the object's natural "up" as it rests on a table, +x along its longest horizontal extent
(a tool's handle-to-head axis, a mug's body-to-handle direction).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal

import numpy as np
import trimesh

from hoikit.synth.sdf import SDF, Exactness
from hoikit.synth.textures import Texture

Source = Literal["procedural", "ycb"]


@dataclass(frozen=True)
class GraspHint:
    """A graspable part, approximated by a cylinder, in the canonical frame.

    Attributes:
        part: what it is (``"handle"``, ``"body"``, ``"blade"``, ``"rim"`` …).
        center: (3,) metres, the middle of the graspable stretch.
        axis: (3,) unit vector along the part: a power grasp wraps the fingers around it.
        radius: metres, half the part's thickness across the axis.
        length: metres, the graspable length along the axis.
    """

    part: str
    center: np.ndarray
    axis: np.ndarray
    radius: float
    length: float

    def __post_init__(self) -> None:
        axis = np.asarray(self.axis, dtype=np.float64)
        object.__setattr__(self, "center", np.asarray(self.center, dtype=np.float64))
        object.__setattr__(self, "axis", axis / np.linalg.norm(axis))

    def shifted(self, offset: np.ndarray) -> "GraspHint":
        return replace(self, center=self.center + np.asarray(offset, dtype=np.float64))


@dataclass(frozen=True)
class SynthObject:
    """One object with exact ground truth, in its canonical frame (module docstring).

    Attributes:
        family: procedural family name (``"mug"`` …) or ``"ycb"``.
        name: the family for procedural objects, the model id for YCB (``"006_mustard_bottle"``).
        source: ``"procedural"`` | ``"ycb"``.
        build_mesh: makes the mesh; use :attr:`mesh`, which calls it once on first access (so
            consumers of the SDF alone never pay for meshing).
        sdf: torch points (N, 3) metres → (N,) metres, negative inside, differentiable in the
            points, keeps their dtype/device.
        texture: points (N, 3) → RGB (N, 3) in [0, 1] (numpy or torch, as given).
        params: the sampled dimensions (metres) and shape parameters.
        grasp_hints: graspable parts, preferred first.
        held_out: True for objects that must not be trained on (YCB).
        sdf_exactness: ``"exact"`` | ``"exact-outside"`` | ``"lower-bound"`` (see :mod:`hoikit.synth.sdf`).
        parts: named sub-SDFs (same convention as ``sdf``) whose union is the object.
        bounds: (2, 3) axis-aligned bounds (min, max) in metres, known without the mesh.
    """

    family: str
    name: str
    source: Source
    build_mesh: Callable[[], trimesh.Trimesh] = field(repr=False)
    sdf: SDF = field(repr=False)
    texture: Texture = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)
    grasp_hints: tuple[GraspHint, ...] = ()
    held_out: bool = False
    sdf_exactness: Exactness = "exact"
    parts: dict[str, SDF] = field(default_factory=dict, repr=False)
    bounds: np.ndarray = field(default_factory=lambda: np.zeros((2, 3)), repr=False)

    @functools.cached_property
    def mesh(self) -> trimesh.Trimesh:
        """Watertight, outward-oriented trimesh in metres, ≤ 10k faces: the zero level set of
        ``sdf``. Built on first access, then kept."""
        return self.build_mesh()

    @property
    def grasp_hint(self) -> GraspHint:
        """The preferred graspable part."""
        return self.grasp_hints[0]

    @property
    def extents(self) -> np.ndarray:
        """(3,) bounding-box size in metres (from ``bounds``: no meshing)."""
        return self.bounds[1] - self.bounds[0]

    def vertex_colors(self) -> np.ndarray:
        """(V, 4) uint8 RGBA of the texture at the mesh vertices (for previews and PLY export)."""
        rgb = np.asarray(self.texture(np.asarray(self.mesh.vertices)))
        return np.concatenate([np.round(rgb * 255), np.full((len(rgb), 1), 255)], axis=1).astype(np.uint8)


HINT_SAMPLES = 4096  # surface samples for the principal axis


def principal_hint(mesh: trimesh.Trimesh, part: str = "body") -> GraspHint:
    """Fallback hint: the principal axis of the mesh surface (largest variance) through its
    bounding-box centre; radius the mean distance of the surface from that axis, length the
    surface's extent along it."""
    from hoikit.geometry.sampling import sample_surface

    pts = sample_surface(mesh, HINT_SAMPLES, seed=0)[0]
    center = 0.5 * (mesh.bounds[0] + mesh.bounds[1])
    centred = pts - center
    axis = np.linalg.svd(centred - centred.mean(axis=0), full_matrices=False)[2][0]
    along = centred @ axis
    radius = float(np.linalg.norm(centred - np.outer(along, axis), axis=1).mean())
    return GraspHint(part, center, axis, radius, float(along.max() - along.min()))
