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
