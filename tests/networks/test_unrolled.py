"""Learned proximal gradient and MoDL: exact classical limits, the CG data-consistency step, checkpointing,
config round trip, and a short training that beats the classical counterparts."""

from __future__ import annotations

import json
import math

import pytest
import torch

from inverselab.data import training_images
from inverselab.methods import classical
from inverselab.metrics import psnr
from inverselab.networks import MoDL, UnrolledProximalGradient
from inverselab.networks.unrolled import conjugate_gradient
from inverselab.operators import (
    MRI,
    Blur,
    ParallelBeamCT,
    gaussian_kernel,
    random_kspace_mask,
    sparse_view_angles,
)


def _deblur(size=16):
    A = Blur((1, size, size), gaussian_kernel(1.5))
    x = training_images("dead-leaves", 3, size=size, generator=0)
    y = A(x) + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    return A, x, y


def _ct(size=16, angles=8, num=3, seed=0):
    A = ParallelBeamCT(size, sparse_view_angles(angles))
    x = training_images("ellipses", num, size=size, generator=seed)
    Ax = A(x)
    return A, x, Ax + 0.3 * torch.randn(Ax.shape, generator=torch.Generator().manual_seed(seed + 1))


def _mri(size=16):
    A = MRI((size, size), random_kspace_mask((size, size), 4, 0.125, generator=0))
    x = training_images("ellipses", 2, size=size, generator=0)
    return A, x, A(x)


def _randomize_last_layers(model, seed=0):
    """Give the zero-initialized last CNN layers random weights (a trained-looking network)."""
    gen = torch.Generator().manual_seed(seed)
    cnns = model.proxes if isinstance(model, UnrolledProximalGradient) else [model.cnn]
    with torch.no_grad():
        for cnn in cnns:
            for p in cnn[-1].parameters():
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def _gradient_steps(y, A, x, num_iter, rel_steps):
    """Plain gradient descent on ½‖Ax - y‖² written out by hand: x <- x - (s_k / ‖A‖²) Re Aᴴ(Ax - y)."""
    L = A.norm() ** 2
    for k in range(num_iter):
        g = A.adjoint(A(x) - y)
        x = x - (rel_steps[k] / L) * (g.real if g.is_complex() else g)
    return x


# --- learned proximal gradient ------------------------------------------------------------------------------
@pytest.mark.parametrize("problem, initial", [(_deblur, "adjoint"), (_ct, "fbp"), (_mri, "zero-filled")])
def test_pg_with_zero_cnns_is_plain_gradient_descent(problem, initial):
    A, x, y = problem()
    A, y = A.double(), y.to(torch.complex128 if y.is_complex() else torch.float64)
    torch.manual_seed(0)
    model = UnrolledProximalGradient(num_iter=5, features=4, depth=3, initial=initial).double()
    for cnn in model.proxes:  # zero last layer (the default initialization; made explicit here)
        torch.nn.init.zeros_(cnn[-1].weight)
        torch.nn.init.zeros_(cnn[-1].bias)
    direct = {"adjoint": classical.adjoint, "fbp": classical.fbp, "zero-filled": classical.zero_filled}
    x0 = direct[initial](y, A)
    assert torch.equal(model.initial_reconstruction(y, A), x0)
    with torch.no_grad():
        out = model(y, A)
        expected = _gradient_steps(y, A, x0, 5, [1.0] * 5)  # eta = 1/‖A‖²
        assert out.shape == x0.shape and not out.is_complex()
        assert torch.allclose(out, expected, rtol=1e-10, atol=1e-12)
        assert float((expected - x0).abs().max()) > 1e-2  # the steps do move the image
        # learned relative steps: eta_k = s_k / ‖A‖²
        steps = [0.5, 1.5, 0.8, 1.0, 1.2]
        model.log_steps.copy_(torch.log(torch.tensor(steps, dtype=torch.float64)))
        assert torch.allclose(model.relative_steps(), torch.tensor(steps, dtype=torch.float64))
        assert torch.allclose(model(y, A), _gradient_steps(y, A, x0, 5, steps), rtol=1e-10, atol=1e-12)
        _randomize_last_layers(model)  # a non-zero CNN changes the result
        assert float((model(y, A) - expected).abs().max()) > 1e-3


def test_pg_config_round_trip_shared_weights_and_errors():
    A, x, y = _ct()
    for shared in (False, True):
        torch.manual_seed(0)
        model = UnrolledProximalGradient(num_iter=3, features=6, depth=3, shared=shared, initial="fbp")
        _randomize_last_layers(model)
        twin = UnrolledProximalGradient(**json.loads(json.dumps(model.config)))
        twin.load_state_dict(model.state_dict())
        assert twin.config == model.config and torch.equal(twin(y, A), model(y, A))
        assert len(model.proxes) == (1 if shared else 3)
        assert not hasattr(model, "net")
    cnn = (1 * 6 * 9 + 6) + (6 * 6 * 9 + 6) + (6 * 9 + 1)  # conv 1->6, 6->6, 6->1
    assert UnrolledProximalGradient(3, 6, 3, shared=False).num_parameters() == 3 * cnn + 3
    assert UnrolledProximalGradient(3, 6, 3, shared=True).num_parameters() == cnn + 3
    assert UnrolledProximalGradient().num_parameters() == 8 * (320 + 2 * 9248 + 289) + 8  # the defaults
    with pytest.raises(ValueError, match="initial"):
        UnrolledProximalGradient(initial="tv")
    with pytest.raises(ValueError, match="num_iter"):
        UnrolledProximalGradient(num_iter=0)
    with pytest.raises(TypeError, match="shared"):
        UnrolledProximalGradient(shared="yes")
    with pytest.raises(TypeError, match="A must be a ParallelBeamCT"):  # FBP needs a CT operator
        UnrolledProximalGradient(initial="fbp")(_deblur()[2], _deblur()[0])


# --- MoDL ---------------------------------------------------------------------------------------------------
@torch.no_grad()
def test_modl_data_consistency_solves_the_normal_equation():
    A, x, y = _ct(num=3)
    A, y = A.double(), y.double()
    z = torch.rand(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    model = MoDL(num_iter=1, features=4, depth=2, lam=0.01, cg_iter=60).double()
    L = A.norm() ** 2
    lam = 0.01 * L  # the absolute weight
    out = model.data_consistency(z, y, A)
    rhs = A.adjoint(y) + lam * z
    residual = A.normal(out) + lam * out - rhs
    per_item = residual.flatten(1).norm(dim=1) / rhs.flatten(1).norm(dim=1)
    assert float(per_item.max()) < 1e-8
    # each batch item is its own system: solving them one at a time gives the same answer
    single = torch.cat([model.data_consistency(z[i : i + 1], y[i : i + 1], A) for i in range(3)])
    assert torch.allclose(single, out, atol=1e-10)
    # few CG steps: a worse but still improving solve (the loop really iterates)
    model.cg_iter = 2
    few = model.data_consistency(z, y, A)
    few_res = float((A.normal(few) + lam * few - rhs).norm() / rhs.norm())
    start_res = float((A.normal(z) + lam * z - rhs).norm() / rhs.norm())
    assert 1e-4 < few_res < 0.5 * start_res
    # a huge weight returns z
    model.cg_iter = 10
    assert float((model.data_consistency(z, y, A, lam=1e8) - z).abs().max()) < 1e-6


def test_conjugate_gradient_matches_a_dense_solve_and_has_finite_gradients():
    gen = torch.Generator().manual_seed(0)
    M = torch.randn(2, 6, 6, dtype=torch.float64, generator=gen)
    M = M @ M.transpose(1, 2) + 0.5 * torch.eye(6, dtype=torch.float64)  # two different SPD systems
    b = torch.randn(2, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    x = conjugate_gradient(lambda v: (M @ v.unsqueeze(-1)).squeeze(-1), b, torch.zeros_like(b), 6)
    assert torch.allclose(x, torch.linalg.solve(M, b), atol=1e-8)
    # a right-hand side of zeros (residual exactly 0) stays at zero with finite gradients
    b0 = torch.zeros(1, 6, dtype=torch.float64, requires_grad=True)
    x0 = conjugate_gradient(lambda v: 2 * v, b0, torch.zeros_like(b0), 3)
    x0.sum().backward()
    assert torch.equal(x0, torch.zeros_like(x0)) and bool(torch.isfinite(b0.grad).all())


def test_modl_with_zero_cnn_is_iterated_tikhonov_and_config_round_trip():
    A, x, y = _deblur()
    A, y = A.double(), y.double()
    model = MoDL(num_iter=3, features=4, depth=3, lam=0.2, cg_iter=8).double()
    x0 = classical.adjoint(y, A)
    with torch.no_grad():
        expected = x0
        for _ in range(3):
            expected = model.data_consistency(expected, y, A)
        out = model(y, A)
    assert torch.allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert float((out - x0).abs().max()) > 1e-2
    assert model.lam == pytest.approx(0.2)
    _randomize_last_layers(model)
    twin = MoDL(**json.loads(json.dumps(model.config))).double()
    twin.load_state_dict(model.state_dict())
    assert twin.config == model.config and torch.equal(twin(y, A), model(y, A))
    assert not hasattr(model, "net")
    assert MoDL().num_parameters() == 320 + 3 * 9248 + 289 + 1  # the defaults: one CNN and lambda
    with pytest.raises(ValueError, match="lam"):
        MoDL(lam=0)
    with pytest.raises(ValueError, match="cg_iter"):
        MoDL(cg_iter=0)


# --- checkpointing ------------------------------------------------------------------------------------------
def _saved_bytes(fn) -> int:
    """Bytes of the tensors autograd saves for the backward pass while ``fn()`` runs."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, total


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (UnrolledProximalGradient, {"num_iter": 4, "features": 8, "depth": 3, "initial": "fbp"}),
        (MoDL, {"num_iter": 3, "features": 8, "depth": 3, "cg_iter": 4, "initial": "fbp"}),
    ],
)
def test_checkpointing_gives_the_same_outputs_and_gradients(cls, kwargs):
    A, x, y = _ct()
    torch.manual_seed(0)
    plain = cls(**kwargs)
    _randomize_last_layers(plain)
    ckpt = cls(**{**kwargs, "checkpointing": True})
    ckpt.load_state_dict(plain.state_dict())
    results = []
    for model in (plain, ckpt):
        out, saved = _saved_bytes(lambda model=model: model(y, A))
        (out - x).pow(2).mean().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()], saved))
    (out_a, grads_a, saved_a), (out_b, grads_b, saved_b) = results
    assert torch.equal(out_a, out_b)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-8)
    assert any(float(g.abs().max()) > 0 for g in grads_a)
    assert saved_b < 0.5 * saved_a  # and it does store less
    with torch.no_grad():  # no recording: checkpointing is skipped, same result
        assert torch.equal(ckpt(y, A), out_a)


# --- a short training beats the classical counterparts ------------------------------------------------------
def _train(model, A, steps, lr, seed=0):
    """Adam on 32 random-ellipse images (16 px, 8-angle CT, noise 0.3), batches of 8; held-out PSNR after."""
    _, x_train, y_train = _ct(num=32, seed=10)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, 32, (8,), generator=gen)
        loss = (model(y_train[idx], A) - x_train[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.slow
def test_trained_pg_beats_fbp_and_plain_gradient_steps():
    A, x_test, y_test = _ct(num=16, seed=20)
    torch.manual_seed(0)
    model = UnrolledProximalGradient(num_iter=4, features=8, depth=3, initial="fbp")
    with torch.no_grad():
        fbp = float(psnr(classical.fbp(y_test, A), x_test).mean())
        steps = float(psnr(_gradient_steps(y_test, A, classical.fbp(y_test, A), 4, [1.0] * 4), x_test).mean())
        untrained = float(psnr(model(y_test, A), x_test).mean())
    assert untrained == pytest.approx(steps, abs=1e-3)
    _train(model, A, steps=200, lr=3e-3)
    with torch.no_grad():
        trained = float(psnr(model(y_test, A), x_test).mean())
    # measured: FBP 13.70 dB, 4 gradient steps 15.39 dB, trained 16.61 dB (4.6 s CPU)
    assert trained > steps + 0.5 and trained > fbp + 1.5, (fbp, steps, trained)
    assert all(math.isfinite(s) and s > 0 for s in model.relative_steps().tolist())


@pytest.mark.slow
def test_trained_modl_beats_fbp_and_iterated_tikhonov():
    A, x_test, y_test = _ct(num=16, seed=20)
    torch.manual_seed(0)
    model = MoDL(num_iter=3, features=8, depth=3, cg_iter=5, initial="fbp")
    with torch.no_grad():
        fbp = float(psnr(classical.fbp(y_test, A), x_test).mean())
        tikhonov = float(psnr(model(y_test, A), x_test).mean())  # untrained: the CNN is zero
    _train(model, A, steps=200, lr=3e-3)
    with torch.no_grad():
        trained = float(psnr(model(y_test, A), x_test).mean())
    # measured: FBP 13.70 dB, 3 iterated-Tikhonov steps 16.45 dB, trained 17.02 dB (8 s CPU)
    assert trained > fbp + 2.0 and trained > tikhonov + 0.25, (fbp, tikhonov, trained)


def test_modl_gradients_stay_finite_when_cg_converges_exactly():
    """Single-coil Cartesian MRI: ``AᴴA`` is a projection and CG reaches the working precision in a few
    steps; the later steps must freeze instead of dividing rounding noise by rounding noise (that made every
    gradient NaN, and ``inverselab train mri-4x --model modl`` a NaN loss)."""
    A = MRI((32, 32), random_kspace_mask((32, 32), 4, 0.08, generator=0))
    x = training_images("ellipses", 2, size=32, generator=0)
    y = A(x)
    model = MoDL(num_iter=3, features=8, depth=3, cg_iter=10, initial="zero-filled")
    with torch.no_grad():
        model.cnn[-1].weight.normal_(0, 0.01, generator=torch.Generator().manual_seed(2))
    loss = ((model(y, A) - x) ** 2).mean()
    loss.backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in model.parameters())
    # the frozen steps keep the solution: the normal equations hold to float32 precision
    z, lam = training_images("dead-leaves", 2, size=32, generator=3), 0.05
    out = model.data_consistency(z, y, A, lam=lam)
    rhs = A.adjoint(y).real + lam * z
    residual = A.normal(out).real + lam * out - rhs
    assert float(residual.norm() / rhs.norm()) < 1e-5
