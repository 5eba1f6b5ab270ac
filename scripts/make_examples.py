"""Regenerate hoikit/data/examples/{can_gt,can_pred}.ply (the `make demo` mesh pair).

    python scripts/make_examples.py

The ground truth is a soda-can-sized cylinder 45 cm in front of the camera; the "prediction" is a
slightly tapered, bumpy, shifted and shrunk version of it, as a reconstruction might be.
"""

from pathlib import Path

import numpy as np
import trimesh

OUT = Path(__file__).resolve().parents[1] / "hoikit" / "data" / "examples"


def main() -> None:
    rng = np.random.default_rng(0)
    gt = trimesh.creation.cylinder(radius=0.033, height=0.122, sections=64)
    gt = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(gt.vertices, gt.faces, max_edge=0.015))
    gt.apply_translation([0.02, 0.01, 0.45])
    pred = trimesh.creation.cylinder(radius=0.033, height=0.122, sections=64)
    pred = trimesh.Trimesh(*trimesh.remesh.subdivide_to_size(pred.vertices, pred.faces, max_edge=0.015))
    v = pred.vertices.copy()
    v[:, :2] *= (1.0 - 1.5 * v[:, 2:3])  # taper towards +z
    v += rng.normal(scale=0.0008, size=v.shape)  # surface noise
    pred.vertices = v * 0.92
    pred.apply_translation([0.035, 0.0, 0.47])
    OUT.mkdir(parents=True, exist_ok=True)
    gt.export(OUT / "can_gt.ply")
    pred.export(OUT / "can_pred.ply")
    print(f"wrote {OUT}/can_gt.ply ({len(gt.faces)} faces), can_pred.ply ({len(pred.faces)} faces)")


if __name__ == "__main__":
    main()
