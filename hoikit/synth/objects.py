"""Synthetic objects with exact ground truth: procedural families and the real YCB meshes.

``sample_object(rng)`` draws a family, then its random metric dimensions, and returns a
:class:`SynthObject` in the canonical frame (:mod:`hoikit.synth.base`: bounding-box centre at
the origin, +z up, longest horizontal extent along +x) with

- ``mesh``: watertight, outward, metres, ≤ 10k faces, the zero level set of ``sdf``; built on
  first access, so that SDF-only consumers (shape-prior training) skip meshing;
- ``sdf``: a torch SDF (negative inside), differentiable in the query points — exact,
  exact outside (unions), or a lower bound with exact sign, tight at the surface (ellipsoid,
  superquadric); see ``sdf_exactness`` and :mod:`hoikit.synth.sdf`;
- ``texture``: a solid texture points → RGB in [0, 1] (about a third of objects uniform);
- ``grasp_hints``: graspable parts (handle or body) as centre, axis, radius, length;
- ``held_out``: False for procedural objects, True for YCB (never train on those).

The same seed gives the same object. YCB models join only when asked for (``"ycb"`` in
``families``) and only when the data is present.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import trimesh

from hoikit.synth import families as fam
from hoikit.synth.base import GraspHint, SynthObject
from hoikit.synth.families import Blueprint
from hoikit.synth.sdf import translated
from hoikit.synth.textures import Shifted, Uniform, random_color

Builder = Callable[[np.random.Generator], Blueprint]
FAMILIES: dict[str, Builder] = {
    "box": fam.build_box,
    "can": fam.build_can,
    "ball": fam.build_ball,
    "ellipsoid": fam.build_ellipsoid,
    "superquadric": fam.build_superquadric,
    "bottle": fam.build_bottle,
    "cup": fam.build_cup,
    "mug": fam.build_mug,
    "bowl": fam.build_bowl,
    "banana": fam.build_banana,
    "knife": fam.build_knife,
    "spatula": fam.build_spatula,
    "hammer": fam.build_hammer,
    "screwdriver": fam.build_screwdriver,
    "ring": fam.build_ring,
}
YCB = "ycb"  # pseudo-family: the real YCB models (held out)

__all__ = ["FAMILIES", "YCB", "GraspHint", "SynthObject", "build_object", "sample_object"]


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _translated_mesh(build: Callable[[], trimesh.Trimesh], offset: np.ndarray) -> trimesh.Trimesh:
    mesh = build()
    mesh.apply_translation(offset)
    return mesh


def canonical(family: str, bp: Blueprint) -> SynthObject:
    """Move a blueprint from its construction frame to the canonical frame (the centre of its
    analytic bounds to the origin). The mesh is built lazily, on first access."""
    c = bp.solid.center
    return SynthObject(
        family=family,
        name=family,
        source="procedural",
        build_mesh=functools.partial(_translated_mesh, bp.mesh, -c),
        sdf=translated(bp.solid, -c),
        texture=Shifted(bp.texture, tuple(float(x) for x in c)),
        params=dict(bp.params),
        grasp_hints=tuple(h.shifted(-c) for h in bp.hints),
        held_out=False,
        sdf_exactness=bp.solid.exactness,
        parts={k: translated(v, -c) for k, v in bp.parts.items()},
        bounds=np.stack([bp.solid.lo - c, bp.solid.hi - c]),
    )


def build_object(family: str, rng: np.random.Generator | int | None = None) -> SynthObject:
    """One random procedural object of ``family`` (a key of :data:`FAMILIES`)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown object family {family!r}; expected one of {sorted(FAMILIES)}")
    return canonical(family, FAMILIES[family](_rng(rng)))


def _sample_ycb(rng: np.random.Generator) -> SynthObject:
    from hoikit.synth.ycb import load_ycb, ycb_names

    names = ycb_names()
    if not names:
        raise FileNotFoundError("no YCB models found (set HOIKIT_REALDATA or see shared/realdata/README.md)")
    obj = load_ycb(names[rng.integers(len(names))])
    if isinstance(obj.texture, Uniform):  # untextured model: a random colour
        obj = replace(obj, texture=Uniform(random_color(rng)))
    return obj


def sample_object(rng: np.random.Generator | int | None = None, families: Sequence[str] | None = None) -> SynthObject:
    """A random object: a family drawn uniformly from ``families`` (default: every procedural
    family; add ``"ycb"`` for the real models), then its random dimensions and texture.

    Args:
        rng: a numpy Generator, or a seed.
        families: names from :data:`FAMILIES` and/or ``"ycb"``.
    """
    g = _rng(rng)
    names = list(FAMILIES) if families is None else list(families)
    unknown = set(names) - set(FAMILIES) - {YCB}
    if unknown or not names:
        raise ValueError(f"unknown object families {sorted(unknown)}; expected some of {sorted(FAMILIES) + [YCB]}")
    family = names[g.integers(len(names))]
    return _sample_ycb(g) if family == YCB else canonical(family, FAMILIES[family](g))
