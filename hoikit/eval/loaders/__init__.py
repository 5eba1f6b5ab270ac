"""Dataset loaders for ``hoikit eval --dataset KIND:DIR``: each reads its dataset's official layout
into samples the runner scores (:mod:`hoikit.eval.loaders.base`)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from hoikit.errors import InputError
from hoikit.eval.loaders.base import Dataset, EvalSample


# kind → (module, opener(root, split) -> Dataset); imported only when asked for
OPENERS: dict[str, tuple[str, str]] = {
    "synth": ("hoikit.eval.loaders.synth", "open_synth"),
    "ho3d": ("hoikit.eval.loaders.ho3d", "open_ho3d"),
    "dexycb": ("hoikit.eval.loaders.dexycb", "open_dexycb"),
    "oakink": ("hoikit.eval.loaders.oakink", "open_oakink"),
    "arctic": ("hoikit.eval.loaders.arctic", "open_arctic"),
}
KINDS = tuple(OPENERS)


def open_dataset(spec: str, split: str | None = None) -> Dataset:
    """``KIND:DIR`` (KIND one of :data:`KINDS`) → the dataset's samples of ``split``."""
    kind, sep, root = spec.partition(":")
    if not sep or kind not in KINDS or not root:
        raise InputError(f"--dataset {spec!r}: expected KIND:DIR with KIND one of {', '.join(KINDS)}")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise InputError(f"--dataset {spec}: {path} is not a folder")
    module, name = OPENERS[kind]
    opener: Callable[[Path, str | None], Dataset] = getattr(importlib.import_module(module), name)
    return opener(path, split)


__all__ = ["Dataset", "EvalSample", "KINDS", "open_dataset"]
