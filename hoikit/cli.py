"""The ``hoikit`` command. Each command is a dataclass: its fields are the flags (tyro)."""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import tyro

from hoikit.errors import HoikitError


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


def _bench_done(result: dict, out: Path, as_json: bool, title: str) -> int:
    """Benchmarks always write their JSON, then print it (or a table)."""
    from hoikit.io.results import write_json_atomic

    write_json_atomic(out, result)
    _emit(result, as_json, title)
    return 0


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

        return _bench_done(bench_metrics(self.repeats), self.out, self.json, "hoikit bench metrics (seconds)")


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

        return _bench_done(bench_render(self.repeats, self.threads), self.out, self.json, "hoikit bench render (seconds)")


@dataclass
class BenchPriorCommand:
    """Score hoikit-small's unguided shapes (held-out procedural objects, YCB) against two baselines."""

    n: int = 100
    """Held-out procedural views (every YCB model is added once when the data is present)."""
    seed: int = 0
    steps: int = 20
    guidance_scale: float = 3.0
    weights: Optional[Path] = None
    """hoikit-small weights (default: the shipped ones)."""
    json: bool = False
    out: Path = Path("bench-results/prior.json")

    def run(self) -> int:
        from hoikit.bench.prior import bench_prior

        result = bench_prior(self.n, self.seed, self.steps, self.guidance_scale, str(self.weights) if self.weights else None)
        return _bench_done(result, self.out, self.json, "hoikit bench prior")


@dataclass
class BenchCommand:
    """Benchmarks: quality figures and timings, printed and written as JSON with the machine."""

    what: Union[
        Annotated[BenchMetricsCommand, tyro.conf.subcommand("metrics")],
        Annotated[BenchRenderCommand, tyro.conf.subcommand("render")],
        Annotated[BenchPriorCommand, tyro.conf.subcommand("prior")],
    ]

    def run(self) -> int:
        return self.what.run()


@dataclass
class TrainPriorCommand:
    """Train hoikit-small (the shape prior) from scratch; reproduces the shipped weights."""

    seed: int = 0
    work_dir: Path = Path("prior-work")
    """Shards, checkpoints and logs (reused when a run is resumed)."""
    out: Optional[Path] = None
    """Weights file (default: the package's own hoikit/shape/small/weights/hoikit_small.safetensors)."""
    quick: bool = False
    """A tiny run (minutes) to check the pipeline end to end; not for use."""

    def run(self) -> int:
        from dataclasses import replace

        from hoikit.shape.small.generator import default_weights_path
        from hoikit.shape.small.train import TrainConfig, train_prior

        cfg = TrainConfig(seed=self.seed)
        if self.quick:
            cfg = replace(cfg, shards=2, objects_per_shard=8, ae_steps=50, flow_steps=50)
        path = train_prior(cfg, self.work_dir, self.out or default_weights_path())
        print(f"wrote {path}")
        return 0


COMMANDS = {
    "metrics": MetricsCommand,
    "demo": DemoCommand,
    "bench": BenchCommand,
    "train-prior": TrainPriorCommand,
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
