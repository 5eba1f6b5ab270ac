"""Template and frame descriptors for retrieval.

- Embedded default (no network): silhouettes normalised for position and size — centred on the
  mask's centroid, cropped to ``CROP_SIDES`` × sqrt(area), resampled to ``CROP`` pixels — blurred,
  mean-subtracted and unit length; cosine similarity. In a frame, pixels the hand covers count
  half (the object may or may not be behind them).
- DINOv2 (AlignHOI A.2): patch features of the templates inside their masks, PCA to ``pca_dim``,
  k-means to a vocabulary of ``vocabulary`` words; each image is the normalised histogram of its
  patches' words (bag of words); cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CROP = 32
CROP_SIDES = 3.0
BLUR_PX = 1.0


@dataclass(frozen=True)
class SilhouetteFeatures:
    """The embedded template-feature member: retrieval by :func:`silhouette_descriptors` (no image
    features; the pipeline treats it as "no feature extractor")."""

    name: str = "silhouette"

    @classmethod
    def load(cls, checkpoint=None) -> "SilhouetteFeatures":
        return cls()


def normalised_crop(image: np.ndarray, mask: np.ndarray, size: int = CROP, sides: float = CROP_SIDES) -> np.ndarray:
    """(size, size) float32: ``image`` (H, W) float resampled around ``mask``'s centroid, the square's
    side ``sides`` × sqrt(mask area) (zeros when the mask is empty)."""
    from hoikit.io.images import square_crop

    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros((size, size), np.float32)
    side = sides * np.sqrt(len(xs))
    return square_crop(image.astype(np.float32), xs.mean(), ys.mean(), side, size)


def frame_crop(object_mask: np.ndarray, hand_mask: np.ndarray, size: int = CROP) -> tuple[np.ndarray, np.ndarray]:
    """A frame's normalised object crop and the crop's valid pixels (not hidden by the hand), both (size, size) float."""
    obj = normalised_crop(object_mask.astype(np.float32), object_mask, size)
    hand = normalised_crop((hand_mask & ~object_mask).astype(np.float32), object_mask, size)
    return obj, 1.0 - np.clip(hand, 0.0, 1.0)


def silhouette_descriptors(crops: np.ndarray) -> np.ndarray:
    """(N, C, C) crops → (N, C·C) unit-length, mean-subtracted, blurred descriptors."""
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(crops.astype(np.float64), sigma=(0, BLUR_PX, BLUR_PX)).reshape(len(crops), -1)
    x = x - x.mean(1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


# ------------------------------------------------------------------------------------ DINOv2
def _masked_patches(features, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(n, D) patch features of ``rgb`` whose patch overlaps ``mask`` by half or more."""
    import cv2

    grid = features.patch_features(rgb, mask)
    h, w, D = grid.shape
    cover = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) >= 0.5
    if not cover.any():
        cover = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
    return grid[cover].astype(np.float32)


def kmeans(x: np.ndarray, k: int, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """(k, D) centres of ``x`` (n, D) by Lloyd's algorithm from a k-means++-like random start."""
    import torch

    X = torch.as_tensor(x, dtype=torch.float32)
    k = min(k, len(X))
    g = torch.Generator().manual_seed(seed)
    C = X[torch.randperm(len(X), generator=g)[:k]].clone()
    for _ in range(iterations):
        a = torch.cdist(X, C).argmin(1)
        sums = torch.zeros_like(C).index_add_(0, a, X)
        counts = torch.bincount(a, minlength=k).float()
        keep = counts > 0
        C[keep] = sums[keep] / counts[keep, None]
    return C.numpy()


@dataclass
class BagOfWords:
    """PCA (mean, components) and a k-means vocabulary over template patch features."""

    mean: np.ndarray
    components: np.ndarray  # (pca_dim, D)
    words: np.ndarray  # (K, pca_dim)

    @classmethod
    def fit(cls, features, images: np.ndarray, masks: np.ndarray, pca_dim: int = 256, vocabulary: int = 2048, seed: int = 0) -> "BagOfWords":
        feats = np.concatenate([_masked_patches(features, im, m) for im, m in zip(images, masks)])
        mean = feats.mean(0)
        _, _, Vt = np.linalg.svd(feats - mean, full_matrices=False)
        comps = Vt[: min(pca_dim, Vt.shape[0])]
        words = kmeans((feats - mean) @ comps.T, vocabulary, seed=seed)
        return cls(mean, comps, words)

    def histogram(self, patches: np.ndarray) -> np.ndarray:
        """(K,) unit-length word histogram of (n, D) patch features."""
        import torch

        z = torch.as_tensor((patches - self.mean) @ self.components.T, dtype=torch.float32)
        a = torch.cdist(z, torch.as_tensor(self.words)).argmin(1).numpy()
        h = np.bincount(a, minlength=len(self.words)).astype(np.float64)
        return h / max(np.linalg.norm(h), 1e-9)

    def encode_many(self, features, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return np.stack([self.histogram(_masked_patches(features, im, m)) for im, m in zip(images, masks)])

    def encode_frame(self, features, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """A frame's histogram over the patches of a square crop around its object mask."""
        if not mask.any():
            return np.zeros(len(self.words))
        from hoikit.io.images import square_crop

        ys, xs = np.nonzero(mask)
        side = 1.3 * max(xs.max() - xs.min(), ys.max() - ys.min()) + 8
        cx, cy = (xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2
        crop = square_crop(rgb, cx, cy, side, 224)
        m = square_crop(mask.astype(np.uint8), cx, cy, side, 224, nearest=True) > 0
        return self.histogram(_masked_patches(features, crop, m))
