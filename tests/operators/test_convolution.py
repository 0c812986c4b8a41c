"""1-D circular convolution: agreement with SciPy, kernels, exact norm, argument errors."""

import numpy as np
import pytest
import scipy.ndimage
import torch

from inverselab.operators import Convolution1D, gaussian_pulse, ricker_wavelet


def test_matches_scipy_convolve1d_wrap():
    k = ricker_wavelet(2.0)
    x = torch.randn(3, 2, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    A = Convolution1D((2, 40), k)
    ref = scipy.ndimage.convolve1d(x.numpy(), k.numpy(), axis=-1, mode="wrap")
    assert np.allclose(A(x).numpy(), ref, atol=1e-12)


def test_kernels():
    g = gaussian_pulse(2.0)
    assert g.shape == (13,) and abs(float(g.sum()) - 1) < 1e-12 and int(g.argmax()) == 6
    r = ricker_wavelet(3.0)
    assert r.shape == (25,) and float(r[12]) == 1.0
    assert abs(float(r[12 + 3])) < 1e-12 and abs(float(r[12 - 3])) < 1e-12  # zero crossings at +-sigma
    assert abs(float(r.sum())) < 0.05 * float(r.abs().sum())  # nearly zero mean


def test_norm_and_frequency_response():
    A = Convolution1D(64, ricker_wavelet(3.0))
    x = torch.randn(2, 1, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    K = A.frequency_response()
    assert torch.allclose(torch.fft.ifft(K * torch.fft.fft(x)).real, A(x))
    assert A.norm() == pytest.approx(float(K.abs().max()))
    assert torch.allclose(A.normal(x), A.adjoint(A(x)))


def test_complex_input_and_float32():
    A = Convolution1D((1, 16), gaussian_pulse(1.0))
    x = torch.randn(1, 1, 16, dtype=torch.complex64, generator=torch.Generator().manual_seed(2))
    y = A(x)
    assert y.dtype == torch.complex64
    assert torch.allclose(y.real, A(x.real)) and torch.allclose(y.imag, A(x.imag))


@pytest.mark.parametrize(
    "shape, kernel, match",
    [
        ((1, 8), torch.ones(9, dtype=torch.float64), "kernel must not be longer"),
        ((1, 2, 8), torch.ones(3, dtype=torch.float64), "shape must be"),
        ((1, 8), torch.ones(3, 3, dtype=torch.float64), "kernel must have 1 dimensions"),
    ],
)
def test_bad_arguments(shape, kernel, match):
    with pytest.raises(ValueError, match=match):
        Convolution1D(shape, kernel)


def test_bad_kernel_arguments():
    with pytest.raises(ValueError, match="size must be an odd integer"):
        ricker_wavelet(1.0, size=4)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gaussian_pulse(0.0)
    with pytest.raises(TypeError, match="kernel must be a real tensor"):
        Convolution1D(8, torch.ones(3, dtype=torch.complex64))
