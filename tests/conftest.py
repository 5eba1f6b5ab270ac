"""Shared fixtures. Real data in ../shared/realdata is optional: tests that need it skip cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


def realdata(*parts: str) -> Path:
    """Path under ../shared/realdata, or skip the test when it is absent."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not present: {p}")
    return p


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def asymmetric_mesh() -> trimesh.Trimesh:
    """A mesh with no rotational symmetry (a box with a bump), about 8 cm across."""
    box = trimesh.creation.box(extents=[0.08, 0.05, 0.03])
    bump = trimesh.creation.icosphere(subdivisions=2, radius=0.015)
    bump.apply_translation([0.03, 0.02, 0.012])
    handle = trimesh.creation.cylinder(radius=0.006, height=0.05)
    handle.apply_translation([-0.03, -0.02, 0.03])
    return trimesh.util.concatenate([box, bump, handle])
