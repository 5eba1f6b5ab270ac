"""The ``hoikit`` command. Each command is a dataclass: its fields are the flags (tyro)."""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import tyro

from hoikit.errors import HoikitError
from hoikit.models.registry import ModelsConfig


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _print_table(title: str, values: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for k, v in values.items():
        if isinstance(v, (dict, list)):
            continue
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    Console().print(table)


def _emit(result: dict, as_json: bool, title: str) -> None:
    from hoikit.io.results import dumps

    if as_json:
        print(dumps(result))
    else:
        _print_table(title, result)


@dataclass
class MetricsCommand:
    """Score a predicted object mesh against ground truth (definitions: docs/metrics.md)."""

    pred: tyro.conf.Positional[Path]
    """Predicted object mesh (any format trimesh reads), metres."""
    gt: tyro.conf.Positional[Path]
    """Ground-truth object mesh, metres."""
    align: Literal["none", "icp-ts", "sim3"] = "icp-ts"
    """Alignment of the prediction onto the ground truth before CD and F-scores."""
    hand_pred: Optional[Path] = None
    """Predicted hand mesh: adds IV, penetration depth and contact of the predicted pair."""
    hand_gt: Optional[Path] = None
    """Ground-truth hand mesh: adds the same for the ground-truth pair (gt_*)."""
    joints_pred: Optional[Path] = None
    """Predicted 21 hand joints (.npy/.json/.txt, metres): with --joints-gt adds MPJPE, PA-MPJPE, CD_h, MRRPE."""
    joints_gt: Optional[Path] = None
    """Ground-truth 21 hand joints."""
    n_points: int = 30_000
    """Surface samples per mesh."""
    seed: int = 0
    """Sampling seed."""
    json: bool = False
    """Print one JSON object instead of a table."""

    def run(self) -> int:
        from hoikit.eval.metrics import score_sample
        from hoikit.io import load_joints, load_mesh

        pred, gt = load_mesh(self.pred), load_mesh(self.gt)
        hand_pred = load_mesh(self.hand_pred) if self.hand_pred else None
        hand_gt = load_mesh(self.hand_gt) if self.hand_gt else None
        if (self.joints_pred is None) != (self.joints_gt is None):
            raise HoikitError("--joints-pred and --joints-gt go together")
        jp = load_joints(self.joints_pred) if self.joints_pred else None
        jg = load_joints(self.joints_gt) if self.joints_gt else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = score_sample(pred, gt, self.align, hand_pred, hand_gt, jp, jg, self.n_points, self.seed)
        result = {"pred": str(self.pred), "gt": str(self.gt), **result, "warnings": [str(w.message) for w in caught]}
        for w in result["warnings"]:
            _say(f"hoikit: warning: {w}")
        _emit(result, self.json, f"hoikit metrics (align={self.align})")
        return 0


@dataclass
class DemoCommand:
    """Run hoikit on its bundled example and write the results."""

    out: Path = Path("out/demo")
    """Output folder."""

    def run(self) -> int:
        from hoikit.demo import run_demo

        return run_demo(self.out)


@dataclass
class BenchMetricsCommand:
    """Time the metric suite (CD/F on 30k vs 30k points, ICP alignments, IV)."""

    json: bool = False
    """Print one JSON object instead of a table."""
    out: Path = Path("bench-results/metrics.json")
    """Where the JSON results are also written."""
    repeats: int = 3

    def run(self) -> int:
        from hoikit.bench.metrics import bench_metrics
        from hoikit.io.results import write_json_atomic

        result = bench_metrics(self.repeats)
        write_json_atomic(self.out, result)
        _emit(result, self.json, "hoikit bench metrics (seconds)")
        return 0


@dataclass
class BenchRenderCommand:
    """Time the differentiable renderer (256² forward + backward, 512² preview) and marching cubes."""

    json: bool = False
    """Print one JSON object instead of a table."""
    out: Path = Path("bench-results/render.json")
    """Where the JSON results are also written."""
    repeats: int = 5
    threads: Optional[int] = None
    """torch intra-op threads (default: torch's choice). On a small machine that is busy with
    other work, 1 avoids threads waiting on each other."""

    def run(self) -> int:
        from hoikit.bench.render import bench_render
        from hoikit.io.results import write_json_atomic

        result = bench_render(self.repeats, self.threads)
        write_json_atomic(self.out, result)
        _emit(result, self.json, "hoikit bench render (seconds)")
        return 0


@dataclass
class BenchCommand:
    """Benchmarks: quality figures and timings, printed and written as JSON with the machine."""

    what: Union[
        Annotated[BenchMetricsCommand, tyro.conf.subcommand("metrics")],
        Annotated[BenchRenderCommand, tyro.conf.subcommand("render")],
    ]

    def run(self) -> int:
        return self.what.run()

@dataclass
class ModelsCommand:
    """List every role, the member in use, which members are available and why not, and where each
    adapter looked for its checkpoint (flag, $HOIKIT_MODELS, Hugging Face cache). Never downloads."""

    models: ModelsConfig = field(default_factory=ModelsConfig)
    json: bool = False
    """Print one JSON object instead of text."""
    import_check: bool = True
    """Import each installed optional package to prove it loads (slower: transformers, diffusers …)."""

    def run(self) -> int:
        from hoikit.models.registry import format_report, registry_report

        report = registry_report(self.models, import_check=self.import_check)
        if self.json:
            from hoikit.io.results import dumps

            print(dumps(report))
        else:
            print(format_report(report))
        return 0


COMMANDS = {
    "metrics": MetricsCommand,
    "demo": DemoCommand,
    "bench": BenchCommand,
    "models": ModelsCommand,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code: 0 ok, 2 bad input, 3 no hand found, 1 other errors."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        command = tyro.extras.subcommand_cli_from_dict(
            COMMANDS,
            prog="hoikit",
            description="hoikit: 3D hand + held-object reconstruction, metrics and benchmarks.",
            args=argv,
            config=(tyro.conf.OmitSubcommandPrefixes, tyro.conf.OmitArgPrefixes),
        )
        return command.run()
    except HoikitError as e:
        _say(f"hoikit: error: {e}")
        return e.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        _say("hoikit: interrupted")
        return 130
    except Exception as e:  # never a bare traceback for a user; HOIKIT_DEBUG=1 shows it
        if os.environ.get("HOIKIT_DEBUG"):
            raise
        _say(f"hoikit: internal error: {type(e).__name__}: {e} (HOIKIT_DEBUG=1 shows the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
