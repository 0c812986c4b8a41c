"""VAE: shapes and ranges, config round trip, parameter budget, the exact KL term, the negative ELBO, explicit
randomness, validation, and a tiny data set on which the loss must fall."""

import json
import math

import pytest
import torch

from inverselab.networks.vae import VAE, gaussian_kl


def bars(num: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """``num`` binary images of one 3-pixel-wide bar, alternately vertical and horizontal."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(num, 1, size, size)
    for i in range(num):
        p = int(torch.randint(1, size - 2, (1,), generator=g))
        if i % 2:
            x[i, 0, p - 1 : p + 2, :] = 1
        else:
            x[i, 0, :, p - 1 : p + 2] = 1
    return x


def tiny(**kw) -> VAE:
    torch.manual_seed(0)
    return VAE(**{"latent_dim": 4, "image_size": 16, "width": 8, **kw})


def test_default_size_and_parameter_budget():
    vae = VAE()
    assert (vae.latent_dim, vae.image_size, vae.channels) == (16, 32, 1)
    assert vae.num_parameters() == 429_409  # "a few hundred thousand"
    z = torch.randn(3, 16)
    assert vae.decode(z).shape == (3, 1, 32, 32)


@pytest.mark.parametrize("image_size", [8, 16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(image_size, channels):
    vae = tiny(image_size=image_size, channels=channels)
    x = torch.rand(2, channels, image_size, image_size)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (2, 4)
    out = vae.decode(10 * torch.randn(5, 4))  # even for codes far from the prior
    assert out.shape == (5, channels, image_size, image_size)
    assert bool((out >= 0).all()) and bool((out <= 1).all())
    assert vae(x).shape == x.shape
    torch.testing.assert_close(vae(x), vae.decode(mu))


def test_config_round_trip_and_state_dict():
    vae = tiny(beta=0.5, channels=2)
    config = json.loads(json.dumps(vae.config))
    assert config == {"latent_dim": 4, "image_size": 16, "channels": 2, "width": 8, "beta": 0.5}
    copy = VAE(**config)
    copy.load_state_dict(vae.state_dict())
    z = torch.randn(3, 4)
    torch.testing.assert_close(copy.decode(z), vae.decode(z))


def test_decode_is_per_sample_and_mode_independent():
    vae = tiny()
    z = torch.randn(4, 4)
    with torch.no_grad():
        train_out = vae.train().decode(z)
        eval_out = vae.eval().decode(z)
        one = vae.decode(z[2:3])
    torch.testing.assert_close(train_out, eval_out)
    torch.testing.assert_close(one, eval_out[2:3], rtol=1e-5, atol=1e-6)


def test_kl_matches_closed_form():
    mu = torch.tensor([[1.0, -2.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.25)], [0.0, 0.0, 0.0]], dtype=torch.float64)
    # ½ (mu² + σ² - 1 - log σ²) per coordinate
    want0 = 0.5 * ((1 + 1 - 1 - 0) + (4 + 4 - 1 - math.log(4)) + (0 + 0.25 - 1 - math.log(0.25)))
    torch.testing.assert_close(gaussian_kl(mu, logvar), torch.tensor([want0, 0.0], dtype=torch.float64))
    # and against torch.distributions
    std = torch.exp(0.5 * logvar)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, std), torch.distributions.Normal(torch.zeros_like(mu), 1.0)
    ).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), ref)


def test_training_loss_is_the_negative_elbo():
    vae = tiny()
    x = bars(6)
    loss = vae.training_loss(x, torch.Generator().manual_seed(7))
    # by hand, with the same reparameterization noise
    mu, logvar = vae.encode(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(7))
    p = vae.decode(mu + torch.exp(0.5 * logvar) * eps)
    bce = -(x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum(dim=(1, 2, 3))
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
    torch.testing.assert_close(loss, (bce + kl).mean(), rtol=1e-5, atol=1e-4)
    # beta weighs the KL term only
    vae.beta = 3.0
    loss3 = vae.training_loss(x, torch.Generator().manual_seed(7))
    torch.testing.assert_close(loss3 - loss, 2 * kl.mean(), rtol=1e-5, atol=1e-4)


def test_randomness_comes_from_the_generator_only():
    vae = tiny()
    x = bars(4)
    state = torch.random.get_rng_state()
    a = vae.training_loss(x, torch.Generator().manual_seed(1))
    b = vae.training_loss(x, torch.Generator().manual_seed(1))
    c = vae.training_loss(x, torch.Generator().manual_seed(2))
    s1 = vae.sample(3, torch.Generator().manual_seed(3))
    s2 = vae.sample(3, torch.Generator().manual_seed(3))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.item() == b.item() and a.item() != c.item()
    assert torch.equal(s1, s2) and s1.shape == (3, 1, 16, 16) and not s1.requires_grad


def test_training_loss_falls_on_a_tiny_data_set():
    vae = tiny()
    x = bars(32)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    before = vae.training_loss(x, torch.Generator().manual_seed(99)).item()
    for _ in range(50):
        loss = vae.training_loss(x, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = vae.training_loss(x, torch.Generator().manual_seed(99)).item()
    assert before > 150  # about 256 · log 2 at initialization
    assert after < 0.6 * before, (before, after)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"image_size": 30}, "image_size"),
        ({"image_size": 4}, "image_size"),
        ({"channels": 0}, "channels"),
        ({"width": 0}, "width"),
        ({"beta": -1.0}, "beta"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VAE(**kwargs)


def test_bad_inputs_name_the_argument():
    vae = tiny()
    gen = torch.Generator()
    with pytest.raises(ValueError, match=r"x must have values in \[0, 1\]"):
        vae.training_loss(bars(2) * 2, gen)
    with pytest.raises(ValueError, match="x must contain only finite"):
        vae.training_loss(torch.full((2, 1, 16, 16), float("nan")), gen)
    with pytest.raises(ValueError, match="x must have 1 channel"):
        vae.encode(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="x must have trailing shape"):
        vae.encode(torch.rand(2, 1, 8, 8))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        vae.training_loss(bars(2), 0)
    with pytest.raises(ValueError, match="z must have trailing shape"):
        vae.decode(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="z must have 2 dimensions"):
        vae.decode(torch.zeros(4))
    with pytest.raises(ValueError, match="num must be >= 1"):
        vae.sample(0, gen)
