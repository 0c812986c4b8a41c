"""Post-processing networks: x0 from the direct method, a residual network on top, the physics passed in."""

import pytest
import torch

from inverselab.methods import classical
from inverselab.networks import PostProcess, UNet
from inverselab.presets import make_problem


@pytest.mark.parametrize(
    "preset, initial", [("ct-sparse-60", "fbp"), ("mri-4x", "zero-filled"), ("deblur-gauss", "adjoint")]
)
def test_zero_network_returns_the_direct_method(preset, initial):
    pr = make_problem(preset, size=32)
    net = UNet(1, 1, chans=4, num_pool_layers=2)
    model = PostProcess(net, initial)
    direct = {"fbp": classical.fbp, "zero-filled": classical.zero_filled, "adjoint": classical.adjoint}
    direct = direct[initial]
    x0 = direct(pr.y, pr.A)
    x0 = x0.abs() if x0.is_complex() else x0
    assert torch.equal(model.initial_reconstruction(pr.y, pr.A), x0)
    out = model(pr.y, pr.A)
    assert out.shape == pr.x_true.shape and not out.is_complex()
    assert torch.allclose(out - x0, net(x0), atol=1e-6)
    torch.nn.init.zeros_(net.final.weight)
    torch.nn.init.zeros_(net.final.bias)
    assert torch.equal(model(pr.y, pr.A), x0)  # a zero last layer: exactly the direct method


def test_gradients_reach_the_network_only_and_bad_initial():
    pr = make_problem("deblur-gauss", size=16)
    model = PostProcess(UNet(1, 1, chans=4, num_pool_layers=2), "adjoint")
    loss = (model(pr.y, pr.A) - pr.x_true).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="initial"):
        PostProcess(UNet(1, 1, chans=4, num_pool_layers=2), "tv")
