"""The unrolled sparse-coding networks: ISTA/AMP equivalence at initialization, shapes, config round trip."""

from __future__ import annotations

import json

import pytest
import torch

from inverselab.data.sparse import bernoulli_gaussian
from inverselab.functionals import L1
from inverselab.networks import ALISTA, LAMP, LISTA, LISTACP, LISTACPSS, NETWORKS
from inverselab.networks.lista import analytic_weight, soft_support_selection, support_percentages
from inverselab.operators import GaussianMatrix
from inverselab.solvers.amp import amp
from inverselab.solvers.proximal_gradient import ista
from inverselab.training.checkpoints import save_weights
from inverselab.weights import load_model

MODELS = {"lista": LISTA, "lista-cp": LISTACP, "lista-cpss": LISTACPSS, "alista": ALISTA, "lamp": LAMP}


@pytest.fixture(scope="module")
def problem():
    A = GaussianMatrix(120, 60, generator=0, normalize_columns=True)
    x = bernoulli_gaussian(16, 120, 0.1, generator=1, dtype=torch.float64)
    return A, x, A(x)


def _ista_iterates(y, A, lam, step, num_iter):
    iterates = []
    ista(
        y, A, L1(lam), step=step, x0=torch.zeros(y.shape[0], *A.in_shape, dtype=y.dtype), num_iter=num_iter,
        tol=0, callback=lambda k, x: iterates.append(x),
    )  # fmt: skip
    return iterates


@pytest.mark.parametrize(
    "cls",
    [LISTA, LISTACP, lambda A, K, lam: LISTACP(A, K, lam=lam, tied=True)],
    ids=["lista", "cp", "cp-tied"],
)
def test_untrained_lista_is_ista_iterate_by_iterate(problem, cls):
    A, x, y = problem
    lam, K = 0.05, 12
    net = cls(A, K, lam=lam).double()
    step = 1 / float(torch.linalg.matrix_norm(A.matrix, ord=2)) ** 2
    expected = _ista_iterates(y, A, lam, step, K)
    with torch.no_grad():
        got = net(y, return_all=True)
    assert len(got) == K
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert float((a - b).abs().max()) < 1e-6, f"layer {k + 1}"
    # and the iterates do move (not a trivial all-zero agreement)
    assert float(expected[-1].abs().max()) > 0.1


@pytest.mark.parametrize("tied", [True, False])
def test_untrained_lamp_is_amp_iterate_by_iterate(problem, tied):
    A, x, y = problem
    K = 15
    net = LAMP(A, K, tied=tied).double()
    expected = []
    amp(y, A, num_iter=K, tol=0, callback=lambda k, v: expected.append(v))
    with torch.no_grad():
        got = net(y, return_all=True)
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert float((a - b).abs().max()) < 1e-6, f"layer {k + 1}"
    nmse = float(((got[-1] - x) ** 2).sum() / (x**2).sum())
    assert nmse < 0.05  # AMP has converged well on this easy problem


@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_layers(problem, name):
    A, x, y = problem
    net = MODELS[name](A, 5)
    out = net(y.float())
    assert out.shape == (16, 120) and out.dtype == torch.float32
    outs = net(y.float(), return_all=True)
    assert len(outs) == 5 and torch.equal(outs[-1], out)
    assert torch.equal(net(y.float(), num_layers=3), outs[2])
    with pytest.raises(ValueError, match="num_layers"):
        net(y.float(), num_layers=6)
    with pytest.raises(ValueError, match="y must have trailing shape"):
        net(torch.zeros(2, 61))
    # layer_parameters partitions the trainable parameters
    ids = [id(p) for k in range(5) for p in net.layer_parameters(k)]
    assert sorted(ids) == sorted(id(p) for p in net.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_config_round_trip_through_weights_file(problem, name, tmp_path):
    A, x, y = problem
    torch.manual_seed(0)
    net = MODELS[name](A, 3)
    with torch.no_grad():  # move off the initialization so the loaded values matter
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    config = json.loads(json.dumps(net.config))
    assert config == net.config and "A" not in config
    path = save_weights(tmp_path / name, net, {"model": name, "network_config": net.config})
    twin = load_model(path)
    assert type(twin) is MODELS[name] and twin.config == net.config
    twin.check_matrix(A)
    with torch.no_grad():
        torch.testing.assert_close(twin(y.float()), net.eval()(y.float()))


@pytest.mark.parametrize("cls", [LISTACP, LISTACPSS])
def test_tied_variant_shares_one_weight_scaled_per_layer(problem, cls, tmp_path):
    A, x, y = problem
    K = 6
    tied, untied = cls(A, K, tied=True), cls(A, K)
    m, n = A.matrix.shape
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(tied) == m * n + 2 * K and count(untied) == K * (m * n + 1)
    # the shared W is trained with the first layer; each later layer adds only its step and threshold
    assert [p.numel() for p in tied.layer_parameters(0)] == [m * n, 1, 1]
    assert [p.numel() for p in tied.layer_parameters(3)] == [1, 1]
    # W_k = gamma_k W: an untied network holding those weights gives the same output
    torch.manual_seed(0)
    with torch.no_grad():
        tied.W.add_(0.001 * torch.randn_like(tied.W))
        for k in range(K):
            tied.gamma[k].fill_(1 + 0.1 * k)
            tied.theta[k].fill_(0.01 * (k + 1))
            untied.W[k].copy_((1 + 0.1 * k) * tied.W)
            untied.theta[k].fill_(0.01 * (k + 1))
        torch.testing.assert_close(tied(y.float()), untied(y.float()))
        name = "lista-cpss" if cls is LISTACPSS else "lista-cp"
        path = save_weights(tmp_path / "tied", tied, {"model": name, "network_config": tied.config})
        twin = load_model(path)
        assert twin.config["tied"] is True
        torch.testing.assert_close(twin(y.float()), tied(y.float()))
    with pytest.raises(TypeError, match="tied must be a bool"):
        cls(A, 2, tied=1)


@pytest.mark.parametrize("tied", [False, True])
def test_analytic_start_is_alista_without_support_selection(problem, tied, tmp_path):
    """``init="analytic"``: ``W_k = gamma_k V_k`` with ``V_k`` = ALISTA's analytic weight and unit steps, so
    the untrained LISTA-CP is ALISTA with ``p = 0`` (no support selection), layer by layer; it saves and
    loads like any network."""
    A, x, y = problem
    K = 5
    net = LISTACP(A, K, init="analytic", tied=tied)
    reference = ALISTA(A, K, p=0.0)
    with torch.no_grad():
        for a, b in zip(net(y.float(), return_all=True), reference(y.float(), return_all=True), strict=True):
            torch.testing.assert_close(a, b)
    m, n = A.matrix.shape
    count = sum(p.numel() for p in net.parameters())
    assert count == (m * n + 2 * K if tied else K * (m * n + 2))
    assert [p.numel() for p in net.layer_parameters(1)] == ([1, 1] if tied else [m * n, 1, 1])
    path = save_weights(tmp_path / "an", net, {"model": "lista-cp", "network_config": net.config})
    twin = load_model(path)
    assert twin.config["init"] == "analytic"
    with torch.no_grad():
        torch.testing.assert_close(twin(y.float()), net(y.float()))
    with pytest.raises(ValueError, match="init must be one of"):
        LISTACP(A, 2, init="zeros")


def test_check_matrix_rejects_another_matrix(problem):
    A, _, _ = problem
    net = LISTACP(A, 2)
    other = GaussianMatrix(120, 60, generator=1, normalize_columns=True)
    with pytest.raises(ValueError, match="differs from the matrix"):
        net.check_matrix(other)
    with pytest.raises(ValueError, match="60x120"):
        net.check_matrix(torch.zeros(50, 120))
    with pytest.raises(TypeError, match="A must be"):
        LISTA("matrix")
    with pytest.raises(ValueError, match="give A or both m and n"):
        LAMP(None, 3, m=5)
    with pytest.raises(ValueError, match="y must have the network's dtype torch.float32, got torch.float64"):
        net(torch.zeros(2, 60, dtype=torch.float64))


def test_placeholder_has_shapes_only():
    net = ALISTA(m=6, n=10, num_layers=2)
    assert net.A.shape == (6, 10) and not net.A.any()
    assert net.config == {"m": 6, "n": 10, "num_layers": 2, "lam": 0.4, "gamma": 1.0, "p": 1.2, "p_max": 13.0}


def test_networks_table_has_the_sparse_models():
    for name, cls in MODELS.items():
        assert NETWORKS[name] is cls


def test_analytic_weight_minimizes_frobenius_coherence():
    A = GaussianMatrix(80, 40, generator=2, normalize_columns=True).matrix
    W = analytic_weight(A)
    torch.testing.assert_close(torch.diagonal(W.T @ A), torch.ones(80, dtype=torch.float64))
    # any feasible perturbation (keeping diag(Wᵀ A) = 1) increases ‖Wᵀ A‖_F
    gen = torch.Generator().manual_seed(3)
    D = torch.randn(40, 80, generator=gen, dtype=torch.float64)
    D = D - A * (D * A).sum(0, keepdim=True)  # columns orthogonal to A's: diag((W + D)ᵀ A) unchanged
    base = float(torch.linalg.matrix_norm(W.T @ A))
    for t in (1e-3, 1e-2, 0.1):
        assert float(torch.linalg.matrix_norm((W + t * D).T @ A)) > base
    # the off-diagonal energy (the Frobenius coherence) is far below that of A itself (0.53 x here)
    assert base**2 - 80 < 0.6 * (float(torch.linalg.matrix_norm(A.T @ A)) ** 2 - 80)


def test_support_selection_schedule_and_bypass():
    assert support_percentages(12, 1.2, 13.0)[-2:] == [13.0, 13.0]
    assert support_percentages(3, 1.2, 13.0) == [1.2, 2.4, 3.6]
    v = torch.tensor([[5.0, -4.0, 3.0, 0.5, -0.2, 0.1, 0.0, 2.0, -1.0, 0.3]])
    # 20% of 10 entries: the two largest (5, -4) bypass; the rest are soft-thresholded at 1
    out = soft_support_selection(v, 1.0, 20.0)
    torch.testing.assert_close(out, torch.tensor([[5.0, -4.0, 2.0, 0, 0, 0, 0, 1.0, 0, 0]]))
    # an entry below the threshold never bypasses, even when among the largest
    out = soft_support_selection(v, 4.5, 20.0)
    torch.testing.assert_close(out, torch.tensor([[5.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]))
