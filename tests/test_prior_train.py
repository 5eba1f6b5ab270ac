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
