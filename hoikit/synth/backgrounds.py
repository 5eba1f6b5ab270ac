"""Procedural backgrounds for synthetic scenes: gradients, smooth noise, random shapes and stripes.

No photographs: every background is drawn from a numpy ``Generator``, so a seed gives the same
image. They are busy enough that a segmenter cannot lean on a plain backdrop, and they share no
texture code with the objects, so an object never blends in by construction more than by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoikit.synth.textures import random_color

NOISE_OCTAVES = 3
NOISE_BASE_CELLS = (2, 6)  # coarsest noise grid: this many cells across the image
NOISE_AMPLITUDE = (0.05, 0.35)
MAX_SHAPES = 8
SHAPE_SIZE = (0.05, 0.45)  # fraction of the image's longer side
SHAPE_ALPHA = (0.5, 1.0)
STRIPE_PERIOD = (0.03, 0.2)  # fraction of the longer side
STRIPE_DUTY = (0.3, 0.7)  # share of each period in the stripe colour
ELLIPSE_PROBABILITY = 0.5  # a shape is an ellipse, else a rotated rectangle
# each layer on top of the gradient is added with this probability
NOISE_PROBABILITY = 0.7
SHAPES_PROBABILITY = 0.6
STRIPE_PROBABILITY = 0.25


@dataclass(frozen=True)
class Background:
    """A background image (H, W, 3) float32 in [0, 1] and the layers it was made of."""

    image: np.ndarray
    layers: tuple[str, ...]


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates normalised by the longer side: y (H, 1), x (1, W), float32."""
    scale = float(max(height, width))
    return (np.arange(height, dtype=np.float32)[:, None] / scale, np.arange(width, dtype=np.float32)[None, :] / scale)


def _color(rng: np.random.Generator) -> np.ndarray:
    return np.asarray(random_color(rng), dtype=np.float32)


def gradient(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Linear blend of two random colours along a random direction: (3, H, W)."""
    y, x = _grid(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.float32(np.cos(angle)) * x + np.float32(np.sin(angle)) * y
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-9)
    a, b = _color(rng), _color(rng)
    return np.stack([a[c] + t * (b[c] - a[c]) for c in range(3)])


def _interpolation_matrix(cells: int, pixels: int) -> np.ndarray:
    """(pixels, cells + 1) weights of linear interpolation from cells + 1 knots spanning the image."""
    pos = np.linspace(0.0, cells, pixels)
    left = np.minimum(pos.astype(int), cells - 1)
    frac = (pos - left).astype(np.float32)
    W = np.zeros((pixels, cells + 1), dtype=np.float32)
    W[np.arange(pixels), left] = 1 - frac
    W[np.arange(pixels), left + 1] = frac
    return W


def smooth_noise(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Colour value noise in [-1, 1] of a few octaves (each half the cell size, half the weight):
    (3, H, W). Each octave is a random knot grid interpolated bilinearly, as two small matrix
    products per channel (in torch: numpy's OpenBLAS threads stall small products on a busy machine)."""
    import torch

    cells = int(rng.integers(*NOISE_BASE_CELLS))
    out = torch.zeros((3, height, width))
    weight_sum = 0.0
    for octave in range(NOISE_OCTAVES):
        n = cells * 2**octave
        knots = torch.as_tensor(rng.uniform(-1, 1, (3, n + 1, n + 1)), dtype=torch.float32)
        rows, cols = (torch.as_tensor(_interpolation_matrix(n, size)) for size in (height, width))
        out += 0.5**octave * (rows @ knots @ cols.T)
        weight_sum += 0.5**octave
    return (out / weight_sum).numpy()


def _blend(image: np.ndarray, window: tuple[slice, slice], mask: np.ndarray, color: np.ndarray, alpha: float) -> None:
    """Blend ``color`` (3,) with opacity ``alpha`` into the masked pixels of a window of a planar
    image (3, H, W), in place."""
    for c in range(3):
        region = image[c][window]
        region[mask] = (1 - alpha) * region[mask] + alpha * color[c]


def add_shapes(image: np.ndarray, rng: np.random.Generator) -> None:
    """Paint a few random ellipses and rotated rectangles onto a planar ``image`` (3, H, W) in place."""
    H, W = image.shape[1:]
    scale = max(H, W)
    y, x = _grid(H, W)
    for _ in range(int(rng.integers(1, MAX_SHAPES + 1))):
        cx, cy = rng.uniform(0, W / scale), rng.uniform(0, H / scale)
        a, b = rng.uniform(*SHAPE_SIZE, size=2) / 2
        angle = rng.uniform(0, np.pi)
        ellipse = rng.random() < ELLIPSE_PROBABILITY
        color, alpha = _color(rng), rng.uniform(*SHAPE_ALPHA)
        reach = np.hypot(a, b)  # only the shape's bounding square is touched
        rows = slice(max(0, int((cy - reach) * scale)), min(H, int((cy + reach) * scale) + 1))
        cols = slice(max(0, int((cx - reach) * scale)), min(W, int((cx + reach) * scale) + 1))
        dx, dy = x[:, cols] - cx, y[rows] - cy
        u = np.float32(np.cos(angle)) * dx + np.float32(np.sin(angle)) * dy
        v = np.float32(-np.sin(angle)) * dx + np.float32(np.cos(angle)) * dy
        mask = (u / a) ** 2 + (v / b) ** 2 <= 1 if ellipse else (np.abs(u) <= a) & (np.abs(v) <= b)
        _blend(image, (rows, cols), mask, color, alpha)


def add_stripes(image: np.ndarray, rng: np.random.Generator) -> None:
    """Blend stripes of a random colour, period and direction into a planar ``image`` (3, H, W) in place."""
    H, W = image.shape[1:]
    y, x = _grid(H, W)
    angle = rng.uniform(0, np.pi)
    phase = (np.float32(np.cos(angle)) * x + np.float32(np.sin(angle)) * y) / np.float32(rng.uniform(*STRIPE_PERIOD))
    mask = (phase % 1.0) < rng.uniform(*STRIPE_DUTY)
    _blend(image, (slice(None), slice(None)), mask, _color(rng), rng.uniform(*SHAPE_ALPHA))


def random_background(height: int, width: int, rng: np.random.Generator) -> Background:
    """A gradient, plus (each by chance) smooth colour noise, random shapes and stripes."""
    image = gradient(height, width, rng)
    layers = ["gradient"]
    if rng.random() < NOISE_PROBABILITY:
        image += np.float32(rng.uniform(*NOISE_AMPLITUDE)) * smooth_noise(height, width, rng)
        layers.append("noise")
    if rng.random() < SHAPES_PROBABILITY:
        add_shapes(image, rng)
        layers.append("shapes")
    if rng.random() < STRIPE_PROBABILITY:
        add_stripes(image, rng)
        layers.append("stripes")
    return Background(np.ascontiguousarray(np.clip(image, 0.0, 1.0).transpose(1, 2, 0)), tuple(layers))
