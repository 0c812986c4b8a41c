"""Contract-test factories for :mod:`inverselab.operators.blur` (dense references built in NumPy)."""

import numpy as np
import torch

from inverselab.operators import Blur, box_kernel, gaussian_kernel, motion_kernel

from ..registry import Case, register


def circulant_blur(shape, kernel) -> torch.Tensor:
    """The matrix of circular convolution, ``(A x)[i, j] = sum k[a, b] x[i - a + h//2, j - b + w//2]``."""
    C, H, W = shape
    k = np.asarray(kernel, dtype=np.float64)
    h, w = k.shape
    M = np.zeros((H * W, H * W))
    for i in range(H):
        for j in range(W):
            for a in range(h):
                for b in range(w):
                    M[i * W + j, ((i - a + h // 2) % H) * W + (j - b + w // 2) % W] += k[a, b]
    return torch.from_numpy(np.kron(np.eye(C), M))


@register(Blur)
def blur_gauss():
    k = gaussian_kernel(1.0, size=5)
    return Case(Blur((1, 8, 8), k), dense=circulant_blur((1, 8, 8), k))


@register(Blur, name="blur-box-even-nonsquare")
def blur_box_even():
    k = box_kernel((2, 3))
    return Case(Blur((2, 6, 7), k), dense=circulant_blur((2, 6, 7), k))


@register(Blur, name="blur-motion")
def blur_motion():
    k = motion_kernel(4, angle=30)
    return Case(Blur((1, 8, 8), k), dense=circulant_blur((1, 8, 8), k))


@register(Blur, name="blur-asymmetric")
def blur_asymmetric():
    # A non-symmetric kernel catches a missing flip or a wrong roll; it fills the whole image.
    k = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(2, 3) ** 1.5
    return Case(Blur((1, 2, 3), k), dense=circulant_blur((1, 2, 3), k))
