"""Perception roles and their members: hands, segmentation, partial geometry, inpainting, features.

Each role has an embedded default that runs offline on a CPU; adapters load checkpoints the user
already has (see ``hoikit models``).
"""
