"""The video pipeline (AlignHOI on a CPU): frames → hands, masks → coarse prior → object pose per
frame (templates, verification, refinement) → carved object → hand-object alignment → outputs."""

from hoikit._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "pipeline": ["reconstruct_video", "reconstruct", "perceive_video", "VideoInputs", "VideoReconstruction"],
        "config": ["VideoConfig", "VARIANTS"],
        "frames": ["read_clip", "Clip"],
    },
)
