"""fista-dct solves the DCT Lasso: with A = I its optimum is the prox, in closed form."""

import torch

from inverselab.functionals import L1DCT
from inverselab.methods import get_method
from inverselab.operators import Identity, Inpainting


def test_fista_dct_reaches_the_closed_form_optimum_for_denoising():
    y = torch.rand(1, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = get_method("fista-dct", lam=0.05, num_iter=50)(y, Identity((1, 8, 8)))
    assert torch.allclose(x, L1DCT(0.05, (1, 8, 8)).prox(y, 1.0), atol=1e-10)


def test_fista_dct_fills_a_smooth_image():
    t = torch.linspace(0, 1, 16, dtype=torch.float64)
    x_true = (0.5 + 0.3 * torch.cos(torch.pi * t)[:, None] * torch.cos(2 * torch.pi * t)[None, :])[None, None]
    mask = torch.rand(16, 16, generator=torch.Generator().manual_seed(1)) < 0.3
    A = Inpainting((1, 16, 16), mask)
    x = get_method("fista-dct", lam=1e-3, num_iter=300)(A(x_true), A)
    assert float((x - x_true).abs().max()) < 0.01  # 0.002 measured: nearly DCT-sparse, from 30% of pixels
