"""hoikit-small behind the :class:`~hoikit.shape.interface.ShapeGenerator` interface."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from hoikit.errors import MissingCheckpointError
from hoikit.shape.interface import Conditioning, cfg_combine
from hoikit.shape.small.model import BOUNDS, HoikitSmallNet, SmallConfig

WEIGHTS_NAME = "hoikit_small.safetensors"


def default_weights_path() -> Path:
    return Path(str(resources.files("hoikit.shape.small") / "weights" / WEIGHTS_NAME))


def crop_to_tensor(rgba: np.ndarray, res: int) -> torch.Tensor:
    """(H, W, 4) uint8 object crop → (4, res, res) float: RGB on white in [−1, 1], then the mask in [−1, 1]."""
    import cv2

    interp = cv2.INTER_AREA if rgba.shape[0] > res else cv2.INTER_LINEAR
    small = cv2.resize(rgba, (res, res), interpolation=interp).astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))


class HoikitSmall:
    """hoikit's own small shape generator (trained by ``hoikit train-prior``).

    Latents live in the flow space (normalised VAE means); :meth:`decode_sdf` maps them back.
    """

    name = "hoikit-small"
    bounds = BOUNDS

    def __init__(self, net: HoikitSmallNet):
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.latent_shape = (net.cfg.flow_latent_dim,)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "HoikitSmall":
        """Load weights (default: the ones shipped inside the package)."""
        from safetensors import safe_open

        p = Path(path) if path else default_weights_path()
        if not p.is_file():
            raise MissingCheckpointError(
                f"hoikit-small weights not found: looked for {p}"
                + ("" if path else " (train them with `hoikit train-prior`)")
            )
        with safe_open(str(p), framework="pt") as f:
            cfg = SmallConfig.from_dict(json.loads(f.metadata()["config"]))
            state = {k: f.get_tensor(k).float() for k in f.keys()}
        net = HoikitSmallNet(cfg)
        net.load_state_dict(state)
        return cls(net)

    def condition(self, rgba_crop: np.ndarray) -> Conditioning:
        img = crop_to_tensor(rgba_crop, self.net.cfg.image_res)[None]
        with torch.no_grad():
            emb = self.net.image_encoder(img)
            mean = self.net.regressor(img) if self.net.cfg.regressor else None
        return Conditioning(cond=emb, uncond=self.net.null_embedding[None].detach(), mean=mean)

    def velocity(self, x_t: torch.Tensor, t: torch.Tensor, cond: Conditioning, guidance_scale: float) -> torch.Tensor:
        B = x_t.shape[0]
        t = torch.as_tensor(t, dtype=x_t.dtype).expand(B)
        c = cond.cond.expand(B, -1)
        if guidance_scale <= 1.0:
            return self.net.flow(x_t, t, c)
        u = cond.uncond.expand(B, -1)
        v = self.net.flow(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([u, c]))
        return cfg_combine(v[:B], v[B:], guidance_scale)

    def decode_sdf(self, latent: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        dec = self.net.decoder
        return dec.query(dec.planes(self.net.from_flow_space(latent)), points)

    def decode_grid(self, latent: torch.Tensor, resolution: int) -> torch.Tensor:
        """(B, R, R, R) SDF on the grid over ``bounds`` (ij order) — the fast path for meshing."""
        dec = self.net.decoder
        return dec.grid(dec.planes(self.net.from_flow_space(latent)), resolution)
