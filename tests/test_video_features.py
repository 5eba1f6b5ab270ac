"""Template descriptors: k-means and the DINOv2 bag of visual words (with a tiny random DINOv2, no
download), and retrieval with image features end to end on a rendered template set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import asymmetric_mesh


def test_kmeans_recovers_separated_clusters(rng):
    from hoikit.video.features import kmeans

    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.concatenate([c + rng.normal(scale=0.3, size=(200, 2)) for c in centres])
    found = kmeans(x, 3, seed=1)
    d = np.linalg.norm(found[:, None] - centres[None], axis=-1)
    assert sorted(d.argmin(1).tolist()) == [0, 1, 2] and d.min(1).max() < 0.2


@pytest.fixture(scope="module")
def tiny_dinov2(tmp_path_factory):
    from hoikit.models.packages import package_status, prepare_imports

    st = package_status("transformers", "dinov2")
    if not st.ok:
        pytest.skip(st.reason)
    prepare_imports()
    from transformers import Dinov2Config, Dinov2Model

    from hoikit.perception.dinov2_features import Dinov2Features

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("dinov2-tiny")
    Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=28)).save_pretrained(folder)
    return Dinov2Features.load(folder, layer=1, image_side=56)


def test_bag_of_words_histograms_and_template_retrieval(tiny_dinov2):
    from hoikit.types import Camera
    from hoikit.video.carve import Poses
    from hoikit.video.config import TemplateConfig
    from hoikit.video.features import BagOfWords
    from hoikit.video.masks import ClipMasks
    from hoikit.video.templates import render_templates, template_poses

    mesh = asymmetric_mesh()
    mesh.vertices -= mesh.bounding_box.centroid
    cfg = TemplateConfig(view_directions=6, inplane_rotations=2, size=56, pca_dim=8, vocabulary=16, features="dinov2")
    ts = render_templates(mesh, cfg, shaded=True)
    assert ts.images.shape == (12, 56, 56, 3)
    bow = BagOfWords.fit(tiny_dinov2, ts.images, ts.masks, cfg.pca_dim, cfg.vocabulary)
    assert bow.components.shape == (8, 32) and bow.words.shape == (16, 8)
    h = bow.encode_many(tiny_dinov2, ts.images, ts.masks)
    assert h.shape == (12, 16) and np.allclose(np.linalg.norm(h, axis=1), 1)
    # frames that are the templates themselves (in a larger image) take a template pose each
    cam = Camera.from_fov(112, 112, 50)
    frames = np.full((2, 112, 112, 3), 255, np.uint8)
    frames[:, 28:84, 28:84] = ts.images[[0, 5]]
    obj = np.zeros((2, 112, 112), bool)
    obj[:, 28:84, 28:84] = ts.masks[[0, 5]]
    hand = Poses(ts.rotations[[0, 5]], np.tile([0.0, 0.0, 0.4], (2, 1)))
    poses = template_poses(mesh, hand, cam, ClipMasks(obj, np.zeros_like(obj), "given"), cfg, features=tiny_dinov2, frames=frames)
    assert poses.R.shape == (2, 3, 3) and np.allclose(np.linalg.det(poses.R), 1)
