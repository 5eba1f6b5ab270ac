"""What every dataset loader gives the evaluation runner.

A dataset is a light, picklable object (it travels to Ray workers): a ``name``, its ``root``, the
sample ``ids`` of the chosen split in a fixed order, and ``load(id)``, which reads one sample —
files are opened only there, so that an unreadable file fails that sample, not the run.

Benchmark photos load as :class:`EvalSample`; ``hoikit synth`` folders load as their own
:class:`~hoikit.eval.datasets.SynthImageSample` (which has more ground truth than this).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Sequence

import numpy as np
import trimesh

from hoikit.errors import InputError
from hoikit.types import Camera


@dataclass
class EvalSample:
    """One benchmark photo with its ground truth, in the OpenCV camera frame of that photo, metres.

    Attributes:
        id: unique within the dataset (``sequence/frame`` style).
        image_path: the photo (read by the method's own perception).
        camera: intrinsics of the photo.
        object_mesh: the true object mesh posed in the camera frame.
        joints3d: (21, 3) true hand joints, MediaPipe order, or None when the layout has none.
        side: "right" | "left" (the hand that holds the object), or None when unknown.
        info: loader-specific extras (object name, sequence, …) recorded with the result.
    """

    id: str
    image_path: Path
    camera: Camera
    object_mesh: trimesh.Trimesh
    joints3d: np.ndarray | None = None
    side: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Source:
    """A dataset split: its root folder and sample ids in order; a subclass names the dataset and
    reads one sample in ``load`` (the :class:`Dataset` protocol)."""

    root: Path
    ids: list[str]
    name: ClassVar[str] = "dataset"

    def load(self, sample_id: str) -> Any:
        raise NotImplementedError


class Dataset(Protocol):
    name: str
    root: Path
    ids: list[str]

    def load(self, sample_id: str) -> Any: ...


def require(paths: Sequence[Path], what: str) -> None:
    """InputError naming every expected path that is missing (``what`` says whose layout)."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        listed = "\n  ".join(missing[:8]) + ("\n  …" if len(missing) > 8 else "")
        raise InputError(f"{what}: expected files are missing:\n  {listed}")


def read_pickle(path: Path) -> Any:
    """An annotation pickle (Python 2 ones too); InputError when unreadable."""
    import pickle

    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except Exception as e:  # a truncated or foreign file
        raise InputError(f"{path}: not a readable annotation pickle ({type(e).__name__})") from None


def pose_mesh(mesh: trimesh.Trimesh, R: np.ndarray, t: np.ndarray, scale: float = 1.0) -> trimesh.Trimesh:
    """``mesh`` (vertices × ``scale``, e.g. mm → m) moved by x′ = R·x + t."""
    v = np.asarray(mesh.vertices, dtype=np.float64) * scale
    return trimesh.Trimesh(v @ np.asarray(R, dtype=np.float64).T + np.asarray(t, dtype=np.float64).reshape(1, 3), np.asarray(mesh.faces), process=False)


def camera_from_K(K: np.ndarray, width: int, height: int, source: str) -> Camera:
    return Camera(np.asarray(K, dtype=np.float64).reshape(3, 3), int(width), int(height), source)


def image_size(path: Path) -> tuple[int, int]:
    """(W, H) of an image file without decoding its pixels."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception as e:  # PIL raises several types for unreadable files
        raise InputError(f"{path}: not a readable image ({type(e).__name__})") from None


def select_split(all_ids: list[str], split: str | None, named: dict[str, Any], what: str) -> list[str]:
    """The ids of ``split``: None = all; a name of ``named`` (a list of ids or a function of all
    ids); or a CSV/text file with one id per line (first column; a header line ``id`` is skipped)."""
    if split is None:
        return all_ids
    if split in named:
        chosen = named[split]
        return list(chosen(all_ids) if callable(chosen) else chosen)
    path = Path(split)
    if not path.is_file():
        raise InputError(f"{what}: unknown split {split!r}: not one of {', '.join(sorted(named)) or '(none)'} and not a file")
    ids = [line.split(",")[0].strip() for line in path.read_text().splitlines()]
    ids = [i for i in ids if i and i != "id" and not i.startswith("#")]
    unknown = sorted(set(ids) - set(all_ids))
    if unknown:
        raise InputError(f"{path}: {len(unknown)} ids are not in {what}: {unknown[:5]}")
    return ids


def every_nth(ids: list[str], count: int) -> list[str]:
    """``count`` ids spread evenly over ``ids`` (sorted), deterministic: the documented selection
    rule where a paper's exact list is not available offline."""
    ordered = sorted(ids)
    if len(ordered) <= count:
        return ordered
    step = len(ordered) / count
    return [ordered[int(i * step)] for i in range(count)]
