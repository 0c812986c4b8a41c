"""Deblur an image with total variation: the operator, noise and solver spelled out (runs in ~1 s on a CPU).

Run: ``.venv/bin/python examples/deblur_tv.py``
"""

import torch

from inverselab.data import load_sample
from inverselab.metrics import psnr
from inverselab.noise import GaussianNoise
from inverselab.operators import Blur, check_adjoint, gaussian_kernel
from inverselab.solvers import admm_tv, tikhonov_cg

x = load_sample("camera", size=128).unsqueeze(0)  # (1, 1, 128, 128) in [0, 1]
A = Blur(x.shape[1:], gaussian_kernel(2.0))
y = GaussianNoise(0.01)(A(x), torch.Generator().manual_seed(0))
print(f"dot-test error of A: {check_adjoint(A):.1e}, ||A|| = {A.norm():.3f}")

tik = tikhonov_cg(y, A, lam=0.01, num_iter=100)
tv = admm_tv(y, A, 5e-4, num_iter=100, x_true=x)
print(f"blurred    {float(psnr(y, x)[0]):.2f} dB")
print(f"Tikhonov   {float(psnr(tik.x, x)[0]):.2f} dB ({tik.num_iter} CG iterations)")
print(f"TV (ADMM)  {float(psnr(tv.x, x)[0]):.2f} dB ({tv.num_iter} iterations, converged={tv.converged})")
