import math

import numpy as np
import pytest
import scipy.ndimage
import torch

from inverselab.operators import Blur, box_kernel, gaussian_kernel, motion_kernel

KERNELS = {
    "gauss": gaussian_kernel(1.3),
    "box": box_kernel(3),
    "motion": motion_kernel(7, angle=35),
}


def rand(*shape, seed=0, dtype=torch.float64):
    return torch.rand(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def test_gaussian_kernel_formula_and_default_size():
    k = gaussian_kernel(2.0)
    assert k.shape == (13, 13)  # 2 * ceil(3 sigma) + 1
    t = np.arange(-6, 7)
    ref = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / 8.0)
    np.testing.assert_allclose(k.numpy(), ref / ref.sum(), rtol=1e-13)
    assert gaussian_kernel(0.4, size=3).shape == (3, 3)


def test_motion_kernel_geometry():
    np.testing.assert_allclose(motion_kernel(5, 0)[2].numpy(), [0.2] * 5, rtol=1e-14)
    np.testing.assert_allclose(motion_kernel(5, 90).numpy(), motion_kernel(5, 0).T.numpy(), atol=1e-15)
    np.testing.assert_allclose(motion_kernel(5, 180).numpy(), motion_kernel(5, 0).numpy(), atol=1e-15)
    np.testing.assert_allclose(motion_kernel(4, 0)[2].numpy(), [0.125, 0.25, 0.25, 0.25, 0.125], rtol=1e-14)
    k = motion_kernel(6, 45)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(k.numpy(), np.rot90(k.numpy(), 2), atol=1e-15)  # point symmetric
    assert float(k[1, -2]) > 0.05 and float(k[1, 1]) == 0  # counter-clockwise: up and to the right
    assert motion_kernel(1, 17).tolist() == [[1.0]]


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_blur_preserves_constants_and_mean(name):
    A = Blur((2, 20, 24), KERNELS[name])
    c = torch.full((1, 2, 20, 24), 0.37, dtype=torch.float64)
    assert torch.allclose(A(c), c, atol=1e-14)
    assert torch.allclose(A.adjoint(c), c, atol=1e-14)
    x = rand(3, 2, 20, 24)
    assert torch.allclose(A(x).mean(dim=(-2, -1)), x.mean(dim=(-2, -1)), atol=1e-14)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_blur_matches_scipy_wrap_convolution(name):
    k = KERNELS[name]
    x = rand(2, 3, 17, 23, seed=1)
    A = Blur((3, 17, 23), k)
    ref = np.stack(
        [
            [scipy.ndimage.convolve(x[b, c].numpy(), k.numpy(), mode="wrap") for c in range(3)]
            for b in range(2)
        ]
    )
    assert np.abs(A(x).numpy() - ref).max() < 1e-13
    # float32 stays close to the float64 reference
    assert np.abs(A(x.float()).double().numpy() - ref).max() < 1e-5


def test_transfer_function_agrees_with_forward_and_adjoint():
    A = Blur((2, 16, 12), motion_kernel(6, angle=20))
    K = A.transfer_function()
    assert K.shape == (16, 12) and K.dtype == torch.complex128
    x = rand(2, 2, 16, 12, seed=2)
    assert torch.allclose(torch.fft.ifft2(K * torch.fft.fft2(x)).real, A(x), atol=1e-14)
    assert torch.allclose(torch.fft.ifft2(K.conj() * torch.fft.fft2(x)).real, A.adjoint(x), atol=1e-14)
    assert A.norm() == pytest.approx(float(K.abs().max()), rel=1e-14)
    assert A.transfer_function(dtype=torch.float32).dtype == torch.complex64
    # the documented convention: the rolled kernel's center sits at index (0, 0)
    k_pad = torch.fft.ifft2(K).real
    assert float(k_pad[0, 0]) == pytest.approx(float(A.kernel[3, 3]), abs=1e-15)


def test_transfer_function_solves_tikhonov_exactly():
    """(AᵀA + ρI)⁻¹ Aᵀ y by one FFT division satisfies the normal equations to rounding."""
    A = Blur((1, 32, 32), gaussian_kernel(2.0))
    y = rand(1, 1, 32, 32, seed=3)
    rho = 1e-2
    K = A.transfer_function()
    x = torch.fft.ifft2(K.conj() * torch.fft.fft2(y) / (K.abs() ** 2 + rho)).real
    residual = A.normal(x) + rho * x - A.adjoint(y)
    assert float(residual.norm() / A.adjoint(y).norm()) < 1e-13


def test_complex_input_is_blurred_part_by_part():
    A = Blur((1, 8, 8), gaussian_kernel(1.0))
    x = torch.complex(rand(1, 1, 8, 8, seed=4), rand(1, 1, 8, 8, seed=5))
    out = A(x)
    assert out.is_complex()
    assert torch.allclose(out, torch.complex(A(x.real), A(x.imag)))


def test_operator_moves_with_dtype():
    A = Blur((1, 8, 8), gaussian_kernel(1.0)).to(torch.float32)
    x = rand(1, 1, 8, 8, dtype=torch.float32)
    assert A(x).dtype == torch.float32 and A.kernel.dtype == torch.float32
    assert A.transfer_function().dtype == torch.complex128


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gaussian_kernel(-1.0), "sigma"),
        (lambda: gaussian_kernel(0.0), "sigma"),
        (lambda: gaussian_kernel(1.0, size=4), "size"),
        (lambda: box_kernel(0), "size"),
        (lambda: motion_kernel(0.5), "length"),
        (lambda: motion_kernel(3, angle=math.inf), "angle"),
        (lambda: Blur((1, 8, 8), torch.ones(3, 3, 3)), "kernel"),
        (lambda: Blur((1, 8, 8), torch.full((3, 3), math.nan)), "kernel"),
        (lambda: Blur((1, 8, 8), gaussian_kernel(2.0)), "kernel"),
        (lambda: Blur((8, 8), box_kernel(3)), "shape"),
        (lambda: Blur((1, 8, 8), box_kernel(3))(torch.zeros(1, 1, 8, 9)), "x"),
        (lambda: Blur((1, 8, 8), box_kernel(3)).adjoint(torch.zeros(1, 8, 8)), "y"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
