"""YCB object models as HO3D and DexYCB ship them: ``<models>/<name>/textured_simple.obj`` (metres)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import trimesh

from hoikit.eval.loaders.base import require

MODEL_FILE = "textured_simple.obj"


@lru_cache(maxsize=32)
def ycb_model(models_dir: Path, name: str) -> trimesh.Trimesh:
    """The YCB model ``name`` (e.g. ``006_mustard_bottle``) in its own frame, metres."""
    from hoikit.io.mesh import load_mesh

    path = models_dir / name / MODEL_FILE
    require([path], f"YCB model {name}")
    return load_mesh(path)
