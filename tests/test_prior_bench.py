"""Pieces of `hoikit bench prior` that need no trained weights: baselines and scoring."""

import numpy as np
import pytest
import torch
import trimesh

from hoikit.bench.prior import extrusion_mesh, score
from hoikit.shape.crops import object_crop
from hoikit.shape.frames import normalising_frame, view_rotation


def test_view_rotation_points_z_at_the_object():
    c = np.array([0.1, -0.05, 0.5])
    R = view_rotation(c)
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(R.T @ c, [0, 0, np.linalg.norm(c)], atol=1e-12)
    assert (R.T @ [0, 1, 0])[1] > 0.9  # image "down" stays down


def test_normalising_frame_fits_the_cube():
    pts = np.random.default_rng(0).uniform([-0.05, -0.02, 0.4], [0.07, 0.03, 0.45], size=(500, 3))
    f = normalising_frame(pts, extent=0.9)
    can = f.to_camera().inverse().apply(pts)
    assert np.abs(can).max() == pytest.approx(0.9, abs=1e-9)
    np.testing.assert_allclose(f.to_camera().apply(can), pts, atol=1e-12)


def test_extrusion_of_a_square_is_a_box():
    rgb = np.full((200, 200, 3), 128, np.uint8)
    mask = np.zeros((200, 200), bool)
    mask[60:140, 60:140] = True
    crop, _ = object_crop(rgb, mask, 128)
    box = extrusion_mesh(crop)
    assert box.is_watertight
    ext = box.extents
    assert ext[0] == pytest.approx(ext[1], rel=0.05) and ext[2] == pytest.approx(ext[0], rel=0.1)


def test_score_of_a_perfect_prediction():
    gt = trimesh.creation.box(extents=[1.0, 0.6, 0.4])
    ax = np.linspace(-1, 1, 64)
    X, Y, Z = np.meshgrid(ax, ax, ax, indexing="ij")
    occ = ((np.abs(X) < 0.5) & (np.abs(Y) < 0.3) & (np.abs(Z) < 0.2)).reshape(-1)
    s = score(gt.copy(), gt, occ, scale=0.1)
    assert s.cd_cm2 < 1e-3 and s.f10 == 1.0 and s.iou > 0.97
    bad = score(trimesh.creation.icosphere(radius=0.3), gt, occ, scale=0.1)
    assert bad.iou < s.iou and bad.cd_cm2 > s.cd_cm2


def test_autoencoder_ceiling_reconstructs_held_out_shapes():
    """The shipped encoder + decoder on 4 procedural objects the training never drew."""
    from hoikit.bench.prior import EVAL_SEED_OFFSET, _gt_occupancy, autoencoded_mesh
    from hoikit.shape.small.data import render_view
    from hoikit.shape.small.generator import HoikitSmall, default_weights_path
    from hoikit.synth import sample_object

    if not default_weights_path().is_file():
        pytest.skip(f"no hoikit-small weights at {default_weights_path()}")
    gen, rng = HoikitSmall.load(), np.random.default_rng(EVAL_SEED_OFFSET + 5)
    cds, ious = [], []
    for _ in range(4):
        obj = sample_object(rng)
        view = render_view(obj, rng)
        gt = trimesh.Trimesh(view.canonical_to_object().inverse().apply(np.asarray(obj.mesh.vertices)), obj.mesh.faces, process=False)
        s = score(autoencoded_mesh(gen, obj, view, rng), gt, _gt_occupancy(obj, view), view.frame.scale)
        cds.append(s.cd_cm2)
        ious.append(s.iou)
    print(cds, ious)
    # thin shapes have a low voxel IoU at 64³ even when close; CD is the steadier figure
    assert np.median(cds) < 3.0 and min(cds) < 1.0 and max(ious) > 0.5  # a broken encoder path gives ~10 cm²
