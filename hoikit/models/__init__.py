"""The model registry: roles, their embedded defaults and adapters, and checkpoint resolution.

Nothing here imports an optional library; ``hoikit models`` prints what :func:`registry_report`
returns.
"""

from __future__ import annotations

from hoikit._lazy import lazy_exports

_EXPORTS = {
    "checkpoints": ["CheckpointSpec", "Lookup", "hf_hub_dir", "lookup", "resolve_checkpoint"],
    "packages": ["PackageStatus", "import_package", "package_status"],
    "registry": [
        "CHECKPOINTS", "MEMBERS", "ROLE_NAMES", "Member", "MemberStatus", "ModelsConfig",
        "default_member", "load_backend", "member", "member_status", "members", "registry_report",
    ],
}  # fmt: skip
__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
