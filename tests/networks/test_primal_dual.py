"""Learned primal-dual: the update wiring written out by hand, operator normalization, measurement layouts,
checkpointing, config round trip, and a short training that beats FBP."""

from __future__ import annotations

import json

import pytest
import torch

from inverselab.data import training_images
from inverselab.methods import classical
from inverselab.metrics import psnr
from inverselab.networks import LearnedPrimalDual
from inverselab.operators import (
    MRI,
    Blur,
    Downsampling,
    GaussianMatrix,
    LinearOperator,
    ParallelBeamCT,
    gaussian_kernel,
    random_kspace_mask,
    sparse_view_angles,
)


def _ct(size=16, angles=8, num=3, seed=0):
    A = ParallelBeamCT(size, sparse_view_angles(angles))
    x = training_images("ellipses", num, size=size, generator=seed)
    Ax = A(x)
    return A, x, Ax + 0.3 * torch.randn(Ax.shape, generator=torch.Generator().manual_seed(seed + 1))


class _TwoViews(LinearOperator):
    """A two-channel measurement ``[x, blur(x)]`` of a one-channel image (for the multi-channel dual)."""

    def __init__(self, size):
        super().__init__((1, size, size), (2, size, size))
        self.blur = Blur((1, size, size), gaussian_kernel(1.0))

    def forward(self, x):
        return torch.cat([x, self.blur(x)], dim=1)

    def adjoint(self, y):
        return y[:, :1] + self.blur.adjoint(y[:, 1:])


@torch.no_grad()
def test_one_iteration_by_hand():
    A, x, y = _ct()
    A, y = A.double(), y.double()
    torch.manual_seed(0)
    model = LearnedPrimalDual(num_iter=2, n_primal=3, n_dual=4, features=6).double()
    n = A.norm()
    f = torch.zeros(3, 3, 16, 16, dtype=torch.float64)
    h = torch.zeros(3, 4, *y.shape[2:], dtype=torch.float64)
    for k in range(2):  # h <- h + Γ([h, Â f_1, ŷ]); f <- f + Λ([f, Âᵀ h_0]) with Â = A/‖A‖, ŷ = y/‖A‖
        h = h + model.dual_blocks[k](torch.cat([h, A(f[:, 1:2]) / n, y / n], dim=1))
        f = f + model.primal_blocks[k](torch.cat([f, A.adjoint(h[:, 0:1]) / n], dim=1))
    out = model(y, A)
    assert out.shape == (3, 1, 16, 16)
    assert torch.allclose(out, f[:, 0:1], rtol=1e-12, atol=1e-12)
    assert float(f[:, 1:2].abs().max()) > 1e-3  # the channel fed to the operator is used


def test_operator_normalization_makes_the_output_scale_free():
    A, x, y = _ct()
    torch.manual_seed(0)
    model = LearnedPrimalDual(num_iter=3, features=8).double()
    A, y = A.double(), y.double()
    with torch.no_grad():  # (c A, c y) gives the same normalized operator and data
        assert torch.allclose(model(y, A), model(7.0 * y, 7.0 * A), rtol=1e-9, atol=1e-12)
        assert not torch.allclose(model(y, A), model(7.0 * y, A), atol=1e-3)  # y alone does matter


def test_shapes_layouts_config_and_errors():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 16, 16, generator=gen)
    torch.manual_seed(0)
    model = LearnedPrimalDual(num_iter=2, features=4)
    for A in (
        ParallelBeamCT(16, sparse_view_angles(5)),  # sinogram (1, 5, 27)
        Blur((1, 16, 16), gaussian_kernel(1.0)),  # same layout as the image
        Downsampling((1, 16, 16), 4),  # (1, 4, 4)
    ):
        out = model(A(x), A)
        assert out.shape == x.shape and not out.is_complex()
    twin = LearnedPrimalDual(**json.loads(json.dumps(model.config)))
    twin.load_state_dict(model.state_dict())
    A = ParallelBeamCT(16, sparse_view_angles(5))
    assert twin.config == model.config and torch.equal(twin(A(x), A), model(A(x), A))
    assert not hasattr(model, "net")
    # several measurement channels: y is (B, C, H', W'), the dual memory holds at least C channels
    two = LearnedPrimalDual(num_iter=2, features=4, measurement_channels=2, n_dual=3)
    views = _TwoViews(16)
    assert two(views(x), views).shape == x.shape
    with pytest.raises(ValueError, match="y must be a real floating-point tensor"):
        two(A(x), A)
    # the paper's defaults: 10 iterations, 5 + 5 memory channels, 32 features
    dual = (7 * 32 * 9 + 32) + 32 + (32 * 32 * 9 + 32) + 32 + (32 * 5 * 9 + 5)
    primal = (6 * 32 * 9 + 32) + 32 + (32 * 32 * 9 + 32) + 32 + (32 * 5 * 9 + 5)
    assert LearnedPrimalDual().num_parameters() == 10 * (dual + primal)
    # MRI k-space is complex, compressed sensing gives vectors: refused, naming y
    mri = MRI((16, 16), random_kspace_mask((16, 16), 4, 0.125, generator=0))
    with pytest.raises(ValueError, match="^y must"):
        model(mri(x), mri)
    cs = GaussianMatrix(256, 100, generator=0)
    with pytest.raises(ValueError, match="in_shape"):
        model(torch.zeros(2, 100), cs)
    with pytest.raises(ValueError, match="n_primal"):
        LearnedPrimalDual(n_primal=1)
    with pytest.raises(ValueError, match="n_dual"):
        LearnedPrimalDual(n_dual=1, measurement_channels=2)
    with pytest.raises(TypeError, match="checkpointing"):
        LearnedPrimalDual(checkpointing=1)


def test_initial_reconstruction_is_the_classical_baseline():
    A, x, y = _ct()
    model = LearnedPrimalDual(num_iter=1, features=4)
    assert torch.equal(model.initial_reconstruction(y, A), classical.fbp(y, A))
    B = Blur((1, 16, 16), gaussian_kernel(1.0))
    assert torch.equal(model.initial_reconstruction(B(x), B), classical.adjoint(B(x), B))
    assert not model.initial_reconstruction(y, A).requires_grad


def test_initial_start_returns_the_direct_method_untrained_and_can_learn():
    """With ``initial="fbp"`` the untrained LPD is exactly FBP (zero last layers), and a gradient step
    moves it (the zero layers get gradients)."""
    A, x, y = _ct()
    torch.manual_seed(0)
    model = LearnedPrimalDual(num_iter=3, features=4, initial="fbp")
    assert model.config["initial"] == "fbp"
    assert LearnedPrimalDual(**model.config).config == model.config
    assert torch.equal(model.initial_reconstruction(y, A), classical.fbp(y, A))
    with torch.no_grad():
        torch.testing.assert_close(model(y, A), classical.fbp(y, A), rtol=0, atol=1e-6)
    loss = ((model(y, A) - x) ** 2).mean()
    loss.backward()
    grads = [float(b[-1].weight.grad.abs().sum()) for b in model.primal_blocks]
    assert min(grads) > 0
    with pytest.raises(ValueError, match="initial"):
        LearnedPrimalDual(num_iter=1, initial="sirt")
    assert LearnedPrimalDual(num_iter=1).config["initial"] is None  # Adler & Öktem's f = 0 start


def test_checkpointing_gives_the_same_outputs_and_gradients():
    A, x, y = _ct()
    torch.manual_seed(0)
    plain = LearnedPrimalDual(num_iter=3, n_primal=3, n_dual=3, features=8)
    ckpt = LearnedPrimalDual(**{**plain.config, "checkpointing": True})
    ckpt.load_state_dict(plain.state_dict())
    results = []
    for model in (plain, ckpt):
        out = model(y, A)
        (out - x).pow(2).mean().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    (out_a, grads_a), (out_b, grads_b) = results
    assert torch.equal(out_a, out_b)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-8)
    assert all(float(g.abs().max()) > 0 for g in grads_a)


@pytest.mark.slow
def test_trained_lpd_beats_fbp():
    A, x_test, y_test = _ct(num=16, seed=20)
    _, x_train, y_train = _ct(num=32, seed=10)
    torch.manual_seed(0)
    model = LearnedPrimalDual(num_iter=4, n_primal=3, n_dual=3, features=8)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        idx = torch.randint(0, 32, (8,), generator=gen)
        loss = (model(y_train[idx], A) - x_train[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        fbp = float(psnr(classical.fbp(y_test, A), x_test).mean())
        trained = float(psnr(model(y_test, A), x_test).mean())
    # measured: FBP 13.70 dB, trained 15.46 dB (7.7 s CPU)
    assert trained > fbp + 0.8, (fbp, trained)


def test_trainer_starts_lpd_from_zero_unless_asked():
    from inverselab.training.trainer import TrainConfig, build_model

    assert build_model(TrainConfig("ct-ellipses-30", "lpd", {"features": 4})).initial is None
    fbp_start = TrainConfig("ct-ellipses-30", "lpd", {"features": 4, "initial": "fbp"})
    assert build_model(fbp_start).initial == "fbp"
    assert build_model(TrainConfig("ct-ellipses-30", "unrolled-pg", {"features": 4})).initial == "fbp"
