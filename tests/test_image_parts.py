"""Pieces of the single-image pipeline checked against analytic cases."""

import numpy as np
import pytest
import torch

from hoikit.image.batch import BatchResult, expand_inputs, run_batch, unique_names
from hoikit.image.config import ABLATIONS, ImageConfig, preset
from hoikit.image.cues import build_cues, normals_from_depth, working_crop_box
from hoikit.image.guidance import about, gaussian_blur
from hoikit.image.placement import grasp_point, place_object
from hoikit.errors import InputError, NoHandError
from hoikit.types import Camera, Sim3


def test_presets_follow_the_paper_schedule():
    p = preset("paper")
    assert (p.num_steps, p.hand_step, p.guidance_start) == (20, 9, 10)
    assert (p.hand_iters, p.object_iters, p.joint_iters) == (200, 100, 50)
    assert p.guidance_scale == 5.0
    f = preset("fast")
    assert f.hand_step < f.guidance_start < f.num_steps
    # the regressed start runs up to where the guidance starts, in both presets
    assert p.regressed_steps == p.guidance_start and f.regressed_steps == f.guidance_start
    assert set(ABLATIONS) == {"full", "no_guidance", "no_phase1", "no_phase2", "swap_phases", "joint_only"}
    with pytest.raises(ValueError):
        ImageConfig().with_ablation("nope")


def test_normals_of_a_tilted_plane():
    cam = Camera.from_fov(80, 60, 60)
    n_true = np.array([0.0, -np.sin(0.4), -np.cos(0.4)])  # facing the camera, tilted
    p0 = np.array([0.0, 0.0, 0.5])
    v, u = np.mgrid[0:60, 0:80]
    rays = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, np.ones_like(u, float)], -1)
    depth = (n_true @ p0) / (rays @ n_true)  # ray-plane intersection z
    n = normals_from_depth(depth, cam)
    inner = n[2:-2, 2:-2].reshape(-1, 3)
    np.testing.assert_allclose(inner, np.broadcast_to(n_true, inner.shape), atol=1e-6)


def test_about_rotates_in_place():
    c = torch.tensor([0.1, 0.2, 0.5])
    R = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    T = about(Sim3(torch.tensor(2.0), R, torch.tensor([0.0, 0.0, 0.01])), c)
    np.testing.assert_allclose(T.apply(c[None])[0].numpy(), (c + torch.tensor([0, 0, 0.01])).numpy(), atol=1e-7)


def test_gaussian_blur_keeps_mass_and_constants():
    img = torch.zeros(30, 30)
    img[15, 15] = 1.0
    b = gaussian_blur(img, 2.0)
    assert float(b.sum()) == pytest.approx(1.0, abs=1e-5) and float(b.max()) < 0.1
    torch.testing.assert_close(gaussian_blur(torch.ones(10, 10), 1.5), torch.ones(10, 10))


def _cues_for_disc(cam, centre_px, radius_px, kp=None):
    h, w = cam.height, cam.width
    yy, xx = np.mgrid[0:h, 0:w]
    obj = (xx - centre_px[0]) ** 2 + (yy - centre_px[1]) ** 2 <= radius_px**2
    hand = np.zeros_like(obj)
    kp = kp if kp is not None else np.tile(np.array(centre_px, float), (21, 1)) + np.linspace(-20, 20, 21)[:, None]
    rgb = np.full((h, w, 3), 200, np.uint8)
    return build_cues(rgb, cam, kp, hand, obj, 96)


def test_object_is_placed_at_the_grasp_depth_with_the_right_size():
    cam = Camera.from_fov(320, 240, 60)
    cues = _cues_for_disc(cam, (160, 120), 40)
    joints = np.zeros((21, 3))
    joints[:, 2] = 0.5  # the grasp is 50 cm away
    cube = np.array([[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]])
    T = place_object(cube, cues, joints)
    placed = T.apply(cube)
    centre = placed.mean(0)
    assert centre[2] == pytest.approx(0.5, rel=1e-6)  # on the object's ray, at the grasp's depth
    np.testing.assert_allclose(cam.project(centre[None])[0], cues.object_center_px, atol=1e-6)
    # the projected width equals the disc's diameter (81 px box)
    width_m = np.ptp(placed[:, 0])
    assert width_m * cam.fx / 0.5 == pytest.approx(81, rel=0.02)
    np.testing.assert_allclose(grasp_point(joints), [0, 0, 0.5])


def test_working_crop_contains_everything():
    hand = np.zeros((100, 200), bool)
    hand[10:30, 20:60] = True
    obj = np.zeros_like(hand)
    obj[50:90, 100:150] = True
    kp = np.array([[25.0, 15.0]] * 21)
    cx, cy, side = working_crop_box(hand, obj, kp)
    assert cx - side / 2 < 20 and cx + side / 2 > 150 and cy - side / 2 < 10 and cy + side / 2 > 90


def test_batch_never_stops_and_counts(tmp_path):
    for name in ("a.png", "b.jpg", "notes.txt"):
        (tmp_path / name).write_text("x")
    inputs = expand_inputs([str(tmp_path)])
    assert [p.name for p in inputs] == ["a.png", "b.jpg"]
    assert unique_names([tmp_path / "x.png", tmp_path / "sub" / "x.png"]) == ["x", "x-2"]

    def one(photo, out):
        if photo.name == "a.png":
            raise NoHandError("no hand found")
        return {"warnings": []}

    res = run_batch(inputs, tmp_path / "out", one)
    s = res.summary()
    assert s["n"] == 2 and s["n_ok"] == 1 and s["rr"] == 0.5
    assert res.items[0]["exit_code"] == 3 and res.exit_code() == 1
    assert BatchResult([{"status": "failed", "exit_code": 2}]).exit_code() == 2
    with pytest.raises(InputError):
        expand_inputs([str(tmp_path / "*.nothing")])


# ------------------------------------------------------------------- adapters in the pipeline
def _demo_photo():
    from hoikit.demo import example_path

    return example_path("demo_photo.jpg")


def test_grasp_prompt_points_into_the_grasp():
    from hoikit.perception.segmentation import grasp_prompt
    from hoikit.perception.segmentation import grasp_region, hand_mask_from_keypoints

    # a curled right hand: fingertips and thumb tip around (100, 100)
    rng = np.random.default_rng(0)
    kp = np.array([[60, 160], [80, 150], [95, 135], [105, 118], [110, 105],
                   [70, 110], [85, 80], [105, 75], [118, 90],
                   [75, 115], [92, 84], [112, 80], [124, 96],
                   [80, 122], [98, 92], [117, 88], [128, 104],
                   [86, 130], [102, 104], [118, 100], [128, 112]], float)  # fmt: skip
    kp += rng.normal(scale=0.3, size=kp.shape)
    hand = hand_mask_from_keypoints(kp, (200, 200))
    p = grasp_prompt(kp, hand)
    assert list(p.labels) == [1, 0, 0]
    np.testing.assert_allclose(p.points[1], kp[0])  # the wrist is a negative
    region = grasp_region(kp, hand)
    ys, xs = np.nonzero(region)
    np.testing.assert_allclose(p.points[0], [xs.mean(), ys.mean()])
    x0, y0, x1, y1 = p.box
    assert x0 < kp[:, 0].min() and y0 < kp[:, 1].min() and x1 > kp[:, 0].max() and y1 > kp[:, 1].max()


def test_perceive_uses_a_segmenter_adapter_through_its_protocol():
    """The adapter path of `perceive` with the embedded GrabCut behind the Segmenter protocol: the
    mask comes from the adapter (named in backends) and excludes the hand."""
    from hoikit.image.pipeline import Models, perceive
    from hoikit.perception.roles import GrabCutSegmenter

    seg = GrabCutSegmenter(name="grabcut-prompted")  # prompt-only GrabCut: not the default's path
    inputs = perceive(_demo_photo(), models=Models(None, None, segmenter=seg))
    assert inputs.backends["segmentation"] == "grabcut-prompted"
    assert inputs.object_mask.sum() > 500
    assert not (inputs.object_mask & inputs.hand_mask).any()
    default = perceive(_demo_photo())
    iou = (inputs.object_mask & default.object_mask).sum() / (inputs.object_mask | default.object_mask).sum()
    assert iou > 0.3  # both find the held object


def test_image_with_a_missing_adapter_checkpoint_says_where_it_looked(tmp_path, capsys):
    from hoikit.cli import main

    missing = tmp_path / "sam2.1_hiera_tiny.pt"
    rc = main(["image", str(_demo_photo()), "-o", str(tmp_path / "out"), "--sam2", str(missing)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "sam2" in err.lower()


def _sphere_sdf(centre, radius):
    c = torch.tensor(centre, dtype=torch.float32)
    return lambda p: (p - c).norm(dim=-1) - radius


def _sphere_vertices(centre, radius):
    return np.asarray(centre) + radius * np.concatenate([np.eye(3), -np.eye(3)])


def test_separation_moves_the_object_along_the_ray_just_out_of_the_hand():
    from hoikit.image.separation import separate

    # hand ball r 4 cm at 50 cm depth, object ball r 3 cm 6 cm behind it: a 1 cm overlap along the ray;
    # the lens between them is π·1²·117/(12·6) = 5.1 cm³; shifting 1 cm along z costs 0.5, and stopping
    # 2 mm short leaves a lens of ≈ 0.2 cm³ for 0.18 less: the search stops between 7 and 10 mm
    hand_c, obj_c = (0.0, 0.0, 0.5), (0.0, 0.0, 0.56)
    sep = separate(_sphere_sdf(hand_c, 0.04), _sphere_vertices(hand_c, 0.04), _sphere_sdf(obj_c, 0.03), _sphere_vertices(obj_c, 0.03))
    assert sep.iv_before_cm3 == pytest.approx(np.pi * 117 / 72, rel=0.15)
    assert sep.iv_after_cm3 < 0.25
    assert 0.007 <= sep.shift[2] <= 0.0105
    assert np.abs(sep.shift[:2]).max() < 0.002


def test_separation_keeps_a_small_overlap_when_moving_costs_more():
    from hoikit.image.separation import SeparationConfig, separate

    hand_c, obj_c = (0.0, 0.0, 0.5), (0.0, 0.0, 0.5695)  # 0.5 mm deep: a tiny lens
    cfg = SeparationConfig(motion_weight=1000.0)
    sep = separate(_sphere_sdf(hand_c, 0.04), _sphere_vertices(hand_c, 0.04), _sphere_sdf(obj_c, 0.03), _sphere_vertices(obj_c, 0.03), cfg)
    assert np.all(sep.shift == 0) and sep.iv_after_cm3 == sep.iv_before_cm3


def test_separation_stays_on_the_depth_points_that_anchor_the_object():
    from hoikit.image.separation import SeparationConfig, separate

    hand_c, obj_c = (0.0, 0.0, 0.5), (0.0, 0.0, 0.56)
    front = np.asarray(obj_c) + 0.03 * np.array([[0, 0, -1.0], [0.6, 0, -0.8], [-0.6, 0, -0.8], [0, 0.6, -0.8], [0, -0.6, -0.8]])
    args = (_sphere_sdf(hand_c, 0.04), _sphere_vertices(hand_c, 0.04), _sphere_sdf(obj_c, 0.03), _sphere_vertices(obj_c, 0.03))
    free = separate(*args, SeparationConfig(anchor_weight=50.0))
    anchored = separate(*args, SeparationConfig(anchor_weight=50.0), anchors=front)
    assert free.shift[2] > 0.007 and np.all(anchored.shift == 0)
