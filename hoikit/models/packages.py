"""Optional Python packages of the adapters: whether they are installed and importable, and why not.

hoikit never imports an optional library at module level: adapters call :func:`import_package`
inside their functions, and ``hoikit models`` calls :func:`package_status`.

torchvision needs care. Its wheels on PyPI are built against CUDA PyTorch; next to the CPU build of
PyTorch that hoikit installs, its compiled operators cannot load, which torchvision tolerates for
every operator but two (``nms``/``qnms``), whose fake-tensor registrations then abort
``import torchvision``. hy3dgen, SAM 2 and the image processors of transformers use only torchvision's pure-Python
code, so :func:`prepare_imports` declares those two operator schemas (no kernels: calling them
still fails, as it would without the compiled library) and imports torchvision again. With a matching torchvision
(PyTorch's CPU index) nothing is declared.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from types import ModuleType

# kept alive for the life of the process: dropping a torch Library removes its definitions
_TORCHVISION_SCHEMAS: list = []
_UNGUARDED_OPS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)


@dataclass(frozen=True)
class PackageStatus:
    """``ok``: importable; otherwise ``reason`` says why not (one line). ``note``: worth knowing
    even when it imports."""

    name: str
    ok: bool
    reason: str = ""
    version: str | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "reason": self.reason, "version": self.version, "note": self.note}


def _import_torchvision() -> ModuleType:
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as e:
        if "torchvision::" not in str(e) or _TORCHVISION_SCHEMAS:
            raise
    import torch

    lib = torch.library.Library("torchvision", "DEF")  # schemas only, see the module doc
    for schema in _UNGUARDED_OPS:
        lib.define(schema)
    _TORCHVISION_SCHEMAS.append(lib)
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import left half-initialised submodules behind
    return importlib.import_module("torchvision")


def torchvision_has_ops() -> bool | None:
    """Whether torchvision's compiled operators loaded (None when torchvision is not imported)."""
    ext = sys.modules.get("torchvision.extension")
    return None if ext is None else bool(ext._has_ops())


def prepare_imports() -> None:
    """Make an installed torchvision importable before any library that may import it (hy3dgen,
    sam2, but also transformers' and diffusers' image processors) is imported; no-op without it."""
    if "torchvision" not in sys.modules and importlib.util.find_spec("torchvision") is not None:
        _import_torchvision()


def import_package(name: str) -> ModuleType:
    """Import an optional package, torchvision made importable first (see the module doc)."""
    prepare_imports()
    return importlib.import_module(name)


def _version(name: str) -> str | None:
    from importlib import metadata

    dist = {"sam2": "sam2", "hy3dgen": "hy3dgen", "moge": "moge", "yaml": "pyyaml"}.get(name, name)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def package_status(name: str, extra: str | None = None, import_check: bool = True) -> PackageStatus:
    """Is ``name`` installed (cheap: no import) and, with ``import_check``, does it import?"""
    hint = f" (pip install 'hoikit[{extra}]'; see docs/checkpoints.md)" if extra else ""
    if importlib.util.find_spec(name) is None:
        return PackageStatus(name, False, f"package '{name}' is not installed{hint}")
    if import_check:
        try:
            import_package(name)
        except Exception as e:  # any failure here is a reason to report, not to crash `hoikit models`
            msg = str(e).splitlines()[0] if str(e) else ""
            return PackageStatus(name, False, f"package '{name}' is installed but fails to import: {type(e).__name__}: {msg}")
    note = ""
    if name == "torchvision" and torchvision_has_ops() is False:
        note = "compiled operators unavailable (a CUDA build next to CPU torch): pure-Python parts only"
    return PackageStatus(name, True, "", _version(name), note)
