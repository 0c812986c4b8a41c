"""Iterative solvers (plain loops with explicit state, a stopping rule, a callback and a history) and direct
reconstruction methods.

Every iterative solver returns a :class:`SolverResult` ``(x, history, num_iter, converged)``.
"""

from . import admm as _admm_module
from . import cg as _cg_module
from . import pdhg as _pdhg_module
from . import proximal_gradient as _pg_module
from ._common import SolverResult
from .admm import admm, admm_tv
from .cg import cg, tikhonov_cg
from .pdhg import pdhg, stacked_norm, tv_pdhg
from .proximal_gradient import fista, gradient_descent, ista

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
]

# Direct methods and AMP are written separately; re-export them once they exist.
try:  # pragma: no cover - depends on which modules have landed
    from . import direct
    from .direct import *  # noqa: F403

    __all__ += list(direct.__all__)
except ImportError:
    pass
try:  # pragma: no cover
    from . import amp as _amp_module
    from .amp import *  # noqa: F403

    __all__ += list(_amp_module.__all__)
except ImportError:
    pass

# The shared result type wins over any same-named definition in the modules above.
from ._common import SolverResult  # noqa: E402, F811

__all__ = list(dict.fromkeys(__all__))
del _admm_module, _cg_module, _pdhg_module, _pg_module
