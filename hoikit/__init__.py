"""hoikit: 3D reconstruction of a hand and the object it holds, from one photo or a video.

Conventions (units, frames, orders) live in :mod:`hoikit.types`.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # the public API, imported on first use (importing hoikit stays cheap)
    if name == "reconstruct_image":
        from hoikit.image.pipeline import reconstruct_image

        return reconstruct_image
    if name == "reconstruct_video":
        from hoikit.video.pipeline import reconstruct_video

        return reconstruct_video
    raise AttributeError(f"module 'hoikit' has no attribute {name!r}")
