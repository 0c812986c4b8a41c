import math

import pytest
import torch
from scipy import stats

from inverselab.data.sparse import bernoulli_gaussian, exact_sparse, sparse_cs_problem


def test_bernoulli_gaussian_statistics():
    num, n, eps = 200, 1000, 0.1
    x = bernoulli_gaussian(num, n, eps, generator=0, dtype=torch.float64)
    assert x.shape == (num, n) and x.dtype == torch.float64
    total = num * n
    frac = float((x != 0).double().mean())
    assert abs(frac - eps) < 4 * math.sqrt(eps * (1 - eps) / total)
    # E[x^2] = eps, Var[x^2] = 3 eps - eps^2.
    power = float((x**2).mean())
    assert abs(power - eps) < 4 * math.sqrt((3 * eps - eps**2) / total)
    # The nonzero values are standard normal.
    values = x[x != 0].numpy()
    assert stats.kstest(values, "norm").pvalue > 1e-3
    assert abs(values.mean()) < 4 / math.sqrt(values.size)


def test_bernoulli_gaussian_seeding():
    a = bernoulli_gaussian(3, 50, 0.2, generator=5)
    b = bernoulli_gaussian(3, 50, 0.2, generator=torch.Generator().manual_seed(5))
    c = bernoulli_gaussian(3, 50, 0.2, generator=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32
    # A generator continues its stream: two draws differ.
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(bernoulli_gaussian(2, 50, 0.5, g), bernoulli_gaussian(2, 50, 0.5, g))


def test_exact_sparse_support_and_signs():
    num, n, k = 400, 50, 5
    x = exact_sparse(num, n, k, generator=1, dtype=torch.float64)
    assert ((x != 0).sum(dim=1) == k).all()
    assert bool((x < 0).any()) and bool((x > 0).any())
    # Positions are uniform: each index is used num * k / n = 40 times on average.
    counts = (x != 0).sum(dim=0).double()
    assert stats.chisquare(counts.numpy()).pvalue > 1e-3
    values = x[x != 0].numpy()
    assert stats.kstest(values, "norm").pvalue > 1e-3
    pos = exact_sparse(num, n, k, generator=1, signed=False, dtype=torch.float64)
    assert ((pos != 0).sum(dim=1) == k).all() and bool((pos >= 0).all())
    assert stats.kstest(pos[pos != 0].numpy(), "halfnorm").pvalue > 1e-3
    assert torch.equal(exact_sparse(3, 10, 0, generator=2), torch.zeros(3, 10))
    assert torch.equal(exact_sparse(2, 30, 4, generator=9), exact_sparse(2, 30, 4, generator=9))


def test_sparse_cs_problem_noiseless_and_normalized():
    A, x, y = sparse_cs_problem(m=25, n=50, num=7, generator=3, dtype=torch.float64)
    assert A.in_shape == (50,) and A.out_shape == (25,)
    assert x.shape == (7, 50) and y.shape == (7, 25)
    assert torch.allclose(y, x @ A.matrix.T, atol=1e-12)
    assert torch.allclose(A.matrix.norm(dim=0), torch.ones(50, dtype=torch.float64), atol=1e-12)
    B, *_ = sparse_cs_problem(m=200, n=400, num=1, generator=3, normalize_columns=False)
    col_norms = B.matrix.norm(dim=0)
    assert float(col_norms.std()) > 0.02  # not normalized; entries N(0, 1/m): mean column norm ~ 1
    assert float(B.matrix.var()) == pytest.approx(1 / 200, rel=0.02)
    A2, x2, y2 = sparse_cs_problem(m=25, n=50, num=7, generator=3, dtype=torch.float64)
    assert torch.equal(A.matrix, A2.matrix) and torch.equal(x, x2) and torch.equal(y, y2)


@pytest.mark.parametrize("snr_db", [40.0, 20.0])
def test_sparse_cs_problem_snr(snr_db):
    A, x, y = sparse_cs_problem(num=200, snr_db=snr_db, generator=4, dtype=torch.float64)
    clean = A(x)
    measured = 20 * math.log10(float(clean.std()) / float((y - clean).std()))
    assert measured == pytest.approx(snr_db, abs=0.1)
    assert y.dtype == torch.float64 and sparse_cs_problem(num=2, generator=0)[2].dtype == torch.float32


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: bernoulli_gaussian(2, 10, 0.0), "sparsity"),
        (lambda: bernoulli_gaussian(2, 10, 1.0), "sparsity"),
        (lambda: bernoulli_gaussian(0, 10, 0.1), "num"),
        (lambda: bernoulli_gaussian(2, 0, 0.1), "n"),
        (lambda: bernoulli_gaussian(2, 10, 0.1, dtype=torch.int64), "dtype"),
        (lambda: bernoulli_gaussian(2, 10, 0.1, generator=-1), "seed"),
        (lambda: exact_sparse(2, 10, 11), "k"),
        (lambda: exact_sparse(2, 10, -1), "k"),
        (lambda: sparse_cs_problem(m=0, num=1), "m"),
        (lambda: sparse_cs_problem(sparsity=1.5, num=1), "sparsity"),
        (lambda: sparse_cs_problem(snr_db=float("nan"), num=1), "snr_db"),
        (lambda: sparse_cs_problem(num=0), "num"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        call()
