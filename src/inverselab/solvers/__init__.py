"""Iterative solvers (plain loops with explicit state, a stopping rule, a callback and a history) and direct
reconstruction methods.

Every iterative solver returns a :class:`SolverResult` ``(x, history, num_iter, converged)``, except the
diffusion posterior samplers :func:`dps` and :func:`pigdm`, which return their samples.
"""

from . import admm as _admm_module
from . import cg as _cg_module
from . import pdhg as _pdhg_module
from . import proximal_gradient as _pg_module
from ._common import SolverResult
from .admm import admm, admm_tv
from .cg import cg, tikhonov_cg
from .csgm import csgm
from .diffusion import dps, pigdm
from .pdhg import pdhg, stacked_norm, tv_pdhg
from .phase_retrieval import (
    fit_untrained_intensities,
    gerchberg_saxton,
    pnp_wirtinger_flow,
    spectral_init,
    wirtinger_flow,
)
from .pnp import hqs, pnp_admm, pnp_pgd, red, sigma_schedule
from .proximal_gradient import fista, gradient_descent, ista
from .untrained import UntrainedResult, fit_untrained

__all__ = [
    "SolverResult",
    "cg",
    "tikhonov_cg",
    "gradient_descent",
    "ista",
    "fista",
    "admm",
    "admm_tv",
    "pdhg",
    "tv_pdhg",
    "stacked_norm",
    "pnp_pgd",
    "pnp_admm",
    "hqs",
    "red",
    "sigma_schedule",
    "csgm",
    "dps",
    "pigdm",
    "fit_untrained",
    "UntrainedResult",
    "spectral_init",
    "wirtinger_flow",
    "gerchberg_saxton",
    "pnp_wirtinger_flow",
    "fit_untrained_intensities",
]

from . import amp as _amp_module
from . import direct
from .amp import *  # noqa: F403
from .direct import *  # noqa: F403

__all__ += [name for name in (*_amp_module.__all__, *direct.__all__) if name not in __all__]
from . import community as _community_module  # noqa: E402 - community detection (spectral, SBM BP)
from .community import *  # noqa: E402, F403

__all__ += _community_module.__all__
del _admm_module, _cg_module, _pdhg_module, _pg_module, _amp_module, _community_module
