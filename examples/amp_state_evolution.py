"""AMP on a 250x500 Gaussian compressed-sensing problem, beside its state-evolution prediction.

Run: ``.venv/bin/python examples/amp_state_evolution.py``
"""

import torch

from inverselab.data import sparse_cs_problem
from inverselab.solvers import amp, phase_transition_rho, state_evolution

A, x, y = sparse_cs_problem(m=250, n=500, sparsity=0.1, num=200, generator=torch.Generator().manual_seed(0))
result = amp(y, A, num_iter=30, tol=0, x_true=x)
se = state_evolution(delta=0.5, sparsity=0.1, num_iter=30)
print("iteration  AMP NMSE (dB)  state evolution (dB)")
for t in (5, 10, 16, 30):
    print(f"{t:9d}  {result.history['nmse_db'][t - 1]:13.1f}  {se.nmse_db[t - 1]:20.1f}")
print(f"Donoho-Maleki-Montanari transition at delta=0.5: rho = {phase_transition_rho(0.5):.4f}")
