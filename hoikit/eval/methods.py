"""Methods under evaluation. A method is a picklable callable ``method(sample, out_dir) -> record``:
it reconstructs one sample, scores it and returns a flat record with ``status`` ("ok" or "failed",
then with ``reason``) and numbers whose units are in their names. ``out_dir`` (or None) is where
the method may write the sample's result folder (for ``hoikit view`` / ``hoikit report``).

Models are loaded once per process (Ray worker or the driver) and kept for the next sample.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from hoikit.errors import InputError

Method = Callable[[Any, "Path | None"], dict]
METHODS = ("image", "video", "gt")


def sample_seed(seed: int, sample_id: str) -> np.random.Generator:
    """A generator that depends on the run seed and the sample id only (not on order or worker)."""
    return np.random.default_rng([seed, zlib.crc32(sample_id.encode())])


@lru_cache(maxsize=2)
def _models(hunyuan: str | None, mano: str | None, weights: str | None):
    from hoikit.image.pipeline import Models
    from hoikit.models.registry import ModelsConfig

    config = ModelsConfig(shape="hunyuan3d-2" if hunyuan else "hoikit-small", hunyuan=Path(hunyuan) if hunyuan else None,
                          mano=Path(mano) if mano else None)  # fmt: skip
    return Models.load(config, Path(weights) if weights else None)


@dataclass(frozen=True)
class ImageMethod:
    """FollowMyHold (``hoikit.image``) on each sample; scoring: :mod:`hoikit.eval.image_method`.

    ``overrides``: (field, value) pairs applied to the preset's :class:`ImageConfig` (a smaller run)."""

    preset: Literal["fast", "paper"] = "fast"
    inputs: Literal["rgb", "rgbd"] = "rgb"
    seed: int = 0
    weights: str | None = None
    hunyuan: str | None = None
    mano: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()
    name: str = "image"

    def config(self):
        from hoikit.image.config import preset

        known = {f.name for f in fields(preset(self.preset))}
        bad = [k for k, _ in self.overrides if k not in known]
        if bad:
            raise InputError(f"unknown ImageConfig fields: {', '.join(bad)}")
        return replace(preset(self.preset), seed=self.seed, **dict(self.overrides))

    def check(self) -> None:
        """Fail before the run (not once per sample) when a model file is missing."""
        from hoikit.shape.small.generator import default_weights_path

        self.config()
        for flag, path in (("--weights", self.weights), ("--hunyuan", self.hunyuan), ("--mano", self.mano)):
            if path and not Path(path).exists():
                raise InputError(f"{flag} {path}: no such file or folder")
        if not (self.weights or self.hunyuan) and not default_weights_path().is_file():
            raise InputError(f"hoikit-small weights not found at {default_weights_path()} (train them with `hoikit train-prior`, or pass --weights)")

    def describe(self) -> dict[str, Any]:
        return {"method": self.name, "preset": self.preset, "inputs": self.inputs, "seed": self.seed,
                "shape": "hunyuan3d-2" if self.hunyuan else "hoikit-small", **{k: v for k, v in self.overrides}}  # fmt: skip

    def __call__(self, sample, out_dir: Path | None) -> dict:
        from hoikit.eval.datasets import SynthVideoSample
        from hoikit.eval.image_method import run_sample

        if isinstance(sample, SynthVideoSample):
            return {"status": "failed", "reason": f"{sample.id}: a video clip; --method image needs single images", "s": 0.0}
        models = _models(self.hunyuan, self.mano, self.weights)
        return run_sample(sample, models, self.config(), self.inputs, sample_seed(self.seed, sample.id), out_dir)


@dataclass(frozen=True)
class GroundTruthMethod:
    """The ground truth as the prediction: checks a dataset loader and the harness end to end
    (every sample must give CD 0 cm², F 1, RR 1). Writes no result folder."""

    name: str = "gt"

    def check(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"method": self.name}

    def __call__(self, sample, out_dir: Path | None) -> dict:
        from hoikit.eval.image_method import ALIGN, F_CURVE_MM
        from hoikit.eval.metrics import object_scores

        mesh = sample.object_mesh if hasattr(sample, "object_mesh") else sample.object.mesh
        s = object_scores(mesh, mesh, align=ALIGN, curve_m=[t / 1000 for t in F_CURVE_MM])
        return {"status": "ok", "cd_cm2": s.cd_cm2, "f5": s.f5, "f10": s.f10, "f_curve": list(s.f_curve)}


@lru_cache(maxsize=2)
def _hand_model(mano: str | None):
    from hoikit.hand import load_hand_model

    return load_hand_model(Path(mano)) if mano else load_hand_model()


@dataclass(frozen=True)
class VideoMethod:
    """AlignHOI (``hoikit.video``) on each synthetic clip of a ``hoikit synth --video`` set;
    scoring: :mod:`hoikit.eval.video_method` (object CD/F with sim3, ATE, MPJPE, CD_h)."""

    variant: str = "full"
    seed: int = 0
    mano: str | None = None
    name: str = "video"

    def config(self):
        from hoikit.video.config import VideoConfig

        try:
            return VideoConfig(seed=self.seed).with_variant(self.variant)
        except ValueError as e:
            raise InputError(str(e)) from None

    def check(self) -> None:
        self.config()
        if self.mano and not Path(self.mano).exists():
            raise InputError(f"--mano {self.mano}: no such file or folder")

    def describe(self) -> dict[str, Any]:
        from hoikit.eval.video_method import ALIGN

        return {"method": self.name, "variant": self.variant, "seed": self.seed, "align": ALIGN}

    def __call__(self, sample, out_dir: Path | None) -> dict:
        from hoikit.eval.datasets import SynthVideoSample
        from hoikit.eval.video_method import run_clip

        if not isinstance(sample, SynthVideoSample):
            return {"status": "failed", "reason": f"{sample.id}: a single image; --method video needs clips (hoikit synth --video)", "s": 0.0}
        return run_clip(sample, _hand_model(self.mano), self.config(), sample_seed(self.seed, sample.id), out_dir)


def make_method(name: str, **options: Any):
    """The method called ``name`` (one of :data:`METHODS`) with its options."""
    if name == "image":
        return ImageMethod(**options)
    if name == "gt":
        return GroundTruthMethod()
    if name == "video":
        keep = {k: v for k, v in options.items() if k in ("seed", "mano")}
        return VideoMethod(**keep)
    raise InputError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}")
