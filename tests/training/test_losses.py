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
