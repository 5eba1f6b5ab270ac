"""PNG plots of an evaluation run (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from hoikit.eval.image_method import ALIGN, F_CURVE_MM

PLOTS = ("cd_hist.png", "fscore_curve.png", "iv_vs_cd.png")


def _ok(records: Sequence[dict], *keys: str) -> list[dict]:
    return [r for r in records if r.get("status") == "ok" and all(r.get(k) is not None for k in keys)]


def write_plots(out: Path, records: Sequence[dict], summary: dict[str, Any]) -> list[Path]:
    """CD histogram, mean F-score vs threshold, IV vs CD scatter; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tag = f"n={summary['n']}, RR={summary['rr']:.2f}"
    written = []

    def save(fig, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(out / name)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist([r["cd_cm2"] for r in _ok(records, "cd_cm2")], bins=20, color="#4a7bd0")
    ax.set(xlabel=f"CD (cm², {ALIGN})", ylabel="samples", title=f"Chamfer distance ({tag})")
    save(fig, "cd_hist.png")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for r in _ok(records, "f_curve"):
        ax.plot(F_CURVE_MM, r["f_curve"], color="#999999", alpha=0.3, lw=0.8)
    if summary.get("f_curve_mean"):
        ax.plot(F_CURVE_MM, summary["f_curve_mean"], color="#d04a4a", lw=2, label="mean")
        ax.legend()
    ax.set(xlabel="threshold τ (mm)", ylabel=f"F-score ({ALIGN})", ylim=(0, 1.02), title=f"F-score vs threshold ({tag})")
    save(fig, "fscore_curve.png")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    pairs = _ok(records, "cd_cm2", "iv_cm3")
    ax.scatter([r["cd_cm2"] for r in pairs], [r["iv_cm3"] for r in pairs], s=12, color="#4a7bd0")
    ax.set(xlabel=f"CD (cm², {ALIGN})", ylabel="IV (cm³)", title=f"intersection volume vs CD ({tag})")
    save(fig, "iv_vs_cd.png")
    return written
