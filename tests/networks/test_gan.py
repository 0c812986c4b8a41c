"""DCGAN: shapes and ranges, config round trip, parameter budgets, the alternating single-optimizer update
(each half moves only its own network), the losses, BatchNorm in eval mode, randomness, validation."""

import json

import pytest
import torch
import torch.nn.functional as F

from inverselab.networks.gan import DCGAN

from .test_vae import bars


def tiny(**kw) -> DCGAN:
    torch.manual_seed(0)
    return DCGAN(**{"latent_dim": 8, "image_size": 16, "width": 8, **kw})


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> set[str]:
    return {k for k, v in module.named_parameters() if not torch.equal(v, before[k])}


def test_default_sizes_within_budget():
    gan = DCGAN()
    assert (gan.latent_dim, gan.image_size, gan.channels) == (32, 32, 1)
    num_g = sum(p.numel() for p in gan.generator.parameters())
    num_d = sum(p.numel() for p in gan.discriminator.parameters())
    assert (num_g, num_d) == (230_337, 166_625)
    assert num_g <= 500_000 and num_d <= 200_000
    assert gan.num_parameters() == num_g + num_d
    assert gan.eval().decode(torch.randn(2, 32)).shape == (2, 1, 32, 32)


@pytest.mark.parametrize("image_size", [8, 16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(image_size, channels):
    gan = tiny(image_size=image_size, channels=channels)
    z = 5 * torch.randn(4, 8)
    for mode in (True, False):
        out = gan.train(mode).decode(z)
        assert out.shape == (4, channels, image_size, image_size)
        assert bool((out >= 0).all()) and bool((out <= 1).all())
    torch.testing.assert_close(gan(z), gan.decode(z))
    assert gan.discriminator(torch.rand(3, channels, image_size, image_size)).shape == (3,)


def test_config_round_trip_and_state_dict():
    gan = tiny(channels=2)
    config = json.loads(json.dumps(gan.config))
    assert config == {"latent_dim": 8, "image_size": 16, "channels": 2, "width": 8}
    copy = DCGAN(**config)
    copy.load_state_dict(gan.state_dict())
    gan.eval()
    copy.eval()
    z = torch.randn(3, 8)
    x = torch.rand(3, 2, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(copy.decode(z), gan.decode(z))
        torch.testing.assert_close(copy.discriminator(x), gan.discriminator(x))


def test_eval_decode_is_per_sample():
    gan = tiny().eval()
    z = torch.randn(5, 8)
    with torch.no_grad():
        torch.testing.assert_close(gan.decode(z[3:4]), gan.decode(z)[3:4], rtol=1e-5, atol=1e-6)


def test_train_step_moves_each_network_in_its_own_half():
    gan = tiny()
    opt = torch.optim.Adam(gan.parameters(), lr=2e-4, betas=(0.5, 0.999))
    snaps = []
    original_step = opt.step

    def recording_step(*args, **kwargs):
        out = original_step(*args, **kwargs)
        snaps.append((snapshot(gan.generator), snapshot(gan.discriminator)))
        return out

    opt.step = recording_step
    g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
    stats = gan.train_step(bars(8), opt, torch.Generator().manual_seed(0))
    assert len(snaps) == 2
    (g1, d1), (g2, d2) = snaps
    # discriminator half: every discriminator parameter moved, no generator parameter did
    assert all(torch.equal(g1[k], g0[k]) for k in g0)
    assert all(not torch.equal(d1[k], d0[k]) for k in d0)
    # generator half: the reverse
    assert all(not torch.equal(g2[k], g1[k]) for k in g0)
    assert all(torch.equal(d2[k], d1[k]) for k in d0)
    # each parameter was updated exactly once by Adam, and no gradient is left behind
    assert all(int(opt.state[p]["step"]) == 1 for p in gan.parameters())
    assert all(p.grad is None for p in gan.parameters())
    assert set(stats) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(isinstance(v, float) for v in stats.values())
    assert 0 < stats["d_real"] < 1 and 0 < stats["d_fake"] < 1


def test_discriminator_loss_formula_and_detached_fakes():
    gan = tiny()
    x = bars(6)
    loss = gan.discriminator_loss(x, torch.Generator().manual_seed(3))
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        fake = gan.generator(z)
    d_real, d_fake = torch.sigmoid(gan.discriminator(x)), torch.sigmoid(gan.discriminator(fake))
    want = -torch.log(d_real).mean() - torch.log1p(-d_fake).mean()
    torch.testing.assert_close(loss, want, rtol=1e-4, atol=1e-5)
    gan.zero_grad(set_to_none=True)
    loss.backward()
    assert all(p.grad is None for p in gan.generator.parameters())
    assert all(p.grad is not None for p in gan.discriminator.parameters())


def test_generator_loss_is_non_saturating():
    gan = tiny()
    loss = gan.generator_loss(5, torch.Generator().manual_seed(4))
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(4))
    logits = gan.discriminator(gan.generator(z))
    torch.testing.assert_close(loss, -F.logsigmoid(logits).mean(), rtol=1e-4, atol=1e-5)


def test_discriminator_loss_falls_when_only_the_discriminator_trains():
    gan = tiny()
    x = bars(32)
    opt = torch.optim.Adam(gan.discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    g_before = snapshot(gan.generator)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        loss = gan.discriminator_loss(x, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(2 * torch.log(torch.tensor(2.0)).item(), abs=0.1)  # D ≈ 1/2 at start
    assert sum(losses[-5:]) / 5 < 0.7 * losses[0], losses
    assert not changed(g_before, gan.generator)


@pytest.mark.slow
def test_generator_learns_the_data_brightness():
    # bars cover 3/16 of each image; an untrained generator outputs about 1/2 everywhere
    gan = tiny()
    x = bars(64)
    opt = torch.optim.Adam(gan.parameters(), lr=1e-3, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    before = gan.eval().sample(256, torch.Generator().manual_seed(1)).mean().item()
    gan.train()
    for _ in range(60):
        gan.train_step(x, opt, gen)
    gan.calibrate_batchnorm(torch.Generator().manual_seed(2))
    after = gan.eval().sample(256, torch.Generator().manual_seed(1)).mean().item()
    target = x.mean().item()
    assert abs(after - target) < 0.5 * abs(before - target), (before, after, target)


def test_calibrate_batchnorm_matches_large_batch_statistics():
    gan = tiny()
    opt = torch.optim.Adam(gan.parameters(), lr=2e-3, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        gan.train_step(bars(8), opt, gen)  # running statistics now lag the generator
    params = snapshot(gan)
    momenta = [m.momentum for m in gan.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    gan.discriminator.eval()
    gan.calibrate_batchnorm(torch.Generator().manual_seed(1), num_samples=4096, batch_size=512)
    assert not changed(params, gan)
    assert gan.generator.training and not gan.discriminator.training  # modes restored
    assert momenta == [m.momentum for m in gan.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    z = torch.randn(2048, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        batch_stats = gan.generator.train()(z)
        running_stats = gan.generator.eval()(z)
    assert (batch_stats - running_stats).abs().max().item() < 0.02


def test_randomness_comes_from_the_generator_only():
    gan = tiny()
    state = torch.random.get_rng_state()
    a = gan.eval().sample(4, torch.Generator().manual_seed(5))
    b = gan.sample(4, torch.Generator().manual_seed(5))
    gan.train()
    gan.discriminator_loss(bars(4), torch.Generator().manual_seed(5))
    gan.generator_loss(4, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not a.requires_grad
    assert torch.equal(torch.random.get_rng_state(), state)


def test_bad_arguments_name_the_argument():
    gan = tiny()
    gen = torch.Generator()
    opt = torch.optim.Adam(gan.parameters())
    with pytest.raises(ValueError, match=r"x_real must have values in \[0, 1\]"):
        gan.discriminator_loss(bars(2) - 0.5, gen)
    with pytest.raises(ValueError, match="x_real must have trailing shape"):
        gan.train_step(torch.rand(2, 1, 32, 32), opt, gen)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        gan.train_step(bars(2), "adam", gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        gan.generator_loss(2, 0)
    with pytest.raises(ValueError, match="num must be >= 1"):
        gan.generator_loss(0, gen)
    with pytest.raises(ValueError, match="z must have trailing shape"):
        gan.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        gan.calibrate_batchnorm(gen, batch_size=1)
    for kwargs, name in [({"latent_dim": 0}, "latent_dim"), ({"image_size": 12}, "image_size")]:
        with pytest.raises(ValueError, match=name):
            DCGAN(**kwargs)
