"""Adapters on tiny randomly initialised instances of the real model classes (no checkpoint, no
network): wiring, shapes, sign conventions, guidance algebra, normalisation, intrinsics.

A test skips only when its library is not importable here (``make install ADAPTERS=0``, or MoGe,
which is not on PyPI); the reason names the package and why.
"""

import numpy as np
import pytest
import torch

from hoikit.errors import InputError, MissingCheckpointError
from hoikit.models.packages import import_package, package_status, prepare_imports
from hoikit.perception.roles import (
    FeatureExtractor,
    GeometryEstimator,
    GivenDepth,
    GrabCutSegmenter,
    Inpainter,
    OpenCVInpainter,
    PartialGeometry,
    Prompt,
    Segmenter,
    as_prompt,
)
from hoikit.shape.interface import ShapeGenerator, cfg_combine


def need(*packages, extra=None):
    """Skip unless every package imports; the reason says which one and why."""
    for name in packages:
        st = package_status(name, extra)
        if not st.ok:
            pytest.skip(st.reason)
    prepare_imports()


def square_image(h=96, w=128, box=(40, 30, 90, 70), colour=(200, 40, 40)):
    rgb = np.full((h, w, 3), (40, 160, 60), np.uint8)
    rgb += np.random.default_rng(0).integers(0, 12, rgb.shape, dtype=np.uint8)
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = colour
    return rgb


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


# ------------------------------------------------------------------------------- prompts


def test_prompts():
    p = as_prompt((1, 2, 30, 40))
    assert p.box == (1.0, 2.0, 30.0, 40.0) and p.points is None
    q = as_prompt(np.array([[5.0, 6.0], [7.0, 8.0]]))
    assert q.points.shape == (2, 2) and q.labels.tolist() == [1, 1]
    r = Prompt(points=np.array([[10, 10], [30, 20], [0, 0]]), labels=[1, 1, 0])
    assert r.bounding_box() == (10.0, 10.0, 30.0, 20.0)
    with pytest.raises(ValueError):
        Prompt(box=(5, 5, 1, 9))
    with pytest.raises(ValueError):
        as_prompt(np.zeros((3, 3)))


# --------------------------------------------------------------------- embedded defaults


def test_grabcut_behind_the_segmenter_protocol():
    seg = GrabCutSegmenter()
    assert isinstance(seg, Segmenter)
    gt = np.zeros((96, 128), bool)
    gt[30:70, 40:90] = True
    mask = seg.segment(square_image(), (34, 24, 96, 76))
    assert mask.shape == gt.shape and mask.dtype == bool and iou(mask, gt) > 0.9
    frames = [square_image(box=(40 + 4 * i, 30, 90 + 4 * i, 70)) for i in range(3)]
    masks = seg.segment_video(frames, (34, 24, 96, 76))
    assert len(masks) == 3
    last = np.zeros_like(gt)
    last[30:70, 48:98] = True
    assert iou(masks[-1], last) > 0.85


def test_given_depth_and_opencv_inpainter_protocols():
    K = np.array([[100.0, 0, 31.5], [0, 100.0, 23.5], [0, 0, 1]])
    depth = np.full((48, 64), 0.5, np.float32)
    depth[0, 0] = 0.0
    est = GivenDepth(depth, K)
    assert isinstance(est, GeometryEstimator)
    geo = est.estimate(np.zeros((48, 64, 3), np.uint8))
    assert geo.points.shape == (48, 64, 3) and not geo.mask[0, 0] and geo.mask.sum() == 48 * 64 - 1
    # the principal point looks straight ahead; a pixel 100 px right is 0.5 m × 1.0 = … x = z·(u−cx)/fx
    assert np.allclose(geo.points[23, 63], [0.5 * (63 - 31.5) / 100, 0.5 * (23 - 23.5) / 100, 0.5])
    with pytest.raises(InputError):
        GivenDepth().estimate(np.zeros((4, 4, 3), np.uint8))
    inp = OpenCVInpainter()
    assert isinstance(inp, Inpainter)
    rgb = square_image()
    hand = np.zeros((96, 128), bool)
    hand[45:55, 30:100] = True
    obj = np.zeros_like(hand)
    obj[30:70, 40:90] = True
    out = inp.inpaint(rgb, hand, obj & ~hand, "box")
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.abs(out[50, 60].astype(int) - [200, 40, 40]).max() < 30  # the hidden object colour


# ----------------------------------------------------------------------------- Hunyuan3D-2

TINY_HUNYUAN = {
    "model": {"target": "hy3dgen.shapegen.models.Hunyuan3DDiT", "params": {
        "in_channels": 8, "context_in_dim": 32, "hidden_size": 64, "num_heads": 4, "depth": 1,
        "depth_single_blocks": 1, "axes_dim": [16], "theta": 10000, "qkv_bias": True}},
    "vae": {"target": "hy3dgen.shapegen.models.ShapeVAE", "params": {
        "num_latents": 32, "embed_dim": 8, "width": 64, "heads": 4, "num_decoder_layers": 1, "scale_factor": 0.5}},
    "conditioner": {"target": "hy3dgen.shapegen.models.SingleImageEncoder", "params": {"main_image_encoder": {
        "type": "DinoImageEncoder", "kwargs": {"image_size": 28, "config": {
            "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "patch_size": 14, "image_size": 28}}}}},
    "image_processor": {"target": "hy3dgen.shapegen.preprocessors.ImageProcessorV2", "params": {"size": 28}},
    "scheduler": {"target": "hy3dgen.shapegen.schedulers.FlowMatchEulerDiscreteScheduler",
                  "params": {"num_train_timesteps": 1000}},
}  # fmt: skip


@pytest.fixture(scope="module")
def hunyuan_dir(tmp_path_factory):
    """A tiny random Hunyuan3D-2 folder: config.yaml + model.safetensors with model./vae./conditioner. keys."""
    need("hy3dgen", "pymeshlab", extra="hunyuan")
    import yaml
    from hy3dgen.shapegen.pipelines import instantiate_from_config
    from safetensors.torch import save_file

    torch.manual_seed(0)
    state = {}
    for part in ("model", "vae", "conditioner"):
        module = instantiate_from_config(TINY_HUNYUAN[part])
        state.update({f"{part}.{k}": v.contiguous() for k, v in module.state_dict().items()})
    folder = tmp_path_factory.mktemp("hunyuan3d-dit-v2-0")
    save_file(state, str(folder / "model.fp16.safetensors"))
    (folder / "config.yaml").write_text(yaml.safe_dump(TINY_HUNYUAN))
    return folder


@pytest.fixture(scope="module")
def hunyuan(hunyuan_dir):
    from hoikit.shape.hunyuan import Hunyuan3D2

    return Hunyuan3D2.load(hunyuan_dir)


def object_crop():
    rgba = np.zeros((60, 40, 4), np.uint8)
    rgba[10:50, 12:28] = (220, 30, 30, 255)
    return rgba


def test_hunyuan_loads_folder_or_file(hunyuan, hunyuan_dir):
    from hoikit.shape.hunyuan import Hunyuan3D2

    assert isinstance(hunyuan, ShapeGenerator)
    assert hunyuan.name == "hunyuan3d-2" and hunyuan.latent_shape == (32, 8) and hunyuan.bounds == (-1.01, 1.01)
    assert hunyuan.pipe.device == torch.device("cpu") and hunyuan.dtype == torch.float32
    again = Hunyuan3D2.load(hunyuan_dir / "model.fp16.safetensors")
    for a, b in zip(hunyuan.pipe.model.parameters(), again.pipe.model.parameters()):
        assert torch.equal(a, b)
    assert not any(p.requires_grad for p in hunyuan.pipe.vae.parameters())


def test_hunyuan_missing_folder_reports_places(tmp_path, monkeypatch):
    from hoikit.shape.hunyuan import Hunyuan3D2

    with pytest.raises(InputError, match="config.yaml"):
        Hunyuan3D2.load(tmp_path)  # an explicit folder without the model files
    monkeypatch.setenv("HOIKIT_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(MissingCheckpointError, match="models--tencent--Hunyuan3D-2"):
        Hunyuan3D2.load(None)


def test_hunyuan_condition_uses_the_model_image_processing(hunyuan):
    cond = hunyuan.condition(object_crop())
    assert set(cond.cond) == {"main"} and cond.cond["main"].shape == (1, 1 + (28 // 14) ** 2, 32)
    assert torch.count_nonzero(cond.uncond["main"]) == 0 and cond.uncond["main"].shape == cond.cond["main"].shape
    # the model's own processing: object recentred with a 0.15 border on white
    proc = hunyuan.pipe.image_processor
    img, mask = proc.recenter(object_crop(), border_ratio=0.15)
    assert img.shape == (60, 60, 3) and (img[0, 0] == 255).all()
    rows = np.nonzero(mask.max(axis=1))[0]
    assert rows[-1] - rows[0] + 1 == pytest.approx(60 * 0.85, abs=2)
    with pytest.raises(ValueError):
        hunyuan.condition(object_crop()[..., :3])


def test_hunyuan_velocity_and_cfg(hunyuan):
    cond = hunyuan.condition(object_crop())
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, *hunyuan.latent_shape, generator=g)
    t = torch.tensor([0.0, 0.4, 0.9])
    with torch.no_grad():
        v = hunyuan.velocity(x, t, cond, 5.0)
        v_c = hunyuan.velocity(x, t, cond, 1.0)
        model = hunyuan.pipe.model
        v_u = model(x, t, {"main": torch.zeros(3, *cond.cond["main"].shape[1:])})
        v_c_manual = model(x, t, {"main": cond.cond["main"].expand(3, -1, -1)})
    assert v.shape == x.shape
    assert torch.allclose(v_c, v_c_manual, atol=1e-5)
    assert torch.allclose(v, v_u + 5.0 * (v_c - v_u), atol=1e-4)
    assert torch.allclose(v, cfg_combine(v_u, v_c, 5.0), atol=1e-4)
    assert not torch.allclose(v, v_c)  # guidance changed something
    assert torch.allclose(hunyuan.velocity(x, 0.4, cond, 5.0)[1], v[1], atol=1e-4)  # a scalar t broadcasts


def test_hunyuan_decode_sign_shape_and_gradient(hunyuan):
    g = torch.Generator().manual_seed(2)
    latent = torch.randn(2, *hunyuan.latent_shape, generator=g, requires_grad=True)
    points = torch.rand(2, 50, 3, generator=g) * 2.02 - 1.01
    sdf = hunyuan.decode_sdf(latent, points)
    assert sdf.shape == (2, 50)
    vae = hunyuan.pipe.vae
    with torch.no_grad():
        occupancy = vae.geo_decoder(queries=points, latents=vae(latent / vae.scale_factor))[..., 0]
    assert torch.allclose(sdf.detach(), -occupancy, atol=1e-6)  # positive-inside logit → negative inside
    sdf.square().sum().backward()
    assert latent.grad is not None and torch.isfinite(latent.grad).all() and latent.grad.abs().sum() > 0


def test_hunyuan_offline_config_replaces_hub_versions(tmp_path):
    from hoikit.shape.hunyuan import offline_config

    config = {"conditioner": {"params": {"main_image_encoder": {"type": "DinoImageEncoder",
              "kwargs": {"version": "facebook/dinov2-giant", "image_size": 518}}}}}  # fmt: skip
    out = offline_config(config, True, known={"facebook/dinov2-giant": {"hidden_size": 1536}})
    kwargs = out["conditioner"]["params"]["main_image_encoder"]["kwargs"]
    assert kwargs == {"config": {"hidden_size": 1536}, "image_size": 518}
    assert config["conditioner"]["params"]["main_image_encoder"]["kwargs"]["version"] == "facebook/dinov2-giant"
    env = {"HOIKIT_MODELS": str(tmp_path), "HOME": str(tmp_path)}
    with pytest.raises(MissingCheckpointError, match="dinov2-giant"):
        offline_config(config, False, env=env)  # no weights in the checkpoint and none on disk
    (tmp_path / "dinov2-giant").mkdir()
    (tmp_path / "dinov2-giant" / "config.json").write_text("{}")
    out = offline_config(config, False, env=env)
    assert out["conditioner"]["params"]["main_image_encoder"]["kwargs"]["version"] == str(tmp_path / "dinov2-giant")


# ----------------------------------------------------------------------------------- SAM 2


@pytest.fixture(scope="module")
def sam2_segmenter():
    need("sam2", "torchvision", extra="sam2")
    from hoikit.perception.sam2_segmenter import Sam2Segmenter

    torch.manual_seed(0)
    # random weights (ckpt_path=None); 128-pixel inputs keep the tiny Hiera fast on a CPU
    return Sam2Segmenter.load(None, random_weights=True, hydra_overrides=["++model.image_size=128"])


def test_sam2_config_from_checkpoint_name():
    from hoikit.perception.sam2_segmenter import config_for_checkpoint

    assert config_for_checkpoint("/m/sam2.1_hiera_tiny.pt") == "configs/sam2.1/sam2.1_hiera_t.yaml"
    assert config_for_checkpoint("sam2.1_hiera_base_plus.pt") == "configs/sam2.1/sam2.1_hiera_b+.yaml"
    assert config_for_checkpoint("sam2_hiera_large.pt") == "configs/sam2/sam2_hiera_l.yaml"
    with pytest.raises(InputError):
        config_for_checkpoint("model.pt")


def test_sam2_image_matches_the_predictor(sam2_segmenter):
    assert isinstance(sam2_segmenter, Segmenter)
    rgb = square_image()
    mask = sam2_segmenter.segment(rgb, (40, 30, 90, 70))
    assert mask.shape == rgb.shape[:2] and mask.dtype == bool
    predictor = sam2_segmenter.image_predictor()  # still holds the features of rgb
    with torch.inference_mode():
        masks, scores, _ = predictor.predict(box=np.array([40, 30, 90, 70], np.float32), multimask_output=False)
    assert np.array_equal(mask, masks[0] > 0.5)
    one_click = sam2_segmenter.segment(rgb, np.array([[65.0, 50.0]]))
    with torch.inference_mode():
        masks, scores, _ = predictor.predict(point_coords=np.array([[65.0, 50.0]], np.float32),
                                             point_labels=np.array([1], np.int32), multimask_output=True)  # fmt: skip
    assert masks.shape[0] == 3 and np.array_equal(one_click, masks[int(np.argmax(scores))] > 0.5)


def test_sam2_video_one_mask_per_frame(sam2_segmenter):
    frames = [square_image(box=(40 + 3 * i, 30, 90 + 3 * i, 70)) for i in range(3)]
    masks = sam2_segmenter.segment_video(frames, Prompt(points=np.array([[65.0, 50.0]])))
    assert len(masks) == 3 and all(m.shape == (96, 128) and m.dtype == bool for m in masks)
    assert sam2_segmenter.segment_video([], (0, 0, 5, 5)) == []


# ---------------------------------------------------------------------------------- DINOv2


@pytest.fixture(scope="module")
def dinov2_dir(tmp_path_factory):
    need("transformers", extra="dinov2")
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("dinov2-tiny")
    Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=28)).save_pretrained(folder)
    return folder


def test_dinov2_normalisation_and_grid():
    from hoikit.perception.dinov2_features import IMAGENET_MEAN, IMAGENET_STD, patch_grid, preprocess

    assert patch_grid(480, 640, 448, 14) == (24, 32)
    assert patch_grid(10, 1000, 448, 14) == (1, 32)
    mean = np.tile(np.round(np.array(IMAGENET_MEAN) * 255).astype(np.uint8), (30, 40, 1))
    x = preprocess(mean, (2, 3), 14)
    assert x.shape == (1, 3, 28, 42) and x.abs().max() < 0.5 / 255 / min(IMAGENET_STD) + 1e-6
    white = np.full((30, 40, 3), 255, np.uint8)
    x = preprocess(white, (2, 3), 14)
    expect = (1 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    assert np.allclose(x[0, :, 5, 5].numpy(), expect, atol=1e-5)
    masked = preprocess(white, (2, 3), 14, mask=np.zeros((30, 40), bool))
    assert masked.abs().max() < 1e-6  # outside the mask = the mean = zero


def test_dinov2_features_from_saved_folder(dinov2_dir):
    from hoikit.perception.dinov2_features import Dinov2Features, preprocess

    feats = Dinov2Features.load(dinov2_dir, layer=1, image_side=84)
    assert isinstance(feats, FeatureExtractor) and feats.patch == 14
    rgb = square_image(56, 84)
    f = feats.patch_features(rgb)
    assert f.shape == (4, 6, 32) and f.dtype == np.float32
    with torch.no_grad():
        out = feats.model(pixel_values=preprocess(rgb, (4, 6), 14), output_hidden_states=True)
    assert np.allclose(f, out.hidden_states[1][0, 1:].reshape(4, 6, 32).numpy(), atol=1e-5)
    emb = Dinov2Features(feats.model, layer=0, image_side=84).patch_features(rgb)
    assert np.allclose(emb, out.hidden_states[0][0, 1:].reshape(4, 6, 32).numpy(), atol=1e-5)
    last = Dinov2Features(feats.model, layer=None, image_side=84).patch_features(rgb)
    assert np.allclose(last, out.last_hidden_state[0, 1:].reshape(4, 6, 32).numpy(), atol=1e-5)
    assert not np.allclose(last, f)  # the final layer norm
    with pytest.raises(ValueError):
        Dinov2Features(feats.model, layer=3)


# ---------------------------------------------------------------------------- FLUX Kontext


def tiny_kontext_pipeline():
    """A randomly initialised FluxKontextPipeline from diffusers' and transformers' own classes.

    The tokenizers are built in memory (CLIP: a byte-level BPE vocabulary without merges; T5: a
    unigram vocabulary of letters), so nothing is read from a hub. The VAE has four levels, so the
    size granularity is FLUX's 16 pixels.
    """
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxKontextPipeline, FluxTransformer2DModel
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(0)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in sorted(ByteLevel.alphabet()):
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    clip_tok = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    clip = CLIPTextModel(CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, vocab_size=len(vocab),
        projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1, max_position_embeddings=77))  # fmt: skip
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(c, -1.0) for c in "abcdefghijklmnopqrstuvwxyzHR.▁"]
    t5_tok = T5Tokenizer(vocab=pieces, extra_ids=0)
    t5 = T5EncoderModel(T5Config(d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, vocab_size=len(t5_tok)))
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])  # fmt: skip
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(4, 4, 4, 4), layers_per_block=1, latent_channels=1,
        norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False, mid_block_add_attention=False,
        shift_factor=0.0609, scaling_factor=1.5035, sample_size=32,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)  # fmt: skip
    return FluxKontextPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip, tokenizer=clip_tok,
        text_encoder_2=t5, tokenizer_2=t5_tok, transformer=transformer)  # fmt: skip


@pytest.fixture(scope="module")
def kontext_dir(tmp_path_factory):
    need("diffusers", "transformers", extra="flux")
    folder = tmp_path_factory.mktemp("flux1-kontext-tiny")
    tiny_kontext_pipeline().save_pretrained(folder)
    return folder


def test_kontext_prompt_and_size():
    from hoikit.perception.flux_inpainter import kontext_prompt, round_size

    assert kontext_prompt("mug") == "Remove hands but keep the mug."
    assert kontext_prompt(None) == "Remove hands but keep the object."
    assert round_size(37, 50) == (32, 48) and round_size(1090, 1920) == (1088, 1920) and round_size(5, 5) == (16, 16)


def test_kontext_inpaints_at_the_input_size(kontext_dir):
    from hoikit.perception.flux_inpainter import GUIDANCE, STEPS, FluxKontextInpainter

    inp = FluxKontextInpainter.load(kontext_dir)
    assert isinstance(inp, Inpainter) and (inp.steps, inp.guidance) == (STEPS, GUIDANCE) == (28, 2.5)
    assert inp.multiple == 16
    inp.steps, inp.auto_resize = 2, False  # a CPU test: the model's 1-megapixel input would take minutes
    rgb = (np.random.default_rng(0).random((37, 50, 3)) * 255).astype(np.uint8)
    edited = inp.edit(rgb, "mug")
    assert edited.shape == (32, 48, 3) and edited.dtype == np.uint8
    out = inp.inpaint(rgb, np.zeros((37, 50), bool), np.zeros((37, 50), bool), "mug")
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(inp.edit(rgb, "mug"), edited)  # seeded


# ------------------------------------------------------------------------------------ MoGe


def test_moge_intrinsics_to_pixels():
    from hoikit.perception.moge_geometry import intrinsics_to_pixels

    K = intrinsics_to_pixels(np.array([[0.8, 0, 0.5], [0, 1.1, 0.5], [0, 0, 1]]), width=640, height=480)
    assert np.allclose(K, [[512.0, 0, 319.5], [0, 528.0, 239.5], [0, 0, 1]])
    # a point on the optical axis projects to the image centre in hoikit's pixel-centre convention
    from hoikit.types import Camera

    assert np.allclose(Camera(K, 640, 480).project(np.array([0.0, 0.0, 2.0])), [319.5, 239.5])


def test_moge_output_to_partial_geometry():
    from hoikit.perception.moge_geometry import geometry_from_output

    h, w = 6, 8
    pts = torch.rand(h, w, 3) + torch.tensor([0.0, 0.0, 0.5])
    pts[0, 0] = float("inf")
    mask = torch.ones(h, w, dtype=torch.bool)
    mask[1, 1] = False
    normal = torch.nn.functional.normalize(torch.randn(h, w, 3), dim=-1)
    intr = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    geo = geometry_from_output({"points": pts, "mask": mask, "normal": normal, "intrinsics": intr}, w, h)
    assert isinstance(geo, PartialGeometry)
    assert geo.points.shape == (h, w, 3) and geo.points.dtype == np.float32
    assert not geo.mask[0, 0] and not geo.mask[1, 1] and geo.mask.sum() == h * w - 2
    assert (geo.points[0, 0] == 0).all() and np.allclose(geo.points[2, 3], pts[2, 3].numpy())
    assert np.allclose(geo.K, [[8, 0, 3.5], [0, 6, 2.5], [0, 0, 1]])
    assert geo.normals.shape == (h, w, 3) and np.allclose(geo.depth[2, 3], pts[2, 3, 2].item())


def test_moge_model_class_has_the_documented_api():
    if not (package_status("moge").ok and package_status("utils3d").ok):
        pytest.skip("MoGe is not on PyPI (it installs from its repository with a git-pinned utils3d 1.3), "
                    "so it cannot be installed from the registries this project reaches")  # fmt: skip
    from moge.model.v2 import MoGeModel

    assert callable(MoGeModel.from_pretrained) and callable(MoGeModel.infer)


def test_torchvision_workaround_keeps_transforms_usable():
    need("torchvision", extra="sam2")
    tv = import_package("torchvision")
    resized = tv.transforms.Resize(14, antialias=True)(torch.rand(1, 3, 28, 42))
    assert resized.shape == (1, 3, 14, 21)
