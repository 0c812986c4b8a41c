"""Values, gradients and proximal operators of the functionals, against brute-force minimization (SciPy)."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from inverselab.functionals import (
    L1,
    L1DCT,
    L21,
    Box,
    L2DataFidelity,
    NonNegative,
    SquaredL2,
    Tikhonov,
    Zero,
)
from inverselab.operators import Identity, to_dense

from ..operators.factories.base import matrix

GEN = torch.Generator().manual_seed(0)


def rand(*shape, complex=False):
    x = torch.randn(shape, dtype=torch.float64, generator=GEN)
    if complex:
        x = torch.complex(x, torch.randn(shape, dtype=torch.float64, generator=GEN))
    return x


def brute_force_prox(f, x: torch.Tensor, step: float) -> tuple[np.ndarray, float]:
    """argmin_z f(z) + |z - x|^2 / (2 step) for one small (1, n) input, by derivative-free minimization."""
    is_complex = x.is_complex()
    shape = x.shape

    def unpack(v):
        t = torch.from_numpy(v)
        return (
            torch.complex(t[: t.numel() // 2], t[t.numel() // 2 :]).reshape(shape)
            if is_complex
            else t.reshape(shape)
        )

    def objective(v):
        z = unpack(v)
        return float(f.value(z)[0] + (torch.abs(z - x) ** 2).sum() / (2 * step))

    start = torch.cat([x.real.ravel(), x.imag.ravel()]) if is_complex else x.ravel()
    best = None
    for _ in range(3):  # restarts from the previous optimum make Powell reliable on nonsmooth problems
        res = minimize(
            objective,
            start.numpy(),
            method="Powell",
            options={"xtol": 1e-12, "ftol": 1e-15, "maxfev": 200000},
        )
        start = torch.from_numpy(res.x)
        best = res
    return unpack(best.x), best.fun


def prox_objective(f, z, x, step):
    return float(f.value(z)[0] + (torch.abs(z - x) ** 2).sum() / (2 * step))


CASES = [
    ("l1", L1(0.7), (1, 5), False),
    ("l1-complex", L1(0.7), (1, 3), True),
    ("l21", L21(0.9, dim=1), (1, 2, 3), False),
    ("l21-complex", L21(0.9, dim=1), (1, 2, 2), True),
    ("tikhonov", Tikhonov(1.5), (1, 4), False),
    ("squared-l2", SquaredL2(torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)), (1, 3), False),
    ("nonnegative", NonNegative(), (1, 5), False),
    ("box", Box(-0.3, 0.4), (1, 5), False),
    ("zero", Zero(), (1, 3), False),
]


@pytest.mark.parametrize("name,f,shape,is_complex", CASES, ids=[c[0] for c in CASES])
def test_prox_against_brute_force(name, f, shape, is_complex):
    x = rand(*shape, complex=is_complex)
    step = 0.8
    z = f.prox(x, step)
    assert z.shape == x.shape
    if name in ("nonnegative", "box"):  # indicator: the prox is the projection
        lo, hi = (0.0, np.inf) if name == "nonnegative" else (-0.3, 0.4)
        assert torch.equal(z, torch.clamp(x, lo, hi if np.isfinite(hi) else None))
        assert float(f.value(z)[0]) == 0.0 and float(f.value(z - 1.0)[0]) == np.inf
        return
    z_bf, fun_bf = brute_force_prox(f, x, step)
    assert prox_objective(f, z, x, step) <= fun_bf + 1e-12
    assert torch.abs(z - z_bf).max() < 1e-5


@pytest.mark.parametrize("name,f,shape,is_complex", CASES, ids=[c[0] for c in CASES])
def test_prox_conjugate_is_moreau(name, f, shape, is_complex):
    """The closed-form conjugate proxes agree with Moreau's identity v - s prox_{F/s}(v/s)."""
    v = 2 * rand(*shape, complex=is_complex)
    for s in (0.3, 2.0):
        moreau = v - s * f.prox(v / s, 1 / s)
        assert torch.abs(f.prox_conjugate(v, s) - moreau).max() < 1e-12


def test_values():
    x = torch.tensor([[3.0, -4.0], [0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(L1(2.0).value(x), torch.tensor([14.0, 2.0], dtype=torch.float64))
    v = torch.tensor([[[3.0, 0.0], [4.0, 1.0]]], dtype=torch.float64)  # groups along dim 1: (3,4), (0,1)
    assert float(L21(2.0).value(v)[0]) == pytest.approx(12.0)
    z = torch.tensor([[3 + 4j]], dtype=torch.complex128)
    assert float(L1(1.0).value(z)[0]) == pytest.approx(5.0)
    assert torch.allclose(Tikhonov(2.0).value(x), torch.tensor([25.0, 1.0], dtype=torch.float64))
    assert float(Box(0, 1).value(torch.tensor([[0.0, 1.0]]))[0]) == 0.0
    assert float(Box(0, 1).value(torch.tensor([[0.0, 1.1]]))[0]) == np.inf


def test_smooth_gradients_match_autograd():
    A, M = matrix(4, 6, seed=1)
    y = rand(2, 4)
    x = rand(2, 6).requires_grad_(True)
    for f in (L2DataFidelity(y, A), Tikhonov(0.3), SquaredL2(rand(2, 6))):
        (auto,) = torch.autograd.grad(f.value(x).sum(), x)
        assert torch.abs(f.grad(x.detach()) - auto).max() < 1e-12
    assert torch.count_nonzero(Zero().grad(x.detach())) == 0
    assert L2DataFidelity(y, A).lipschitz == pytest.approx(
        float(torch.linalg.matrix_norm(M, 2)) ** 2, rel=1e-6
    )


def test_data_fidelity_prox_by_cg_is_explicit_and_exact():
    A, M = matrix(5, 4, seed=2)
    y, x = rand(1, 5), rand(1, 4)
    f = L2DataFidelity(y, A)
    step = 0.6
    exact = torch.linalg.solve(torch.eye(4, dtype=torch.float64) + step * M.T @ M, (x + step * y @ M).T).T
    assert torch.abs(f.prox(x, step, num_iter=4) - exact).max() < 1e-10  # CG is exact in n = 4 steps
    with pytest.raises(TypeError):
        f.prox(x, step)  # no hidden iteration budget


def test_complex_data_fidelity_keeps_complex_gradient():
    A = Identity((3,), complex=True)
    y = rand(1, 3, complex=True)
    assert torch.allclose(L2DataFidelity(y, A).grad(torch.zeros_like(y)), -y)
    assert to_dense(A).shape == (3, 3)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="lam must be >= 0"):
        L1(-1.0)
    with pytest.raises(ValueError, match="step must be > 0"):
        L1(1.0).prox(torch.ones(1, 2), 0.0)
    with pytest.raises(ValueError, match="high must be >= 0.5"):
        Box(0.5, 0.1)
    with pytest.raises(TypeError, match="x must be real"):
        NonNegative().prox(torch.ones(1, 2, dtype=torch.complex64), 1.0)
    with pytest.raises(ValueError, match="more than dim=1"):
        L21(1.0).value(torch.ones(3))


@pytest.mark.parametrize("threshold_dc", [False, True])
def test_l1_dct_value_and_exact_prox(threshold_dc):
    """Against SciPy's orthonormal DCT: the value, the coefficient-wise soft threshold, and optimality."""
    from scipy.fft import dctn

    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 1, 6, 4, dtype=torch.float64, generator=g)
    f = L1DCT(0.3, (1, 6, 4), threshold_dc=threshold_dc)
    c = dctn(x[0, 0].numpy(), norm="ortho")
    free = np.zeros_like(c, dtype=bool)
    free[0, 0] = not threshold_dc
    assert float(f.value(x)[0]) == pytest.approx(0.3 * np.abs(c[~free]).sum(), rel=1e-12)
    step = 0.7
    z = f.prox(x, step)
    cz = dctn(z[0, 0].numpy(), norm="ortho")
    expected = np.where(free, c, np.sign(c) * np.maximum(np.abs(c) - 0.3 * step, 0))
    assert np.abs(cz - expected).max() < 1e-12
    obj = lambda v: f.value(v) + ((v - x) ** 2).sum(dim=(1, 2, 3)) / (2 * step)  # noqa: E731
    for _ in range(5):
        assert bool((obj(z + 1e-3 * torch.randn(z.shape, dtype=z.dtype, generator=g)) > obj(z)).all())
