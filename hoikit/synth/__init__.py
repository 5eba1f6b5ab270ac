"""Synthetic world: procedural objects (and YCB), grasps, scenes and the benchmark writer.

- ``objects`` / ``base`` / ``ycb``: objects with exact ground truth.
- ``grasp``: a hand put on an object in a power, precision or palm grasp (:func:`make_grasp`).
- ``scene``: a grasped object in front of a camera, rendered (:func:`make_image_sample`,
  :func:`make_video_sample`).
- ``writer``: ``hoikit synth``'s files (docs/synth-format.md); ``hoikit.eval.datasets`` reads them.

Names are imported on first use, so ``import hoikit.synth`` stays cheap.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "objects": ["FAMILIES", "YCB", "build_object", "sample_object"],
    "base": ["GraspHint", "SynthObject"],
    "ycb": ["load_ycb", "ycb_names", "ycb_objects"],
    "grasp": ["Grasp", "GraspConfig", "GraspFailure", "choose_kind", "make_grasp"],
    "scene": ["Frame", "SceneConfig", "SceneSample", "VideoConfig", "make_image_sample", "make_video_sample", "sample_rng"],
    "writer": ["SynthSettings", "make_sample", "write_dataset"],
})  # fmt: skip
