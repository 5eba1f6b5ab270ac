"""The command line as a user meets it: outputs, exit codes, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from conftest import asymmetric_mesh
from hoikit.cli import main
from hoikit.geometry import rotation_about, transform_mesh
from hoikit.types import Sim3


@pytest.fixture
def mesh_pair(tmp_path):
    gt = asymmetric_mesh()
    pred = transform_mesh(gt, Sim3(np.float64(1.2), rotation_about([0, 1, 0], 30.0), np.array([0.01, 0.0, 0.3])))
    gt.export(tmp_path / "gt.ply")
    pred.export(tmp_path / "pred.obj")
    return tmp_path / "pred.obj", tmp_path / "gt.ply"


def run_json(capsys, args):
    rc = main(args + ["--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "hoikit", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for cmd in ("metrics", "demo", "bench"):
        assert cmd in out.stdout


def test_metrics_json_sim3(capsys, mesh_pair):
    pred, gt = mesh_pair
    rc, res = run_json(capsys, ["metrics", str(pred), str(gt), "--align", "sim3"])
    assert rc == 0
    assert res["align"] == "sim3" and res["cd_cm2"] < 0.01 and res["f5"] == 1.0
    assert {"cd_cm2", "f5", "f10", "align", "align_transform", "n_points"} <= set(res)
    assert res["align_transform"]["s"] == pytest.approx(1 / 1.2, rel=0.01)


def test_metrics_with_hands_and_joints(capsys, tmp_path, mesh_pair):
    pred, gt = mesh_pair
    hand = trimesh.creation.icosphere(subdivisions=3, radius=0.02)
    hand.apply_translation(trimesh.load(pred).centroid + [0.03, 0.0, 0.0])
    hand.export(tmp_path / "hand.ply")
    joints = np.random.default_rng(0).normal(scale=0.03, size=(21, 3))
    np.save(tmp_path / "jp.npy", joints)
    (tmp_path / "jg.json").write_text(json.dumps({"joints3d": (joints + 0.01).tolist()}))
    rc, res = run_json(
        capsys,
        ["metrics", str(pred), str(gt), "--hand-pred", str(tmp_path / "hand.ply"), "--hand-gt", str(tmp_path / "hand.ply"),
         "--joints-pred", str(tmp_path / "jp.npy"), "--joints-gt", str(tmp_path / "jg.json")],
    )  # fmt: skip
    assert rc == 0
    assert res["iv_cm3"] >= 0 and "gt_iv_cm3" in res and "penetration_depth_cm" in res
    assert res["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)  # a pure offset is root-relative zero
    assert {"pa_mpjpe_mm", "cd_h_cm2", "mrrpe_ho_mm"} <= set(res)


@pytest.mark.parametrize(
    "make_bad, message",
    [
        (lambda d: d / "missing.ply", "no such file"),
        (lambda d: (d / "notes.ply").write_text("just some text\n") and d / "notes.ply", "not a mesh file"),
        (lambda d: (d / "notes.txt").write_text("just some text\n") and d / "notes.txt", "not a mesh file"),
        (lambda d: trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), int)).export(d / "empty.ply") and d / "empty.ply", "empty"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path, mesh_pair, make_bad, message):
    _, gt = mesh_pair
    bad = make_bad(tmp_path)
    out = subprocess.run([sys.executable, "-m", "hoikit", "metrics", str(bad), str(gt)], capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hoikit: error:") and message in lines[0]
    assert "Traceback" not in out.stderr


def test_joint_flags_go_together(capsys, mesh_pair, tmp_path):
    pred, gt = mesh_pair
    np.save(tmp_path / "j.npy", np.zeros((21, 3)))
    assert main(["metrics", str(pred), str(gt), "--joints-pred", str(tmp_path / "j.npy")]) == 1
    assert "go together" in capsys.readouterr().err


def test_bad_joint_file_is_exit_2(capsys, mesh_pair, tmp_path):
    pred, gt = mesh_pair
    np.save(tmp_path / "j.npy", np.zeros((20, 3)))
    rc = main(["metrics", str(pred), str(gt), "--joints-pred", str(tmp_path / "j.npy"), "--joints-gt", str(tmp_path / "j.npy")])
    assert rc == 2 and "shape" in capsys.readouterr().err


def test_demo_reconstructs_the_bundled_photo(tmp_path):
    """`make demo`'s command end to end: a real reconstruction of the bundled photo, scored against
    its true mesh. Loose bounds: a scale-free object within a few cm² after icp-ts, hand and object
    in the same region of space (the photo's true object centre is 40 cm away)."""
    from hoikit.shape.small.generator import default_weights_path

    if not default_weights_path().is_file():
        pytest.skip(f"hoikit-small weights not shipped: {default_weights_path()}")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    res = json.loads((out / "demo_metrics.json").read_text())
    assert res["scores"]["icp-ts"]["cd_cm2"] < res["scores"]["none"]["cd_cm2"]
    assert res["scores"]["icp-ts"]["cd_cm2"] < 5.0
    assert res["object_centre_error_cm"] < 15.0
    for name in ("result.json", "hand.ply", "object.ply", "scene.glb", "overlay.png", "views.png"):
        assert (out / name).stat().st_size > 100, name


def test_bench_image_unknown_variant_is_exit_2(capsys, tmp_path):
    assert main(["bench", "image", "--synth", str(tmp_path), "--variants", "full,no_such"]) == 2
    err = capsys.readouterr().err
    assert "no_such" in err and "no_guidance" in err
