"""The video pipeline end to end: a small synthetic clip scored against its ground truth, the result
folder, the CLI's exit codes, and (slow / real data) the benchmark and the real clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import realdata


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """One 10-frame 160×120 clip written by `hoikit synth --video`."""
    from hoikit.synth.writer import SynthSettings, write_dataset

    root = tmp_path_factory.mktemp("vsynth")
    write_dataset(root, SynthSettings(n=1, seed=3, video=True, frames=10, objects="procedural", size=(160, 120)))
    from hoikit.eval.datasets import SynthDataset

    return SynthDataset(root)[0]


def test_reconstruct_scores_and_writes_the_result_folder(tiny_clip, tmp_path):
    from hoikit.eval.video_method import gt_inputs, score_clip
    from hoikit.hand import load_hand_model
    from hoikit.video.config import VideoConfig
    from hoikit.video.outputs import write_video_result
    from hoikit.video.pipeline import reconstruct

    inputs = gt_inputs(tiny_clip, np.random.default_rng(0))
    recon = reconstruct(inputs, load_hand_model(), VideoConfig())
    rec = score_clip(recon, tiny_clip)
    assert rec["status"] == "ok"
    # a 10-frame 160×120 clip: coarse, but the object is found, posed and shaped
    assert rec["cd_cm2"] < 5.0 and rec["f10"] > 0.5 and rec["ate_mm"] < 30 and rec["mpjpe_mm"] < 15
    assert set(recon.timings) >= {"hands", "masks", "prior", "poses", "carve", "align", "total"}
    out = write_video_result(tmp_path / "out", recon, inputs.frames)
    names = {p.name for p in out.iterdir()}
    assert names == {"object.ply", "trajectory.json", "hands.npz", "overlay.mp4", "sequence.glb", "result.json"}
    traj = json.loads((out / "trajectory.json").read_text())
    assert len(traj["frames"]) == 10
    # the trajectory's object centre is the pose applied to the mesh's bounding-box centre
    from hoikit.eval.metrics import bbox_center

    c = bbox_center(recon.object_mesh)
    assert np.allclose(traj["frames"][3]["object"]["centre"], recon.poses.apply(c[None])[3, 0])
    import av

    with av.open(str(out / "overlay.mp4")) as v:
        assert sum(1 for _ in v.decode(video=0)) == 10
    res = json.loads((out / "result.json").read_text())
    assert res["frames"] == 10 and res["timings_s"]["total"] > 0


def test_a_carving_fallback_is_reported_once(tiny_clip):
    """An impossible support (> 1) empties the strict hull in every pose round; the looser carving
    takes over and the kept (last) round's fallback is reported once, not once per round."""
    from dataclasses import replace

    from hoikit.eval.video_method import gt_inputs
    from hoikit.hand import load_hand_model
    from hoikit.video.config import CarveConfig, VideoConfig
    from hoikit.video.pipeline import reconstruct

    cfg = replace(VideoConfig(), carve=replace(CarveConfig(), support=1.5), pose_rounds=2)
    recon = reconstruct(gt_inputs(tiny_clip, np.random.default_rng(0)), load_hand_model(), cfg)
    assert recon.object_mesh is not None
    assert sum("strict visual hull" in w for w in recon.warnings) == 1
    kept = recon.extras["carving"]
    assert kept["support"] < 1.0 and 0.0 < kept["mask_iou"] <= 1.0


def test_cli_exit_codes(tmp_path, capsys):
    from PIL import Image

    from hoikit.cli import main

    (tmp_path / "bad.mp4").write_bytes(b"\x00not a video")
    assert main(["video", str(tmp_path / "bad.mp4"), "-o", str(tmp_path / "o")]) == 2
    assert "cannot decode the video" in capsys.readouterr().err
    blank = tmp_path / "blank"
    blank.mkdir()
    for i in range(3):
        Image.fromarray(np.full((96, 128, 3), 100 + i, np.uint8)).save(blank / f"{i}.png")
    assert main(["video", str(blank), "-o", str(tmp_path / "o")]) == 3
    assert "no hand found in any of the 3 frames" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_sfm_init_without_pycolmap_names_the_package(tmp_path, capsys):
    pytest.importorskip("numpy")
    try:
        import pycolmap  # noqa: F401

        pytest.skip("pycolmap is installed")
    except ImportError:
        pass
    from hoikit.cli import main

    assert main(["video", str(tmp_path), "--init", "sfm", "-o", str(tmp_path / "o")]) == 2
    assert "pycolmap" in capsys.readouterr().err


def test_variant_flags_are_exclusive(tmp_path, capsys):
    from hoikit.cli import main

    assert main(["video", str(tmp_path), "--top1", "--no-refine"]) == 1
    assert "one variant at most" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_video_on_synthetic_clips(tmp_path):
    from hoikit.bench.video import bench_video
    from hoikit.synth.writer import SynthSettings, write_dataset

    write_dataset(tmp_path, SynthSettings(n=2, seed=11, video=True, frames=30, objects="procedural", size=(256, 192)))
    out = bench_video(str(tmp_path), variants=("full", "no_refine"))
    for v in ("full", "no_refine"):
        assert out[v]["rr"] == 1.0
        assert set(out[v]) >= {"cd_cm2_mean", "f5", "f10", "ate_mm", "mpjpe_mm", "cd_h_cm2", "rr", "s_per_100_frames"}
    assert out["full"]["cd_cm2_mean"] < 3.0
    assert out["prior"] == "visual-hull"  # as `hoikit video` without --weights


@pytest.mark.slow
def test_real_clip_hold_sushi_runs_with_embedded_defaults(tmp_path):
    from hoikit.cli import main

    clip = realdata("sequences", "hold_sushi")
    assert main(["video", str(clip), "-o", str(tmp_path / "sushi")]) == 0
    assert (tmp_path / "sushi" / "overlay.mp4").stat().st_size > 0
    res = json.loads((tmp_path / "sushi" / "result.json").read_text())
    assert res["frames"] > 10 and res["backends"]["segmentation"] == "hoikit-seg-propagated"
