"""Fit a hand model (hoikit's or MANO: anything :class:`~hoikit.hand.protocol.HandModelLike`) to 21 3D
joints: pose, shape and the global transform.

1. Initialise each hand's rotation and translation (and the size, via ``shape_for_scale``) by
   Umeyama on the palm joints, which are rigid with the wrist whatever the pose.
2. Levenberg–Marquardt on the weighted joint residuals plus weak priors (pose towards the model's
   default, shape towards its default), in float64. The Jacobian comes from one batched forward
   pass (forward differences: the problem has ~30 unknowns per hand, and a batch of 30 hands costs
   little more than one on a CPU). Joint angles and shape are projected onto their limits after
   every step. A shape shared by the frames of a clip is solved with a Schur complement, so the
   cost stays linear in the number of frames.

Robust to MediaPipe-like noise (5 mm per joint) because the model itself is the regulariser: 21
noisy points determine far fewer parameters.
"""

from __future__ import annotations

import copy
import time
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from hoikit.geometry.procrustes import umeyama
from hoikit.geometry.rotations import axis_angle_to_matrix
from hoikit.hand.protocol import FitResult, HandModelLike, check_side
from hoikit.types import NUM_HAND_JOINTS, Sim3

# Residuals are in centimetres, so a unit step is comparable for angles (1 rad moves a fingertip by
# ~10 cm) and translations (optimised in cm too).
_UNIT_M = 0.01
_FD_STEP = 1e-7  # forward-difference step in the optimiser's units (float64)


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit_joints`.

    Attributes:
        pose_prior: weight (per rad², against squared errors in cm²) pulling the pose towards the model's
            default; small, it only settles directions the joints do not see (a straight thumb's twist).
        shape_prior: weight pulling the shape towards its default, per (parameter range)².
        max_iterations: Levenberg–Marquardt iterations.
        tolerance: stop when an accepted step lowers the cost by less than this fraction.
        initial_damping: Levenberg–Marquardt λ at the start (relative to the Gauss–Newton diagonal).
    """

    pose_prior: float = 1e-3
    shape_prior: float = 1e-2
    max_iterations: int = 60
    tolerance: float = 1e-6
    initial_damping: float = 1e-3


def _as_batch(x, width: int) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x.detach(), dtype=torch.float64)
    return x.reshape(-1, *x.shape[-width:]) if x.dim() > width else x[None]


_FLOAT64_TWINS: "weakref.WeakKeyDictionary[torch.nn.Module, torch.nn.Module]" = weakref.WeakKeyDictionary()


def _float64(model: HandModelLike) -> HandModelLike:
    """The model in float64 (a copy, made once per model, when it is not already): finite differences
    need the precision."""
    if getattr(model, "dtype", torch.float64) == torch.float64:
        return model
    if model not in _FLOAT64_TWINS:
        _FLOAT64_TWINS[model] = copy.deepcopy(model).to(torch.float64)
    return _FLOAT64_TWINS[model]


def _palm_alignment(model, shape, targets, weights, side) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Umeyama of the model's palm joints onto the targets': rotations (B, 3, 3), translations (B, 3),
    scales (B,)."""
    palm = list(model.palm_joints)
    pose0 = model.default_pose()[None].expand(targets.shape[0], -1)
    canon = model.forward(pose0, shape, None, side, vertices=False).joints.detach().numpy()
    fits = [umeyama(canon[b, palm], targets[b, palm].numpy(), weights[b, palm].numpy() + 1e-9) for b in range(len(targets))]
    return (torch.as_tensor(np.stack([f.R for f in fits])), torch.as_tensor(np.stack([f.t for f in fits])), np.array([f.s for f in fits]))


@dataclass
class _Problem:
    """The least-squares problem in the optimiser's coordinates.

    Per-hand unknowns θ (B, m): [pose (P) | rotation vector (3) | translation in cm (3) | log scale (1,
    when fitted) | normalised shape (S, when each hand has its own)]; shared unknowns φ (k,): the
    normalised shape of a clip, or nothing. Normalised shape = (shape − default) / range.
    """

    model: HandModelLike
    targets: torch.Tensor  # (B, 21, 3)
    sqrt_w: torch.Tensor  # (B, 21)
    side: str
    R0: torch.Tensor  # (B, 3, 3)
    fixed_shape: torch.Tensor | None  # (B or 1, S)
    fit_scale: bool
    shared_shape: bool
    pose_mean: torch.Tensor
    shape_mean: torch.Tensor
    shape_range: torch.Tensor
    config: FitConfig

    @property
    def P(self) -> int:
        return self.model.num_pose

    @property
    def own_shape(self) -> bool:
        return self.fixed_shape is None and not self.shared_shape

    def unpack(self, theta: torch.Tensor, phi: torch.Tensor, frame: torch.Tensor):
        """θ (N, m), φ (N, k) for hands ``frame`` (N,) → pose (N, P), shape (N, S), Sim3."""
        P = self.P
        pose, rot, trans = theta[:, :P], theta[:, P : P + 3], theta[:, P + 3 : P + 6]
        rest = theta[:, P + 6 :]
        scale = torch.exp(rest[:, 0]) if self.fit_scale else torch.ones_like(pose[:, 0])
        if self.fixed_shape is not None:
            shape = self.fixed_shape.expand(len(self.targets), -1)[frame]
        else:
            shape = self.shape_mean + (rest[:, int(self.fit_scale) :] if self.own_shape else phi) * self.shape_range
        R = self.R0[frame] @ axis_angle_to_matrix(rot)
        return pose, shape, Sim3(scale, R, trans * _UNIT_M)

    def residuals(self, theta: torch.Tensor, phi: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """(N, 63 + P + S): weighted joint errors (cm), then the prior terms."""
        pose, shape, T = self.unpack(theta, phi, frame)
        joints = self.model.forward(pose, shape, T, self.side, vertices=False).joints
        joint_r = ((joints - self.targets[frame]) / _UNIT_M) * self.sqrt_w[frame][..., None]
        pose_r = (pose - self.pose_mean) * self.config.pose_prior**0.5
        shape_r = (shape - self.shape_mean) / self.shape_range * self.config.shape_prior**0.5
        if not self.own_shape:  # one shape for many hands: its prior counts once, not per hand
            shape_r = shape_r / len(self.targets) ** 0.5
        return torch.cat([joint_r.flatten(1), pose_r, shape_r], 1)


def _jacobians(problem: _Problem, theta: torch.Tensor, phi: torch.Tensor):
    """Residuals r (B, R) and forward-difference Jacobians J_θ (B, R, m), J_φ (B, R, k), all from one
    batched forward pass (float64 keeps the difference error near 1e-8 of the step's effect)."""
    B, m = theta.shape
    k = phi.shape[0]
    h = _FD_STEP
    d_theta = torch.cat([torch.zeros(1, m, dtype=theta.dtype), h * torch.eye(m, dtype=theta.dtype), torch.zeros(k, m, dtype=theta.dtype)])
    d_phi = torch.cat([torch.zeros(1 + m, k, dtype=theta.dtype), h * torch.eye(k, dtype=theta.dtype)])
    n = d_theta.shape[0]  # 1 + m + k variants of every hand
    frame = torch.arange(B).repeat_interleave(n)
    th = (theta[:, None] + d_theta[None]).reshape(B * n, m)
    ph = (phi[None, None] + d_phi[None]).expand(B, -1, -1).reshape(B * n, k)
    with torch.no_grad():
        r = problem.residuals(th, ph, frame).reshape(B, n, -1)
    J_theta = (r[:, 1 : 1 + m] - r[:, :1]).transpose(1, 2) / h
    J_phi = (r[:, 1 + m :] - r[:, :1]).transpose(1, 2) / h
    return r[:, 0], J_theta, J_phi


def _damped(A: torch.Tensor, lam: float) -> torch.Tensor:
    """A + λ·diag(A) (Marquardt), with a floor so directions the residuals do not see stay solvable."""
    diag = torch.diagonal(A, dim1=-2, dim2=-1)
    return A + torch.diag_embed(lam * diag + 1e-9)


def _lm_step(r, J_theta, J_phi, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve the damped normal equations for (δθ (B, m), δφ (k,)), eliminating θ per hand (Schur)."""
    A = _damped(J_theta.transpose(1, 2) @ J_theta, lam)  # (B, m, m)
    g = (J_theta.transpose(1, 2) @ r[..., None])[..., 0]  # (B, m)
    if J_phi.shape[-1] == 0:
        return -torch.linalg.solve(A, g), torch.zeros(0, dtype=r.dtype)
    C = J_theta.transpose(1, 2) @ J_phi  # (B, m, k)
    D = _damped((J_phi.transpose(1, 2) @ J_phi).sum(0), lam)
    g_phi = (J_phi.transpose(1, 2) @ r[..., None])[..., 0].sum(0)
    A_inv_C = torch.linalg.solve(A, C)
    A_inv_g = torch.linalg.solve(A, g[..., None])[..., 0]
    schur = D - (C.transpose(1, 2) @ A_inv_C).sum(0)
    d_phi = torch.linalg.solve(schur, -g_phi + (C.transpose(1, 2) @ A_inv_g[..., None])[..., 0].sum(0))
    d_theta = -A_inv_g - (A_inv_C @ d_phi)
    return d_theta, d_phi


def _pinned(x: torch.Tensor, grad: torch.Tensor, bounds: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Variables at a bound whose descent direction points out of the box (the active set)."""
    eps = 1e-9
    return ((x <= bounds[0] + eps) & (grad > 0)) | ((x >= bounds[1] - eps) & (grad < 0))


def _active_set_jacobians(r, J_theta, J_phi, theta, phi, bounds_theta, bounds_phi):
    """Zero the Jacobian columns of pinned variables, so the step leaves them on their bound instead of
    being cut by the projection (a cut Gauss–Newton step is often no descent at all)."""
    g_theta = (J_theta.transpose(1, 2) @ r[..., None])[..., 0]
    g_phi = (J_phi.transpose(1, 2) @ r[..., None])[..., 0].sum(0)
    J_theta = J_theta * ~_pinned(theta, g_theta, bounds_theta)[:, None, :]
    J_phi = J_phi * ~_pinned(phi, g_phi, bounds_phi)
    return J_theta, J_phi


def _levenberg_marquardt(problem: _Problem, theta, phi, bounds_theta, bounds_phi) -> tuple[torch.Tensor, torch.Tensor, int, bool]:
    """Projected Levenberg–Marquardt with an active set; returns θ, φ, iterations, converged."""
    cfg = problem.config
    lam = cfg.initial_damping
    frames = torch.arange(len(theta))
    r, J_theta, J_phi = _jacobians(problem, theta, phi)
    cost = float((r**2).sum())
    for it in range(1, cfg.max_iterations + 1):
        d_theta, d_phi = _lm_step(r, *_active_set_jacobians(r, J_theta, J_phi, theta, phi, bounds_theta, bounds_phi), lam)
        new_theta = torch.maximum(torch.minimum(theta + d_theta, bounds_theta[1]), bounds_theta[0])
        new_phi = torch.maximum(torch.minimum(phi + d_phi, bounds_phi[1]), bounds_phi[0])
        with torch.no_grad():
            new_r = problem.residuals(new_theta, new_phi.expand(len(theta), -1), frames)
        new_cost = float((new_r**2).sum())
        if new_cost < cost:
            done = cost - new_cost < cfg.tolerance * cost
            theta, phi, cost, lam = new_theta, new_phi, new_cost, max(lam / 3, 1e-9)
            if done:
                return theta, phi, it, True
            r, J_theta, J_phi = _jacobians(problem, theta, phi)
        else:
            lam *= 4
            if lam > 1e8:
                return theta, phi, it, True
    return theta, phi, cfg.max_iterations, False


def fit_joints(
    model: HandModelLike,
    targets,
    weights=None,
    shape=None,
    side: str = "right",
    shared_shape: bool = False,
    fit_scale: bool = False,
    config: FitConfig = FitConfig(),
) -> FitResult:
    """Fit pose, shape and the global transform to 3D joints.

    Args:
        model: hoikit's :class:`HandModel` or a :class:`ManoModel` (any dtype; fitting runs in float64).
        targets: (21, 3) or (B, 21, 3) metres, MediaPipe/OpenPose order, any frame (MediaPipe's
            root-relative world landmarks, or the camera frame).
        weights: (21,) or (B, 21) non-negative per-joint weights (e.g. detector confidences); None = 1.
        shape: a fixed shape ((S,) or (B, S)), or None to fit it.
        side: "right" or "left" (a left hand is the mirrored right model).
        shared_shape: one shape for the whole batch (the frames of a clip).
        fit_scale: also fit the global scale s (off: size comes from the shape, e.g. hoikit's hand
            length; MediaPipe's world landmarks are metric).
    Returns:
        FitResult: pose (B, P), shape (B, S) or (1, S) when shared, transform, fitted joints, per-joint
        residual (metres).
    """
    start = time.perf_counter()
    side = check_side(side)
    model = _float64(model)
    targets = _as_batch(targets, 2)
    B = len(targets)
    w = torch.ones(B, NUM_HAND_JOINTS, dtype=torch.float64) if weights is None else _as_batch(weights, 1).expand(B, -1)
    shared_shape = shared_shape and B > 1 and shape is None
    lo_p, hi_p = (t.double() for t in model.pose_limits())
    lo_s, hi_s = (t.double() for t in model.shape_limits())
    shape_mean = model.default_shape().double()
    shape_range = torch.where(torch.isfinite(hi_s - lo_s), hi_s - lo_s, torch.ones_like(hi_s))
    fixed = None if shape is None else _as_batch(shape, 1)

    # size from the palm: Umeyama's scale against the default hand, then align again at that size
    _, _, scales = _palm_alignment(model, shape_mean[None].expand(B, -1), targets, w, side)
    sizes = [float(np.median(scales))] * B if shared_shape else scales
    init_shape = torch.stack([model.shape_for_scale(float(s)).double() for s in sizes]) if fixed is None else fixed.expand(B, -1)
    R0, t0, scales = _palm_alignment(model, init_shape, targets, w, side)

    problem = _Problem(model, targets, w.sqrt(), side, R0, fixed, fit_scale, shared_shape, model.default_pose().double(), shape_mean, shape_range, config)
    shape_u = (init_shape - shape_mean) / shape_range
    pieces = [model.default_pose().double().clamp(lo_p, hi_p).expand(B, -1), torch.zeros(B, 3, dtype=torch.float64), t0 / _UNIT_M]
    lo_t, hi_t = [lo_p, torch.full((6,), -np.inf)], [hi_p, torch.full((6,), np.inf)]
    if fit_scale:
        pieces.append(torch.as_tensor(np.log(scales))[:, None])
        lo_t.append(torch.full((1,), -np.inf))
        hi_t.append(torch.full((1,), np.inf))
    s_lo, s_hi = (lo_s - shape_mean) / shape_range, (hi_s - shape_mean) / shape_range
    if problem.own_shape:
        pieces.append(shape_u)
        lo_t.append(s_lo)
        hi_t.append(s_hi)
    theta = torch.cat(pieces, 1)
    phi = shape_u[0] if shared_shape else torch.zeros(0, dtype=torch.float64)
    bounds_phi = (s_lo, s_hi) if shared_shape else (phi, phi)
    theta, phi, iterations, converged = _levenberg_marquardt(problem, theta, phi, (torch.cat(lo_t), torch.cat(hi_t)), bounds_phi)

    frames = torch.arange(B)
    with torch.no_grad():
        pose, shp, T = problem.unpack(theta, phi.expand(B, -1), frames)
        joints = model.forward(pose, shp, T, side, vertices=False).joints
    return FitResult(
        pose=pose,
        shape=shp[:1] if shared_shape else shp,
        transform=T,
        side=side,
        joints=joints,
        residual_m=(joints - targets).norm(dim=-1),
        iterations=iterations,
        seconds=time.perf_counter() - start,
        converged=converged,
    )
