"""``hoikit train-prior``: reproduce hoikit-small's shipped weights from a seed.

Stages (each resumable from its output in the work folder):

1. data    — procedural objects rendered from random views (:mod:`hoikit.shape.small.data`),
             written as .npz shards by parallel worker processes;
2. ae      — the shape auto-encoder: PointNet encoder → latent → triplane SDF decoder, trained on
             truncated-L1 SDF regression with a small KL term;
3. latents — posterior means of every sample and their per-dimension mean / std (the flow space);
4. flow    — the image encoder and the rectified-flow network on (image crop, latent) pairs, with
             classifier-free-guidance dropout and an exponential moving average of the weights;
5. regressor (``regress_steps`` > 0) — a second image encoder and an MLP regressing the latent
             from the crop (MSE on the flow-space latent): the posterior mean, one shape per crop;
6. export  — float16 safetensors with the architecture and the training record as metadata.

The auto-encoder and the flow are checkpointed in the work folder (``ae.pt``, ``flow.pt``), so a
regressor can be added to a finished run without retraining what it sits on.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hoikit.io.results import to_jsonable
from hoikit.shape.small.data import PriorDataConfig, generate_shard
from hoikit.shape.small.model import HoikitSmallNet, SmallConfig


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run (recorded in the weights' metadata)."""

    seed: int = 0
    shards: int = 48
    objects_per_shard: int = 110
    views_per_shard_object: int = 2
    workers: int = 2
    ae_steps: int = 4000
    ae_batch: int = 32
    ae_lr: float = 1e-3
    sdf_trunc: float = 0.1  # canonical units: targets and predictions are clamped to ±trunc
    kl_weight: float = 1e-4
    flow_steps: int = 12000
    flow_batch: int = 64
    flow_lr: float = 4e-4
    cfg_dropout: float = 0.1
    # weight of the decoded-shape term of the flow loss: the clean estimate x̂₁ of every training
    # step, decoded by the frozen SDF decoder, against the true SDF (truncated L1, as the AE's).
    # Latent MSE alone weighs every normalised latent dimension alike, also those the decoder
    # barely uses; this term spends the flow's capacity on what changes the surface.
    flow_sdf_weight: float = 0.0
    flow_sdf_points: int = 1024  # SDF samples per shape and step for that term
    ema_decay: float = 0.999
    regress_steps: int = 0  # 0: no latent regressor (set ``model.regressor`` with it)
    regress_lr: float = 4e-4
    threads: int = 2
    model: SmallConfig = field(default_factory=SmallConfig)
    data: PriorDataConfig = field(default_factory=PriorDataConfig)


def _log(msg: str) -> None:
    print(f"[train-prior {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------- data
def _shard_job(args: tuple) -> str:
    path, seed, n, views, cfg = args
    torch.set_num_threads(1)
    return str(generate_shard(Path(path), seed, n, views, cfg))


def make_data(cfg: TrainConfig, work: Path) -> list[Path]:
    """Generate the missing shards (deterministic per shard: seed·10⁴ + index)."""
    work.mkdir(parents=True, exist_ok=True)
    paths = [work / f"shard_{i:03d}.npz" for i in range(cfg.shards)]
    todo = [(str(p), cfg.seed * 10_000 + i, cfg.objects_per_shard, cfg.views_per_shard_object, cfg.data)
            for i, p in enumerate(paths) if not p.exists()]  # fmt: skip
    if todo:
        _log(f"data: {len(todo)} shards to render with {cfg.workers} workers")
        t0 = time.time()
        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            for k, done in enumerate(pool.map(_shard_job, todo), 1):
                _log(f"data: {k}/{len(todo)} {Path(done).name} ({time.time() - t0:.0f}s)")
    return paths


def load_data(paths: list[Path]) -> dict[str, np.ndarray]:
    parts = [np.load(p) for p in paths]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("crop", "enc", "query", "sdf", "family")}


# ------------------------------------------------------------------------------------ ae
def ae_loss(net: HoikitSmallNet, enc: torch.Tensor, query: torch.Tensor, sdf: torch.Tensor, cfg: TrainConfig) -> tuple[torch.Tensor, dict]:
    mu, logvar = net.encoder(enc)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
    pred = net.decoder(z, query)
    tr = cfg.sdf_trunc
    rec = (pred.clamp(-tr, tr) - sdf.clamp(-tr, tr)).abs().mean()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
    return rec + cfg.kl_weight * kl, {"rec": float(rec.detach()), "kl": float(kl.detach())}


def _cosine_lr(opt: torch.optim.Optimizer, base: float, step: int, total: int, warmup: int = 200) -> None:
    lr = base * min(1.0, (step + 1) / warmup) * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    for g in opt.param_groups:
        g["lr"] = lr


def train_ae(net: HoikitSmallNet, data: dict, cfg: TrainConfig, gen: torch.Generator) -> list[dict]:
    params = list(net.encoder.parameters()) + list(net.decoder.parameters())
    opt = torch.optim.Adam(params, lr=cfg.ae_lr)
    n, log = len(data["enc"]), []
    t0 = time.time()
    for step in range(cfg.ae_steps):
        idx = torch.randint(0, n, (cfg.ae_batch,), generator=gen).numpy()
        sub = torch.randperm(data["enc"].shape[1], generator=gen)[: cfg.model.enc_points].numpy()
        enc = torch.from_numpy(data["enc"][idx][:, sub].astype(np.float32))
        q = torch.from_numpy(data["query"][idx].astype(np.float32))
        s = torch.from_numpy(data["sdf"][idx].astype(np.float32))
        _cosine_lr(opt, cfg.ae_lr, step, cfg.ae_steps)
        loss, parts = ae_loss(net, enc, q, s, cfg)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 200 == 0 or step == cfg.ae_steps - 1:
            log.append({"step": step, **parts, "s": round(time.time() - t0, 1)})
            _log(f"ae {step}/{cfg.ae_steps} rec {parts['rec']:.4f} kl {parts['kl']:.3f} ({time.time() - t0:.0f}s)")
    return log


@torch.no_grad()
def encode_all(net: HoikitSmallNet, data: dict, batch: int = 256) -> torch.Tensor:
    net.eval()
    mus = [net.encoder(torch.from_numpy(data["enc"][i : i + batch].astype(np.float32)))[0] for i in range(0, len(data["enc"]), batch)]
    net.train()
    return torch.cat(mus)


# ---------------------------------------------------------------------------------- flow
def augment_crops(crops: np.ndarray, res: int, gen: torch.Generator) -> torch.Tensor:
    """(B, S, S, 4) uint8 crops → (B, 4, res, res) in [−1, 1] with photometric and geometric
    jitter: colour gains, desaturation, greyscale, blur, small shifts and scales, mask noise."""
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
    B = x.shape[0]
    rgb, mask = x[:, :3], x[:, 3:]
    u = lambda *s: torch.rand(*s, generator=gen)
    rgb = rgb * (0.75 + 0.5 * u(B, 3, 1, 1)) + (u(B, 1, 1, 1) - 0.5) * 0.2
    grey = rgb.mean(1, keepdim=True)
    sat = torch.where(u(B, 1, 1, 1) < 0.1, torch.zeros(B, 1, 1, 1), 0.5 + u(B, 1, 1, 1))
    rgb = (grey + sat * (rgb - grey)).clamp(0, 1)
    rgb = mask * rgb + (1 - mask) * 1.0  # background stays white
    x = torch.cat([rgb, mask], 1)
    # small random similarity warp of the whole crop
    ang = (u(B) - 0.5) * 0.2
    sc = 1.0 + (u(B) - 0.5) * 0.15
    sh = (u(B, 2) - 0.5) * 0.1
    theta = torch.stack([torch.stack([sc * torch.cos(ang), -sc * torch.sin(ang), sh[:, 0]], 1),
                         torch.stack([sc * torch.sin(ang), sc * torch.cos(ang), sh[:, 1]], 1)], 1)  # fmt: skip
    grid = F.affine_grid(theta, (B, 4, res, res), align_corners=False)
    bg = torch.tensor([1.0, 1.0, 1.0, 0.0]).view(1, 4, 1, 1)
    x = F.grid_sample(x - bg, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + bg
    blur = u(B) < 0.2
    if blur.any():
        x[blur] = F.avg_pool2d(x[blur], 3, 1, 1, count_include_pad=False)
    m = x[:, 3:]
    m = torch.where(u(B, 1, 1, 1) < 0.15, F.max_pool2d(m, 3, 1, 1), m)
    m = torch.where(u(B, 1, 1, 1) < 0.15, -F.max_pool2d(-m, 3, 1, 1), m)
    x = torch.cat([x[:, :3], m], 1)
    return x * 2.0 - 1.0


def crop_batch(data: dict, n: int, cfg: TrainConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``flow_batch`` random sample indices (B,) of ``n`` and their augmented crops (B, 4, res, res)."""
    idx = torch.randint(0, n, (cfg.flow_batch,), generator=gen)
    return idx, augment_crops(data["crop"][idx.numpy()], cfg.model.image_res, gen)


def ema_decay_at(step: int, decay: float) -> float:
    """The EMA decay at ``step``: warming up as (1 + step) / (10 + step) to ``decay``."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, live: torch.nn.Module, step: int, decay: float) -> None:
    """ema ← d·ema + (1 − d)·live, d = :func:`ema_decay_at`."""
    d = ema_decay_at(step, decay)
    for pe, p in zip(ema.parameters(), live.parameters()):
        pe.mul_(d).add_(p.detach(), alpha=1 - d)


def decoded_shape_loss(net: HoikitSmallNet, x1_hat: torch.Tensor, query: torch.Tensor, sdf: torch.Tensor, trunc: float) -> torch.Tensor:
    """Truncated L1 between the SDF of flow-space latents and the true SDF.

    Args:
        x1_hat: (B, D) flow-space latents (differentiable; the decoder's weights are not trained here).
        query: (B, P, 3) canonical points; sdf: (B, P) their true SDF, canonical units.
    """
    pred = net.decoder(net.from_flow_space(x1_hat), query)
    return (pred.clamp(-trunc, trunc) - sdf.clamp(-trunc, trunc)).abs().mean()


def train_flow(net: HoikitSmallNet, data: dict, latents: torch.Tensor, cfg: TrainConfig, gen: torch.Generator) -> tuple[dict, list[dict]]:
    """Trains image encoder + flow; returns the EMA weights of both and the log."""
    from hoikit.shape.interface import clean_estimate

    modules = torch.nn.ModuleDict({"image_encoder": net.image_encoder, "flow": net.flow})
    params = list(modules.parameters()) + [net.null_embedding]
    net.decoder.requires_grad_(False)  # the decoded-shape term differentiates through it, never trains it
    opt = torch.optim.AdamW(params, lr=cfg.flow_lr, weight_decay=0.01)
    ema = copy.deepcopy(modules).eval()
    ema_null = net.null_embedding.detach().clone()
    x1_all = net.to_flow_space(latents)
    n, log = len(x1_all), []
    t0 = time.time()
    for step in range(cfg.flow_steps):
        idx, img = crop_batch(data, n, cfg, gen)
        x1 = x1_all[idx]
        x0 = torch.randn(x1.shape, generator=gen)
        t = torch.sigmoid(torch.randn(len(idx), generator=gen))  # logit-normal times
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        emb = net.image_encoder(img)
        drop = torch.rand(len(idx), generator=gen) < cfg.cfg_dropout
        emb = torch.where(drop[:, None], net.null_embedding[None].expand_as(emb), emb)
        v = net.flow(xt, t, emb)
        loss = latent_term = F.mse_loss(v, x1 - x0)
        shape_term = torch.zeros(())
        if cfg.flow_sdf_weight > 0:
            sub = torch.randperm(data["query"].shape[1], generator=gen)[: cfg.flow_sdf_points].numpy()
            q = torch.from_numpy(data["query"][idx.numpy()][:, sub].astype(np.float32))
            s = torch.from_numpy(data["sdf"][idx.numpy()][:, sub].astype(np.float32))
            shape_term = decoded_shape_loss(net, clean_estimate(xt, v, t[:, None]), q, s, cfg.sdf_trunc)
            loss = loss + cfg.flow_sdf_weight * shape_term
        _cosine_lr(opt, cfg.flow_lr, step, cfg.flow_steps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_update(ema, modules, step, cfg.ema_decay)
        with torch.no_grad():
            d = ema_decay_at(step, cfg.ema_decay)
            ema_null.mul_(d).add_(net.null_embedding.detach(), alpha=1 - d)
        if step % 500 == 0 or step == cfg.flow_steps - 1:
            parts = {"loss": loss.item(), "latent": latent_term.item(), "shape": shape_term.item()}
            log.append({"step": step, **parts, "s": round(time.time() - t0, 1)})
            _log(f"flow {step}/{cfg.flow_steps} loss {parts['loss']:.4f} latent {parts['latent']:.4f} shape {parts['shape']:.4f} ({time.time() - t0:.0f}s)")
    net.decoder.requires_grad_(True)
    state = {f"{k}.{n_}": v for k, m in ema.items() for n_, v in m.state_dict().items()}
    state["null_embedding"] = ema_null
    return state, log


def train_regressor(net: HoikitSmallNet, data: dict, latents: torch.Tensor, cfg: TrainConfig, gen: torch.Generator) -> tuple[dict, list[dict]]:
    """Trains ``net.regressor`` (crop → flow-space latent, MSE); returns its EMA weights and the log."""
    reg = net.regressor
    opt = torch.optim.AdamW(reg.parameters(), lr=cfg.regress_lr, weight_decay=0.01)
    ema = copy.deepcopy(reg).eval()
    with torch.no_grad():
        x1_all = net.to_flow_space(latents)
    n, log = len(x1_all), []
    t0 = time.time()
    for step in range(cfg.regress_steps):
        idx, img = crop_batch(data, n, cfg, gen)
        loss = F.mse_loss(reg(img), x1_all[idx])
        _cosine_lr(opt, cfg.regress_lr, step, cfg.regress_steps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reg.parameters(), 1.0)
        opt.step()
        ema_update(ema, reg, step, cfg.ema_decay)
        if step % 500 == 0 or step == cfg.regress_steps - 1:
            log.append({"step": step, "loss": loss.item(), "s": round(time.time() - t0, 1)})
            _log(f"regressor {step}/{cfg.regress_steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)")
    return {f"regressor.{k}": v for k, v in ema.state_dict().items()}, log


def load_stage(net: HoikitSmallNet, path: Path) -> None:
    """Load a stage checkpoint; only the regressor (trained after it) may be missing from it."""
    try:
        missing, unexpected = net.load_state_dict(torch.load(path, weights_only=True), strict=False)
    except RuntimeError as e:  # a tensor of another size
        raise ValueError(f"{path} does not match the model config: {e}") from None
    bad = [k for k in missing if not k.startswith("regressor.")] + list(unexpected)
    if bad:
        raise ValueError(f"{path} does not match the model config: {', '.join(bad[:5])}")


# -------------------------------------------------------------------------------- export
def export(net: HoikitSmallNet, path: Path, record: dict) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.state_dict().items()}
    meta = {"config": json.dumps(net.cfg.to_dict()), "training": json.dumps(record)}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def _without_regressor(net: HoikitSmallNet) -> dict[str, torch.Tensor]:
    return {k: v for k, v in net.state_dict().items() if not k.startswith("regressor.")}


def train_prior(cfg: TrainConfig, work: Path, out: Path) -> Path:
    """Run every stage; stages whose outputs exist in ``work`` are reused."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed)
    t_start = time.time()
    times: dict[str, float] = {}
    t = time.time()
    data = load_data(make_data(cfg, work / "data"))
    times["data_s"] = time.time() - t
    _log(f"data: {len(data['enc'])} samples")
    net = HoikitSmallNet(cfg.model)
    ae_path, flow_path = work / "ae.pt", work / "flow.pt"
    ae_log: list[dict] = []
    flow_log: list[dict] = []
    resumed: list[str] = []
    if flow_path.exists():  # auto-encoder, flow space and flow, all trained
        load_stage(net, flow_path)
        resumed += ["ae", "flow"]
    elif ae_path.exists():
        load_stage(net, ae_path)
        resumed.append("ae")
    else:
        t = time.time()
        ae_log = train_ae(net, data, cfg, gen)
        times["ae_s"] = time.time() - t
        torch.save(_without_regressor(net), ae_path)
    latents = encode_all(net, data)
    if "flow" not in resumed:
        net.fit_flow_space(latents)
        t = time.time()
        # the flow stage draws from its own stream, so a resumed auto-encoder gives the same flow
        flow_gen = torch.Generator().manual_seed(cfg.seed * 7919 + 1)
        ema_state, flow_log = train_flow(net, data, latents, cfg, flow_gen)
        times["flow_s"] = time.time() - t
        net.load_state_dict({**net.state_dict(), **ema_state})
        torch.save(_without_regressor(net), flow_path)
    reg_log: list[dict] = []
    if cfg.model.regressor:
        if cfg.regress_steps <= 0:
            raise ValueError("model.regressor needs regress_steps > 0")
        t = time.time()
        reg_state, reg_log = train_regressor(net, data, latents, cfg, torch.Generator().manual_seed(cfg.seed * 7919 + 2))
        times["regressor_s"] = time.time() - t
        net.load_state_dict({**net.state_dict(), **reg_state})
    times["total_s"] = time.time() - t_start
    record = {"config": to_jsonable(asdict(cfg)), "times": times, "resumed": resumed, "ae_log": ae_log[-5:],
              "flow_log": flow_log[-5:], "regressor_log": reg_log[-5:], "samples": int(len(latents)), "torch": torch.__version__}  # fmt: skip
    return export(net, out, record)

