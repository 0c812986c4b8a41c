"""inverselab: solve, train and benchmark inverse problems ``y = A(x) + noise`` with PyTorch.

Subpackages load on first use, so ``import inverselab`` stays fast (torch is imported only when needed).

Example:
    >>> import inverselab
    >>> inverselab.__version__
    '0.1.0'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "operators",
    "functionals",
    "solvers",
    "methods",
    "data",
    "metrics",
    "noise",
    "presets",
    "bench",
    "networks",
    "training",
    "denoisers",
    "robustness",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'inverselab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
