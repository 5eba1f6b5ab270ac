"""Synthetic world: procedural objects (and YCB), later grasps, scenes and the benchmark writer.

Names are imported on first use, so ``import hoikit.synth`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "objects": ["FAMILIES", "YCB", "build_object", "sample_object"],
    "base": ["GraspHint", "SynthObject"],
    "ycb": ["load_ycb", "ycb_names", "ycb_objects"],
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hoikit.synth' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hoikit.synth.{_WHERE[name]}"), name)
