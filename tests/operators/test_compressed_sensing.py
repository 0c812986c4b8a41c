import math

import numpy as np
import pytest
import scipy.fft
import scipy.linalg
import torch

from inverselab.operators import GaussianMatrix, SubsampledDCT, SubsampledHadamard, dct_matrix, fwht


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def test_gaussian_matrix_statistics_and_unit_columns():
    M = GaussianMatrix(500, 250, generator=0).matrix
    assert M.shape == (250, 500)
    assert float(M.var()) * 250 == pytest.approx(1.0, abs=0.03)  # sd of the estimate ~0.004
    assert abs(float(M.mean())) * math.sqrt(250) < 0.02
    U = GaussianMatrix(500, 250, generator=0, normalize_columns=True).matrix
    assert torch.allclose(U.norm(dim=0), torch.ones(500, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(U / U.norm(dim=0), M / M.norm(dim=0))  # same draw, rescaled columns


def test_gaussian_matrix_is_seeded_and_acts_on_flattened_signal():
    A = GaussianMatrix((2, 4, 4), 10, generator=7)
    assert torch.equal(A.matrix, GaussianMatrix((2, 4, 4), 10, generator=7).matrix)
    assert not torch.equal(A.matrix, GaussianMatrix((2, 4, 4), 10, generator=8).matrix)
    x = randn(3, 2, 4, 4)
    assert torch.allclose(A(x), x.reshape(3, 32) @ A.matrix.T)
    assert A(x.float()).dtype == torch.float32


def test_dct_matrix_and_full_transform_match_scipy():
    np.testing.assert_allclose(
        dct_matrix(7).numpy(), scipy.fft.dct(np.eye(7), norm="ortho", axis=0), atol=1e-14
    )
    A = SubsampledDCT((2, 64, 48), fraction=1.0)
    x = randn(2, 2, 64, 48)
    ref = scipy.fft.dctn(x.numpy(), axes=(-2, -1), norm="ortho").reshape(2, -1)
    assert np.abs(A(x).numpy() - ref).max() < 1e-12
    assert torch.allclose(A.adjoint(A(x)), x, atol=1e-12)  # full selection: orthogonal


@pytest.mark.parametrize(
    "make",
    [
        lambda: SubsampledDCT((3, 32, 32), fraction=0.3, generator=1, low_fraction=0.02),
        lambda: SubsampledHadamard((2, 32, 32), fraction=0.3, generator=1),
    ],
    ids=["dct", "hadamard"],
)
def test_rows_are_orthonormal(make):
    A = make()
    m = A.out_shape[0]
    assert m == round(0.3 * math.prod(A.in_shape))
    y = randn(4, m, seed=2)
    assert float((A(A.adjoint(y)) - y).norm() / y.norm()) < 1e-13
    assert A.indices.unique().numel() == m and torch.equal(A.indices, A.indices.sort().values)
    assert A.norm() == 1.0


def test_dct_keeps_the_lowest_frequencies():
    A = SubsampledDCT((2, 16, 16), m=100, generator=3, low_fraction=0.02)  # 10 of 512 coefficients
    low = {(c, 0, 0) for c in range(2)} | {(c, i, j) for c in range(2) for i, j in [(0, 1), (1, 0)]}
    kept = {tuple(np.unravel_index(int(k), (2, 16, 16))) for k in A.indices}
    assert low <= kept
    assert not torch.equal(
        A.indices, SubsampledDCT((2, 16, 16), m=100, generator=4, low_fraction=0.02).indices
    )


def test_fwht_matches_scipy_hadamard_and_full_operator_is_orthogonal():
    x = randn(3, 64)
    assert torch.allclose(fwht(x), x @ torch.from_numpy(scipy.linalg.hadamard(64)).double(), atol=1e-12)
    A = SubsampledHadamard(1024, fraction=1.0, generator=5)
    z = randn(2, 1024, seed=1)
    assert torch.allclose(A(z).norm(dim=1), z.norm(dim=1), rtol=1e-13)
    assert torch.allclose(A.adjoint(A(z)), z, atol=1e-13)
    assert set(A.signs.tolist()) == {-1.0, 1.0} and abs(float(A.signs.mean())) < 0.1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: SubsampledHadamard((1, 6, 6), m=4), "in_shape"),
        (lambda: SubsampledHadamard(16, fraction=0.0), "fraction"),
        (lambda: SubsampledDCT((1, 8, 8), fraction=1.5), "fraction"),
        (lambda: SubsampledDCT((1, 8, 8), m=65), "m"),
        (lambda: SubsampledDCT((1, 8, 8), m=4, fraction=0.5), "m and fraction"),
        (lambda: SubsampledDCT((1, 8, 8)), "m and fraction"),
        (lambda: SubsampledDCT((1, 8, 8), m=4, low_fraction=0.5), "low_fraction"),
        (lambda: SubsampledDCT((1, 1, 8, 8), m=4), "in_shape"),
        (lambda: GaussianMatrix(10, 0), "m"),
        (lambda: GaussianMatrix((0, 3), 2), "in_shape"),
        (lambda: GaussianMatrix(10, 3)(torch.zeros(2, 11)), "x"),
        (lambda: fwht(torch.zeros(2, 12)), "power of 2"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fractional_m_points_to_fraction():
    with pytest.raises(TypeError, match=r"fraction=0.25"):
        SubsampledDCT((1, 8, 8), 0.25)
