"""``hoikit train-seg``: reproduce hoikit-seg's shipped weights from a seed.

1. data   — procedural ``hoikit synth`` scenes (never the YCB models, never the benchmark's seed),
            each cut to ``crops_per_scene`` grasp crops with the detector-like keypoint noise of
            ``hoikit bench`` (3 px at 512², scaled with the image) and a random crop scale/shift;
            written as one .npz in the work folder (reused when present);
2. train  — Adam on BCE + soft Dice with photometric augmentation (per-channel gain, brightness,
            contrast, saturation, sensor noise, blur) and horizontal flips;
3. export — float32 safetensors with the network config and the training record as metadata.
"""

from __future__ import annotations

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

from hoikit.perception.graspseg.crops import CropConfig, apply_affine, crop_affine, crop_image, prior_channels
from hoikit.perception.graspseg.model import GraspSegNet, SegNetConfig

DATA_SEED_OFFSET = 1000  # scene seeds = seed + this: the benchmarks' sets use small seeds
KEYPOINT_NOISE_PX_AT_512 = 3.0


@dataclass(frozen=True)
class SegTrainConfig:
    seed: int = 0
    scenes: int = 3000
    crops_per_scene: int = 2
    image_size: int = 320
    workers: int = 2
    steps: int = 2400
    batch: int = 32
    lr: float = 2e-3
    dice_weight: float = 1.0
    scale_jitter: tuple[float, float] = (0.8, 1.25)
    shift_jitter: float = 0.06  # crop-side units
    threads: int = 2
    net: SegNetConfig = field(default_factory=SegNetConfig)


def _log(msg: str) -> None:
    print(f"[train-seg {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------- data
def scene_crops(seed: int, index: int, cfg: SegTrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic scene → (C, S, S, 3) uint8 RGB crops, (C, 21, 2) crop keypoints, (C, S, S) bool
    object masks, with C = ``crops_per_scene`` independent keypoint noises and crop jitters."""
    from hoikit.synth.scene import SceneConfig, families_for, make_image_sample

    size = cfg.image_size
    frame = make_image_sample(seed, index, _hand_model(), SceneConfig(size, size, families=families_for("procedural"))).frames[0]
    rng = np.random.default_rng([seed, index])
    crop_cfg = CropConfig(cfg.net.side, cfg.net.roi_scale)
    rgbs, kps, masks = [], [], []
    for _ in range(cfg.crops_per_scene):
        kp = frame.joints2d + rng.normal(scale=KEYPOINT_NOISE_PX_AT_512 * size / 512, size=(21, 2))
        jitter = np.array([rng.uniform(*cfg.scale_jitter), *rng.uniform(-cfg.shift_jitter, cfg.shift_jitter, 2)])
        A = crop_affine(kp, crop_cfg, jitter)
        rgbs.append(crop_image(frame.rgb, A, crop_cfg.side))
        kps.append(apply_affine(A, kp))
        masks.append(crop_image(frame.mask_object.astype(np.uint8), A, crop_cfg.side, nearest=True) > 0)
    return np.stack(rgbs), np.stack(kps).astype(np.float32), np.stack(masks)


_MODEL = None


def _hand_model():
    global _MODEL
    if _MODEL is None:
        from hoikit.hand.model import HandModel

        _MODEL = HandModel()
    return _MODEL


def _chunk_job(args: tuple) -> tuple:
    seed, indices, cfg = args
    torch.set_num_threads(1)
    parts = [scene_crops(seed, i, cfg) for i in indices]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def make_data(cfg: SegTrainConfig, work: Path) -> dict[str, np.ndarray]:
    """The crops of ``cfg.scenes`` scenes (module docstring), cached as ``work/data.npz``."""
    path = work / "data.npz"
    if path.exists():
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
        if len(data["mask"]) == cfg.scenes * cfg.crops_per_scene and data["mask"].shape[1] == cfg.net.side:
            return data
        _log(f"{path} was made with other settings; making it again")
    work.mkdir(parents=True, exist_ok=True)
    seed = cfg.seed + DATA_SEED_OFFSET
    chunks = [list(range(i, min(i + 100, cfg.scenes))) for i in range(0, cfg.scenes, 100)]
    with ProcessPoolExecutor(cfg.workers) as pool:
        parts = list(pool.map(_chunk_job, [(seed, c, cfg) for c in chunks]))
    data = {k: np.concatenate([p[j] for p in parts]) for j, k in enumerate(("rgb", "keypoints", "mask"))}
    tmp = work / "data.tmp.npz"
    np.savez(tmp, **data)
    os.replace(tmp, path)
    return data


def input_channels(data: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 2, S, S) uint8: the hand and grasp channels of every crop (drawn once)."""
    side = data["rgb"].shape[1]
    return np.stack([prior_channels(kp, side).astype(np.uint8) for kp in data["keypoints"]])


# ---------------------------------------------------------------------------- training
def augment(rgb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(B, 3, S, S) float RGB in [0, 1] → photometrically augmented, same range."""
    B = rgb.shape[0]
    u = lambda lo, hi, *shape: lo + (hi - lo) * torch.rand(*shape, generator=gen)
    grey = rgb.mean(1, keepdim=True)
    rgb = grey + u(0.4, 1.5, B, 1, 1, 1) * (rgb - grey)  # saturation
    rgb = rgb * u(0.8, 1.2, B, 3, 1, 1)  # colour cast
    mean = rgb.mean((1, 2, 3), keepdim=True)
    rgb = mean + u(0.6, 1.4, B, 1, 1, 1) * (rgb - mean) + u(-0.15, 0.15, B, 1, 1, 1)  # contrast, brightness
    blur = torch.rand(B, generator=gen) < 0.3
    if blur.any():
        k = torch.tensor([1.0, 2.0, 1.0]) / 4.0
        k2 = (k[:, None] * k[None]).expand(3, 1, 3, 3)
        rgb[blur] = F.conv2d(F.pad(rgb[blur], (1, 1, 1, 1), mode="replicate"), k2, groups=3)
    rgb = rgb + u(0.0, 0.04, B, 1, 1, 1) * torch.randn(rgb.shape, generator=gen)
    return rgb.clamp(0.0, 1.0)


def batch(data: dict, priors: np.ndarray, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    from hoikit.perception.graspseg.crops import RGB_MEAN, RGB_STD

    idx = torch.randint(len(priors), (n,), generator=gen).numpy()
    rgb = torch.as_tensor(data["rgb"][idx]).permute(0, 3, 1, 2).float() / 255.0
    rgb = (augment(rgb, gen) - RGB_MEAN) / RGB_STD
    x = torch.cat([rgb, torch.as_tensor(priors[idx]).float()], dim=1)
    y = torch.as_tensor(data["mask"][idx]).float()[:, None]
    flip = torch.rand(n, generator=gen) < 0.5
    x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
    return x, y


def seg_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float) -> torch.Tensor:
    """BCE + ``dice_weight`` × (1 − soft Dice), per crop then averaged. (B, 1, S, S) each."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum((1, 2, 3))
    dice = (2 * inter + 1.0) / (p.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1.0)
    return bce + dice_weight * (1.0 - dice).mean()


def train(cfg: SegTrainConfig, data: dict, priors: np.ndarray) -> tuple[GraspSegNet, list[dict]]:
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    net = GraspSegNet(cfg.net)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    warm = max(1, cfg.steps // 20)  # linear warm-up, then cosine decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / warm) * 0.5 * (1.0 + math.cos(math.pi * k / cfg.steps)))
    log, run = [], 0.0
    t0 = time.time()
    for step in range(cfg.steps):
        x, y = batch(data, priors, cfg.batch, gen)
        loss = seg_loss(net(x), y, cfg.dice_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        run = 0.98 * run + 0.02 * value if step else value
        if (step + 1) % 100 == 0:
            log.append({"step": step + 1, "loss": round(run, 4), "s": round(time.time() - t0, 1)})
            _log(f"step {step + 1}/{cfg.steps} loss {run:.4f} ({time.time() - t0:.0f} s)")
    return net.eval(), log


def export(net: GraspSegNet, path: Path, record: dict) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous() for k, v in net.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"config": net.cfg.to_json(), "training": json.dumps(record)})
    os.replace(tmp, path)
    return path


def train_segmenter(cfg: SegTrainConfig, work: Path, out: Path) -> Path:
    """Every stage (module docstring); the data of an earlier run in ``work`` is reused."""
    torch.set_num_threads(cfg.threads)
    t = time.time()
    data = make_data(cfg, Path(work))
    priors = input_channels(data)
    data_s = time.time() - t
    _log(f"data: {len(priors)} crops ({data_s:.0f} s)")
    t = time.time()
    net, log = train(cfg, data, priors)
    record = {"config": asdict(cfg), "data_s": round(data_s, 1), "train_s": round(time.time() - t, 1), "log": log,
              "command": f"hoikit train-seg --seed {cfg.seed}"}  # fmt: skip
    return export(net, Path(out), record)
