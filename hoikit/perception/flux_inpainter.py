"""FLUX.1 Kontext (diffusers ``FluxKontextPipeline``) behind the
:class:`~hoikit.perception.roles.Inpainter` protocol — FollowMyHold's hand removal.

Kontext edits the whole image from an instruction ("Remove hands but keep the {object}.", guidance
2.5, 28 steps). Without an explicit size it returns 1024×1024 whatever the input, so hoikit asks
for the input size rounded to the model's multiple (16 for FLUX: VAE factor 8 × 2×2 packing) and
resizes the result back. The masks are not inputs of the model: the edit is instruction-driven.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROMPT = "Remove hands but keep the {object}."
GUIDANCE = 2.5
STEPS = 28


def kontext_prompt(object_name: str | None) -> str:
    return PROMPT.format(object=(object_name or "object").strip())


def round_size(height: int, width: int, multiple: int = 16) -> tuple[int, int]:
    """(H', W'): each side rounded to the nearest multiple of ``multiple`` (at least one multiple)."""
    r = lambda v: max(multiple, int(round(v / multiple)) * multiple)
    return r(height), r(width)


@dataclass
class FluxKontextInpainter:
    """Hand removal with FLUX.1 Kontext on the CPU (float32: bfloat16 matmuls are slow on most CPUs)."""

    pipe: Any
    steps: int = STEPS
    guidance: float = GUIDANCE
    seed: int = 0
    # Kontext was trained with the input image at about one megapixel (its "preferred
    # resolutions"); False feeds it at the output size instead, which is much cheaper on a CPU
    auto_resize: bool = True
    name: str = "flux-kontext"

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> "FluxKontextInpainter":
        """A diffusers folder (``model_index.json``, transformer, vae, text encoders, tokenizers)."""
        if path is None:
            from hoikit.models.checkpoints import resolve_checkpoint
            from hoikit.models.registry import FLUX_KONTEXT

            path = resolve_checkpoint(FLUX_KONTEXT)
        import torch

        from hoikit.models.packages import prepare_imports

        prepare_imports()  # diffusers' pipelines import transformers' image processors (torchvision)
        from diffusers import FluxKontextPipeline

        pipe = FluxKontextPipeline.from_pretrained(str(Path(path).expanduser()), torch_dtype=torch.float32, local_files_only=True)
        return cls(pipe)

    @property
    def multiple(self) -> int:
        """The size granularity of the pipeline: VAE downsampling × the 2×2 latent packing."""
        return int(self.pipe.vae_scale_factor) * 2

    def edit(self, rgb: np.ndarray, object_name: str | None = None) -> np.ndarray:
        """(H', W', 3) uint8: the edited image at the input size rounded to :attr:`multiple`."""
        import torch
        from PIL import Image

        h, w = round_size(rgb.shape[0], rgb.shape[1], self.multiple)
        out = self.pipe(
            image=Image.fromarray(np.ascontiguousarray(rgb)),
            prompt=kontext_prompt(object_name),
            guidance_scale=self.guidance,
            num_inference_steps=self.steps,
            height=h,
            width=w,
            max_area=h * w,  # the pipeline rescales height×width to this area: keep ours
            generator=torch.Generator().manual_seed(self.seed),
            output_type="np",
            _auto_resize=self.auto_resize,
        ).images[0]
        return np.clip(np.round(np.asarray(out) * 255.0), 0, 255).astype(np.uint8)

    def inpaint(
        self, rgb: np.ndarray, hand_mask: np.ndarray, object_mask: np.ndarray, object_name: str | None = None
    ) -> np.ndarray:
        """(H, W, 3) uint8 edited image at the input size."""
        import cv2

        H, W = rgb.shape[:2]
        img = self.edit(rgb, object_name)
        if img.shape[:2] != (H, W):
            interp = cv2.INTER_AREA if img.shape[0] > H else cv2.INTER_CUBIC
            img = cv2.resize(img, (W, H), interpolation=interp)
        return img
