"""MANO: the restricted unpickler (on a fake MANO pickle built here), path resolution, LBS, fitting.

The fake file has MANO's keys and shapes and, like the real one, refers to ``chumpy.ch.Ch`` and
``scipy.sparse.csc.csc_matrix`` (stand-in classes registered under those names while pickling, with
the Python 2 protocol). Its geometry is a stick hand built from hoikit's skeleton, so forward
kinematics and fitting can be checked with real numbers. Tests of the real file run only when
``HOIKIT_MANO`` names it.
"""

from __future__ import annotations

import os
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from hoikit.errors import InputError, MissingCheckpointError
from hoikit.geometry.rotations import random_rotations
from hoikit.hand import load_hand_model
from hoikit.hand.mano import (
    MANO_ENV,
    MANO_FINGERTIP_VERTICES,
    MANO_TO_OPENPOSE,
    ManoModel,
    load_mano,
    resolve_mano_path,
)
from hoikit.hand.protocol import HandModelLike
from hoikit.hand.skeleton import rest_joints
from hoikit.types import FINGERTIPS, HAND_PARENTS, MM, Sim3

MANO_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)
LAST_JOINT_OF_TIP = (15, 3, 6, 12, 9)  # thumb, index, middle, ring, pinky tips hang on these MANO joints
N_VERTS, N_FACES = 778, 1538


def fake_mano_arrays(seed: int = 0) -> dict:
    """MANO-shaped arrays whose joints are hoikit's rest skeleton (MANO order) and whose vertices are
    tight clusters around the joints (each skinned rigidly to its joint), plus the five tip vertices."""
    rng = np.random.default_rng(seed)
    op = rest_joints(torch.tensor([[0.18, 1.0, 1.0]], dtype=torch.float64))[0].numpy()
    joints = op[list(MANO_TO_OPENPOSE[:16])]
    tips = op[list(MANO_TO_OPENPOSE[16:])]  # MANO_TO_OPENPOSE[16:] are the OpenPose tip indices
    owner = np.arange(N_VERTS) % 16
    owner[list(MANO_FINGERTIP_VERTICES)] = LAST_JOINT_OF_TIP
    offsets = rng.normal(scale=0.004, size=(N_VERTS, 3))
    regressor = np.zeros((16, N_VERTS))
    for j in range(16):
        members = np.flatnonzero((owner == j) & ~np.isin(np.arange(N_VERTS), MANO_FINGERTIP_VERTICES))
        offsets[members] -= offsets[members].mean(0)  # so each cluster's mean is exactly its joint
        regressor[j, members] = 1.0 / len(members)
    v_template = joints[owner] + offsets
    v_template[list(MANO_FINGERTIP_VERTICES)] = tips
    kintree = np.array([[2**32 - 1, *MANO_PARENTS[1:]], list(range(16))], dtype=np.int64)
    return {
        "v_template": v_template,
        "f": rng.integers(0, N_VERTS, size=(N_FACES, 3)).astype(np.uint32),
        "shapedirs": rng.normal(scale=1e-3, size=(N_VERTS, 3, 10)),
        "posedirs": rng.normal(scale=1e-4, size=(N_VERTS, 3, 135)),
        "J_regressor": scipy.sparse.csc_matrix(regressor),
        "weights": np.eye(16)[owner],
        "kintree_table": kintree,
        "hands_components": np.eye(45),
        "hands_mean": rng.normal(scale=0.1, size=45),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def _stand_in_modules(monkeypatch) -> tuple[type, type]:
    """Register fake ``chumpy.ch.Ch`` and ``scipy.sparse.csc.csc_matrix`` classes for pickling."""

    class Ch:  # what chumpy pickles: the array under 'x' plus bookkeeping
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()
            self._itr = None

    class csc_matrix:  # noqa: N801 - the name the real file refers to
        def __init__(self, m):
            self.data, self.indices, self.indptr = m.data, m.indices, m.indptr
            self._shape = m.shape
            self.maxprint = 50

    chumpy, ch, csc = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch"), types.ModuleType("scipy.sparse.csc")
    for cls, module, name in ((Ch, ch, "chumpy.ch"), (csc_matrix, csc, "scipy.sparse.csc")):
        cls.__module__, cls.__qualname__ = name, cls.__name__
        setattr(module, cls.__name__, cls)
    chumpy.ch = ch
    for name, module in (("chumpy", chumpy), ("chumpy.ch", ch), ("scipy.sparse.csc", csc)):
        monkeypatch.setitem(sys.modules, name, module)
    return Ch, csc_matrix


@pytest.fixture
def fake_mano_file(tmp_path, monkeypatch):
    arrays = fake_mano_arrays()
    Ch, Csc = _stand_in_modules(monkeypatch)
    payload = dict(arrays)
    for key in ("v_template", "shapedirs", "posedirs", "weights"):
        payload[key] = Ch(arrays[key])
    payload["J_regressor"] = Csc(arrays["J_regressor"])
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=2))  # Python 2 names: copy_reg, __builtin__
    monkeypatch.undo()  # the stand-ins are gone before loading, as on a machine without chumpy
    return path, arrays


def test_restricted_unpickler_reads_a_chumpy_pickle_into_arrays(fake_mano_file):
    path, arrays = fake_mano_file
    assert b"chumpy.ch" in path.read_bytes() and b"scipy.sparse.csc" in path.read_bytes()
    assert "chumpy" not in sys.modules
    data = load_mano(path)
    np.testing.assert_array_equal(data.v_template, arrays["v_template"])
    np.testing.assert_array_equal(data.shapedirs, arrays["shapedirs"])
    np.testing.assert_array_equal(data.posedirs, arrays["posedirs"])
    np.testing.assert_array_equal(data.J_regressor, arrays["J_regressor"].toarray())
    np.testing.assert_array_equal(data.faces, arrays["f"].astype(np.int64))
    assert data.parents.tolist() == list(MANO_PARENTS)
    assert data.v_template.shape == (N_VERTS, 3) and data.weights.shape == (N_VERTS, 16)


def test_restricted_unpickler_refuses_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps({"v_template": Exploit()}, protocol=2))
    with pytest.raises(InputError, match="refusing to load"):
        load_mano(path)


def test_missing_mano_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv(MANO_ENV, raising=False)
    with pytest.raises(MissingCheckpointError, match=MANO_ENV):
        resolve_mano_path()
    with pytest.raises(MissingCheckpointError, match="nowhere.pkl"):
        resolve_mano_path(tmp_path / "nowhere.pkl")
    monkeypatch.setenv(MANO_ENV, str(tmp_path))  # a folder without MANO_RIGHT.pkl
    with pytest.raises(MissingCheckpointError, match="MANO_RIGHT.pkl"):
        resolve_mano_path()


def test_env_variable_selects_mano(fake_mano_file, monkeypatch):
    path, _ = fake_mano_file
    monkeypatch.setenv(MANO_ENV, str(path.parent))
    assert resolve_mano_path() == path
    model = load_hand_model()
    assert isinstance(model, ManoModel) and isinstance(model, HandModelLike)


@pytest.fixture
def fake_model(fake_mano_file) -> ManoModel:
    return ManoModel(fake_mano_file[0], dtype=torch.float64)


def test_mano_rest_joints_are_regressed_joints_and_tip_vertices(fake_model, fake_mano_file):
    _, arrays = fake_mano_file
    out = fake_model(torch.zeros(1, 45, dtype=torch.float64))
    assert out.joints.shape == (1, 21, 3) and out.vertices.shape == (1, N_VERTS, 3)
    mano_joints = arrays["J_regressor"].toarray() @ arrays["v_template"]
    expected = np.concatenate([mano_joints, arrays["v_template"][list(MANO_FINGERTIP_VERTICES)]])[list(MANO_TO_OPENPOSE)]
    expected = (expected - expected[0]) @ fake_model.canonical.numpy().T
    np.testing.assert_allclose(out.joints[0].numpy(), expected, atol=1e-12)
    # hoikit's canonical frame: wrist at the origin, middle MCP on +y, thumb side +x
    j = out.joints[0]
    assert abs(float(j[9, 0])) < 1e-12 and float(j[9, 1]) > 0 and float(j[5, 0]) > 0 > float(j[17, 0])


def test_mano_bone_lengths_preserved_and_left_mirrored(fake_model):
    g = torch.Generator().manual_seed(0)
    pose = 0.5 * torch.randn(3, 45, generator=g, dtype=torch.float64)
    rest = fake_model(torch.zeros(3, 45, dtype=torch.float64), vertices=False).joints
    right = fake_model(pose, vertices=False).joints
    left = fake_model(pose, side="left").joints
    child = torch.tensor([j for j in range(1, 21) if j not in FINGERTIPS])
    parent = torch.tensor([HAND_PARENTS[j] for j in child])
    bone = lambda joints, c, p: (joints[:, c] - joints[:, p]).norm(dim=-1)  # noqa: E731
    torch.testing.assert_close(bone(right, child, parent), bone(rest, child, parent), atol=1e-12, rtol=0)
    # fingertips are skinned vertices, also moved by the pose blend shapes (~1 mm in this fake)
    tips, tip_parents = torch.tensor(FINGERTIPS), torch.tensor([HAND_PARENTS[t] for t in FINGERTIPS])
    torch.testing.assert_close(bone(right, tips, tip_parents), bone(rest, tips, tip_parents), atol=3 * MM, rtol=0)
    torch.testing.assert_close(left, right * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))


def test_mano_fit_recovers_poses(fake_model, rng):
    g = torch.Generator().manual_seed(1)
    errors = []
    for _ in range(2):
        pose = fake_model.default_pose() + 0.3 * torch.randn(45, generator=g, dtype=torch.float64)
        T = Sim3(1.0, torch.as_tensor(random_rotations(1, rng)[0]), torch.as_tensor(rng.normal(scale=0.1, size=3)))
        target = fake_model(pose[None], torch.zeros(10, dtype=torch.float64), T, vertices=False).joints[0]
        fit = fake_model.fit_to_joints(target)
        errors.append(fit.mean_error_m)
    assert np.mean(errors) < 3 * MM


# ------------------------------------------------------------------------------ the real file
@pytest.fixture(scope="module")
def real_mano() -> ManoModel:
    if not os.environ.get(MANO_ENV):
        pytest.skip(f"{MANO_ENV} is not set: the MANO file cannot be shipped")
    return ManoModel(dtype=torch.float64)


def test_real_mano_has_mano_topology_and_tips_on_the_surface(real_mano):
    out = real_mano(real_mano.default_pose()[None])
    assert out.vertices.shape == (1, N_VERTS, 3) and real_mano.faces.shape == (N_FACES, 3)
    tips = out.vertices[0, list(MANO_FINGERTIP_VERTICES)]
    torch.testing.assert_close(out.joints[0, [4, 8, 12, 16, 20]], tips)
    length = float((out.joints[0, 12] - out.joints[0, 0]).norm())
    assert 0.15 < length < 0.22  # MANO's mean hand, wrist to middle tip


def test_real_mano_fit_recovers_poses(real_mano):
    g = torch.Generator().manual_seed(2)
    pose = real_mano.default_pose() + 0.2 * torch.randn(45, generator=g, dtype=torch.float64)
    target = real_mano(pose[None], vertices=False).joints[0]
    assert real_mano.fit_to_joints(target).mean_error_m < 3 * MM
