"""The model registry: every role, its embedded default and its adapters, in one table.

A role is a job in the pipelines (``hands``, ``segmentation``, ``depth``, ``inpainting``, ``shape``,
``features``). Its embedded default runs offline on a CPU with what hoikit ships; an adapter wraps
a foundation model whose checkpoint the user already has (:mod:`hoikit.models.checkpoints`) and
whose library is an optional extra (:mod:`hoikit.models.packages`). Members name their
implementing class as ``"module:Class"`` so that nothing here imports an optional library.

Each member's loader takes the resolved checkpoint (``Path | None``) and returns an object that
implements its role's protocol (:mod:`hoikit.perception.roles`, :class:`hoikit.shape.interface.ShapeGenerator`).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Optional

from hoikit.errors import HoikitError, MissingCheckpointError
from hoikit.models.checkpoints import (
    HOIKIT_MODELS_ENV,
    CheckpointSpec,
    Lookup,
    hf_hub_dir,
    lookup,
    missing_message,
)
from hoikit.models.packages import PackageStatus, package_status

Role = Literal["hands", "segmentation", "depth", "inpainting", "shape", "features"]
ROLE_NAMES: tuple[str, ...] = ("hands", "segmentation", "depth", "inpainting", "shape", "features")


@dataclass(frozen=True)
class Member:
    """One way to fill a role.

    Attributes:
        name: short identifier (``"sam2"``); recorded in result.json as the backend used.
        role: the role it fills.
        embedded: True for the default that ships with hoikit.
        licence: licence of the code and, where different, of the weights.
        summary: one line saying what it is.
        packages: import names it needs (beyond hoikit's own dependencies).
        extra: the ``pip install 'hoikit[extra]'`` that installs them (None: not on PyPI).
        install_note: how to get the packages when no extra does it.
        checkpoint: what it loads and where it is looked for (None: nothing to load).
        bundled: ``"module:function"`` returning the path of weights shipped inside hoikit.
        trainer: the ``hoikit`` subcommand that reproduces those weights.
        loader: ``"module:callable"`` taking the resolved checkpoint path (or None) and returning
            the role object, e.g. ``"hoikit.shape.hunyuan:Hunyuan3D2.load"`` (None: not implemented).
        not_implemented: why it cannot be used yet.
    """

    name: str
    role: Role
    embedded: bool
    licence: str
    summary: str
    packages: tuple[str, ...] = ()
    extra: str | None = None
    install_note: str = ""
    checkpoint: CheckpointSpec | None = None
    bundled: str | None = None
    trainer: str = ""  # the hoikit command that trains the bundled weights
    loader: str | None = None
    not_implemented: str | None = None


def _resolve_attr(ref: str) -> Any:
    """``"package.module:Name.attr"`` → the object (imports the module)."""
    module, attrs = ref.split(":")
    obj: Any = importlib.import_module(module)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    return obj


MANO = CheckpointSpec(
    key="mano", what="MANO right-hand model", kind="file", hoikit_path="mano/MANO_RIGHT.pkl", flag="--mano"
)
HUNYUAN3D_2 = CheckpointSpec(
    key="hunyuan3d-2",
    what="Hunyuan3D-2 shape model (DiT + VAE + conditioner)",
    kind="dir",
    hoikit_path="hunyuan3d-2/hunyuan3d-dit-v2-0",
    hf_repos=("tencent/Hunyuan3D-2",),
    hf_path="hunyuan3d-dit-v2-0",
    required=("config.yaml", "*.safetensors"),
    flag="--hunyuan",
)
SAM2_TINY = CheckpointSpec(
    key="sam2",
    what="SAM 2.1 checkpoint",
    kind="file",
    hoikit_path="sam2/sam2.1_hiera_tiny.pt",
    hf_repos=("facebook/sam2.1-hiera-tiny",),
    hf_path="sam2.1_hiera_tiny.pt",
    flag="--sam2",
)
MOGE_2 = CheckpointSpec(
    key="moge-2",
    what="MoGe-2 checkpoint",
    kind="file",
    hoikit_path="moge-2/model.pt",
    hf_repos=("Ruicheng/moge-2-vitl-normal", "Ruicheng/moge-2-vitl", "Ruicheng/moge-2-vitb-normal", "Ruicheng/moge-2-vits-normal"),
    hf_path="model.pt",
    flag="--moge",
)
FLUX_KONTEXT = CheckpointSpec(
    key="flux-kontext",
    what="FLUX.1 Kontext [dev] diffusers folder",
    kind="dir",
    hoikit_path="flux1-kontext-dev",
    hf_repos=("black-forest-labs/FLUX.1-Kontext-dev",),
    required=("model_index.json",),
    flag="--flux-kontext",
)
DINOV2_GIANT = CheckpointSpec(
    key="dinov2",
    what="DINOv2 transformers folder",
    kind="dir",
    hoikit_path="dinov2-giant",
    hf_repos=("facebook/dinov2-giant", "facebook/dinov2-large", "facebook/dinov2-base", "facebook/dinov2-small"),
    required=("config.json", "model.safetensors|pytorch_model.bin"),
    flag="--dinov2",
)

MEMBERS: tuple[Member, ...] = (
    Member("mediapipe", "hands", True, "Apache-2.0 (models ship inside the wheel)",
           "MediaPipe Hands with retries; hand placed in camera space by PnP",
           loader="hoikit.perception.roles:mediapipe_hands"),
    Member("hamer", "hands", False, "HaMeR code MIT; needs MANO (MPI licence, no redistribution)",
           "HaMeR hand mesh recovery", checkpoint=MANO,
           not_implemented="not implemented yet (needs MANO)"),
    Member("hoikit-seg", "segmentation", True, "hoikit (MIT); weights trained by `hoikit train-seg` on hoikit synth",
           "hoikit's own U-Net on the grasp crop (RGB + the drawn hand + the grasp region)",
           bundled="hoikit.perception.graspseg.segmenter:default_weights_path", trainer="train-seg",
           loader="hoikit.perception.roles:EmbeddedSegmenter.load"),
    Member("grabcut", "segmentation", True, "hoikit (MIT); OpenCV Apache-2.0",
           "GrabCut seeded from the grasp (or a box/points prompt)",
           loader="hoikit.perception.roles:GrabCutSegmenter.load"),
    Member("sam2", "segmentation", False, "Apache-2.0 (code and weights)",
           "SAM 2.1 image and video segmentation", packages=("sam2", "torchvision"), extra="sam2",
           checkpoint=SAM2_TINY, loader="hoikit.perception.sam2_segmenter:Sam2Segmenter.load"),
    Member("depth-file", "depth", True, "hoikit (MIT)",
           "no estimation: a depth map given by the user (RGB-D), back-projected",
           loader="hoikit.perception.roles:GivenDepth.load"),
    Member("moge-2", "depth", False, "MIT",
           "MoGe-2 metric point map, mask, normals and intrinsics", packages=("moge", "utils3d"),
           install_note="not on PyPI: pip install git+<MoGe repository> (needs its git-pinned utils3d)",
           checkpoint=MOGE_2, loader="hoikit.perception.moge_geometry:MoGeGeometry.load"),
    Member("opencv-telea", "inpainting", True, "hoikit (MIT); OpenCV Apache-2.0",
           "OpenCV Telea inpainting of the hand over the object's convex hull",
           loader="hoikit.perception.roles:OpenCVInpainter.load"),
    Member("flux-kontext", "inpainting", False, "diffusers Apache-2.0; weights FLUX.1 [dev] Non-Commercial, gated",
           "FLUX.1 Kontext instruction edit: 'Remove hands but keep the <object>.'",
           packages=("diffusers", "transformers"), extra="flux",
           checkpoint=FLUX_KONTEXT, loader="hoikit.perception.flux_inpainter:FluxKontextInpainter.load"),
    Member("hoikit-small", "shape", True, "hoikit (MIT)",
           "hoikit's small rectified-flow shape generator, trained on procedural objects",
           bundled="hoikit.shape.small.generator:default_weights_path", trainer="train-prior",
           loader="hoikit.shape.small.generator:HoikitSmall.load"),
    Member("hunyuan3d-2", "shape", False,
           "Tencent Hunyuan3D-2 Community License (not valid in the EU, UK and South Korea)",
           "Hunyuan3D-2 DiT flow-matching shape generator", packages=("hy3dgen", "torchvision", "pymeshlab"),
           extra="hunyuan", install_note="pip install --no-deps hy3dgen==2.0.2 (its own requirements pull a web UI)",
           checkpoint=HUNYUAN3D_2, loader="hoikit.shape.hunyuan:Hunyuan3D2.load"),
    Member("silhouette", "features", True, "hoikit (MIT)",
           "normalised silhouette descriptors of the object mask (no network; hoikit.video.features)",
           loader="hoikit.video.features:SilhouetteFeatures.load"),
    Member("dinov2", "features", False, "Apache-2.0 (code and weights)",
           "DINOv2 patch features from a chosen layer (AlignHOI: ViT-g/14, layer 30)",
           packages=("transformers",), extra="dinov2",
           checkpoint=DINOV2_GIANT, loader="hoikit.perception.dinov2_features:Dinov2Features.load"),
)  # fmt: skip

CHECKPOINTS: dict[str, CheckpointSpec] = {m.checkpoint.key: m.checkpoint for m in MEMBERS if m.checkpoint}


def members(role: str) -> list[Member]:
    """The members of ``role``, embedded default first."""
    if role not in ROLE_NAMES:
        raise HoikitError(f"unknown role {role!r} (roles: {', '.join(ROLE_NAMES)})")
    return [m for m in MEMBERS if m.role == role]


def member(role: str, name: str) -> Member:
    found = [m for m in members(role) if m.name == name]
    if not found:
        names = ", ".join(m.name for m in members(role))
        raise HoikitError(f"unknown {role} backend {name!r} (choose from: {names}, auto)")
    return found[0]


def default_member(role: str) -> Member:
    return next(m for m in members(role) if m.embedded)


@dataclass
class ModelsConfig:
    """Which member fills each role, and explicit checkpoint paths (the flags of every command that
    runs a pipeline). ``auto`` picks the first available adapter, else the embedded default."""

    hands: Literal["mediapipe", "hamer", "auto"] = "mediapipe"
    """Hand detector."""
    segmentation: Literal["hoikit-seg", "grabcut", "sam2", "auto"] = "hoikit-seg"
    """Object (and video) segmentation."""
    depth: Literal["depth-file", "moge-2", "auto"] = "depth-file"
    """Partial geometry: a given depth map, or MoGe-2."""
    inpainting: Literal["opencv-telea", "flux-kontext", "auto"] = "opencv-telea"
    """Removing the hand from the object."""
    shape: Literal["hoikit-small", "hunyuan3d-2", "auto"] = "hoikit-small"
    """Shape generator."""
    features: Literal["silhouette", "dinov2", "auto"] = "silhouette"
    """Template features (video)."""
    hunyuan: Optional[Path] = None
    """Hunyuan3D-2 folder (config.yaml + *.safetensors) or its .safetensors file."""
    sam2: Optional[Path] = None
    """SAM 2.1 checkpoint (.pt); the model config follows from its name."""
    moge: Optional[Path] = None
    """MoGe-2 model.pt."""
    flux_kontext: Optional[Path] = None
    """FLUX.1 Kontext diffusers folder (model_index.json …)."""
    dinov2: Optional[Path] = None
    """DINOv2 transformers folder (config.json + weights)."""
    mano: Optional[Path] = None
    """MANO_RIGHT.pkl."""

    def explicit(self, spec: CheckpointSpec) -> Path | None:
        """The path given by ``spec``'s flag, if any."""
        return getattr(self, spec.flag.lstrip("-").replace("-", "_"), None)


@dataclass
class MemberStatus:
    """Whether a member can be used now, and why not."""

    member: Member
    available: bool
    reasons: list[str] = field(default_factory=list)
    packages: list[PackageStatus] = field(default_factory=list)
    checkpoint: Lookup | None = None
    bundled_path: Path | None = None

    def to_dict(self) -> dict:
        m = self.member
        d: dict[str, Any] = {
            "name": m.name,
            "kind": "embedded" if m.embedded else "adapter",
            "available": self.available,
            "reasons": self.reasons,
            "licence": m.licence,
            "summary": m.summary,
            "packages": [p.to_dict() for p in self.packages],
            "extra": m.extra,
        }
        if self.checkpoint is not None:
            d["checkpoint"] = {"what": m.checkpoint.what, "flag": m.checkpoint.flag, **self.checkpoint.to_dict()}
        if self.bundled_path is not None:
            d["weights"] = str(self.bundled_path)
        return d


def member_status(
    m: Member, config: ModelsConfig | None = None, env: Mapping[str, str] | None = None, import_check: bool = True
) -> MemberStatus:
    """Check a member's packages, checkpoint and bundled weights (never downloads, never raises)."""
    config = config or ModelsConfig()
    status = MemberStatus(m, True)
    if m.not_implemented:
        status.available = False
        status.reasons.append(m.not_implemented)
    for name in m.packages:
        ps = package_status(name, m.extra, import_check)
        if not ps.ok and m.install_note and "not installed" in ps.reason:
            ps = PackageStatus(name, False, f"package '{name}' is not installed ({m.install_note})")
        status.packages.append(ps)
        if not ps.ok:
            status.available = False
            status.reasons.append(ps.reason)
    if m.checkpoint is not None:
        status.checkpoint = lookup(m.checkpoint, config.explicit(m.checkpoint), env)
        if status.checkpoint.path is None:
            status.available = False
            status.reasons.append(missing_message(status.checkpoint))
    if m.bundled:
        status.bundled_path = Path(_resolve_attr(m.bundled)())
        if not status.bundled_path.is_file():
            status.available = False
            status.reasons.append(f"weights not shipped yet: {status.bundled_path} (trained by `hoikit {m.trainer}`)")
    return status


def in_use(role: str, config: ModelsConfig, statuses: list[MemberStatus]) -> str:
    """The member a pipeline would use for ``role`` under ``config``."""
    choice = getattr(config, role)
    if choice != "auto":
        return member(role, choice).name
    adapters = [s.member.name for s in statuses if s.available and not s.member.embedded]
    return adapters[0] if adapters else default_member(role).name


def registry_report(
    config: ModelsConfig | None = None, env: Mapping[str, str] | None = None, import_check: bool = True
) -> dict:
    """Every role: the member in use, the default, and each member's status (what ``hoikit models`` prints)."""
    config = config or ModelsConfig()
    env = os.environ if env is None else env
    roles = []
    for role in ROLE_NAMES:
        statuses = [member_status(m, config, env, import_check) for m in members(role)]
        roles.append({
            "role": role,
            "in_use": in_use(role, config, statuses),
            "default": default_member(role).name,
            "members": [s.to_dict() for s in statuses],
        })  # fmt: skip
    return {
        "hoikit_models": env.get(HOIKIT_MODELS_ENV) or None,
        "hf_hub_cache": str(hf_hub_dir(env)),
        "roles": roles,
    }


def load_backend(role: str, config: ModelsConfig | None = None, env: Mapping[str, str] | None = None) -> Any:
    """Build the member ``config`` selects for ``role`` (its checkpoint resolved, never downloaded).

    Raises :class:`MissingCheckpointError` (exit 2) naming every place looked, or
    :class:`HoikitError` when the member's package is missing or it is not implemented.
    """
    config = config or ModelsConfig()
    name = getattr(config, role)
    if name == "auto":
        name = in_use(role, config, [member_status(m, config, env, import_check=False) for m in members(role)])
    m = member(role, name)
    status = member_status(m, config, env, import_check=False)
    if m.not_implemented or m.loader is None:
        raise HoikitError(f"{role} backend {m.name}: {m.not_implemented or 'no implementation'}")
    missing = [p.reason for p in status.packages if not p.ok]
    if missing:
        raise HoikitError(f"{role} backend {m.name}: " + "; ".join(missing))
    if status.checkpoint is not None and status.checkpoint.path is None:
        raise MissingCheckpointError(missing_message(status.checkpoint))
    path = status.checkpoint.path if status.checkpoint is not None else None
    return _resolve_attr(m.loader)(path)


def format_report(report: dict) -> str:
    """``hoikit models`` as text: per role, the member in use, then each member and why it is unavailable."""
    lines = [
        f"HOIKIT_MODELS: {report['hoikit_models'] or '(not set)'}",
        f"Hugging Face cache: {report['hf_hub_cache']}",
    ]
    for role in report["roles"]:
        lines.append("")
        lines.append(f"{role['role']}: in use {role['in_use']} (default {role['default']})")
        for m in role["members"]:
            state = "available" if m["available"] else "unavailable"
            lines.append(f"  {m['name']:<14} {m['kind']:<8} {state:<11} {m['licence']}")
            for p in m["packages"]:
                if p.get("note"):
                    lines.append(f"      note: {p['name']} {p['version']}: {p['note']}")
            for reason in m["reasons"]:
                if not reason.startswith(m.get("checkpoint", {}).get("what", "\0")):
                    lines.append(f"      - {reason}")
            ckpt = m.get("checkpoint")
            if ckpt:
                if ckpt["found"]:
                    lines.append(f"      checkpoint: {ckpt['found']}")
                else:
                    lines.append(f"      - {ckpt['what']} not found ({ckpt['flag']} PATH); looked in:")
                    lines.extend(f"          {p['source']}: {p['path']}" for p in ckpt["looked"])
    return "\n".join(lines)
