"""hoikit-small training: the flow space (principal components) and the decoded-shape term of the flow loss."""

from dataclasses import replace

import numpy as np
import torch

from hoikit.shape.interface import clean_estimate
from hoikit.shape.small.model import HoikitSmallNet, SmallConfig
from hoikit.shape.small.train import TrainConfig, decoded_shape_loss, train_flow

TINY = SmallConfig(latent_dim=16, enc_points=32, enc_widths=(8, 16), plane_res=8, plane_channels=4, dec_channels=(8,),
                   head_hidden=8, image_res=16, img_channels=(4, 8, 8, 8), cond_dim=16, flow_width=32, flow_blocks=1)  # fmt: skip


def _net() -> HoikitSmallNet:
    torch.manual_seed(0)
    net = HoikitSmallNet(TINY)
    net.latent_mean.normal_()
    net.latent_std.uniform_(0.5, 2.0)
    return net


def test_true_velocity_gives_zero_shape_loss_and_a_wrong_one_does_not():
    net, gen = _net().requires_grad_(False), torch.Generator().manual_seed(1)
    x1, x0 = torch.randn(3, 16, generator=gen), torch.randn(3, 16, generator=gen)
    t = torch.tensor([0.1, 0.5, 0.9])
    xt = (1 - t[:, None]) * x0 + t[:, None] * x1
    query = torch.rand(3, 50, 3, generator=gen) * 2 - 1
    with torch.no_grad():
        sdf = net.decoder(net.from_flow_space(x1), query)
    trunc = float(sdf.abs().max()) + 1.0  # no clamping: the loss is the plain L1
    exact = decoded_shape_loss(net, clean_estimate(xt, x1 - x0, t[:, None]), query, sdf, trunc)
    assert float(exact) < 1e-5
    # a velocity that points at another latent: the loss is the mean |SDF difference| of the two
    other = torch.randn(3, 16, generator=gen)
    with torch.no_grad():
        want = (net.decoder(net.from_flow_space(other), query) - sdf).abs().mean()
    wrong = decoded_shape_loss(net, clean_estimate(xt, (other - xt) / (1 - t[:, None]), t[:, None]), query, sdf, trunc)
    assert abs(float(wrong) - float(want)) < 1e-5 and float(want) > 1e-3
    # targets and predictions beyond ±trunc on the same side cost nothing
    assert float(decoded_shape_loss(net, x1, query, sdf + 10.0, 0.0)) == 0.0


def test_flow_training_with_the_shape_term_leaves_the_decoder_untouched():
    net, rng = _net(), np.random.default_rng(0)
    n, q = 12, 64
    data = {"crop": rng.integers(0, 256, (n, 16, 16, 4), dtype=np.uint8),
            "query": rng.uniform(-1, 1, (n, q, 3)).astype(np.float16),
            "sdf": rng.uniform(-0.2, 0.2, (n, q)).astype(np.float16)}  # fmt: skip
    latents = torch.randn(n, 16)
    cfg = replace(TrainConfig(), flow_steps=3, flow_batch=4, flow_sdf_weight=1.0, flow_sdf_points=32, model=TINY)
    dec_before = {k: v.clone() for k, v in net.decoder.state_dict().items()}
    flow_before = {k: v.clone() for k, v in net.flow.state_dict().items()}
    net.train()
    _, log = train_flow(net, data, latents, cfg, torch.Generator().manual_seed(0))
    assert all(torch.equal(v, dec_before[k]) for k, v in net.decoder.state_dict().items())
    assert any(not torch.equal(v, flow_before[k]) for k, v in net.flow.state_dict().items())
    assert log[-1]["shape"] > 0 and abs(log[-1]["loss"] - log[-1]["latent"] - log[-1]["shape"]) < 1e-4
    assert all(p.requires_grad for p in net.decoder.parameters())


def test_flow_space_on_principal_components_is_whitened_and_inverts_on_the_span():
    torch.manual_seed(0)
    net = HoikitSmallNet(replace(TINY, flow_dim=3))
    # latents on a known 3-d affine subspace of the 16-d latent space, with unequal spreads
    basis = torch.linalg.qr(torch.randn(16, 3))[0].T  # (3, 16) orthonormal rows
    coeff = torch.randn(500, 3) * torch.tensor([5.0, 1.0, 0.2])
    offset = torch.randn(16)
    latents = offset + coeff @ basis + 1e-4 * torch.randn(500, 16)
    net.fit_flow_space(latents)
    x = net.to_flow_space(latents)
    assert x.shape == (500, 3)
    assert torch.allclose(x.mean(0), torch.zeros(3), atol=1e-4)
    assert torch.allclose(torch.cov(x.T), torch.eye(3), atol=1e-3)  # whitened, uncorrelated
    assert torch.allclose(net.from_flow_space(x), latents, atol=1e-3)  # the span is kept exactly
    # a direction off the span is dropped: it maps to the same flow latent as its projection
    normal = torch.randn(16)
    normal -= ((normal / net.latent_std) @ net.latent_basis.T @ net.latent_basis) * net.latent_std
    assert torch.allclose(net.to_flow_space(latents[:5] + 0.5 * normal), x[:5], atol=1e-3)
    # the flow network and the generator's latent shape follow flow_dim
    assert net.flow.inp.in_features == 3 and net.flow.out.out_features == 3


def test_flow_dim_zero_keeps_the_standardised_latent():
    net = _net()
    z = torch.randn(4, 16)
    x = net.to_flow_space(z)
    assert torch.allclose(x, (z - net.latent_mean) / net.latent_std)
    assert torch.allclose(net.from_flow_space(x), z, atol=1e-5)


def test_train_prior_rejects_a_flow_dim_beyond_the_latent(tmp_path, capsys):
    from hoikit.cli import main

    assert main(["train-prior", "--work-dir", str(tmp_path), "--flow-dim", "999"]) == 2
    assert "--flow-dim must be between 0 and 256" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before any data was rendered


def test_weights_with_a_principal_component_flow_space_export_and_load(tmp_path):
    from hoikit.shape.small.generator import HoikitSmall
    from hoikit.shape.small.train import export

    torch.manual_seed(0)
    net = HoikitSmallNet(replace(TINY, flow_dim=4))
    net.fit_flow_space(torch.randn(64, 4) @ torch.randn(4, 16))
    gen = HoikitSmall.load(export(net, tmp_path / "w.safetensors", {}))
    assert gen.latent_shape == (4,)
    x = torch.randn(2, 4)
    pts = torch.rand(2, 10, 3) * 2 - 1
    want = net.decoder(net.from_flow_space(x), pts)  # float16 export: compare loosely
    assert torch.allclose(gen.decode_sdf(x, pts), want, atol=5e-2)
    assert torch.allclose(gen.net.latent_basis, net.latent_basis, atol=1e-3)


# 32² crops keep a 2 × 2 map at the image encoder's end (TINY's 16² ends at 1 × 1, which GroupNorm
# flattens to zero and refuses to train on)
TINY_REG = replace(TINY, regressor=True, image_res=32, img_channels=(8, 8, 16, 16))


def _tiny_data(n: int = 12, q: int = 64, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"crop": rng.integers(0, 256, (n, 16, 16, 4), dtype=np.uint8),
            "query": rng.uniform(-1, 1, (n, q, 3)).astype(np.float16),
            "sdf": rng.uniform(-0.2, 0.2, (n, q)).astype(np.float16)}  # fmt: skip


def test_the_regressor_learns_the_latent_of_each_crop_and_touches_nothing_else():
    from hoikit.shape.small.generator import crop_to_tensor
    from hoikit.shape.small.train import train_regressor

    model = TINY_REG  # four crops with different colours and mask heights, four latents
    crops = np.zeros((4, 32, 32, 4), np.uint8)
    for i, rgb in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]):
        crops[i, ..., :3] = rgb
        crops[i, 4 * (i + 1) : 32 - 2 * (i + 1), 6:26, 3] = 255
    torch.manual_seed(0)
    net = HoikitSmallNet(model)
    latents = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))  # flow space = latent space
    others = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("regressor.")}
    cfg = replace(TrainConfig(), regress_steps=100, flow_batch=4, regress_lr=1e-2, ema_decay=0.9, model=model)
    state, log = train_regressor(net, {"crop": crops}, latents, cfg, torch.Generator().manual_seed(0))
    assert set(state) == {f"regressor.{k}" for k in net.regressor.state_dict()}
    assert all(torch.equal(v, others[k]) for k, v in net.state_dict().items() if k in others)
    net.load_state_dict({**net.state_dict(), **state})
    with torch.no_grad():
        pred = net.regressor(torch.stack([crop_to_tensor(c, 32) for c in crops]))
    # the (EMA) regressor tells the crops apart: well below predicting their mean latent
    spread = float(((latents - latents.mean(0)) ** 2).mean())
    assert float(((pred - latents) ** 2).mean()) < 0.7 * spread and log[-1]["loss"] < 0.1 * log[0]["loss"]


def test_a_regressor_is_added_to_a_finished_run_without_retraining_it(tmp_path):
    from hoikit.shape.small import train as tr
    from hoikit.shape.small.generator import HoikitSmall

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    np.savez(data_dir / "shard_000.npz", enc=np.random.default_rng(0).normal(size=(6, 40, 6)).astype(np.float16),
             family=np.zeros(6, np.int64), **_tiny_data(n=6))  # fmt: skip
    torch.manual_seed(0)
    finished = HoikitSmallNet(replace(TINY_REG, regressor=False))  # a run without a regressor: its flow checkpoint
    finished.latent_mean.normal_()
    torch.save(finished.state_dict(), tmp_path / "flow.pt")
    cfg = replace(TrainConfig(), shards=1, regress_steps=3, flow_batch=4, model=TINY_REG)
    out = tr.train_prior(cfg, tmp_path, tmp_path / "w.safetensors")
    gen = HoikitSmall.load(out)
    assert gen.net.cfg.regressor
    for k, v in finished.state_dict().items():  # float16 export of the untouched stages
        assert torch.allclose(gen.net.state_dict()[k], v, atol=2e-3 * (1 + float(v.abs().max()))), k
    cond = gen.condition(np.zeros((20, 20, 4), np.uint8))
    assert cond.mean is not None and cond.mean.shape == (1, 16)
    # a stage checkpoint that does not fit the config is refused, by name
    torch.save({"latent_mean": torch.zeros(3)}, tmp_path / "flow.pt")
    import pytest

    with pytest.raises(Exception, match="flow.pt"):
        tr.train_prior(cfg, tmp_path, tmp_path / "w2.safetensors")


def test_the_straight_path_to_a_target_lands_on_it():
    from hoikit.shape.interface import euler_step, flow_sigmas, velocity_towards

    gen = torch.Generator().manual_seed(3)
    x, target = torch.randn(2, 16, generator=gen), torch.randn(2, 16, generator=gen)
    assert torch.allclose(clean_estimate(x, velocity_towards(x, target, 0.3), 0.3), target, atol=1e-6)
    start, sig = x.clone(), flow_sigmas(7)
    for i in range(7):
        s, s_next = float(sig[i]), float(sig[i + 1])
        x = euler_step(x, velocity_towards(x, target, s), s, s_next)
        # on the segment from the noise to the target, at time s_next
        assert torch.allclose(x, (1 - s_next) * start + s_next * target, atol=1e-5)
