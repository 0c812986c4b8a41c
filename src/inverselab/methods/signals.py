"""Methods for sparse 1-D signals as ``method(y, A, **params) -> x``: the LASSO by ADMM.

(FISTA/ISTA for the LASSO, AMP and the TV methods of :mod:`.classical` work on 1-D signals as they are.)
"""

from __future__ import annotations

import torch

from .._checks import check_number
from ..functionals import L1
from ..operators.base import LinearOperator
from ..solvers import admm as _admm
from .classical import _check

__all__ = ["admm_l1"]


def admm_l1(
    y: torch.Tensor,
    A: LinearOperator,
    lam: float = 0.01,
    rho: float = 1.0,
    num_iter: int = 300,
    cg_iter: int = 10,
    progress: bool = False,
) -> torch.Tensor:
    """ADMM for the LASSO ``min ½‖Ax - y‖² + λ‖x‖₁`` with the splitting ``x = z``: the x-update
    ``(AᴴA + ρI)x = Aᴴy + ρ(z - u)`` by ``cg_iter`` warm-started CG iterations, the z-update a soft threshold
    (Boyd, Parikh, Chu, Peleato & Eckstein 2011). Returns the exactly sparse ``z``.

    Example:
        >>> from inverselab.operators import Identity
        >>> admm_l1(torch.tensor([[3.0, -0.5]]), Identity((2,)), lam=1.0, num_iter=100)
        tensor([[2., -0.]])
    """
    y = _check(y, A)
    rho = check_number("rho", rho, low=0, low_inclusive=False)
    return _admm(y, A, L1(lam), rho=rho, cg_iter=cg_iter, num_iter=num_iter, tol=1e-7, progress=progress).x
