import numpy as np
import pytest
import torch

from hoikit.geometry.rotations import random_rotations, rotation_about
from hoikit.types import FINGERS, FINGERTIPS, HAND_JOINT_NAMES, HAND_PARENTS, NUM_HAND_JOINTS, Camera, Sim3


def test_hand_order_is_consistent():
    assert len(HAND_JOINT_NAMES) == len(HAND_PARENTS) == NUM_HAND_JOINTS == 21
    assert HAND_PARENTS[0] == -1
    assert all(HAND_PARENTS[j] < j for j in range(1, 21))  # parents come first
    assert tuple(f[-1] for f in FINGERS) == FINGERTIPS
    assert all(HAND_JOINT_NAMES[j].endswith("tip") for j in FINGERTIPS)
    for finger in FINGERS:  # each finger is a chain from the wrist
        assert HAND_PARENTS[finger[0]] == 0
        assert all(HAND_PARENTS[b] == a for a, b in zip(finger, finger[1:]))


def test_camera_projects_like_K():
    cam = Camera(np.array([[500.0, 0, 320], [0, 510.0, 240], [0, 0, 1]]), 640, 480)
    X = np.array([[0.1, -0.05, 0.5], [0.0, 0.0, 2.0]])
    uv = cam.project(X)
    hom = (cam.K @ X.T).T
    np.testing.assert_allclose(uv, hom[:, :2] / hom[:, 2:], atol=1e-9)
    uv_t = cam.project(torch.tensor(X))
    np.testing.assert_allclose(uv_t.numpy(), uv, atol=1e-9)


def test_camera_from_fov_and_resize_keep_geometry():
    cam = Camera.from_fov(640, 480, 60.0)
    assert cam.fx == pytest.approx(320 / np.tan(np.radians(30)))
    small = cam.resized(320, 240)
    X = np.array([[0.03, 0.02, 0.4]])
    # the same 3D point lands at the same place relative to the image (pixel-centre convention)
    u_big = cam.project(X)[0]
    u_small = small.project(X)[0]
    np.testing.assert_allclose((u_small + 0.5) * 2 - 0.5, u_big, atol=1e-9)
    crop = cam.cropped(100, 50, 200, 200)
    np.testing.assert_allclose(crop.project(X)[0], u_big - [100, 50], atol=1e-9)
    assert Camera.from_dict(cam.to_dict()).K.tolist() == cam.K.tolist()


def _random_sim3(rng) -> Sim3:
    return Sim3(np.float64(rng.uniform(0.5, 2.0)), random_rotations(1, rng)[0], rng.normal(size=3))


def test_sim3_compose_inverse_matrix(rng):
    A, B = _random_sim3(rng), _random_sim3(rng)
    X = rng.normal(size=(50, 3))
    np.testing.assert_allclose(A.compose(B).apply(X), A.apply(B.apply(X)), atol=1e-10)
    np.testing.assert_allclose((A @ B).matrix(), A.matrix() @ B.matrix(), atol=1e-10)
    np.testing.assert_allclose(A.inverse().apply(A.apply(X)), X, atol=1e-10)
    C = Sim3.from_matrix(A.matrix())
    np.testing.assert_allclose(C.apply(X), A.apply(X), atol=1e-10)
    hom = np.c_[X, np.ones(len(X))] @ A.matrix().T
    np.testing.assert_allclose(hom[:, :3], A.apply(X), atol=1e-10)
    D = Sim3.from_dict(A.to_dict())
    np.testing.assert_allclose(D.apply(X), A.apply(X), atol=1e-12)


def test_sim3_torch_is_differentiable():
    s = torch.tensor(1.5, requires_grad=True)
    R = torch.tensor(rotation_about([0, 0, 1], 90.0))
    t = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    X = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    Y = Sim3(s, R, t).apply(X)
    np.testing.assert_allclose(Y.detach().numpy(), [[1.0, 3.5, 3.0]], atol=1e-6)
    Y.sum().backward()
    assert s.grad is not None and t.grad.tolist() == [1.0, 1.0, 1.0]


def test_sim3_batched_torch_matches_loop(rng):
    Ts = [_random_sim3(rng) for _ in range(4)]
    s = torch.tensor([T.s for T in Ts])
    R = torch.tensor(np.stack([T.R for T in Ts]))
    t = torch.tensor(np.stack([T.t for T in Ts]))
    X = torch.tensor(rng.normal(size=(4, 10, 3)))
    batched = Sim3(s, R, t)
    Y = batched.apply(X)
    for i, T in enumerate(Ts):
        np.testing.assert_allclose(Y[i].numpy(), T.apply(X[i].numpy()), atol=1e-10)
    Z = batched.inverse().apply(Y)
    np.testing.assert_allclose(Z.numpy(), X.numpy(), atol=1e-10)
