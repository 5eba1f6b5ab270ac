"""hoikit: 3D reconstruction of a hand and the object it holds, from one photo or a video.

Conventions (units, frames, orders) live in :mod:`hoikit.types`.
"""

__version__ = "0.1.0"
