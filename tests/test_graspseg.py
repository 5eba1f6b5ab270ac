"""hoikit-seg: the grasp crop, the network, its training run and the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hoikit.perception.graspseg.crops import CropConfig, apply_affine, crop_affine, crop_channels, crop_image, paste
from hoikit.perception.graspseg.model import GraspSegNet, SegNetConfig
from hoikit.perception.graspseg.segmenter import GraspSegmenter, default_weights_path, embedded_masks
from hoikit.perception.graspseg.train import seg_loss


def _hand(scale: float = 40.0, at=(200.0, 150.0)) -> np.ndarray:
    """(21, 2) keypoints of an open hand pointing up, about ``scale`` px per bone."""
    kp = [(0.0, 0.0)]
    for dx in (-1.5, -0.5, 0.5, 1.5, 2.5):
        kp += [(dx * 0.5, -1.0 - k) for k in range(4)]
    return np.asarray(at) + scale * np.asarray(kp) * [1, 0.5]


def test_crop_affine_maps_a_marked_pixel_where_the_keypoints_say():
    img = np.zeros((300, 400), np.uint8)
    kp = _hand()
    x, y = np.round(kp[8]).astype(int)
    img[y - 1 : y + 2, x - 1 : x + 2] = 255  # a 3×3 dot on the index tip
    cfg = CropConfig(side=128, roi_scale=2.6)
    A = crop_affine(kp, cfg)
    crop = crop_image(img, A, cfg.side, nearest=False).astype(float)
    got = np.array([(crop.sum(0) * np.arange(128)).sum(), (crop.sum(1) * np.arange(128)).sum()]) / crop.sum()
    np.testing.assert_allclose(got, apply_affine(A, kp[8:9])[0], atol=0.6)
    # the crop's side covers roi_scale × the hand's longer extent
    extent = np.ptp(kp, axis=0).max()
    assert A[0, 0] == pytest.approx(128 / (2.6 * extent))


def test_paste_inverts_the_crop_inside_it():
    rng = np.random.default_rng(0)
    kp = _hand(scale=60.0, at=(400.0, 300.0))  # the whole crop lies inside the 600 × 800 image
    cfg = CropConfig(side=128)
    A = crop_affine(kp, cfg)
    assert (apply_affine(np.linalg.inv(np.vstack([A, [0, 0, 1]]))[:2], np.array([[0.0, 0.0], [127.0, 127.0]])) > 0).all()
    prob = rng.random((128, 128)).astype(np.float32)
    back = paste(prob, A, (600, 800))
    again = crop_image(back, A, 128, nearest=True)
    inner = (slice(4, -4), slice(4, -4))
    assert np.abs(again[inner] - prob[inner]).mean() < 0.2  # bilinear there and back on noise
    smooth = np.outer(np.linspace(0, 1, 128), np.ones(128)).astype(np.float32)
    np.testing.assert_allclose(crop_image(paste(smooth, A, (600, 800)), A, 128, nearest=True)[inner], smooth[inner], atol=0.02)
    assert back[:5].max() == 0.0 and back[:, :5].max() == 0.0  # outside the crop: 0


def test_crop_channels_hold_the_drawn_hand_and_the_grasp():
    kp = apply_affine(crop_affine(_hand(), CropConfig()), _hand())
    x = crop_channels(np.full((128, 128, 3), 128, np.uint8), kp)
    assert x.shape == (5, 128, 128) and x.dtype == np.float32
    assert set(np.unique(x[3])) == {0.0, 1.0} and x[3].sum() > 100
    assert not (x[3].astype(bool) & x[4].astype(bool)).any()  # the grasp region excludes the hand


def test_network_shapes_and_the_loss_of_a_perfect_prediction():
    net = GraspSegNet(SegNetConfig(widths=(4, 8, 8), side=32))
    assert net(torch.zeros(2, 5, 32, 32)).shape == (2, 1, 32, 32)
    target = torch.zeros(1, 1, 8, 8)
    target[..., 2:5, 2:5] = 1
    perfect = (target * 2 - 1) * 30.0
    assert float(seg_loss(perfect, target, 1.0)) < 1e-6
    # logits 0 (p = ½ on all 64 pixels, 9 of them object): BCE log 2, Dice (2·4.5 + 1) / (32 + 9 + 1)
    zero = torch.zeros_like(target)
    expected = np.log(2) + 1 - (2 * 4.5 + 1) / (0.5 * 64 + 9 + 1)
    assert float(seg_loss(zero, target, 1.0)) == pytest.approx(expected, rel=1e-5)


def test_missing_weights_name_the_file(tmp_path):
    from hoikit.errors import InputError, MissingCheckpointError

    with pytest.raises(MissingCheckpointError, match="nope.safetensors"):
        GraspSegmenter.load(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="not a hoikit-seg weights file"):
        GraspSegmenter.load(bad)
    with pytest.raises(ValueError, match="unknown embedded segmenter"):
        embedded_masks(np.zeros((8, 8, 3), np.uint8), _hand(), method="magic")


def test_quick_training_run_writes_loadable_weights(tmp_path):
    from hoikit.cli import main

    out = tmp_path / "seg.safetensors"
    assert main(["train-seg", "--quick", "--work-dir", str(tmp_path / "work"), "--out", str(out)]) == 0
    seg = GraspSegmenter.load(out)
    rgb = np.zeros((300, 400, 3), np.uint8)
    m = seg.segment(rgb, _hand())
    assert m.object.shape == (300, 400) and m.source == "hoikit-seg"
    assert not (m.object & m.hand).any()


@pytest.fixture(scope="module")
def synth_samples(tmp_path_factory):
    from hoikit.eval.datasets import SynthDataset
    from hoikit.synth.writer import SynthSettings, write_dataset

    out = tmp_path_factory.mktemp("graspseg") / "synth"
    write_dataset(out, SynthSettings(n=6, seed=7, objects="procedural", size=(256, 256)))
    return list(SynthDataset(out))


def test_shipped_weights_find_the_held_object(synth_samples):
    """On scenes it was not trained on (another seed), the shipped network's masks overlap the true
    object far more than the grasp-region fallback alone does."""
    from hoikit.bench.masks import mask_iou
    from hoikit.perception.segmentation import grasp_region

    if not default_weights_path().is_file():
        pytest.skip("hoikit-seg weights not shipped")
    seg = GraspSegmenter.load()
    ours, region = [], []
    for s in synth_samples:
        m = seg.segment(s.image, s.hand.joints2d)
        ours.append(mask_iou(m.object, s.mask_object))
        region.append(mask_iou(grasp_region(s.hand.joints2d, m.hand), s.mask_object))
    assert np.mean(ours) > 0.5 and np.mean(ours) > np.mean(region) + 0.15
