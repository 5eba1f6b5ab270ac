"""The ``hoikit`` command. Each command is a dataclass: its fields are the flags (tyro)."""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import tyro

from hoikit.errors import HoikitError, InputError
from hoikit.models.registry import ModelsConfig


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _print_table(title: str, values: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for k, v in values.items():
        # one level of nesting (a benchmark's variants) becomes "variant.key" rows
        rows = [(f"{k}.{kk}", vv) for kk, vv in v.items()] if isinstance(v, dict) and k != "machine" else [(k, v)]
        for name, val in rows:
            if not isinstance(val, (dict, list)):
                table.add_row(name, f"{val:.4g}" if isinstance(val, float) else str(val))
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


def _with_explicit_members(config: ModelsConfig) -> ModelsConfig:
    """A checkpoint flag picks its adapter: `--sam2 CKPT` alone means `--segmentation sam2`."""
    from dataclasses import replace

    picks = {"sam2": ("segmentation", "sam2"), "moge": ("depth", "moge-2"), "flux_kontext": ("inpainting", "flux-kontext"),
             "hunyuan": ("shape", "hunyuan3d-2"), "dinov2": ("features", "dinov2")}  # fmt: skip
    default = ModelsConfig()
    changes = {role: name for flag, (role, name) in picks.items()
               if getattr(config, flag) is not None and getattr(config, role) == getattr(default, role)}  # fmt: skip
    return replace(config, **changes)


@dataclass
class ImageCommand:
    """Reconstruct the hand and the object it holds from photos (FollowMyHold, on the CPU).

    PHOTO may be files, folders or globs; each input gets OUT/<name>/ with result.json, hand.ply,
    object.ply, scene.glb, overlay.png and views.png, and a batch also OUT/summary.json.
    """

    photos: tyro.conf.Positional[list[str]]
    """Image files, folders or globs."""
    out: Annotated[Path, tyro.conf.arg(aliases=["-o"])] = Path("out")
    """Output folder (a single photo writes into it directly; a batch into OUT/<name>/)."""
    preset: Literal["fast", "paper"] = "fast"
    hand: Literal["auto", "left", "right", "largest"] = "auto"
    """Which hand holds the object."""
    fx: Optional[float] = None
    fy: Optional[float] = None
    cx: Optional[float] = None
    cy: Optional[float] = None
    object_mask: Optional[Path] = None
    """A mask of the object (skips the embedded segmenter)."""
    depth: Optional[Path] = None
    """Depth map (RGB-D): float metres .npy/.exr or 16-bit millimetre PNG."""
    mirrored: bool = False
    """The photo is mirrored (a selfie)."""
    mano: Optional[Path] = None
    """MANO_RIGHT.pkl: use MANO instead of hoikit's hand model (or set HOIKIT_MANO)."""
    sam2: Optional[Path] = None
    """SAM 2.1 checkpoint (.pt): segment the object with SAM 2 instead of the embedded segmenter."""
    segmenter: Literal["hoikit-seg", "grabcut"] = "hoikit-seg"
    """The embedded object segmenter (without --object-mask and --sam2): hoikit's own U-Net, or GrabCut seeded from the grasp."""
    moge: Optional[Path] = None
    """MoGe-2 model.pt: partial geometry from the photo when no --depth is given."""
    flux: Optional[Path] = None
    """FLUX.1 Kontext diffusers folder: remove the hand with it instead of OpenCV."""
    hunyuan: Optional[Path] = None
    """Hunyuan3D-2 folder or .safetensors: use it instead of hoikit-small."""
    seed: int = 0
    no_guidance: bool = False
    """Ablation: sample the shape first, then optimise the transforms."""
    no_phase1: bool = False
    """Ablation: no hand-only phase."""
    no_phase2: bool = False
    """Ablation: no object-only phase."""
    swap_phases: bool = False
    """Ablation: object phase first, then the hand phase."""
    joint_only: bool = False
    """Ablation: joint optimisation from the start."""

    def config(self):
        from dataclasses import replace

        from hoikit.image.config import preset

        flags = {"no_guidance": self.no_guidance, "no_phase1": self.no_phase1, "no_phase2": self.no_phase2,
                 "swap_phases": self.swap_phases, "joint_only": self.joint_only}  # fmt: skip
        chosen = [k for k, v in flags.items() if v]
        if len(chosen) > 1:
            raise HoikitError(f"choose one ablation at most (got {', '.join(chosen)})")
        return replace(preset(self.preset), seed=self.seed, ablation=chosen[0] if chosen else "full")

    def run(self) -> int:
        from hoikit.image.batch import expand_inputs, run_batch
        from hoikit.image.pipeline import Models, PerceptionOptions, pictures, perceive, reconstruct
        from hoikit.io.bundle import write_bundle
        from hoikit.io.results import write_json_atomic

        cfg = self.config()
        inputs = expand_inputs(self.photos)
        single = len(self.photos) == 1 and not Path(self.photos[0]).is_dir() and len(inputs) == 1
        if single and not inputs[0].exists():
            raise InputError(f"{inputs[0]}: no such file")
        options = PerceptionOptions(self.hand, self.fx, self.fy, self.cx, self.cy, self.object_mask, self.depth, self.mirrored)
        models = Models.load(_with_explicit_members(ModelsConfig(
            segmentation=self.segmenter, hunyuan=self.hunyuan, sam2=self.sam2, moge=self.moge, flux_kontext=self.flux, mano=self.mano)))

        def one(photo: Path, out_dir: Path) -> dict:
            inp = perceive(photo, options, models=models)
            recon = reconstruct(inp, models.generator, models.hand, cfg, models.inpainter)
            write_bundle(out_dir, recon, pictures(inp.rgb, recon))
            return {"warnings": recon.warnings, "total_s": round(recon.timings.get("total", 0.0), 2)}

        if single:  # a single photo: its errors are the command's (exit 2 unreadable, 3 no hand)
            info = one(inputs[0], self.out)
            print(f"wrote {self.out} ({info['total_s']} s)")
            return 0
        say = lambda item: print(f"{'ok    ' if item['status'] == 'ok' else 'FAILED'} {item['input']} "
                                 f"({item['seconds']} s){'' if item['status'] == 'ok' else ': ' + item['error']}", flush=True)  # fmt: skip
        result = run_batch(inputs, self.out, one, say)
        write_json_atomic(self.out / "summary.json", result.summary())
        print(f"{result.n_ok}/{len(inputs)} reconstructed (RR {result.n_ok / len(inputs):.2f}); summary: {self.out / 'summary.json'}")
        return result.exit_code()


@dataclass
class VideoCommand:
    """Reconstruct the held object (mesh + pose per frame) and the hand of every frame from a
    monocular video (AlignHOI, on the CPU).

    PATH is a video file (decoded with PyAV) or a folder of frames. OUT gets object.ply (canonical
    frame), trajectory.json (per-frame poses and joints), hands.npz, overlay.mp4, sequence.glb and
    result.json (time per stage).
    """

    path: tyro.conf.Positional[Path]
    """Video file or frame folder."""
    out: Annotated[Path, tyro.conf.arg(aliases=["-o"])] = Path("out")
    stride: int = 1
    """Use every STRIDE-th frame."""
    max_frames: Optional[int] = None
    hand: Literal["auto", "left", "right", "largest"] = "auto"
    fx: Optional[float] = None
    fy: Optional[float] = None
    cx: Optional[float] = None
    cy: Optional[float] = None
    masks: Optional[Path] = None
    """A folder of per-frame object masks (same names or order as the frames)."""
    hand_masks: Optional[Path] = None
    """A folder of per-frame hand masks."""
    mirrored: bool = False
    sam2: Optional[Path] = None
    """SAM 2.1 checkpoint: track the object with SAM 2's video predictor instead of GrabCut."""
    dinov2: Optional[Path] = None
    """DINOv2 folder (transformers): template retrieval with its bag of visual words instead of silhouettes."""
    dinov2_layer: Optional[int] = None
    """Hidden-state index of the DINOv2 features (AlignHOI: 30 of ViT-g/14; default: the final output)."""
    init: Literal["templates", "sfm"] = "templates"
    """Object pose initialisation: template matching, or the SfM baseline (needs pycolmap)."""
    top1: bool = False
    """Ablation: keep the most similar template, no geometric verification."""
    no_template_pose: bool = False
    """Ablation: no discrete template pose (start from the hand-implied pose)."""
    no_refine: bool = False
    """Ablation: the verified template pose without continuous refinement."""
    no_overlay: bool = False
    """Skip overlay.mp4."""
    weights: Optional[Path] = None
    """hoikit-small weights for the coarse prior (`default` = the shipped file); without it the prior is
    the visual hull of the selected frames, which scored better on the synthetic clips (docs/video.md)."""
    seed: int = 0

    def config(self):
        from hoikit.video.config import VideoConfig

        flags = {"top1": self.top1, "no_template_pose": self.no_template_pose, "no_refine": self.no_refine, "sfm_init": self.init == "sfm"}
        chosen = [k for k, v in flags.items() if v]
        if len(chosen) > 1:
            raise HoikitError(f"choose one variant at most (got {', '.join(chosen)})")
        from dataclasses import replace

        cfg = VideoConfig(seed=self.seed, stride=self.stride, max_frames=self.max_frames).with_variant(chosen[0] if chosen else "full")
        if self.dinov2 is not None:
            cfg = replace(cfg, templates=replace(cfg.templates, features="dinov2", dinov2_layer=self.dinov2_layer))
        return cfg

    def run(self) -> int:
        from hoikit.video.pipeline import VideoOptions, reconstruct_video

        cfg = self.config()
        if cfg.variant == "sfm_init":
            from hoikit.video.sfm import require_pycolmap

            require_pycolmap()
        segmenter = features = None
        if self.sam2 is not None or self.dinov2 is not None:
            from hoikit.models.registry import ModelsConfig, load_backend

            mc = ModelsConfig(sam2=self.sam2, dinov2=self.dinov2)
            segmenter = load_backend("segmentation", _with_explicit_members(mc)) if self.sam2 is not None else None
            features = load_backend("features", _with_explicit_members(mc)) if self.dinov2 is not None else None
            if features is not None and self.dinov2_layer is not None:
                features.layer = self.dinov2_layer
        options = VideoOptions(self.hand, self.fx, self.fy, self.cx, self.cy, self.stride, self.max_frames, self.masks, self.hand_masks, self.mirrored)
        from hoikit.video.pipeline import prior_generator

        generator = prior_generator(self.weights)
        recon = reconstruct_video(self.path, self.out, cfg, options, segmenter=segmenter, features=features,
                                  overlay=not self.no_overlay, generator=generator)  # fmt: skip
        print(f"wrote {self.out} ({len(recon)} frames, {recon.timings.get('total', 0.0):.1f} s)")
        return 0


@dataclass
class DemoCommand:
    """Reconstruct the bundled example photo (embedded defaults) and score it against its true object mesh."""

    out: Path = Path("out/demo")
    """Output folder."""
    preset: Literal["fast", "paper"] = "fast"
    weights: Optional[Path] = None
    """hoikit-small weights (default: the shipped ones)."""

    def run(self) -> int:
        from hoikit.demo import run_demo

        return run_demo(self.out, self.preset, self.weights)


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


def _one_thread_per_process() -> None:
    """Synthesis runs one sample per process: more threads only wait on each other on a small
    busy machine (numpy's OpenBLAS is the worst), and ``--workers`` uses the other cores. Must run
    before numpy is first imported; explicit settings in the environment win."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def _synth_objects(objects: str) -> str:
    """``--objects`` checked against the data present: "all" falls back to the procedural families
    (with a warning) when the YCB models are absent; "ycb" alone is then an error."""
    from hoikit.errors import InputError
    from hoikit.synth.ycb import default_root, ycb_names

    if objects == "procedural" or ycb_names():
        return objects
    if objects == "ycb":
        raise InputError(f"--objects ycb: no YCB models found under {default_root()} (set HOIKIT_REALDATA)")
    _say(f"hoikit: warning: no YCB models under {default_root()}; using the procedural families only")
    return "procedural"


@dataclass
class BenchSynthCommand:
    """Time `hoikit synth` (single images, one process) and score the grasps of the samples made."""

    n: int = 20
    """Samples timed (after one warm-up sample)."""
    seed: int = 12345
    size: tuple[int, int] = (512, 512)
    """Image width and height."""
    objects: Literal["procedural", "ycb", "all"] = "all"
    quality: bool = True
    """Also score the written samples (IV, fingertip contact, hidden share; not timed)."""
    json: bool = False
    """Print one JSON object instead of a table."""
    out: Path = Path("bench-results/synth.json")
    """Where the JSON results are also written."""

    def run(self) -> int:
        _one_thread_per_process()
        from hoikit.bench.synth import bench_synth

        result = bench_synth(self.n, self.seed, self.size, _synth_objects(self.objects), self.quality)
        return _bench_done(result, self.out, self.json, "hoikit bench synth")


@dataclass
class BenchImageCommand:
    """Score the single-image method on a synthetic set (`hoikit synth`): full method and, with
    --ablations, FollowMyHold's Table 2 variants; perception inputs are the ground truth + noise."""

    synth: Path
    """A folder written by `hoikit synth` (single images)."""
    n: Optional[int] = None
    """Use the first N samples (default: all)."""
    preset: Literal["fast", "paper"] = "fast"
    ablations: bool = False
    """Also run every ablation of FollowMyHold Table 2."""
    variants: Optional[str] = None
    """Comma-separated subset of the variants (e.g. full,no_guidance); overrides --ablations."""
    inputs: Literal["rgb", "rgbd"] = "rgb"
    """Photo only, or photo + the true depth map as partial geometry."""
    seed: int = 0
    weights: Optional[Path] = None
    """hoikit-small weights (default: the shipped ones)."""
    json: bool = False
    out: Path = Path("bench-results/image.json")

    def run(self) -> int:
        from hoikit.bench.image import bench_image

        weights = str(self.weights) if self.weights else None
        chosen = tuple(v.strip() for v in self.variants.split(",")) if self.variants else None
        try:
            result = bench_image(str(self.synth), self.n, self.preset, self.ablations, self.inputs, self.seed, weights, chosen)
        except ValueError as e:  # an unknown variant name
            raise InputError(str(e)) from None
        return _bench_done(result, self.out, self.json, f"hoikit bench image ({self.inputs})")


@dataclass
class BenchMasksCommand:
    """Score the embedded object segmenters (hoikit-seg, GrabCut around the grasp) and the
    keypoint-drawn hand mask against a synthetic set's true masks, by IoU; keypoints are the truth
    + 3 px noise."""

    synth: Path
    """A folder written by `hoikit synth` (single images)."""
    n: Optional[int] = None
    """Use the first N samples (default: all)."""
    seed: int = 0
    segmenters: str = "hoikit-seg,grabcut"
    """Comma-separated embedded segmenters to score."""
    weights: Optional[Path] = None
    """hoikit-seg weights (default: the shipped ones)."""
    json: bool = False
    out: Path = Path("bench-results/masks.json")

    def run(self) -> int:
        from hoikit.bench.masks import bench_masks

        chosen = tuple(v.strip() for v in self.segmenters.split(",") if v.strip())
        try:
            result = bench_masks(str(self.synth), self.n, self.seed, chosen, self.weights)
        except ValueError as e:  # an unknown segmenter name
            raise InputError(str(e)) from None
        return _bench_done(result, self.out, self.json, "hoikit bench masks")


@dataclass
class BenchVideoCommand:
    """Score the video method on a synthetic video set (`hoikit synth --video`): the full method and,
    with --ablations, AlignHOI Table B's variants; perception inputs are the ground truth + noise."""

    synth: Path
    """A folder written by `hoikit synth --video`."""
    n: Optional[int] = None
    """Use the first N clips (default: all)."""
    ablations: bool = False
    """Also run top1, no_template_pose, no_refine and sfm_init."""
    seed: int = 0
    weights: Optional[Path] = None
    """hoikit-small weights for the coarse prior (`default` = the shipped file), as `hoikit video --weights`; without it the visual hull."""
    json: bool = False
    out: Path = Path("bench-results/video.json")

    def run(self) -> int:
        from hoikit.bench.video import bench_video

        result = bench_video(str(self.synth), self.n, self.ablations, self.seed, weights=self.weights)
        return _bench_done(result, self.out, self.json, "hoikit bench video")


@dataclass
class BenchCommand:
    """Benchmarks: quality figures and timings, printed and written as JSON with the machine."""

    what: Union[
        Annotated[BenchMetricsCommand, tyro.conf.subcommand("metrics")],
        Annotated[BenchRenderCommand, tyro.conf.subcommand("render")],
        Annotated[BenchPriorCommand, tyro.conf.subcommand("prior")],
        Annotated[BenchSynthCommand, tyro.conf.subcommand("synth")],
        Annotated[BenchImageCommand, tyro.conf.subcommand("image")],
        Annotated[BenchMasksCommand, tyro.conf.subcommand("masks")],
        Annotated[BenchVideoCommand, tyro.conf.subcommand("video")],
    ]

    def run(self) -> int:
        return self.what.run()


@dataclass
class SynthCommand:
    """Write a synthetic hand-object benchmark with exact ground truth (format: docs/synth-format.md)."""

    n: int = 100
    """Number of samples."""
    seed: int = 0
    """Run seed: the same seed writes the same files."""
    out: Path = Path("synth")
    """Output folder (index.json and one folder per sample)."""
    video: bool = False
    """Write clips (frames/, masks_*/, depth/ and per-frame ground truth) instead of single images."""
    frames: int = 24
    """Frames per clip (with --video)."""
    objects: Literal["procedural", "ycb", "all"] = "all"
    """Object families: the procedural ones, the real YCB models (held out), or both."""
    size: Optional[tuple[int, int]] = None
    """Image width and height (default 512 512, or 640 480 with --video)."""
    normals: bool = False
    """Also write camera-frame normal maps (normals.png; 8-bit)."""
    workers: int = 1
    """Processes (samples are independent; the output does not depend on this)."""
    quiet: bool = False
    """No per-sample progress lines."""

    def run(self) -> int:
        _one_thread_per_process()
        from hoikit.errors import InputError
        from hoikit.synth.writer import SynthSettings, print_progress, write_dataset

        settings = SynthSettings(self.n, self.seed, self.video, self.frames, _synth_objects(self.objects), self.size, self.normals)
        try:
            settings.check()
        except ValueError as e:
            raise InputError(str(e)) from None
        if self.workers < 1:
            raise InputError(f"--workers must be at least 1, got {self.workers}")
        result = write_dataset(self.out, settings, self.workers, None if self.quiet else print_progress)
        print(f"wrote {len(result.ids)} samples to {result.out}" + (f" ({len(result.failures)} failed)" if result.failures else ""))
        return 0 if result.ids or not self.n else 1


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
    ae_steps: Optional[int] = None
    """Autoencoder steps (default: TrainConfig's)."""
    flow_steps: Optional[int] = None
    """Flow steps (default: TrainConfig's)."""
    flow_sdf_weight: Optional[float] = None
    """Weight of the decoded-shape term of the flow loss (default: TrainConfig's)."""
    flow_dim: Optional[int] = None
    """Principal components of the latent the flow runs on; 0: every latent dimension (default: TrainConfig's)."""
    regress_steps: int = 0
    """Steps of the latent regressor (a deterministic crop → latent model beside the flow); 0: none."""

    def run(self) -> int:
        from dataclasses import replace

        from hoikit.shape.small.generator import default_weights_path
        from hoikit.shape.small.train import TrainConfig, train_prior

        cfg = TrainConfig(seed=self.seed)
        given = (("ae_steps", self.ae_steps), ("flow_steps", self.flow_steps), ("flow_sdf_weight", self.flow_sdf_weight))
        steps = {k: v for k, v in given if v is not None}
        cfg = replace(cfg, **steps)
        if self.regress_steps < 0:
            raise InputError(f"--regress-steps must be 0 or more, got {self.regress_steps}")
        if self.regress_steps:
            cfg = replace(cfg, regress_steps=self.regress_steps, model=replace(cfg.model, regressor=True))
        if self.flow_dim is not None:
            if not 0 <= self.flow_dim <= cfg.model.latent_dim:
                raise InputError(f"--flow-dim must be between 0 and {cfg.model.latent_dim}, got {self.flow_dim}")
            cfg = replace(cfg, model=replace(cfg.model, flow_dim=self.flow_dim))
        if self.quick:
            cfg = replace(cfg, shards=2, objects_per_shard=8, ae_steps=50, flow_steps=50, regress_steps=min(cfg.regress_steps, 50))
        path = train_prior(cfg, self.work_dir, self.out or default_weights_path())
        print(f"wrote {path}")
        return 0


@dataclass
class TrainSegCommand:
    """Train hoikit-seg (the embedded object segmenter) from scratch; reproduces the shipped weights."""

    seed: int = 0
    work_dir: Path = Path("seg-work")
    """The generated crops (data.npz, reused when present)."""
    out: Optional[Path] = None
    """Weights file (default: the package's own hoikit/perception/graspseg/weights/hoikit_seg.safetensors)."""
    scenes: Optional[int] = None
    """Synthetic scenes to cut crops from (default: SegTrainConfig's)."""
    steps: Optional[int] = None
    """Training steps (default: SegTrainConfig's)."""
    quick: bool = False
    """A tiny run (a minute) to check the pipeline end to end; not for use."""

    def run(self) -> int:
        from dataclasses import replace

        from hoikit.perception.graspseg.segmenter import default_weights_path
        from hoikit.perception.graspseg.train import SegTrainConfig, train_segmenter

        cfg = SegTrainConfig(seed=self.seed)
        cfg = replace(cfg, **{k: v for k, v in (("scenes", self.scenes), ("steps", self.steps)) if v is not None})
        if cfg.scenes < 1 or cfg.steps < 1:
            raise InputError(f"--scenes and --steps must be at least 1, got {cfg.scenes} and {cfg.steps}")
        if self.quick:
            cfg = replace(cfg, scenes=8, steps=20, batch=4)
        path = train_segmenter(cfg, self.work_dir, self.out or default_weights_path())
        print(f"wrote {path}")
        return 0


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


def _check_method_fits(method: str, dataset) -> None:
    """--method video runs on `hoikit synth --video` clips, --method image on single images."""
    if method == "gt":
        return
    if dataset.name != "synth":
        if method == "video":
            raise InputError(f"--method video runs on `hoikit synth --video` sets; {dataset.name}'s video protocol is not wired to the runner yet")
        return
    if dataset.video != (method == "video"):
        kind = "clips (hoikit synth --video)" if method == "video" else "single images"
        raise InputError(f"--method {method} needs {kind}; {dataset.root} holds the other kind")


@dataclass
class EvalCommand:
    """Evaluate a method on a dataset: in parallel (Ray), resumable, every failure counted in RR.

    Writes OUT/summary.json|csv|md, samples.csv, plots (PNG), one record per sample in OUT/records/
    and each sample's result folder in OUT/results/ (docs/eval.md)."""

    dataset: str
    """KIND:DIR with KIND synth, ho3d, dexycb, oakink or arctic (the dataset's official layout)."""
    out: Annotated[Path, tyro.conf.arg(aliases=["-o"])]
    """Output folder (a rerun continues the run in it)."""
    method: Literal["image", "video", "gt"] = "image"
    """image: FollowMyHold; video: AlignHOI; gt: the ground truth itself (checks a dataset: CD 0, F 1)."""
    split: Optional[str] = None
    """A named split of the dataset (docs/eval.md) or a CSV/text file of sample ids (default: all)."""
    preset: Literal["fast", "paper"] = "fast"
    inputs: Literal["rgb", "rgbd"] = "rgb"
    """Synthetic sets only: photo only, or photo + the true depth map."""
    workers: int = 2
    """Samples at a time (Ray tasks, one CPU each); 0 = one after the other in this process, no Ray."""
    ray_address: Optional[str] = None
    """An existing Ray cluster (default: a local instance). OUT must be on a filesystem the workers share."""
    limit: Optional[int] = None
    """Only the first N samples of the split."""
    force: bool = False
    """Redo samples that already have a record."""
    retry_failed: bool = False
    """Redo the samples whose record is a failure."""
    time_limit: float = 3600.0
    """Seconds per sample; a sample over it is recorded as a failure (0 = none)."""
    save_results: bool = True
    """Write each sample's result folder (meshes, overlay, views) for `hoikit view` / `hoikit report`."""
    seed: int = 0
    weights: Optional[Path] = None
    """hoikit-small weights (default: the shipped ones)."""
    hunyuan: Optional[Path] = None
    """Hunyuan3D-2 checkpoint: use it instead of hoikit-small."""
    mano: Optional[Path] = None
    """MANO_RIGHT.pkl: use MANO instead of hoikit's hand model."""
    quiet: bool = False
    """No progress bar."""

    def run(self) -> int:
        from hoikit.eval.loaders import open_dataset
        from hoikit.eval.methods import make_method
        from hoikit.eval.runner import EvalSettings, run_eval

        if self.workers < 0 or (self.limit is not None and self.limit < 1):
            raise InputError("--workers must be >= 0 and --limit >= 1")
        dataset = open_dataset(self.dataset, self.split)
        _check_method_fits(self.method, dataset)
        options = {"preset": self.preset, "inputs": self.inputs, "seed": self.seed,
                   **{k: str(v) for k, v in (("weights", self.weights), ("hunyuan", self.hunyuan), ("mano", self.mano)) if v}}  # fmt: skip
        method = make_method(self.method, **(options if self.method != "gt" else {}))
        settings = EvalSettings(self.workers, self.ray_address, self.limit, self.force, self.retry_failed,
                                self.time_limit or None, self.save_results, not self.quiet)  # fmt: skip
        result = run_eval(dataset, method, self.out, settings, {"split": self.split})
        s = result.summary
        _say(f"evaluated {result.ran}, skipped {result.skipped} already done ({result.seconds:.1f} s)")
        print(f"n {s['n']}  RR {s['rr']:.3f}  CD {s['cd_cm2_mean']:.3f} cm² ({s['align']})  F@5 {s['f5']:.3f}  "
              f"F@10 {s['f10']:.3f}  IV median {s['iv_cm3_median']:.3g} cm³ -> {self.out / 'summary.md'}")  # fmt: skip
        return 0


@dataclass
class ViewCommand:
    """Look at a result in 3D in the browser (viser): hand and object meshes, the camera with the
    photo, contacts coloured by distance; a timeline when DIR holds several results."""

    dir: tyro.conf.Positional[Path]
    """A result folder, or a folder of them (a `hoikit eval` output, a batch)."""
    port: int = 8080
    host: str = "127.0.0.1"

    def run(self) -> int:
        try:
            from hoikit.viewer.server import serve
        except ImportError:
            raise InputError("hoikit view needs viser: pip install 'hoikit[viewer]'") from None
        serve(self.dir, self.host, self.port)
        return 0


@dataclass
class ReportCommand:
    """Write one static HTML page (offline, no CDN) with the overlay, views, a 3D turntable and the
    numbers of a result folder or of a `hoikit eval` run."""

    dir: tyro.conf.Positional[Path]
    """A result folder, a folder of them, or a `hoikit eval` output folder."""
    out: Annotated[Optional[Path], tyro.conf.arg(aliases=["-o"])] = None
    """The HTML file (default: DIR/report.html)."""
    frames: int = 24
    """Turntable frames per result (0: none, faster)."""

    def run(self) -> int:
        from hoikit.viewer.report import write_report

        if not self.dir.is_dir():
            raise InputError(f"{self.dir}: no such folder")
        print(f"wrote {write_report(self.dir, self.out, self.frames)}")
        return 0


@dataclass
class DoctorCommand:
    """Check this installation: versions, threads, and which models and tools can load."""

    json: bool = False
    """Print one JSON object instead of text."""
    import_check: bool = False
    """Also import each optional adapter package (slower)."""

    def run(self) -> int:
        from hoikit.bench.doctor import doctor_report, format_doctor

        report = doctor_report(self.import_check)
        if self.json:
            from hoikit.io.results import dumps

            print(dumps(report))
        else:
            print(format_doctor(report))
        return 0


COMMANDS = {
    "image": ImageCommand,
    "video": VideoCommand,
    "metrics": MetricsCommand,
    "demo": DemoCommand,
    "synth": SynthCommand,
    "bench": BenchCommand,
    "train-prior": TrainPriorCommand,
    "train-seg": TrainSegCommand,
    "models": ModelsCommand,
    "eval": EvalCommand,
    "view": ViewCommand,
    "report": ReportCommand,
    "doctor": DoctorCommand,
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
