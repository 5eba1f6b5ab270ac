"""hoikit-seg: a small U-Net that segments the held object in the grasp crop.

Input (B, 5, S, S): the crop's RGB, the hand mask drawn from the keypoints and the region the grasp
encloses (:mod:`hoikit.perception.graspseg.crops`). Output (B, 1, S, S): logits of the object's
visible pixels. Trained on ``hoikit synth`` scenes by ``hoikit train-seg``
(:mod:`hoikit.perception.graspseg.train`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
from torch import nn
import torch.nn.functional as F

from hoikit.perception.graspseg.crops import IN_CHANNELS, CropConfig


@dataclass(frozen=True)
class SegNetConfig:
    widths: tuple[int, ...] = (8, 16, 32, 64, 96)  # channels per level; the crop halves per level
    side: int = CropConfig.side  # crop pixels (a multiple of 2^(levels − 1))
    roi_scale: float = CropConfig.roi_scale

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SegNetConfig":
        d = json.loads(text)
        return cls(widths=tuple(d["widths"]), side=int(d["side"]), roi_scale=float(d["roi_scale"]))


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(min(8, cout // 4), cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(min(8, cout // 4), cout), nn.ReLU(inplace=True),
    )  # fmt: skip


class GraspSegNet(nn.Module):
    """U-Net: per level two 3×3 conv + GroupNorm + ReLU, max-pool down, bilinear up + skip."""

    def __init__(self, cfg: SegNetConfig = SegNetConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        self.down = nn.ModuleList([_block(IN_CHANNELS if i == 0 else w[i - 1], w[i]) for i in range(len(w))])
        self.up = nn.ModuleList([_block(w[i + 1] + w[i], w[i]) for i in range(len(w) - 1)])
        self.head = nn.Conv2d(w[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 5, S, S) → (B, 1, S, S) logits."""
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(len(self.up))):
            x = F.interpolate(x, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.up[i](torch.cat([x, skips[i]], dim=1))
        return self.head(x)
