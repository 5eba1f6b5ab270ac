"""SAM 2 (``sam2`` on PyPI) behind the :class:`~hoikit.perception.roles.Segmenter` protocol.

One model is built (``build_sam2_video_predictor``) and serves both: images go through
``SAM2ImagePredictor`` over it, videos through the ``SAM2VideoPredictor`` itself, which reads frames
from a folder of JPEGs (its only input besides an mp4 file), so hoikit writes the frames to a
temporary folder at high JPEG quality. The model configuration ships inside the
``sam2`` package and is chosen from the checkpoint's file name (``sam2.1_hiera_tiny.pt`` →
``configs/sam2.1/sam2.1_hiera_t.yaml``). Runs in float32 on the CPU.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hoikit.errors import InputError
from hoikit.perception.roles import Prompt, PromptLike, as_prompt

SIZES = {"tiny": "t", "small": "s", "base_plus": "b+", "large": "l"}
JPEG_QUALITY = 95  # the video predictor reads JPEG frames; high quality keeps them close to the input


def config_for_checkpoint(path: str | os.PathLike) -> str:
    """The ``sam2`` package config of a checkpoint named like the official ones.

    ``sam2.1_hiera_tiny.pt`` → ``configs/sam2.1/sam2.1_hiera_t.yaml``;
    ``sam2_hiera_large.pt`` → ``configs/sam2/sam2_hiera_l.yaml``.
    """
    m = re.match(r"(sam2(?:\.1)?)_hiera_(tiny|small|base_plus|large)\b", Path(path).name)
    if m is None:
        raise InputError(
            f"{path}: cannot tell the SAM 2 model size from the file name "
            "(expected sam2.1_hiera_{tiny,small,base_plus,large}.pt or sam2_hiera_*.pt)"
        )
    version, size = m.groups()
    return f"configs/{version}/{version}_hiera_{SIZES[size]}.yaml"


def _sam2_prompt_arrays(p: Prompt) -> dict[str, Any]:
    """SAM 2's prompt arguments: pixel point coordinates/labels and an (x0, y0, x1, y1) box."""
    out: dict[str, Any] = {}
    if p.points is not None:
        out["point_coords"] = p.points.astype(np.float32)
        out["point_labels"] = p.labels.astype(np.int32)
    if p.box is not None:
        out["box"] = np.asarray(p.box, dtype=np.float32)
    return out


def best_mask(masks: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The (H, W) bool mask of highest predicted IoU among (C, H, W) candidates."""
    return np.asarray(masks[int(np.argmax(scores))]) > 0.5


def write_jpeg_frames(frames: Sequence[np.ndarray], folder: Path) -> None:
    """Frames as ``00000.jpg, 00001.jpg, …`` (the names SAM 2's video loader sorts by)."""
    from PIL import Image

    for i, frame in enumerate(frames):
        Image.fromarray(np.ascontiguousarray(frame)).save(folder / f"{i:05d}.jpg", quality=JPEG_QUALITY)


@dataclass
class Sam2Segmenter:
    """SAM 2 image and video segmentation.

    Build with :meth:`load` (a checkpoint, or ``None`` with ``random_weights=True`` for tests).
    ``hydra_overrides`` are passed to ``build_sam2`` (e.g. a smaller ``++model.image_size`` in tests).
    """

    config: str
    checkpoint: str | None
    device: str = "cpu"
    hydra_overrides: list[str] = field(default_factory=list)
    name: str = "sam2"
    _image_predictor: Any = field(default=None, repr=False)
    _video_predictor: Any = field(default=None, repr=False)

    @classmethod
    def load(
        cls, checkpoint: str | os.PathLike | None, config: str | None = None, random_weights: bool = False,
        hydra_overrides: Sequence[str] = (),
    ) -> "Sam2Segmenter":
        """``checkpoint`` (.pt) resolved by the registry; ``config`` defaults to the one its name implies."""
        if checkpoint is None and not random_weights:
            from hoikit.models.checkpoints import resolve_checkpoint
            from hoikit.models.registry import SAM2_TINY

            checkpoint = resolve_checkpoint(SAM2_TINY)
        if config is None:
            config = config_for_checkpoint(checkpoint if checkpoint is not None else "sam2.1_hiera_tiny.pt")
        ckpt = str(Path(checkpoint).expanduser()) if checkpoint is not None else None
        return cls(config, ckpt, hydra_overrides=list(hydra_overrides))

    def _sam2(self):
        from hoikit.models.packages import import_package

        return import_package("sam2.build_sam")  # torchvision made importable first

    def video_predictor(self) -> Any:
        """The SAM 2 model, built once as ``SAM2VideoPredictor`` (a ``SAM2Base``) for both uses."""
        if self._video_predictor is None:
            build = self._sam2()
            predictor = build.build_sam2_video_predictor(
                self.config, self.checkpoint, device=self.device, hydra_overrides_extra=self.hydra_overrides
            )
            # hole filling needs SAM 2's optional CUDA extension, which a CPU install does not build
            predictor.fill_hole_area = 0
            self._video_predictor = predictor
        return self._video_predictor

    def image_predictor(self) -> Any:
        """``SAM2ImagePredictor`` over the same model (image prompts use only the shared encoder,
        prompt encoder and mask decoder, so one checkpoint load serves both)."""
        if self._image_predictor is None:
            model = self.video_predictor()
            from sam2.sam2_image_predictor import SAM2ImagePredictor

            predictor = SAM2ImagePredictor(model)
            # the predictor hard-codes the backbone feature sizes of 1024-pixel inputs (strides 4, 8, 16)
            predictor._bb_feat_sizes = [(model.image_size // s,) * 2 for s in (4, 8, 16)]
            self._image_predictor = predictor
        return self._image_predictor

    def segment(self, rgb: np.ndarray, prompt: PromptLike) -> np.ndarray:
        """(H, W) bool. One click asks SAM 2 for three candidates and keeps the best-scored one
        (a single click is ambiguous); a box or several points ask for one mask."""
        import torch

        p = as_prompt(prompt)
        multimask = p.box is None and len(p.points) == 1
        predictor = self.image_predictor()
        with torch.inference_mode():
            predictor.set_image(np.ascontiguousarray(rgb))
            masks, scores, _ = predictor.predict(**_sam2_prompt_arrays(p), multimask_output=multimask)
        return best_mask(masks, scores)

    def segment_video(self, frames: Sequence[np.ndarray], first_frame_prompt: PromptLike) -> list[np.ndarray]:
        """One (H, W) bool mask per frame: the object prompted on frame 0, tracked forward."""
        import torch

        if len(frames) == 0:
            return []
        p = as_prompt(first_frame_prompt)
        predictor = self.video_predictor()
        h, w = frames[0].shape[:2]
        masks = [np.zeros((h, w), bool) for _ in frames]
        with tempfile.TemporaryDirectory(prefix="hoikit-sam2-") as tmp, torch.inference_mode():
            write_jpeg_frames(frames, Path(tmp))
            state = predictor.init_state(video_path=tmp)
            args = _sam2_prompt_arrays(p)
            predictor.add_new_points_or_box(
                state, frame_idx=0, obj_id=1, points=args.get("point_coords"), labels=args.get("point_labels"),
                box=args.get("box"),
            )  # fmt: skip
            for idx, _, logits in predictor.propagate_in_video(state):
                masks[idx] = (logits[0, 0] > 0.0).cpu().numpy()
        return masks
