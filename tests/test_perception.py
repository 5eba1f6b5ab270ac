"""Embedded perception: detector retry geometry, PnP placement, segmentation, inpainting."""

import cv2
import numpy as np
import pytest

from conftest import realdata
from hoikit.geometry import random_rotations
from hoikit.io.images import load_image
from hoikit.perception.hands import (
    HandDetection,
    HandDetectorConfig,
    MediaPipeHands,
    _views,
    choose_hand,
    no_hand_error,
    place_in_camera,
)
from hoikit.perception.inpainting import amodal_object_mask, inpaint_hand_opencv
from hoikit.perception.segmentation import hand_mask_from_keypoints, segment_object_grabcut
from hoikit.types import Camera

# a plausible right hand (metres, MediaPipe-like world frame: x right, y down, z away)
HAND_WORLD = np.array([
    [0.0, 0.0, 0.0],
    [-0.03, -0.02, -0.01], [-0.05, -0.04, -0.015], [-0.065, -0.06, -0.02], [-0.075, -0.075, -0.02],
    [-0.025, -0.085, 0.0], [-0.028, -0.125, 0.0], [-0.03, -0.15, 0.0], [-0.031, -0.17, 0.0],
    [-0.005, -0.09, 0.0], [-0.006, -0.135, 0.0], [-0.007, -0.163, 0.0], [-0.008, -0.185, 0.0],
    [0.015, -0.085, 0.0], [0.017, -0.125, 0.0], [0.018, -0.15, 0.0], [0.019, -0.17, 0.0],
    [0.032, -0.075, 0.0], [0.036, -0.105, 0.0], [0.038, -0.123, 0.0], [0.04, -0.14, 0.0],
])  # fmt: skip


def test_every_retry_view_maps_back_exactly():
    """Put a marker in the original image, find it in each view, map it back."""
    rng = np.random.default_rng(0)
    img = np.zeros((300, 420, 3), np.uint8)
    for _ in range(5):
        x, y = int(rng.integers(20, 400)), int(rng.integers(20, 280))
        img[:] = 0
        img[y - 1 : y + 2, x - 1 : x + 2] = 255  # 3×3 marker centred on (x, y)
        for view in _views(img, HandDetectorConfig()):
            v = view.image[..., 0].astype(float)
            if v.max() < 100:  # the marker is outside this tile
                continue
            ys, xs = np.nonzero(v >= v.max() * 0.5)
            w = v[ys, xs]
            found = np.array([[np.average(xs, weights=w), np.average(ys, weights=w)]])
            back = view.to_original(found)[0]
            assert np.abs(back - [x, y]).max() < 1.0, (view.name, back, (x, y))


def test_rotated_views_rotate_world_axes_like_pixels():
    """World landmark axes follow the image axes, so their xy must turn back like pixel offsets."""
    img = np.zeros((100, 160, 3), np.uint8)
    p0 = np.array([[30.0, 40.0]])
    for view in _views(img, HandDetectorConfig()):
        if view.name.startswith("rot"):
            jac = np.stack([view.to_original(p0 + e)[0] - view.to_original(p0)[0] for e in np.eye(2)], axis=1)
            np.testing.assert_allclose(view.world_rotation, jac, atol=1e-12)
            assert abs(np.linalg.det(jac) - 1.0) < 1e-12  # a rotation, not a mirror


def test_pnp_places_the_hand_in_camera_space():
    cam = Camera(np.array([[900.0, 0, 320], [0, 900.0, 240], [0, 0, 1]]), 640, 480)
    R = random_rotations(1, 3)[0]
    t = np.array([0.05, -0.02, 0.45])
    joints = HAND_WORLD @ R.T + t
    det = HandDetection(cam.project(joints), HAND_WORLD, "right", 1.0)
    np.testing.assert_allclose(place_in_camera(det, cam), joints, atol=1e-5)


def test_choose_hand():
    small = HandDetection(HAND_WORLD[:, :2] * 1000 + 300, HAND_WORLD, "left", 0.9)
    big = HandDetection(HAND_WORLD[:, :2] * 3000 + 800, HAND_WORLD, "right", 0.9)
    assert choose_hand([small, big], "largest") is big
    assert choose_hand([small, big], "left") is small
    assert choose_hand([big], "left") is None
    mask = np.zeros((1500, 1500), bool)
    tip = small.keypoints2d[8].astype(int)
    mask[tip[1] - 5 : tip[1] + 5, tip[0] - 5 : tip[0] + 5] = True
    assert choose_hand([small, big], "auto", mask) is small
    assert "no hand found" in str(no_hand_error("x.jpg", ["full", "rot90", "tile0.5@0,0"]))


def synthetic_grasp_image():
    """A blue can on a grey background, a skin-coloured hand drawn over its middle."""
    img = np.full((400, 400, 3), 170, np.uint8)
    img[80:330, 150:250] = (30, 60, 200)  # the can: 100 × 250 px
    can = np.zeros((400, 400), bool)
    can[80:330, 150:250] = True
    # the hand lies on its side, fingers pointing right across the can
    kp = np.stack([HAND_WORLD[:, 1] * -1300 + 110, HAND_WORLD[:, 0] * -1300 + 200], axis=1)
    hand = hand_mask_from_keypoints(kp, (400, 400))
    img[hand] = (225, 170, 140)
    return img, kp, can & ~hand, hand


def test_grabcut_finds_the_held_object():
    img, kp, can_visible, hand = synthetic_grasp_image()
    masks = segment_object_grabcut(img, kp)
    assert not (masks.object & masks.hand).any()
    iou = (masks.object & can_visible).sum() / (masks.object | can_visible).sum()
    assert iou > 0.8, iou


def test_another_hand_is_never_the_object():
    """A second hand lying on the can in the can's own colour (a blue glove): GrabCut alone would
    take it as object; passed as another hand it is excluded and the can is still found."""
    img, kp, can_visible, hand = synthetic_grasp_image()
    other = kp + [0, 110]  # the same hand shape, 110 px lower, across the can's lower half
    other_mask = hand_mask_from_keypoints(other, img.shape[:2])
    img[other_mask & ~hand] = (30, 60, 200)
    plain = segment_object_grabcut(img, kp)
    masks = segment_object_grabcut(img, kp, other_hands=(other,))
    assert (plain.object & other_mask).sum() > 500  # without the other hand, it is taken as object
    assert not (masks.object & other_mask).any()
    target = can_visible & ~other_mask
    iou = (masks.object & target).sum() / (masks.object | target).sum()
    assert iou > 0.7, iou


def test_inpainting_fills_the_hand_with_object_colour():
    img, kp, can_visible, hand = synthetic_grasp_image()
    amodal = amodal_object_mask(can_visible, hand)
    hidden = amodal & hand
    assert hidden.sum() > 500  # the hand covers part of the can
    res = inpaint_hand_opencv(img, hand, can_visible)
    assert np.abs(res.rgb[hidden].astype(int) - [30, 60, 200]).mean() < 20
    np.testing.assert_array_equal(res.rgb[~hidden], img[~hidden])


def test_mediapipe_on_a_real_photo():
    path = realdata("images", "honnotate_mustard.png")
    det = MediaPipeHands()
    hands = det.detect(load_image(path).rgb)
    assert len(hands) >= 1 and det.tried[0] == "full"
    h = choose_hand(hands)
    assert h.side == "right"  # the README says: right hand grasping the mustard bottle
    bone = np.linalg.norm(h.world[9] - h.world[0])
    assert 0.06 < bone < 0.13  # metric world landmarks: wrist → middle MCP


def test_retries_find_a_hand_the_first_pass_misses():
    path = realdata("images", "hort_test3.jpg")  # phone held sideways: found after rotating
    det = MediaPipeHands()
    hands = det.detect(load_image(path).rgb)
    assert hands and det.tried[0] == "full" and len(det.tried) > 1
    x0, y0, x1, y1 = hands[0].bbox
    assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 720


def test_vote_keeps_the_hand_several_passes_agree_on():
    from hoikit.perception.hands import HandDetection, vote

    def det(x0, y0, size, side="right", score=0.9, name="tile"):
        kp = np.array([[x0, y0], [x0 + size, y0 + size]] + [[x0 + size / 2, y0 + size / 2]] * 19, float)
        return HandDetection(kp, np.zeros((21, 3)), side, score, name)

    small = det(500, 450, 60, score=0.6, name="tile@536")  # a thumb nail taken for a hand
    big = [det(350, 500, 400, "left", 0.89, "padded"), det(345, 495, 410, "right", 0.97, "lite256"), det(352, 490, 395, "right", 0.93, "lite720")]
    out = vote([small, *big])
    assert len(out) == 1 and out[0].attempt == "lite256"  # the surest handedness of the big hand
    # single-pass hands only: all kept, none merged
    far = det(0, 0, 50)
    assert {d.attempt for d in vote([small, far])} == {"tile@536", "tile"}
    assert vote([]) == []


def test_the_lite_model_finds_a_hand_the_full_model_misses():
    """hamer_test2.jpg (600×450, a trumpet player): only the lite landmark model finds the hand
    on the valves' side, in the 720 px pass; its keypoints map back into the photo."""
    path = realdata("images", "hamer_test2.jpg")
    det = MediaPipeHands()
    hands = det.detect(load_image(path).rgb)
    assert hands and det.tried[-1].startswith("lite")
    x0, y0, x1, y1 = hands[0].bbox
    assert 0 <= x0 < x1 <= 600 and 0 <= y0 < y1 <= 450 and hands[0].size_px > 60
