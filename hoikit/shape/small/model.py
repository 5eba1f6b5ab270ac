"""hoikit-small: a shape auto-encoder with an SDF decoder and an image-conditioned rectified flow.

Sized for a 2-core CPU: the latent is one vector (``latent_dim``), the flow network a residual MLP
modulated by an image embedding and the flow time, the image encoder a small CNN on a 64×64 RGB +
mask crop. Shapes live in a view-aligned canonical cube [−1, 1]³ (x right, y down, z away from the
camera, the OpenCV camera axes) and are size-normalised so their bounding box's largest half-side
is ``SHAPE_EXTENT``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPE_EXTENT = 0.9  # largest half-side of a normalised shape's bounding box, canonical units
BOUNDS = (-1.0, 1.0)


@dataclass(frozen=True)
class SmallConfig:
    """Architecture sizes (stored with the weights)."""

    latent_dim: int = 256
    enc_points: int = 512  # surface points (with normals) the shape encoder sees
    enc_widths: tuple[int, ...] = (64, 128, 256)
    plane_res: int = 32  # the decoder's three axis-aligned feature planes are plane_res²
    plane_channels: int = 16
    dec_channels: tuple[int, ...] = (96, 64, 32)  # 2D decoder widths at 4², 8², 16² (then 32²)
    head_hidden: int = 32
    image_res: int = 64
    img_channels: tuple[int, ...] = (24, 48, 96, 128)
    cond_dim: int = 256
    flow_width: int = 384
    flow_blocks: int = 5
    # 0: the flow runs on every latent dimension, each standardised; k > 0: on the top-k principal
    # components of the standardised training latents, whitened. The auto-encoder's latents span
    # few directions (16 components hold 99.9 % of the variance of the shipped 256-d latents). Measured
    # with 12 and 32 components and not adopted for the shipped weights (docs/prior.md).
    flow_dim: int = 0
    # a deterministic image → flow-latent regressor beside the flow (its own image encoder and an
    # MLP, trained by MSE): the posterior mean of the latent, where the flow draws one sample
    regressor: bool = False
    regressor_hidden: int = 512

    @property
    def flow_latent_dim(self) -> int:
        """Size of the latent the flow (and the guided sampler) works on."""
        return self.flow_dim or self.latent_dim

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "SmallConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, c), c)


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers[:-1])


class ShapeEncoder(nn.Module):
    """PointNet over surface samples: points + normals (B, N, 6) → posterior mean, log-variance (B, D).

    3D convolutions are slow on CPUs (no oneDNN kernel for them here), matrix products are not: a
    shared per-point MLP with max and mean pooling encodes a shape in a few milliseconds.
    """

    def __init__(self, cfg: SmallConfig):
        super().__init__()
        w = list(cfg.enc_widths)
        self.point_mlp = nn.Sequential(_mlp([6, *w]), nn.SiLU())
        self.head = _mlp([2 * w[-1], 2 * w[-1], 2 * cfg.latent_dim])

    def forward(self, points_normals: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.point_mlp(points_normals)
        pooled = torch.cat([h.max(dim=1).values, h.mean(dim=1)], dim=1)
        mu, logvar = self.head(pooled).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 6.0)


class SDFDecoder(nn.Module):
    """Latent (B, D) → three axis-aligned feature planes (B, 3, C, R, R) → SDF at canonical points.

    SDF(p) = head(plane_xy(x, y) + plane_xz(x, z) + plane_yz(y, z), p); canonical units, negative
    inside. The planes grow from 4² by 2D convolutions (fast on CPUs). Summing the three plane
    features (rather than concatenating) lets a regular grid be decoded by broadcasting upsampled
    planes, without a per-point gather: :meth:`grid` is the fast path of :meth:`query`.
    """

    def __init__(self, cfg: SmallConfig):
        super().__init__()
        self.cfg = cfg
        c0 = cfg.dec_channels[0]
        self.fc = nn.Linear(cfg.latent_dim, 3 * c0 * 16)
        blocks, c_in, res = [], c0, 4
        for c in cfg.dec_channels[1:] + (cfg.plane_channels,):
            blocks += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                       nn.Conv2d(c_in, c, 3, padding=1), _norm(c), nn.SiLU()]  # fmt: skip
            c_in, res = c, res * 2
        assert res == cfg.plane_res, "dec_channels must grow 4² to plane_res²"
        blocks.append(nn.Conv2d(c_in, cfg.plane_channels, 3, padding=1))
        self.conv = nn.Sequential(*blocks)
        self.head = _mlp([cfg.plane_channels + 3, cfg.head_hidden, 1])

    def planes(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) → (B, 3, C, R, R): planes over (x, y), (x, z), (y, z), indexed [first, second]."""
        B, c0 = z.shape[0], self.cfg.dec_channels[0]
        h = self.conv(self.fc(z).view(B * 3, c0, 4, 4))
        return h.view(B, 3, *h.shape[1:])

    def query(self, planes: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """planes (B, 3, C, R, R), points (B, P, 3) canonical → SDF (B, P)."""
        B, _, C, R, _ = planes.shape
        # grid_sample's grid is (u → width, v → height); plane [a, b] has height a, width b
        uv = torch.stack([points[..., [1, 0]], points[..., [2, 0]], points[..., [2, 1]]], dim=1)  # (B, 3, P, 2)
        f = F.grid_sample(planes.reshape(B * 3, C, R, R), uv.reshape(B * 3, -1, 1, 2), mode="bilinear",
                          padding_mode="border", align_corners=True)  # fmt: skip
        f = f.view(B, 3, C, -1).sum(dim=1).transpose(1, 2)  # (B, P, C)
        return self.head(torch.cat([f, points], dim=-1))[..., 0]

    def grid(self, planes: torch.Tensor, resolution: int) -> torch.Tensor:
        """SDF on the ``resolution``³ grid over [−1, 1]³ (ij order: [x, y, z]) → (B, R, R, R).

        Equal to :meth:`query` at ``linspace(−1, 1, resolution)`` grid points.
        """
        B, _, C, R, _ = planes.shape
        up = F.interpolate(planes.reshape(B * 3, C, R, R), size=(resolution, resolution), mode="bilinear", align_corners=True)
        up = up.view(B, 3, C, resolution, resolution)
        f = up[:, 0, :, :, :, None] + up[:, 1, :, :, None, :] + up[:, 2, :, None, :, :]  # (B, C, x, y, z)
        ax = torch.linspace(-1.0, 1.0, resolution, device=planes.device, dtype=planes.dtype)
        xyz = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), dim=0).expand(B, -1, -1, -1, -1)
        feats = torch.cat([f, xyz], dim=1).flatten(2).transpose(1, 2)  # (B, R³, C + 3)
        return self.head(feats)[..., 0].view(B, resolution, resolution, resolution)

    def forward(self, z: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        return self.query(self.planes(z), points)


class ImageEncoder(nn.Module):
    """Object crop (B, 4, 64, 64) — RGB in [−1, 1] and the mask — → embedding (B, cond_dim)."""

    def __init__(self, cfg: SmallConfig):
        super().__init__()
        layers, c_in = [], 4
        for i, c in enumerate(cfg.img_channels):  # 64 → 32 → 16 → 8 → 4
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), _norm(c), nn.SiLU()]
            if i >= len(cfg.img_channels) - 2:  # extra depth where maps are small (cheap)
                layers += [nn.Conv2d(c, c, 3, padding=1), _norm(c), nn.SiLU()]
            c_in = c
        self.conv = nn.Sequential(*layers)
        side = cfg.image_res // 2 ** len(cfg.img_channels)
        # keep the layout: the spatial map is flattened, not pooled (shape ↔ silhouette position)
        self.fc = nn.Linear(c_in * side * side, cfg.cond_dim)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(img).flatten(1))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of flow time t ∈ [0, 1]: (B,) → (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class FlowBlock(nn.Module):
    """Pre-norm residual MLP block with adaptive layer norm (scale, shift, gate) from the condition."""

    def __init__(self, width: int, cond: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Linear(2 * width, width))
        self.ada = nn.Linear(cond, 3 * width)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        scale, shift, gate = self.ada(c).chunk(3, dim=1)
        return h + (1.0 + gate) * self.mlp(self.norm(h) * (1.0 + scale) + shift)


class FlowNet(nn.Module):
    """Velocity v(x_t, t, image embedding) for latents (B, D)."""

    def __init__(self, cfg: SmallConfig):
        super().__init__()
        self.t_dim = 128
        self.cond = nn.Sequential(nn.Linear(cfg.cond_dim + self.t_dim, cfg.cond_dim), nn.SiLU(), nn.Linear(cfg.cond_dim, cfg.cond_dim))
        self.inp = nn.Linear(cfg.flow_latent_dim, cfg.flow_width)
        self.blocks = nn.ModuleList(FlowBlock(cfg.flow_width, cfg.cond_dim) for _ in range(cfg.flow_blocks))
        self.out_norm = nn.LayerNorm(cfg.flow_width)
        self.out = nn.Linear(cfg.flow_width, cfg.flow_latent_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        c = self.cond(torch.cat([emb, timestep_embedding(t, self.t_dim)], dim=1))
        h = self.inp(x)
        for blk in self.blocks:
            h = blk(h, c)
        return self.out(self.out_norm(h))


class LatentRegressor(nn.Module):
    """Object crop (B, 4, 64, 64) → flow-space latent (B, flow_latent_dim): the mean of the latent
    given the crop (MSE regression), decoded as one deterministic shape."""

    def __init__(self, cfg: SmallConfig):
        super().__init__()
        self.image_encoder = ImageEncoder(cfg)
        self.head = _mlp([cfg.cond_dim, cfg.regressor_hidden, cfg.flow_latent_dim])

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.head(self.image_encoder(img))


class HoikitSmallNet(nn.Module):
    """All of hoikit-small's weights: encoder, decoder, image encoder, flow, the latent scale and
    (``cfg.regressor``) the latent regressor."""

    def __init__(self, cfg: SmallConfig = SmallConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = ShapeEncoder(cfg)
        self.decoder = SDFDecoder(cfg)
        self.image_encoder = ImageEncoder(cfg)
        self.flow = FlowNet(cfg)
        self.null_embedding = nn.Parameter(torch.zeros(cfg.cond_dim))  # the unconditional context
        if cfg.regressor:
            self.regressor = LatentRegressor(cfg)
        # flow latents are (posterior mean − latent_mean) / latent_std, set after the AE is trained
        # (:meth:`fit_flow_space`); with ``flow_dim`` > 0 then projected on ``latent_basis`` (k, D)
        # and divided by each component's standard deviation ``basis_std`` (k,)
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("latent_std", torch.ones(cfg.latent_dim))
        if cfg.flow_dim:
            self.register_buffer("latent_basis", torch.eye(cfg.flow_dim, cfg.latent_dim))
            self.register_buffer("basis_std", torch.ones(cfg.flow_dim))

    @torch.no_grad()
    def fit_flow_space(self, latents: torch.Tensor) -> None:
        """Set the flow space from the training latents (N, D): per-dimension mean and standard
        deviation, then (``flow_dim`` > 0) the principal directions of the standardised latents."""
        self.latent_mean.copy_(latents.mean(0))
        self.latent_std.copy_(latents.std(0).clamp(min=1e-3))
        if self.cfg.flow_dim:
            x = (latents - self.latent_mean) / self.latent_std  # zero-mean by construction
            _, S, Vh = torch.linalg.svd(x, full_matrices=False)
            k = self.cfg.flow_dim
            self.latent_basis.copy_(Vh[:k])
            self.basis_std.copy_((S[:k] / math.sqrt(max(len(x) - 1, 1))).clamp(min=1e-3))

    def to_flow_space(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, D) → flow latents (B, flow_latent_dim)."""
        x = (z - self.latent_mean) / self.latent_std
        if self.cfg.flow_dim:
            x = (x @ self.latent_basis.T) / self.basis_std
        return x

    def from_flow_space(self, x: torch.Tensor) -> torch.Tensor:
        """Flow latents (B, flow_latent_dim) → latents (B, D)."""
        if self.cfg.flow_dim:
            x = (x * self.basis_std) @ self.latent_basis
        return x * self.latent_std + self.latent_mean
