"""Finding a checkpoint the user already has on disk — never downloading one.

Every adapter's checkpoint is looked for in this order, and the first valid hit wins:

1. an explicit path (a command-line flag such as ``--sam2 PATH``; when given, it is the only
   place looked, so a typo is reported instead of silently using something else);
2. ``$HOIKIT_MODELS/<conventional name>`` (see ``docs/checkpoints.md`` for the layout);
3. the Hugging Face cache layout, ``<hub>/models--<org>--<name>/snapshots/<revision>/<path>``, where
   ``<hub>`` is ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``,
   else ``~/.cache/huggingface/hub`` (the snapshot ``refs/main`` names first, then the newest).

A miss raises :class:`~hoikit.errors.MissingCheckpointError` naming the file and every place looked.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from hoikit.errors import MissingCheckpointError

HOIKIT_MODELS_ENV = "HOIKIT_MODELS"


@dataclass(frozen=True)
class CheckpointSpec:
    """What one adapter loads and where it is conventionally kept.

    Attributes:
        key: identifier used by :func:`resolve_checkpoint` callers and ``hoikit models``.
        what: human description of the file(s), used in messages.
        kind: ``"file"`` (one file) or ``"dir"`` (a folder holding ``required`` files).
        hoikit_path: path under ``$HOIKIT_MODELS`` (``"sam2/sam2.1_hiera_tiny.pt"``).
        hf_repos: Hugging Face repositories whose cached snapshots may hold it (``"org/name"``).
        hf_path: path inside a snapshot (``""`` = the snapshot folder itself).
        required: for folders, glob patterns each of which must match a file inside
            (``"a|b"``: either).
        flag: the command-line flag that passes an explicit path.
    """

    key: str
    what: str
    kind: Literal["file", "dir"]
    hoikit_path: str
    hf_repos: tuple[str, ...] = ()
    hf_path: str = ""
    required: tuple[str, ...] = ()
    flag: str = ""

    @property
    def name(self) -> str:
        """The file or folder name a user is told to look for."""
        return Path(self.hoikit_path).name


@dataclass(frozen=True)
class Place:
    """One place looked: where the candidate came from (``flag``, ``HOIKIT_MODELS``, ``hf-cache``)
    and the path (a glob pattern for the HF cache when no snapshot exists)."""

    source: str
    path: str


@dataclass
class Lookup:
    """The outcome of a search: ``path`` (None when nothing valid was found) and every place looked."""

    spec: CheckpointSpec
    path: Path | None
    tried: list[Place] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"found": str(self.path) if self.path else None, "looked": [{"source": p.source, "path": p.path} for p in self.tried]}


def hf_hub_dir(env: Mapping[str, str] | None = None) -> Path:
    """The Hugging Face hub cache folder the ``huggingface_hub`` library would use (no import of it)."""
    env = os.environ if env is None else env
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "huggingface" / "hub"
    return Path(env.get("HOME", str(Path.home()))).expanduser() / ".cache" / "huggingface" / "hub"


def hf_snapshots(repo: str, hub: Path) -> list[Path]:
    """Snapshot folders of ``repo`` in the cache, the one ``refs/main`` names first, then newest first."""
    base = hub / ("models--" + repo.replace("/", "--"))
    snaps = base / "snapshots"
    if not snaps.is_dir():
        return []
    found = sorted((p for p in snaps.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    main = base / "refs" / "main"
    if main.is_file():
        rev = main.read_text().strip()
        found.sort(key=lambda p: p.name != rev)  # stable: keeps the newest-first order otherwise
    return found


def is_valid(spec: CheckpointSpec, path: Path) -> bool:
    """Whether ``path`` holds the checkpoint: an existing file, or a folder with every required file."""
    if spec.kind == "file":
        return path.is_file()
    if not path.is_dir():
        return False
    names = [p.name for p in path.iterdir() if p.is_file()]
    return all(any(fnmatch.fnmatch(n, alt) for n in names for alt in pattern.split("|")) for pattern in spec.required)


def _explicit_candidates(spec: CheckpointSpec, explicit: Path) -> list[Path]:
    """Forgiving at the boundary: a folder given for a file spec is searched for the conventional
    file name, and a file given for a folder spec stands for the folder that holds it."""
    explicit = explicit.expanduser()
    if spec.kind == "file" and explicit.is_dir():
        return [explicit / spec.name]
    if spec.kind == "dir" and explicit.is_file():
        return [explicit.parent]
    return [explicit]


def lookup(spec: CheckpointSpec, explicit: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Lookup:
    """Search the places of the module docstring in order; never raises, never downloads."""
    env = os.environ if env is None else env
    result = Lookup(spec, None)
    if explicit is not None and str(explicit) != "":
        for p in _explicit_candidates(spec, Path(explicit)):
            result.tried.append(Place(spec.flag or "explicit", str(p)))
            if is_valid(spec, p):
                result.path = p
        return result
    if env.get(HOIKIT_MODELS_ENV):
        p = Path(env[HOIKIT_MODELS_ENV]).expanduser() / spec.hoikit_path
        result.tried.append(Place(HOIKIT_MODELS_ENV, str(p)))
        if is_valid(spec, p):
            result.path = p
            return result
    else:
        result.tried.append(Place(HOIKIT_MODELS_ENV, f"(not set) $HOIKIT_MODELS/{spec.hoikit_path}"))
    hub = hf_hub_dir(env)
    for repo in spec.hf_repos:
        snaps = hf_snapshots(repo, hub)
        if not snaps:
            pattern = hub / ("models--" + repo.replace("/", "--")) / "snapshots" / "*" / spec.hf_path
            result.tried.append(Place("hf-cache", str(pattern).rstrip("/")))
        for snap in snaps:
            p = snap / spec.hf_path if spec.hf_path else snap
            result.tried.append(Place("hf-cache", str(p)))
            if is_valid(spec, p):
                result.path = p
                return result
    return result


def missing_message(found: Lookup) -> str:
    """One line: which file, and every place looked."""
    spec = found.spec
    places = "; ".join(f"{p.source}: {p.path}" for p in found.tried)
    need = f" (a folder with {', '.join(spec.required)})" if spec.kind == "dir" and spec.required else ""
    hint = f"pass {spec.flag} PATH, " if spec.flag else ""
    return (
        f"{spec.what} not found: looked for {spec.name}{need} in {places}. "
        f"{hint}or put it under $HOIKIT_MODELS/{spec.hoikit_path} (see docs/checkpoints.md; hoikit never downloads)"
    )


def resolve_checkpoint(
    spec: CheckpointSpec, explicit: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The checkpoint's path, or :class:`MissingCheckpointError` listing each path tried."""
    found = lookup(spec, explicit, env)
    if found.path is None:
        raise MissingCheckpointError(missing_message(found))
    return found.path
