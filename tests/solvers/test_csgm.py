"""CSGM: the least-squares optimum with a linear generator, the prior term, restart selection by measurement
loss on a generator with several local minima, batching, the model's state, history and validation."""

import math

import pytest
import torch
from torch import nn

from inverselab.networks.gan import DCGAN
from inverselab.networks.vae import VAE
from inverselab.operators import GaussianMatrix, Identity
from inverselab.solvers.csgm import csgm


class LinearGenerator(nn.Module):
    """Test double: ``decode(z) = W z`` reshaped to ``(N, 1, 4, 4)``; records the mode it ran in."""

    def __init__(self, latent_dim: int = 3, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.latent_dim = latent_dim
        self.W = nn.Parameter(torch.randn(16, latent_dim, dtype=torch.float64, generator=g) / 4)
        self.modes: list[bool] = []

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        return (z @ self.W.T).reshape(z.shape[0], 1, 4, 4)


class WigglyGenerator(nn.Module):
    """Test double with one latent coordinate and several local minima of ``‖y - G(z)‖²``:
    ``G(z) = (z, sin 4z)``."""

    latent_dim = 1

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat((z, torch.sin(4 * z)), dim=1)


def linear_problem(batch: int = 1, seed: int = 3):
    """A ``10 x 16`` Gaussian ``A``, a linear generator with ``k = 3`` and ``y`` outside its range."""
    G = LinearGenerator()
    A = GaussianMatrix((1, 4, 4), m=10, generator=1)
    y = torch.randn(batch, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return y, A, G


def ridge_solution(y: torch.Tensor, A: GaussianMatrix, G: LinearGenerator, lam: float):
    """``z* = argmin ‖y - A W z‖² + lam ‖z‖²`` in closed form, and ``W z*`` as images."""
    M = A.matrix @ G.W.detach()
    z = torch.linalg.solve(M.T @ M + lam * torch.eye(M.shape[1], dtype=M.dtype), M.T @ y.T).T
    return z, (z @ G.W.detach().T).reshape(-1, 1, 4, 4)


def test_linear_generator_reaches_the_least_squares_optimum():
    y, A, G = linear_problem()
    res = csgm(y, A, G, lam=0.0, num_restarts=4, num_iter=300, tol=0.0)
    _, x_ls = ridge_solution(y, A, G, 0.0)
    torch.testing.assert_close(res.x, x_ls, rtol=0, atol=1e-5)
    # convex problem: every restart ends at the same (optimal) measurement loss
    best = float(((A(x_ls) - y) ** 2).sum())
    assert res.history["restart_loss"] == pytest.approx([best] * 4, rel=1e-6)
    assert res.num_iter == 300 and not res.converged


def test_prior_weight_gives_the_ridge_solution_and_shrinks_z():
    y, A, G = linear_problem()
    norms = []
    for lam in (0.0, 0.3, 3.0):
        res = csgm(y, A, G, lam=lam, num_restarts=2, num_iter=300, tol=0.0)
        z_star, x_star = ridge_solution(y, A, G, lam)
        torch.testing.assert_close(res.x, x_star, rtol=0, atol=1e-5)
        z = torch.linalg.lstsq(G.W.detach(), res.x.reshape(1, 16).T).solution  # W has full column rank
        norms.append(float(torch.linalg.vector_norm(z)))
        assert norms[-1] == pytest.approx(float(torch.linalg.vector_norm(z_star)), rel=1e-4)
        # the objective recorded per iteration is the penalized one
        meas = float(((A(res.x) - y) ** 2).sum())
        assert res.history["objective"][-1] == pytest.approx(meas + lam * norms[-1] ** 2, rel=1e-6)
    assert norms[0] > norms[1] > norms[2]


def test_returns_the_restart_with_the_lowest_measurement_loss():
    G = WigglyGenerator()
    y = torch.tensor([[0.9, 1.0]], dtype=torch.float64)
    res = csgm(y, Identity((2,)), G, lam=0.0, num_restarts=8, num_iter=300, tol=0.0, generator=0)
    losses = res.history["restart_loss"]
    assert len(losses) == 8
    assert max(losses) > min(losses) + 0.5  # some restarts end in a worse local minimum
    (best,) = res.history["best_restart"]
    assert losses[best] == min(losses)
    x = res.x[0]
    assert float(((x - y[0]) ** 2).sum()) == pytest.approx(min(losses), rel=1e-9)
    assert float(x[1]) == pytest.approx(math.sin(4 * float(x[0])), abs=1e-12)  # x = G(z) of that restart
    # and it is the global minimum (found on a fine grid)
    z = torch.linspace(-4, 4, 800_001, dtype=torch.float64)
    f = (z - 0.9) ** 2 + (torch.sin(4 * z) - 1) ** 2
    assert float(x[0]) == pytest.approx(float(z[f.argmin()]), abs=1e-4)
    assert res.history["measurement_loss"][-1] == pytest.approx(min(losses), rel=1e-9)


def test_selection_uses_measurement_loss_not_the_penalized_objective():
    # y = (2, 1), lam = 1: the penalized objective has local minima at z ≈ 0.589 (measurement loss 2.077,
    # objective 2.424, the lowest objective) and z ≈ 1.721 (measurement loss 0.268, objective 3.229);
    # CSGM must report the second, the better fit to the measurements
    G = WigglyGenerator()
    y = torch.tensor([[2.0, 1.0]], dtype=torch.float64)
    res = csgm(y, Identity((2,)), G, lam=1.0, num_restarts=16, num_iter=300, tol=0.0, generator=0)
    losses = res.history["restart_loss"]
    assert any(abs(v - 2.077) < 1e-3 for v in losses) and any(abs(v - 0.268) < 1e-3 for v in losses)
    assert losses[res.history["best_restart"][0]] == min(losses)
    assert float(res.x[0, 0]) == pytest.approx(1.721, abs=1e-3)


def test_batch_items_are_solved_independently():
    y, A, G = linear_problem(batch=3)
    res = csgm(y, A, G, lam=0.1, num_restarts=2, num_iter=300, tol=0.0)
    assert res.x.shape == (3, 1, 4, 4)
    assert len(res.history["restart_loss"]) == 6 and len(res.history["best_restart"]) == 3
    _, x_star = ridge_solution(y, A, G, 0.1)
    torch.testing.assert_close(res.x, x_star, rtol=0, atol=1e-5)


def test_model_state_is_left_alone():
    y, A, G = linear_problem()
    G.train()
    res = csgm(y, A, G, num_restarts=2, num_iter=5)
    assert set(G.modes) == {False}  # decoded in eval mode
    assert G.training  # mode restored
    assert G.W.requires_grad and G.W.grad is None  # no gradient reached the model
    assert res.x.shape == (1, 1, 4, 4)
    G.eval()
    csgm(y, A, G, num_restarts=2, num_iter=2)
    assert not G.training


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_works_under_no_grad_and_inference_mode(context):
    y, A, G = linear_problem()
    want = csgm(y, A, G, num_restarts=2, num_iter=20).x
    with context():
        got = csgm(y, A, G, num_restarts=2, num_iter=20).x
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_generator_makes_runs_reproducible():
    G = WigglyGenerator()
    y = torch.tensor([[0.9, 1.0]], dtype=torch.float64)
    state = torch.random.get_rng_state()
    a = csgm(y, Identity((2,)), G, num_restarts=4, num_iter=3, generator=5)
    b = csgm(y, Identity((2,)), G, num_restarts=4, num_iter=3, generator=torch.Generator().manual_seed(5))
    c = csgm(y, Identity((2,)), G, num_restarts=4, num_iter=3, generator=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.history["restart_loss"] == b.history["restart_loss"] != c.history["restart_loss"]


def test_history_callback_and_stopping_rule():
    y, A, G = linear_problem()
    _, x_ls = ridge_solution(y, A, G, 0.0)
    seen = []
    res = csgm(
        y,
        A,
        G,
        lam=0.0,
        num_restarts=3,
        num_iter=2000,
        tol=1e-7,
        x_true=x_ls,
        callback=lambda k, x: seen.append((k, tuple(x.shape))),
    )
    assert res.converged and res.num_iter < 2000
    assert seen == [(k, (1, 1, 4, 4)) for k in range(1, res.num_iter + 1)]
    for key in ("objective", "measurement_loss", "relative_change", "latent_change", "psnr"):
        assert len(res.history[key]) == res.num_iter, key
    assert res.history["latent_change"][-1] <= 1e-7
    assert res.history["psnr"][-1] > 60
    zero = csgm(y, A, G, num_restarts=3, num_iter=0)  # the best starting code
    assert zero.num_iter == 0 and len(zero.history["restart_loss"]) == 3
    x0 = zero.x
    assert float(((A(x0) - y) ** 2).sum()) == pytest.approx(min(zero.history["restart_loss"]))


def test_dtype_follows_y():
    y, A, G = linear_problem()
    G.float()
    res = csgm(y, A, G, num_restarts=2, num_iter=3)
    assert res.x.dtype == torch.float64


@pytest.mark.parametrize(
    "make", [lambda: VAE(latent_dim=4, image_size=8, width=4), lambda: DCGAN(4, 8, width=4)]
)
def test_runs_with_the_package_models(make):
    torch.manual_seed(0)
    model = make().train()
    A = GaussianMatrix((1, 8, 8), m=24, generator=0).float()
    with torch.no_grad():
        x_true = model.eval().decode(torch.randn(1, 4))
    model.train()
    res = csgm(A(x_true), A, model, lam=0.0, num_restarts=5, num_iter=100, x_true=x_true)
    assert res.x.shape == (1, 1, 8, 8) and bool((res.x >= 0).all()) and bool((res.x <= 1).all())
    assert model.training and all(p.requires_grad and p.grad is None for p in model.parameters())
    # the truth is in the model's range: the measurements are fitted far better than by the start
    assert res.history["measurement_loss"][-1] < 0.05 * res.history["measurement_loss"][0]


def test_bad_arguments_name_them():
    y, A, G = linear_problem()
    for kwargs, match in [
        ({"lam": -1.0}, "lam must be >= 0"),
        ({"num_restarts": 0}, "num_restarts must be >= 1"),
        ({"num_iter": -1}, "num_iter must be >= 0"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"tol": -1e-3}, "tol must be >= 0"),
        ({"lam": float("nan")}, "lam must be finite"),
    ]:
        with pytest.raises(ValueError, match=match):
            csgm(y, A, G, **kwargs)
    with pytest.raises(TypeError, match="num_restarts must be an integer"):
        csgm(y, A, G, num_restarts=2.5)
    with pytest.raises(ValueError, match="y must have trailing shape"):
        csgm(torch.zeros(1, 9, dtype=torch.float64), A, G)
    with pytest.raises(ValueError, match="y must contain only finite"):
        csgm(torch.full((1, 10), float("nan")), A, G)
    with pytest.raises(TypeError, match="model must be a generative model"):
        csgm(y, A, nn.Linear(3, 16))
    with pytest.raises(TypeError, match="A must be an Operator"):
        csgm(y, torch.eye(10), G)
    with pytest.raises(ValueError, match=r"A.in_shape = \(1, 8, 8\)"):
        csgm(torch.zeros(1, 10), GaussianMatrix((1, 8, 8), m=10), G)
    with pytest.raises(ValueError, match="x_true must have trailing shape"):
        csgm(y, A, G, x_true=torch.zeros(1, 1, 4, 5))
