"""Synthetic world: procedural objects (and YCB), later grasps, scenes and the benchmark writer.

Names are imported on first use, so ``import hoikit.synth`` stays cheap.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "objects": ["FAMILIES", "YCB", "build_object", "sample_object"],
    "base": ["GraspHint", "SynthObject"],
    "ycb": ["load_ycb", "ycb_names", "ycb_objects"],
})
