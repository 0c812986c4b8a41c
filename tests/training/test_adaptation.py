"""Test-time training (adapt_to_measurement): lowers the data-consistency loss and, on a shifted problem,
raises the PSNR of a network trained on another image class; leaves the caller's model alone."""

import pytest
import torch

from inverselab.networks import PostProcess, UNet
from inverselab.operators import Identity
from inverselab.presets import evaluate, get_preset, make_problem
from inverselab.training.adaptation import adapt_to_measurement, data_consistency_loss
from inverselab.training.trainer import TrainConfig, build_model, train


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ellipse_unet(tmp_path_factory):
    """A small post-processing U-Net for mri-4x trained on random-ellipse phantoms only (32 px, ~10 s)."""
    out = tmp_path_factory.mktemp("ttt")
    config = TrainConfig(
        "mri-4x",
        "unet",
        {"chans": 8, "num_pool_layers": 2},
        data="ellipses",
        lr=3e-3,
        epochs=1,
        steps_per_epoch=150,
        batch_size=8,
        patch=32,
        num_train=128,
        num_val=4,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(config, out)
    finally:
        torch.set_num_threads(threads)
    from inverselab.weights import load_model

    return load_model(out / "model.safetensors")


def test_ttt_lowers_the_loss_and_raises_psnr_under_shift(ellipse_unet):
    p = get_preset("mri-4x")
    pr = make_problem(p, sample="moon", size=32, seed=0)  # a photograph: not an ellipse phantom
    before = {k: v.clone() for k, v in ellipse_unet.state_dict().items()}
    with torch.no_grad():
        x_src = ellipse_unet(pr.y, pr.A)
    res = adapt_to_measurement(ellipse_unet, pr.y, pr.A, num_iter=40, lr=3e-4)
    assert res.final_loss < 0.5 * res.initial_loss
    assert res.initial_loss == pytest.approx(float(data_consistency_loss(x_src, pr.y, pr.A)[0]), rel=1e-5)
    psnr_src = evaluate(x_src, pr.x_true, p)["psnr"]
    psnr_ttt = evaluate(res.x, pr.x_true, p)["psnr"]
    assert psnr_ttt > psnr_src + 0.5, (psnr_src, psnr_ttt)  # measured: 21.67 -> 24.20 dB, loss x 0.14
    assert len(res.history["objective"]) == 40 and res.history["objective"][-1] == pytest.approx(
        res.final_loss
    )
    for k, v in ellipse_unet.state_dict().items():  # the caller's model is untouched
        assert torch.equal(v, before[k])


def test_ttt_works_under_no_grad_on_a_batch_and_with_zero_steps():
    torch.manual_seed(0)
    A = Identity((1, 8, 8))
    model = PostProcess(UNet(1, 1, chans=4, num_pool_layers=1), "adjoint")
    for q in model.parameters():
        q.requires_grad_(False)  # as loaded for inference
    y = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        res = adapt_to_measurement(model, y, A, num_iter=5, lr=1e-3)
        same = adapt_to_measurement(model, y[:1], A, num_iter=0)
        ref = model(y[:1], A)
    assert res.x.shape == (2, 1, 8, 8) and res.final_loss < res.initial_loss
    assert torch.allclose(same.x, ref) and same.final_loss == same.initial_loss
    assert not any(q.requires_grad for q in model.parameters())


def test_ttt_checks_its_arguments():
    A = Identity((1, 8, 8))
    model = build_model(TrainConfig("denoise-sigma25", "unet", {"chans": 4, "num_pool_layers": 1}))
    y = torch.rand(1, 1, 8, 8)
    with pytest.raises(TypeError, match="model"):
        adapt_to_measurement(lambda y, A: y, y, A)
    with pytest.raises(TypeError, match="A must be a LinearOperator"):
        adapt_to_measurement(model, y, "A")
    with pytest.raises(ValueError, match="num_iter"):
        adapt_to_measurement(model, y, A, num_iter=-1)
    with pytest.raises(ValueError, match="lr"):
        adapt_to_measurement(model, y, A, lr=0)
    with pytest.raises(ValueError, match="y must"):
        adapt_to_measurement(model, torch.rand(1, 1, 4, 4), A)
    with pytest.raises(ValueError, match="x_true"):
        adapt_to_measurement(model, y, A, x_true=torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="y must not be zero"):
        data_consistency_loss(y, torch.zeros_like(y), A)


class _Smoother(torch.nn.Module):
    """``model(y, A)``: a learnable 5x5 convolution of ``Aᵀy``, started as a box blur (a denoiser that a
    data-consistency loss turns into the identity, i.e. into fitting the noise)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 1, 5, padding=2, bias=False, padding_mode="reflect")
        with torch.no_grad():
            self.conv.weight.fill_(1 / 25)

    def forward(self, y, A):
        return self.conv(A.adjoint(y))


def test_discrepancy_principle_stops_before_fitting_the_noise():
    """Denoising a smooth image with a blur that TTT can turn into the identity: the fixed budget fits the
    noise (its PSNR falls back toward the noisy image's), the discrepancy principle stops where the loss
    reaches the noise level, earlier and at a better PSNR; a model already at the noise level takes no
    step."""
    from inverselab.metrics import psnr

    g = torch.Generator().manual_seed(0)
    u = torch.linspace(0, 1, 48)
    x = (torch.sin(6 * u)[:, None] * torch.cos(4 * u)[None, :] * 0.4 + 0.5)[None, None]
    sigma = 0.1
    y = x + sigma * torch.randn(x.shape, generator=g)
    A = Identity((1, 48, 48))
    fixed = adapt_to_measurement(_Smoother(), y, A, num_iter=300, lr=1e-2)
    stopped = adapt_to_measurement(_Smoother(), y, A, num_iter=300, lr=1e-2, noise_std=sigma)
    assert stopped.converged and not fixed.converged and 0 < stopped.num_iter < 300
    assert stopped.target_loss == pytest.approx(48 * 48 * sigma**2 / float((y**2).sum()))
    assert stopped.final_loss <= stopped.target_loss < stopped.history["objective"][-2]
    with torch.no_grad():
        start = float(psnr(_Smoother()(y, A), x)[0])
    p_fixed, p_stop = float(psnr(fixed.x, x)[0]), float(psnr(stopped.x, x)[0])
    # measured: blur 32.86 dB, 300 fixed steps 20.77 (the noisy image is at 20), stopped after 7 steps 32.79
    assert p_fixed < start - 1 and p_stop > p_fixed + 1 and p_stop > start - 0.5, (start, p_fixed, p_stop)
    # a looser tolerance: the blur already explains y to within tau² N σ², so nothing is fitted
    none = adapt_to_measurement(_Smoother(), y, A, num_iter=300, lr=1e-2, noise_std=sigma, tau=3.0)
    assert none.num_iter == 0 and none.converged and torch.equal(none.x, _Smoother()(y, A).detach())
    # a batch: one level per item
    both = adapt_to_measurement(
        _Smoother(), torch.cat([y, y]), A, num_iter=300, lr=1e-2, noise_std=[sigma, 1.0]
    )
    assert both.converged and both.num_iter == round(stopped.num_iter / 2)
    torch.testing.assert_close(both.x[:1], stopped.x)
    torch.testing.assert_close(both.x[1:], none.x)
    with pytest.raises(ValueError, match="noise_std"):
        adapt_to_measurement(_Smoother(), y, A, noise_std=[0.1, 0.2])
    with pytest.raises(ValueError, match="tau"):
        adapt_to_measurement(_Smoother(), y, A, noise_std=0.1, tau=0)
