"""Training losses: values, gradients, and that minimizing each one recovers the target."""

import pytest
import torch

from inverselab.metrics import ssim
from inverselab.training.losses import LOSSES, get_loss


def test_values():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 16, 16, generator=g)
    y = x + 0.1 * torch.randn(x.shape, generator=g)
    assert torch.isclose(get_loss("mse")(y, x), ((y - x) ** 2).mean())
    assert torch.isclose(get_loss("l1")(y, x), (y - x).abs().mean())
    assert torch.isclose(get_loss("ssim")(y, x), 1 - ssim(y, x).mean())
    assert float(get_loss("ssim")(x, x)) == pytest.approx(0.0, abs=1e-6)
    z = torch.complex(x, x)
    assert torch.isclose(get_loss("mse")(z, torch.zeros_like(z)), 2 * (x**2).mean())
    with pytest.raises(ValueError, match="loss"):
        get_loss("perceptual")


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_descent_on_each_loss_recovers_the_target(name):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 1, 16, 16, generator=g)
    x_hat = (x + 0.2 * torch.randn(x.shape, generator=g)).requires_grad_(True)
    loss = get_loss(name)
    opt = torch.optim.Adam([x_hat], lr=0.01)
    start = float(((x_hat.detach() - x) ** 2).mean())
    for _ in range(300):
        opt.zero_grad()
        loss(x_hat, x).backward()
        opt.step()
    assert float(((x_hat.detach() - x) ** 2).mean()) < 0.1 * start


# ---------------------------------------------------------------------------------- self-supervised losses


def test_self_supervised_losses_are_listed_apart_and_named():
    from inverselab.training.losses import LOSS_NAMES, SELF_SUPERVISED, get_self_supervised_loss

    assert set(SELF_SUPERVISED) == {"sure", "noise2self"} and not set(SELF_SUPERVISED) & set(LOSSES)
    assert LOSS_NAMES == (*LOSSES, *SELF_SUPERVISED)
    assert get_self_supervised_loss("sure") is SELF_SUPERVISED["sure"]
    with pytest.raises(ValueError, match="loss"):
        get_self_supervised_loss("mse")


def test_sure_is_an_unbiased_estimate_of_the_mse():
    """Linear shrinkage towards 0.5, one noise level per image: the MSE's expectation is known in closed form,
    ((a - 1)(x - 0.5))^2 + a^2 sigma^2 per pixel; SURE averaged over 20 noise draws (and probes) matches it
    within 2% (measured at most 0.8% over 6 seeds). Without its divergence term it would be negative."""
    from inverselab.data import training_images
    from inverselab.training.losses import sure_loss

    x = training_images("photos", 16, 32, 0)
    a, sigma = 0.6, torch.linspace(0.05, 0.2, 16)
    expected = float((((a - 1) * (x - 0.5)) ** 2 + a**2 * sigma.reshape(-1, 1, 1, 1) ** 2).mean())
    g = torch.Generator().manual_seed(0)
    values = []
    for _ in range(20):
        y = x + sigma.reshape(-1, 1, 1, 1) * torch.randn(x.shape, generator=g)
        values.append(float(sure_loss(lambda v, s: 0.5 + a * (v - 0.5), y, sigma, g)))
    assert sum(values) / len(values) == pytest.approx(expected, rel=0.02)
    no_divergence = float((((1 - a) * (y - 0.5)) ** 2).mean() - (sigma**2).mean())
    assert no_divergence < 0


def test_sure_tracks_the_mse_of_a_nonlinear_denoiser():
    """Soft thresholding (divergence: the count of pixels kept): SURE of each noise draw is within 5% of that
    draw's actual MSE on 16 images (measured: within 2.5%)."""
    from inverselab.data import training_images
    from inverselab.training.losses import sure_loss

    def soft(v, s):
        return 0.5 + torch.sign(v - 0.5) * torch.clamp((v - 0.5).abs() - 0.1, min=0)

    x = training_images("photos", 16, 32, 1)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        y = x + 0.1 * torch.randn(x.shape, generator=g)
        mse = float(((soft(y, 0.1) - x) ** 2).mean())
        assert float(sure_loss(soft, y, 0.1, g)) == pytest.approx(mse, rel=0.05)


def test_sure_draws_from_its_generator_and_checks_sigma():
    from inverselab.training.losses import sure_loss

    y = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))

    def f(v, s):
        return torch.tanh(v)

    def value(seed):
        return float(sure_loss(f, y, torch.tensor([0.1, 0.2]), torch.Generator().manual_seed(seed)))

    assert value(3) == value(3) and value(3) != value(4)
    with pytest.raises(ValueError, match="sigma"):
        sure_loss(f, y, torch.tensor([0.1, 0.2, 0.3]), torch.Generator())
    with pytest.raises(ValueError, match="sigma"):
        sure_loss(f, y, -0.1, torch.Generator())


def test_noise2self_masks_one_pixel_per_cell_with_a_neighbour():
    from inverselab.training.losses import noise2self_loss

    y = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    seen = []

    def spy(v, s):
        seen.append(v)
        return v

    noise2self_loss(spy, y, 0.1, torch.Generator().manual_seed(1))
    (v,) = seen
    changed = v != y
    assert changed.sum(dim=(1, 2, 3)).tolist() == [64, 64, 64]  # one pixel in every 4 x 4 cell
    padded = torch.nn.functional.pad(y, (1, 1, 1, 1), mode="reflect")
    for b, _, i, j in changed.nonzero().tolist():
        around = padded[b, 0, i : i + 3, j : j + 3].flatten()
        assert bool((torch.cat([around[:4], around[5:]]) == v[b, 0, i, j]).any())  # a neighbour's value


def test_noise2self_never_lets_a_pixel_see_its_own_noise():
    """On a constant image: the identity's loss is the difference of two independent noises, 2 sigma^2 (it
    would be 0 if the masked pixel saw itself); the perfect denoiser's is sigma^2 (the MSE, 0, + sigma^2)."""
    from inverselab.training.losses import noise2self_loss

    g = torch.Generator().manual_seed(2)
    y = 0.5 + 0.1 * torch.randn(16, 1, 32, 32, generator=g)
    identity = float(noise2self_loss(lambda v, s: v, y, 0.1, g))
    perfect = float(noise2self_loss(lambda v, s: torch.full_like(v, 0.5), y, 0.1, g))
    assert identity == pytest.approx(0.02, rel=0.1) and perfect == pytest.approx(0.01, rel=0.1)
