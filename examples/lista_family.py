"""The LISTA family on the 250x500 sparse-coding problem: the shipped networks beside ISTA and AMP, layer by
layer, then a 4-layer LISTA-CP trained here in seconds (runs in ~15 s on a CPU).

Every network is tied to the matrix it was trained for: the preset's fixed matrix (preset seed 0).

Run: ``.venv/bin/python examples/lista_family.py``
"""

import torch

from inverselab.functionals import L1
from inverselab.noise import make_generator
from inverselab.solvers import amp, ista
from inverselab.training.sparse_coding import (
    evaluate_nmse_db,
    sparse_coding_batch,
    sparse_coding_matrix,
    train_sparse_coding,
)
from inverselab.weights import load_model

A = sparse_coding_matrix("cs-sparse-250x500").float()  # the matrix of the shipped networks (float32, as they)
x, y = sparse_coding_batch(A.matrix, 200, make_generator(1234))  # 200 held-out Bernoulli-Gaussian vectors
nmse_db = lambda v: 10 * torch.log10(((v - x) ** 2).sum() / (x**2).sum()).item()  # noqa: E731

curves = {}
ista_hist = []
step = 1 / torch.linalg.matrix_norm(A.matrix, ord=2).item() ** 2
ista(
    y,
    A,
    L1(0.1),
    step=step,
    x0=torch.zeros_like(x),
    num_iter=16,
    tol=0,
    callback=lambda k, v: ista_hist.append(nmse_db(v)),
)
curves["ISTA"] = ista_hist
curves["AMP"] = amp(y, A, num_iter=16, tol=0, x_true=x).history["nmse_db"]
for name in ("lista-cp-cs-sparse", "lamp-cs-sparse", "lista-cpss-cs-sparse", "alista-cs-sparse"):
    net = load_model(name)
    net.check_matrix(A)  # refuses any other matrix
    curves[name.removesuffix("-cs-sparse")] = evaluate_nmse_db(net, y, x)

print("NMSE (dB) on 200 held-out vectors, by layer / iteration")
print("layer " + "".join(f"{k:>12}" for k in curves))
for layer in (4, 8, 12, 16):
    print(f"{layer:5d} " + "".join(f"{c[layer - 1]:12.1f}" for c in curves.values()))

# Train a small LISTA-CP (4 layers, stage-wise, from ALISTA's analytic weight); compare with 4 AMP iterations.
net, history = train_sparse_coding(
    "lista-cp",
    4,
    steps=(300, 100, 100),
    lr=5e-3,
    weight_lr=1e-5,
    model_kwargs={"tied": True, "init": "analytic"},
)
print(
    f"4-layer LISTA-CP trained in {history['seconds']:.0f} s: {evaluate_nmse_db(net, y, x)[-1]:.1f} dB "
    f"(before training {history['initial_nmse_db_per_layer'][-1]:.1f} dB, "
    f"AMP at 4 iterations {curves['AMP'][3]:.1f} dB)"
)
