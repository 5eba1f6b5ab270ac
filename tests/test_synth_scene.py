"""Synthetic scenes and the benchmark files: ground truth against an independent ray caster,
determinism, video trajectories, the reader, the command line."""

import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from brute_raycast import cast
from hoikit.cli import main
from hoikit.errors import InputError
from hoikit.eval.datasets import SynthDataset, SynthImageSample, SynthVideoSample, load_sample
from hoikit.synth.scene import DISTANCE_M, HFOV_DEG, VideoConfig, random_rotation, video_trajectory
from hoikit.synth.poses import pose_matrix
from hoikit.synth.writer import SynthSettings, make_sample, write_dataset
from hoikit.types import MM

IMAGES = SynthSettings(n=3, seed=11, size=(128, 96), normals=True)
VIDEO = SynthSettings(n=1, seed=12, video=True, frames=4, size=(96, 72))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_dataset(root / "images", IMAGES)
    write_dataset(root / "video", VIDEO)
    return root


def all_pixels(width, height):
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs.ravel(), ys.ravel()], 1)


def check_frame(frame):
    """Masks and depth of a frame against a ray cast of its own meshes through every pixel centre."""
    meshes = [(np.asarray(m.vertices), np.asarray(m.faces)) for m in (frame.hand.mesh, frame.object.mesh)]
    px = all_pixels(frame.camera.width, frame.camera.height)
    label, depth = cast(frame.camera.K, px, meshes)
    ours = np.where(frame.mask_hand, 0, np.where(frame.mask_object, 1, -1)).ravel()
    agreement = float(np.mean(label == ours))
    on_object = (label == 1) & (ours == 1)
    depth_error = np.abs(frame.depth.ravel()[on_object] - depth[on_object])
    projected = frame.hand.joints3d @ frame.camera.K.T
    reprojection = np.abs(projected[:, :2] / projected[:, 2:] - frame.hand.joints2d).max()
    return agreement, float(np.median(depth_error)), float(reprojection), int(on_object.sum())


def test_ground_truth_matches_an_independent_ray_cast(written):
    for sample in SynthDataset(written / "images"):
        agreement, depth_error, reprojection, n_object = check_frame(sample.frame)
        assert agreement >= 0.995 and n_object > 0
        assert depth_error < 0.01 * MM and reprojection < 1e-6


def test_video_meshes_derived_from_poses_match_the_frames(written):
    clip = SynthDataset(written / "video")[0]
    for frame in (clip.frames[0], clip.frames[-1]):
        agreement, depth_error, reprojection, _ = check_frame(frame)
        assert agreement >= 0.995 and depth_error < 0.01 * MM and reprojection < 1e-6


def test_same_seed_same_bytes(written, tmp_path):
    write_dataset(tmp_path / "images", IMAGES)
    write_dataset(tmp_path / "video", VIDEO)
    for kind in ("images", "video"):
        a, b = written / kind, tmp_path / kind
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        for f in files:
            assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_a_sample_can_be_made_alone(written):
    again = make_sample(IMAGES, 2).frames[0]
    stored = SynthDataset(written / "images")[2]
    assert np.array_equal(again.rgb, stored.image) and np.array_equal(again.mask_hand, stored.mask_hand)
    assert np.array_equal(again.depth, stored.depth)


def test_camera_and_distance_in_range(written):
    for sample in SynthDataset(written / "images"):
        meta = sample.meta
        assert HFOV_DEG[0] <= meta["hfov_deg"] <= HFOV_DEG[1]
        centre = sample.object.pose[:3, 3]
        assert DISTANCE_M[0] - 1e-9 <= centre[2] and np.linalg.norm(centre) <= DISTANCE_M[1] + 1e-9
        assert sample.object.pose[3].tolist() == [0, 0, 0, 1]
        assert abs(np.linalg.det(sample.object.pose[:3, :3]) - 1) < 1e-9


def test_reader_types_and_round_trip(written):
    ds = SynthDataset(written / "images")
    assert len(ds) == 3 and ds.ids == ["000000", "000001", "000002"] and not ds.is_video
    s = ds[1]
    assert isinstance(s, SynthImageSample)
    assert s.image.shape == (96, 128, 3) and s.image.dtype == np.uint8
    assert s.mask_hand.dtype == bool and s.depth.dtype == np.float32
    assert s.normals is not None and np.allclose(np.linalg.norm(s.normals[s.depth > 0], axis=-1), 1, atol=1e-3)
    assert s.hand.side in ("left", "right") and s.hand.joints3d.shape == (21, 3)
    posed = s.object.mesh_canonical.vertices @ s.object.pose[:3, :3].T + s.object.pose[:3, 3]
    assert np.abs(posed - s.object.mesh.vertices).max() < 1e-6
    hand_from_model = s.hand.transform.apply(np.zeros((1, 3)))[0]
    assert np.allclose(hand_from_model, s.hand.joints3d[0], atol=1e-6)  # the transform's origin is the wrist
    clip = SynthDataset(written / "video")[0]
    assert isinstance(clip, SynthVideoSample) and len(clip) == 4
    assert clip.joints3d.shape == (4, 21, 3) and clip.object_poses.shape == (4, 4, 4)
    assert clip.frames[2].image.shape == (72, 96, 3) and clip.frames[2].normals is None


def test_video_trajectory_is_smooth():
    rng = np.random.default_rng(3)
    start = pose_matrix(random_rotation(rng), np.array([0.02, -0.01, 0.45]))
    poses = video_trajectory(rng, start, 48, VideoConfig())
    R = np.stack([p[:3, :3] for p in poses])
    t = np.stack([p[:3, 3] for p in poses])
    steps = [math.degrees(math.acos(np.clip((np.trace(a.T @ b) - 1) / 2, -1, 1))) for a, b in zip(R[:-1], R[1:])]
    total = math.degrees(math.acos(np.clip((np.trace(R[0].T @ R[-1]) - 1) / 2, -1, 1)))
    assert max(steps) < 12.0 and total > 5.0  # it turns, without jumps
    assert np.abs(np.diff(steps)).max() < 3.0  # and its speed changes smoothly
    assert np.linalg.norm(np.diff(t, axis=0), axis=1).max() < 0.02
    assert np.linalg.norm(np.diff(t, n=2, axis=0), axis=1).max() < 0.005
    assert np.all((t[:, 2] >= DISTANCE_M[0] - 1e-9) & (np.linalg.norm(t, axis=1) <= DISTANCE_M[1] + 1e-9))


def test_reader_errors(written, tmp_path):
    with pytest.raises(InputError, match="no such dataset folder"):
        SynthDataset(tmp_path / "nope")
    with pytest.raises(InputError, match="index.json: no such file"):
        SynthDataset(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(written / "images", broken)
    (broken / "index.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        SynthDataset(broken)
    shutil.copy(written / "images" / "index.json", broken / "index.json")
    shutil.rmtree(broken / "000002")
    with pytest.raises(InputError, match="missing"):
        SynthDataset(broken)
    meta = json.loads((broken / "000001" / "meta.json").read_text())
    del meta["hand"]["joints3d"]
    (broken / "000001" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="hand.joints3d"):
        load_sample(broken / "000001")
    np.save(broken / "000000" / "depth.npy", np.zeros((3, 3), np.float32))
    with pytest.raises(InputError, match="depth"):
        load_sample(broken / "000000")
    (broken / "000000" / "rgb.png").write_bytes(b"not a png")
    with pytest.raises(InputError):
        load_sample(broken / "000000")


def test_cli_synth_and_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["synth", "--n", "1", "--seed", "4", "--size", "64", "48", "--objects", "procedural", "--out", str(out), "--quiet"]) == 0
    index = json.loads((out / "index.json").read_text())
    assert index["samples"] == ["000000"] and index["settings"]["size"] == [64, 48]
    rgb = np.asarray(Image.open(out / "000000" / "rgb.png"))
    assert rgb.shape == (48, 64, 3)
    assert main(["synth", "--n", "-1", "--out", str(tmp_path / "bad")]) == 2
    assert "error" in capsys.readouterr().err


def test_backgrounds_are_deterministic_images():
    from hoikit.synth.backgrounds import random_background

    a = random_background(40, 60, np.random.default_rng(1))
    b = random_background(40, 60, np.random.default_rng(1))
    assert a.image.shape == (40, 60, 3) and a.image.dtype == np.float32
    assert np.array_equal(a.image, b.image) and a.layers == b.layers and a.layers[0] == "gradient"
    assert a.image.min() >= 0 and a.image.max() <= 1 and a.image.std() > 0.01


def test_bench_synth_reports_speed_and_quality():
    from hoikit.bench.synth import bench_synth

    result = bench_synth(n=1, size=(64, 48), objects="procedural")
    assert result["samples_per_s"] > 0 and result["n"] == 1
    assert {"iv_cm3_median", "iv_cm3_max", "tip_rule_share", "hidden_fraction_mean", "load_average_1m_before"} <= set(result)


def test_a_hidden_object_is_drawn_again():
    """Sample 8 of seed 202 first drew a view in which the hand hides the whole ring; the view is
    drawn again until enough of the object shows (checked against the mask itself)."""
    from hoikit.synth.scene import MIN_OBJECT_VISIBLE

    frame = make_sample(SynthSettings(n=9, seed=202), 8).frames[0]
    assert frame.object_visible_fraction >= MIN_OBJECT_VISIBLE and frame.mask_object.sum() > 100
