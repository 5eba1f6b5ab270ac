"""Solid (3D) procedural textures: a colour for any point, no UV map needed.

A texture maps points (N, 3) in metres (the object's canonical frame) to RGB (N, 3) in [0, 1].
Numpy in → numpy out (float64); torch in → torch out (float32, same device). Textures are frozen
dataclasses, so they pickle, compare and print their parameters.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from hoikit.types import CM

RGB = tuple[float, float, float]


class Texture(Protocol):
    def __call__(self, points: Any) -> Any: ...


def _to_numpy(points: Any) -> np.ndarray:
    if hasattr(points, "detach"):
        return points.detach().cpu().double().numpy()
    return np.asarray(points, dtype=np.float64)


def _like(colors: np.ndarray, points: Any) -> Any:
    """Return colours in the array type of the query points."""
    if hasattr(points, "detach"):
        import torch

        return torch.as_tensor(colors, dtype=torch.float32, device=points.device)
    return colors


class SolidTexture:
    """Base of the textures here: subclasses implement ``colors(points (N, 3) numpy) → (N, 3)``;
    ``__call__`` converts array types and clips to [0, 1]."""

    def colors(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, points: Any) -> Any:
        return _like(np.clip(self.colors(_to_numpy(points)), 0.0, 1.0), points)


def _mix(a: RGB, b: RGB, t: np.ndarray) -> np.ndarray:
    """(N,) weights in [0, 1] → (N, 3) colours between ``a`` (t = 0) and ``b`` (t = 1)."""
    return np.asarray(a)[None] * (1.0 - t[:, None]) + np.asarray(b)[None] * t[:, None]


# ====================================================================== patterns
@dataclass(frozen=True)
class Uniform(SolidTexture):
    color: RGB

    def colors(self, p: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.color), (len(p), 3)).copy()


@dataclass(frozen=True)
class Stripes(SolidTexture):
    """Parallel bands of ``period`` metres across ``direction``; ``duty`` is the share of ``a``."""

    a: RGB
    b: RGB
    direction: tuple[float, float, float]
    period: float
    duty: float = 0.5

    def colors(self, p: np.ndarray) -> np.ndarray:
        phase = (p @ np.asarray(self.direction) / self.period) % 1.0
        return _mix(self.a, self.b, (phase >= self.duty).astype(np.float64))


@dataclass(frozen=True)
class Checker(SolidTexture):
    """3D checkerboard of cubes with side ``cell`` metres."""

    a: RGB
    b: RGB
    cell: float

    def colors(self, p: np.ndarray) -> np.ndarray:
        parity = np.floor(p / self.cell).astype(np.int64).sum(axis=1) % 2
        return _mix(self.a, self.b, parity.astype(np.float64))


def _hash01(ijk: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer lattice point (..., 3)."""
    h = (ijk[..., 0] * 73856093) ^ (ijk[..., 1] * 19349663) ^ (ijk[..., 2] * 83492791) ^ (seed * 2654435761)
    h = h & 0xFFFFFFFF
    for _ in range(2):  # xorshift-multiply rounds: neighbouring lattice points decorrelate
        h = ((h ^ (h >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return h.astype(np.float64) / 2.0**32


def value_noise(p: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Smooth lattice noise in [0, 1] with features of about ``scale`` metres. p: (N, 3) → (N,)."""
    x = p / scale
    i = np.floor(x).astype(np.int64)
    f = x - i
    s = f * f * (3.0 - 2.0 * f)  # smoothstep: C¹ across lattice cells
    out = np.zeros(len(p))
    for corner in np.ndindex(2, 2, 2):
        c = np.asarray(corner)
        w = np.prod(np.where(c == 1, s, 1.0 - s), axis=1)
        out += w * _hash01(i + c, seed)
    return out


@dataclass(frozen=True)
class Noise(SolidTexture):
    """Fractal value noise blending ``a`` and ``b``; ``octaves`` halve the scale each time."""

    a: RGB
    b: RGB
    scale: float
    seed: int
    octaves: int = 3

    def colors(self, p: np.ndarray) -> np.ndarray:
        total, norm = np.zeros(len(p)), 0.0
        for k in range(self.octaves):
            amp = 0.5**k
            total += amp * value_noise(p, self.scale * 0.5**k, self.seed + k)
            norm += amp
        return _mix(self.a, self.b, total / norm)


# ====================================================================== composition
@dataclass(frozen=True)
class Band(SolidTexture):
    """``overlay`` where lo ≤ p[axis] < hi (a label on a can, a cap on a bottle), else ``base``."""

    base: Texture
    overlay: Texture
    axis: int
    lo: float
    hi: float

    def colors(self, p: np.ndarray) -> np.ndarray:
        out = self.base(p)
        sel = (p[:, self.axis] >= self.lo) & (p[:, self.axis] < self.hi)
        if sel.any():
            out[sel] = self.overlay(p[sel])
        return out


@dataclass(frozen=True)
class ByPart(SolidTexture):
    """Each point takes the texture of the part whose SDF is smallest there (a knife's blade and
    handle). ``parts`` are torch SDFs (N, 3) → (N,), one per texture."""

    parts: tuple[Callable[..., Any], ...]
    textures: tuple[Texture, ...]

    def colors(self, p: np.ndarray) -> np.ndarray:
        from hoikit.synth.sdf import evaluate

        label = np.stack([evaluate(f, p) for f in self.parts], axis=0).argmin(axis=0)
        out = np.empty((len(p), 3))
        for k, tex in enumerate(self.textures):
            sel = label == k
            if sel.any():
                out[sel] = tex(p[sel])
        return out


@dataclass(frozen=True)
class Shifted(SolidTexture):
    """``texture`` read at p + offset: a texture defined in another frame."""

    texture: Texture
    offset: tuple[float, float, float]

    def colors(self, p: np.ndarray) -> np.ndarray:
        return self.texture(p + np.asarray(self.offset))


def is_uniform(texture: Texture) -> bool:
    """True when the texture is one colour everywhere (a textureless object)."""
    if isinstance(texture, Shifted):
        return is_uniform(texture.texture)
    return isinstance(texture, Uniform)


# ====================================================================== random draws
# HSV ranges of the random colours: saturated and mid-bright enough to read against skin
SATURATION = (0.25, 0.95)
VALUE = (0.25, 0.95)
UNIFORM_PROBABILITY = 0.35  # share of textureless (single-colour) surfaces
STRIPE_PERIOD_M = (0.6 * CM, 3.0 * CM)
CHECKER_CELL_M = (0.5 * CM, 2.5 * CM)
NOISE_SCALE_M = (0.8 * CM, 5.0 * CM)
METAL_GREY = (0.55, 0.85)  # value of steel/aluminium greys
PATTERNS = ("stripes", "checker", "noise")


def random_color(
    rng: np.random.Generator,
    hue: Sequence[float] = (0.0, 1.0),
    sat: Sequence[float] = SATURATION,
    val: Sequence[float] = VALUE,
) -> RGB:
    """A colour drawn uniformly in the given HSV ranges (hue wraps around 1)."""
    h = rng.uniform(*hue) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return (float(r), float(g), float(b))


def metal_color(rng: np.random.Generator) -> RGB:
    """A light grey with a faint tint (steel, aluminium)."""
    return random_color(rng, hue=(0.5, 0.7), sat=(0.0, 0.08), val=METAL_GREY)


def random_direction(rng: np.random.Generator) -> tuple[float, float, float]:
    v = rng.normal(size=3)
    return tuple(float(x) for x in v / np.linalg.norm(v))  # type: ignore[return-value]


def random_pattern(rng: np.random.Generator, a: RGB, b: RGB) -> Texture:
    """Stripes, checker or noise between two colours."""
    kind = PATTERNS[rng.integers(len(PATTERNS))]
    if kind == "stripes":
        return Stripes(a, b, random_direction(rng), rng.uniform(*STRIPE_PERIOD_M), rng.uniform(0.3, 0.7))
    if kind == "checker":
        return Checker(a, b, rng.uniform(*CHECKER_CELL_M))
    return Noise(a, b, rng.uniform(*NOISE_SCALE_M), int(rng.integers(2**31)))


def random_texture(rng: np.random.Generator, uniform_probability: float = UNIFORM_PROBABILITY) -> Texture:
    """A uniform colour (with ``uniform_probability``) or a two-colour pattern."""
    a = random_color(rng)
    if rng.random() < uniform_probability:
        return Uniform(a)
    return random_pattern(rng, a, random_color(rng))
