"""Many photos: expand files / folders / globs, reconstruct each, never stop on a failure.

Each input gets its own result folder; ``summary.json`` lists one status per input (``ok`` or
``failed`` with the error and its exit code) and the reconstruction rate.
"""

from __future__ import annotations

import glob
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hoikit.errors import HoikitError, InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def expand_inputs(specs: list[str]) -> list[Path]:
    """Files as given, a folder's images (not recursive, sorted), or a glob's matches."""
    if not specs:
        raise InputError("give at least one photo, folder or glob")
    out: list[Path] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
        elif any(ch in spec for ch in "*?["):
            out += sorted(Path(q) for q in glob.glob(spec) if Path(q).is_file())
        else:
            out.append(p)  # missing files are reported per input, not here
    if not out:
        raise InputError(f"no images found in {', '.join(specs)}")
    return out


def unique_names(paths: list[Path]) -> list[str]:
    """Output folder names: the file stem, suffixed when two inputs share it."""
    seen: dict[str, int] = {}
    names = []
    for p in paths:
        n = seen.get(p.stem, 0)
        seen[p.stem] = n + 1
        names.append(p.stem if n == 0 else f"{p.stem}-{n + 1}")
    return names


@dataclass
class BatchResult:
    items: list[dict] = field(default_factory=list)

    @property
    def n_ok(self) -> int:
        return sum(1 for r in self.items if r["status"] == "ok")

    def summary(self) -> dict:
        n = len(self.items)
        return {"n": n, "n_ok": self.n_ok, "n_failed": n - self.n_ok, "rr": self.n_ok / n if n else 0.0, "items": self.items}

    def exit_code(self) -> int:
        """0 all ok; otherwise the shared exit code of the failures when they agree, else 1."""
        failed = [r["exit_code"] for r in self.items if r["status"] != "ok"]
        if not failed:
            return 0
        return failed[0] if len(set(failed)) == 1 and len(failed) == len(self.items) else 1


def run_batch(inputs: list[Path], out_root: Path, one: Callable[[Path, Path], dict], on_item: Callable[[dict], None] | None = None) -> BatchResult:
    """Call ``one(photo, out_dir)`` for every input; exceptions become failed items."""
    result = BatchResult()
    for photo, name in zip(inputs, unique_names(inputs)):
        t0 = time.perf_counter()
        item = {"input": str(photo), "output": str(out_root / name)}
        try:
            item.update(status="ok", **one(photo, out_root / name))
        except HoikitError as e:
            item.update(status="failed", error=str(e), exit_code=e.exit_code)
        except Exception as e:  # a bug must not stop the batch either; it is recorded as such
            item.update(status="failed", error=f"internal error: {type(e).__name__}: {e}", exit_code=1)
        item["seconds"] = round(time.perf_counter() - t0, 2)
        result.items.append(item)
        if on_item:
            on_item(item)
    return result
