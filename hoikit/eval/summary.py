"""The summary of an evaluation run: ``summary.json``, ``summary.csv``, ``summary.md`` and
``samples.csv``. Every column name carries its unit and the alignment (metrics.md); RR counts
every sample of the run, failures included, and accuracy is averaged over the produced outputs.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hoikit.eval.image_method import ALIGN, F_CURVE_MM
from hoikit.eval.metrics import aggregate
from hoikit.io.results import to_jsonable, write_json_atomic, write_text_atomic

SCORED = ("cd_cm2", "f5", "f10", "iv_cm3", "mpjpe_mm", "pa_mpjpe_mm", "ate_mm", "cd_h_cm2", "s")


def summary_columns(align: str = ALIGN) -> dict[str, str]:
    """summary.json key → column name (unit and alignment in every one)."""
    return {
        "n": "n (samples)",
        "n_failed": "failed (samples)",
        "rr": "RR (fraction)",
        "cd_cm2_mean": f"CD mean (cm², {align})",
        "cd_cm2_median": f"CD median (cm², {align})",
        "f5": f"F@5mm ({align})",
        "f10": f"F@10mm ({align})",
        "iv_cm3_median": "IV median (cm³, camera frame)",
        "mpjpe_mm_mean": "MPJPE mean (mm, root-relative)",
        "ate_mm_mean": "ATE mean (mm, object centre, Umeyama)",
        "cd_h_cm2_mean": "CD_h mean (cm², hand-relative)",
        "s_per_sample_mean": "time per sample (s)",
    }


def sample_columns(align: str = ALIGN) -> dict[str, str]:
    """samples.csv: record key → column name."""
    return {
        "id": "id",
        "status": "status",
        "cd_cm2": f"CD (cm², {align})",
        "f5": f"F@5mm ({align})",
        "f10": f"F@10mm ({align})",
        "iv_cm3": "IV (cm³, camera frame)",
        "mpjpe_mm": "MPJPE (mm, root-relative)",
        "ate_mm": "ATE (mm, object centre, Umeyama)",
        "cd_h_cm2": "CD_h (cm², hand-relative)",
        "s": "time (s)",
        "reason": "reason",
    }


def _mean_curve(records: Sequence[dict]) -> list[float] | None:
    curves = [r["f_curve"] for r in records if r.get("status") == "ok" and len(r.get("f_curve") or []) == len(F_CURVE_MM)]
    return np.mean(np.asarray(curves, dtype=np.float64), axis=0).tolist() if curves else None


def summarise(records: Sequence[dict], info: dict[str, Any]) -> dict[str, Any]:
    """The run's figures from one record per sample (in the dataset's order; failures included)."""
    agg = aggregate(records, SCORED)
    align = (info.get("method") or {}).get("align", ALIGN)
    out: dict[str, Any] = {"n": agg["n"], "n_ok": agg["n_ok"], "n_failed": agg["n_failed"], "rr": agg["rr"], "align": align}
    out.update({
        "cd_cm2_mean": agg["cd_cm2_mean"], "cd_cm2_median": agg["cd_cm2_median"],
        "f5": agg["f5_mean"], "f10": agg["f10_mean"],
        "iv_cm3_median": agg["iv_cm3_median"], "iv_cm3_mean": agg["iv_cm3_mean"],
        "mpjpe_mm_mean": agg["mpjpe_mm_mean"], "pa_mpjpe_mm_mean": agg["pa_mpjpe_mm_mean"],
        "ate_mm_mean": agg["ate_mm_mean"], "cd_h_cm2_mean": agg["cd_h_cm2_mean"],
        "s_per_sample_mean": float(np.mean([r["s"] for r in records if "s" in r])) if records else math.nan,
        "f_curve_mm": list(F_CURVE_MM), "f_curve_mean": _mean_curve(records),
        "units": {"cd": "cm² (squared distances, both directions summed)", "iv": "cm³", "mpjpe": "mm", "f": "fraction"},
    })  # fmt: skip
    out["failures"] = [{"id": r["id"], "reason": r.get("reason", "")} for r in records if r.get("status") != "ok"]
    return {**info, **out}


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def summary_markdown(summary: dict[str, Any]) -> str:
    cols = summary_columns(summary.get("align", ALIGN))
    lines = [f"# hoikit eval: {summary.get('dataset', '')} · method {summary.get('method', {}).get('method', '')}", "",
             "| " + " | ".join(cols.values()) + " |", "|" + "---|" * len(cols),
             "| " + " | ".join(_fmt(summary.get(k)) for k in cols) + " |", "",
             "CD: squared distances, both directions summed, on 30,000 surface samples per mesh (docs/metrics.md). "
             "RR counts every sample; the other figures average the reconstructed ones.", ""]  # fmt: skip
    if summary["failures"]:
        lines += [f"## Failures ({len(summary['failures'])})", "", "| id | reason |", "|---|---|"]
        lines += [f"| {f['id']} | {f['reason'].replace('|', '/')} |" for f in summary["failures"]]
    return "\n".join(lines) + "\n"


def write_summary(out: Path, summary: dict[str, Any], records: Sequence[dict]) -> None:
    """summary.json / .csv / .md and samples.csv in ``out`` (each written atomically)."""
    align = summary.get("align", ALIGN)
    cols, sample_cols = summary_columns(align), sample_columns(align)
    write_json_atomic(out / "summary.json", summary)
    write_text_atomic(out / "summary.csv", _csv(list(cols.values()), [[to_jsonable(summary.get(k)) for k in cols]]))
    write_text_atomic(out / "summary.md", summary_markdown(summary))
    rows = [[to_jsonable(r.get(k)) for k in sample_cols] for r in records]
    write_text_atomic(out / "samples.csv", _csv(list(sample_cols.values()), rows))
