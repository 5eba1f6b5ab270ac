"""Hunyuan3D-2 behind the :class:`~hoikit.shape.interface.ShapeGenerator` interface (``hy3dgen``).

The checkpoint is a folder with the model's ``config.yaml`` and one ``.safetensors`` file whose
keys are prefixed ``model.`` (the DiT), ``vae.`` and ``conditioner.`` (DINOv2). It is loaded with
``Hunyuan3DDiTFlowMatchingPipeline.from_single_file`` — never ``from_pretrained``, which falls back
to a hub download — in float32 on the CPU.

Conventions match hoikit's (:mod:`hoikit.types`): the DiT takes t in [0, 1] with t = 0 noise and
returns the velocity; the VAE's geometry decoder returns an occupancy logit that is *positive
inside* on the cube [−1.01, 1.01]³, which :meth:`Hunyuan3D2.decode_sdf` negates. The stock
pipeline and volume decoders run under no-grad, so guidance calls the geometry decoder directly.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from hoikit.errors import InputError, MissingCheckpointError
from hoikit.models.checkpoints import CheckpointSpec, lookup, missing_message
from hoikit.shape.interface import Conditioning, cfg_combine

BOUNDS = (-1.01, 1.01)  # the cube the VAE decodes (the pipeline's box_v)
BORDER_RATIO = 0.15  # empty margin around the object in the conditioning image (the model's own)

# The v2-0 conditioner is DINOv2-giant. Its config names the hub repository (``version``); when the
# checkpoint carries the conditioner's weights, hoikit builds the encoder from this configuration
# instead, so loading never reaches for the hub.
DINOV2_CONFIGS: dict[str, dict] = {
    "facebook/dinov2-giant": {
        "model_type": "dinov2", "hidden_size": 1536, "num_hidden_layers": 40, "num_attention_heads": 24,
        "mlp_ratio": 4, "use_swiglu_ffn": True, "patch_size": 14, "image_size": 518, "num_channels": 3,
        "layerscale_value": 1.0, "layer_norm_eps": 1e-6, "qkv_bias": True, "hidden_act": "gelu",
        "drop_path_rate": 0.0, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
    },
}  # fmt: skip
ENCODER_KEYS = ("main_image_encoder", "additional_image_encoder")


def checkpoint_files(folder: Path) -> tuple[Path, Path]:
    """(config.yaml, weights.safetensors) inside a Hunyuan3D-2 model folder.

    Prefers full-precision weights (``model.safetensors``) over ``model.fp16.safetensors``.
    """
    config = folder / "config.yaml"
    weights = sorted(folder.glob("*.safetensors"), key=lambda p: (".fp16." in p.name, p.name))
    if not config.is_file() or not weights:
        raise InputError(f"{folder}: a Hunyuan3D-2 folder needs config.yaml and a .safetensors file")
    return config, weights[0]


def _encoder_source(version: str, has_weights: bool, known: Mapping[str, dict], env: Mapping[str, str] | None) -> dict:
    """kwargs replacing ``version`` for one image encoder: an inline config, or a local folder."""
    if has_weights and version in known:
        return {"config": dict(known[version])}
    spec = CheckpointSpec(
        key=version, what=f"Hunyuan3D-2 conditioner {version}", kind="dir", hoikit_path=version.split("/")[-1],
        hf_repos=(version,), required=("config.json",),
    )  # fmt: skip
    found = lookup(spec, None, env)
    if found.path is None:
        raise MissingCheckpointError(missing_message(found))
    return {"version": str(found.path)}


def offline_config(
    config: dict, has_conditioner_weights: bool, known: Mapping[str, dict] = DINOV2_CONFIGS,
    env: Mapping[str, str] | None = None,
) -> dict:
    """A copy of a Hunyuan3D-2 ``config.yaml`` dict whose image encoders load without the network.

    An encoder that names a hub repository (``kwargs.version``) is built from its known
    configuration when the checkpoint holds its weights, else from that repository's folder in
    ``$HOIKIT_MODELS`` or the Hugging Face cache (:class:`MissingCheckpointError` when absent).
    """
    out = copy.deepcopy(config)
    params = out.get("conditioner", {}).get("params", {})
    for key in ENCODER_KEYS:
        kwargs = params.get(key, {}).get("kwargs", {})
        version = kwargs.get("version")
        if version and not kwargs.get("config") and not Path(version).is_dir():
            kwargs.pop("version")
            kwargs.update(_encoder_source(version, has_conditioner_weights, known, env))
    return out


def _map_context(ctx: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to every tensor of a (nested dict) context."""
    if isinstance(ctx, torch.Tensor):
        return fn(ctx)
    return {k: _map_context(v, fn) for k, v in ctx.items()}


def _cat_context(a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return torch.cat([a, b])
    return {k: _cat_context(a[k], b[k]) for k in a}


class Hunyuan3D2:
    """Hunyuan3D-2's DiT, VAE and DINOv2 conditioner as a hoikit shape generator.

    Attributes:
        latent_shape: (num_latents, embed_dim), (3072, 64) for v2-0.
        bounds: (−1.01, 1.01), the decoded cube in the model's canonical units.
    """

    name = "hunyuan3d-2"
    bounds = BOUNDS

    def __init__(self, pipeline: Any):
        self.pipe = pipeline
        for module in (pipeline.model, pipeline.vae, pipeline.conditioner):
            module.eval()
            module.requires_grad_(False)
        self.latent_shape = tuple(int(s) for s in pipeline.vae.latent_shape)
        self.dtype = pipeline.dtype

    @classmethod
    def load(cls, path: str | os.PathLike | None, device: str = "cpu", dtype: torch.dtype = torch.float32) -> "Hunyuan3D2":
        """Load a model folder (config.yaml + .safetensors) or its .safetensors file."""
        if path is None:
            from hoikit.models.registry import HUNYUAN3D_2
            from hoikit.models.checkpoints import resolve_checkpoint

            path = resolve_checkpoint(HUNYUAN3D_2)
        p = Path(path).expanduser()
        folder = p.parent if p.is_file() else p
        config_path, weights = checkpoint_files(folder)
        if p.is_file():
            weights = p
        return cls(_from_single_file(config_path, weights, device, dtype))

    # --------------------------------------------------------------------------- interface
    def condition(self, rgba_crop: np.ndarray) -> Conditioning:
        """(H, W, 4) uint8 crop, alpha = object mask → DINOv2 tokens of the model's own image
        processing (object recentred with a 0.15 border, white background), and zeros as the
        unconditional context."""
        from PIL import Image

        if rgba_crop.ndim != 3 or rgba_crop.shape[2] != 4:
            raise ValueError(f"expected an (H, W, 4) RGBA crop, got {rgba_crop.shape}")
        inputs = self.pipe.image_processor(Image.fromarray(np.ascontiguousarray(rgba_crop), "RGBA"), border_ratio=BORDER_RATIO)
        with torch.no_grad():
            cond = self.pipe.conditioner(image=inputs["image"].to(self.dtype), mask=inputs["mask"].to(self.dtype))
            uncond = self.pipe.conditioner.unconditional_embedding(1)
        return Conditioning(cond=cond, uncond=uncond)

    def velocity(self, x_t: torch.Tensor, t: torch.Tensor, cond: Conditioning, guidance_scale: float) -> torch.Tensor:
        """Velocity (B, *latent_shape) at x_t, t (B,) in [0, 1]; classifier-free guidance with
        the zero context as the unconditional one (guidance-distilled models take the scale as input)."""
        model = self.pipe.model
        B = x_t.shape[0]
        t = torch.as_tensor(t, dtype=x_t.dtype, device=x_t.device).reshape(-1).expand(B)
        batch = lambda c: _map_context(c, lambda x: x.expand(B, *x.shape[1:]))
        if getattr(model, "guidance_embed", False):
            w = torch.full((B,), float(guidance_scale), dtype=x_t.dtype, device=x_t.device)
            return model(x_t, t, batch(cond.cond), guidance=w)
        if guidance_scale <= 1.0:
            return model(x_t, t, batch(cond.cond))
        v = model(torch.cat([x_t, x_t]), torch.cat([t, t]), _cat_context(batch(cond.uncond), batch(cond.cond)))
        return cfg_combine(v[:B], v[B:], guidance_scale)

    def decode_sdf(self, latent: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """SDF (B, P), negative inside, of latents (B, *latent_shape) at points (B, P, 3) in the cube.

        Differentiable with respect to ``latent``; the value is the negated occupancy logit (a
        signed field with the surface at 0, not a metric distance)."""
        vae = self.pipe.vae
        tokens = vae(latent / vae.scale_factor)
        logits = vae.geo_decoder(queries=points.to(tokens.dtype), latents=tokens)
        return -logits[..., 0]


def _from_single_file(config_path: Path, weights: Path, device: str, dtype: torch.dtype) -> Any:
    """``Hunyuan3DDiTFlowMatchingPipeline.from_single_file`` on an offline copy of the config."""
    import yaml
    from safetensors import safe_open

    from hoikit.models.packages import prepare_imports

    prepare_imports()  # hy3dgen's conditioner imports torchvision (see hoikit.models.packages)
    from hy3dgen.shapegen import Hunyuan3DDiTFlowMatchingPipeline

    with open(config_path) as f:
        config = yaml.safe_load(f)
    with safe_open(str(weights), framework="pt") as f:
        has_cond = any(k.startswith("conditioner.") for k in f.keys())
    with tempfile.TemporaryDirectory(prefix="hoikit-hunyuan-") as tmp:
        local = Path(tmp) / "config.yaml"
        local.write_text(yaml.safe_dump(offline_config(config, has_cond)))
        return Hunyuan3DDiTFlowMatchingPipeline.from_single_file(
            str(weights), str(local), device=device, dtype=dtype, use_safetensors=True
        )
