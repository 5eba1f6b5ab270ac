"""DINOv2 patch features (transformers ``Dinov2Model``) behind the
:class:`~hoikit.perception.roles.FeatureExtractor` protocol.

The image is resized so that both sides are multiples of the patch size (14) with the longer side
near ``image_side``, normalised with the ImageNet mean and standard deviation, and encoded; the
patch tokens of the chosen layer are returned as an (h, w, D) grid. Layer numbering follows
``output_hidden_states``: 0 is the embeddings, k the output of block k (AlignHOI uses block 30 of
ViT-g/14); ``None`` is the final, layer-normalised output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def patch_grid(height: int, width: int, image_side: int, patch: int) -> tuple[int, int]:
    """(h, w) patches for an image of ``height`` × ``width`` pixels whose longer side is resized to
    about ``image_side`` (aspect kept, each side at least one patch)."""
    s = image_side / max(height, width)
    return max(1, round(height * s / patch)), max(1, round(width * s / patch))


def preprocess(rgb: np.ndarray, grid: tuple[int, int], patch: int, mask: np.ndarray | None = None) -> "Any":
    """(1, 3, h·patch, w·patch) float32 tensor: resized, ImageNet-normalised RGB.

    Pixels outside ``mask`` are set to the ImageNet mean (zero after normalisation) so that only the
    object contributes."""
    import cv2
    import torch

    h, w = grid[0] * patch, grid[1] * patch
    img = rgb.astype(np.float32) / 255.0
    if mask is not None:
        img = np.where(mask[..., None], img, np.asarray(IMAGENET_MEAN, np.float32))
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if h < rgb.shape[0] else cv2.INTER_LINEAR)
    img = (img - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]


@dataclass
class Dinov2Features:
    """DINOv2 patch features. ``layer``: hidden-state index (0 = embeddings), None = final output."""

    model: Any
    layer: int | None = None
    image_side: int = 448
    name: str = "dinov2"
    patch: int = field(init=False)

    def __post_init__(self) -> None:
        self.model.eval()
        self.model.requires_grad_(False)
        self.patch = int(self.model.config.patch_size)
        n = int(self.model.config.num_hidden_layers)
        if self.layer is not None and not -n - 1 <= self.layer <= n:
            raise ValueError(f"layer {self.layer} out of range for a {n}-block model (0 = embeddings … {n})")

    @classmethod
    def load(cls, path: str | os.PathLike | None, layer: int | None = None, image_side: int = 448) -> "Dinov2Features":
        """A transformers folder (config.json + weights) on disk; never the hub."""
        if path is None:
            from hoikit.models.checkpoints import resolve_checkpoint
            from hoikit.models.registry import DINOV2_GIANT

            path = resolve_checkpoint(DINOV2_GIANT)
        from hoikit.models.packages import prepare_imports

        prepare_imports()  # transformers imports torchvision when it is installed
        from transformers import Dinov2Model

        model = Dinov2Model.from_pretrained(str(Path(path).expanduser()), local_files_only=True)
        return cls(model.float(), layer, image_side)

    def patch_features(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """(h, w, D) float32 patch tokens of ``rgb`` (H, W, 3) uint8 (``mask`` (H, W) bool: object only)."""
        import torch

        grid = patch_grid(rgb.shape[0], rgb.shape[1], self.image_side, self.patch)
        x = preprocess(rgb, grid, self.patch, mask)
        with torch.no_grad():
            out = self.model(pixel_values=x, output_hidden_states=self.layer is not None)
        tokens = out.last_hidden_state if self.layer is None else out.hidden_states[self.layer]
        return tokens[0, 1:].reshape(grid[0], grid[1], -1).float().numpy()
