"""``hoikit doctor``: is this installation able to run? Versions, threads, and what can load.

Nothing is downloaded and no model is run; "can load" means the file or package is present
(the model registry's answer, ``hoikit models`` has the details).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from importlib import metadata
from typing import Any

PACKAGES = ("hoikit", "torch", "numpy", "trimesh", "mediapipe", "opencv-contrib-python", "ray", "matplotlib", "viser",
            "rich", "tyro", "transformers", "diffusers", "sam2", "hy3dgen")  # fmt: skip


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def threads() -> dict[str, Any]:
    import torch

    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(), **env}


def checks() -> dict[str, dict[str, Any]]:
    """Named checks: {name: {"ok": bool, "detail": str}}."""
    from hoikit.shape.small.generator import default_weights_path

    weights = default_weights_path()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    have = versions()
    found = lambda pkg: have.get(pkg) is not None  # noqa: E731
    return {
        "hoikit-small weights": {"ok": weights.is_file(), "detail": str(weights) if weights.is_file() else f"missing: {weights} (hoikit train-prior)"},
        "ray (hoikit eval)": {"ok": found("ray"), "detail": "installed" if found("ray") else "pip install ray"},
        "viser (hoikit view)": {"ok": found("viser"), "detail": "installed" if found("viser") else "pip install 'hoikit[viewer]'"},
        "chromium (report/view tests)": {"ok": chromium is not None, "detail": chromium or "not found (apt-get install chromium)"},
    }  # fmt: skip


def doctor_report(import_check: bool = False) -> dict[str, Any]:
    from hoikit.models.registry import ModelsConfig, registry_report

    roles = registry_report(ModelsConfig(), import_check=import_check)["roles"]
    loadable = {r["role"]: {"in_use": r["in_use"], "available": [m["name"] for m in r["members"] if m["available"]]} for r in roles}
    return {"executable": sys.executable, "platform": platform.platform(), "versions": versions(), "threads": threads(),
            "checks": checks(), "models": loadable}  # fmt: skip


def format_doctor(report: dict[str, Any]) -> str:
    lines = [f"python {report['versions']['python']} ({report['executable']}) on {report['platform']}", "", "versions:"]
    lines += [f"  {k:24s} {v or '(not installed)'}" for k, v in report["versions"].items() if k != "python"]
    lines += ["", "threads: " + ", ".join(f"{k}={v}" for k, v in report["threads"].items()), "", "checks:"]
    lines += [f"  [{'ok' if c['ok'] else '--'}] {k}: {c['detail']}" for k, c in report["checks"].items()]
    lines += ["", "models (role: in use; available):"]
    lines += [f"  {role}: {m['in_use']}; {', '.join(m['available']) or 'none'}" for role, m in report["models"].items()]
    return "\n".join(lines)
