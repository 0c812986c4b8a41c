import pytest
import torch
import torch.nn.functional as F

from inverselab.operators import Blur, Downsampling, gaussian_kernel, operator_norm


def rand(*shape, seed=0):
    return torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("filter", ["gaussian", "box"])
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_constant_image_stays_constant(factor, filter):
    A = Downsampling((2, 24, 36), factor, filter=filter)
    y = A(torch.full((1, 2, 24, 36), 0.7, dtype=torch.float64))
    assert y.shape == (1, 2, 24 // factor, 36 // factor)
    assert torch.allclose(y, torch.full_like(y, 0.7), atol=1e-14)


def test_box_filter_is_average_pooling():
    x = rand(2, 3, 12, 12)
    for f in (2, 3, 4):
        assert torch.allclose(Downsampling((3, 12, 12), f, filter="box")(x), F.avg_pool2d(x, f), atol=1e-14)


def test_gaussian_filter_is_blur_then_decimation():
    x = rand(1, 1, 32, 32, seed=1)
    for f in (2, 3, 4):
        n = 30 if f == 3 else 32
        xs = x[..., :n, :n]
        blur = Blur((1, n, n), gaussian_kernel(f / 2))
        assert torch.allclose(Downsampling((1, n, n), f)(xs), blur(xs)[..., ::f, ::f], atol=1e-14)


def test_gaussian_filter_suppresses_aliasing():
    """A checkerboard (the highest frequency) would alias to a constant under bare decimation."""
    i = torch.arange(32)
    board = ((-1.0) ** (i[:, None] + i[None, :])).double()[None, None]
    assert float(board[..., ::2, ::2].abs().min()) == 1.0
    assert float(Downsampling((1, 32, 32), 2)(board).abs().max()) < 0.01  # gain exp(-pi^2 / 2)


def test_adjoint_is_zero_upsampling_then_correlation():
    A = Downsampling((1, 16, 16), 2)
    y = rand(1, 1, 8, 8, seed=2)
    up = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    up[..., ::2, ::2] = y
    assert torch.allclose(A.adjoint(y), Blur((1, 16, 16), gaussian_kernel(1.0)).adjoint(up), atol=1e-14)


@pytest.mark.parametrize("filter", ["gaussian", "box"])
def test_exact_norm_matches_power_iteration(filter):
    A = Downsampling((1, 24, 24), 3, filter=filter)
    assert A.norm() == pytest.approx(operator_norm(A, num_iter=2000, tol=1e-12), rel=1e-6)
    if filter == "box":
        assert A.norm() == pytest.approx(1 / 3, rel=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Downsampling((1, 20, 20), 5), "factor"),
        (lambda: Downsampling((1, 8, 8), 1), "factor"),
        (lambda: Downsampling((1, 8, 8), 2.5), "factor"),
        (lambda: Downsampling((1, 8, 8), 3), "factor=3"),
        (lambda: Downsampling((1, 8, 8), 2, filter="bicubic"), "filter"),
        (lambda: Downsampling((8, 8), 2), "shape"),
        (lambda: Downsampling((1, 8, 8), 2).adjoint(torch.zeros(1, 1, 8, 8)), "y"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
