"""Registry of operator factories for the contract tests (lineax style).

A factory builds a *small* instance of an operator and may also return the operator's dense matrix computed
independently of the operator's own code (e.g. with NumPy/SciPy), which the contract test compares against.

Add a factory in ``tests/operators/factories/<module>.py``::

    @register(Blur)
    def blur_gauss():
        A = Blur((1, 8, 8), gaussian_kernel(1.0, size=5))
        return Case(A, dense=None)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import torch

from inverselab.operators import LinearOperator


@dataclass
class Case:
    """A small operator instance, and optionally its independently computed dense matrix (float64)."""

    op: LinearOperator
    dense: torch.Tensor | None = None
    gradcheck: bool = True


FACTORIES: dict[str, tuple[type, Callable[[], Case]]] = {}


def register(cls: type, name: str | None = None):
    """Register ``factory`` as building an instance of ``cls`` under ``name`` (default: the function name)."""

    def deco(factory: Callable[[], Case]) -> Callable[[], Case]:
        key = name or factory.__name__
        if key in FACTORIES:
            raise ValueError(f"duplicate operator factory {key!r}")
        FACTORIES[key] = (cls, factory)
        return factory

    return deco


def load_all() -> dict[str, tuple[type, Callable[[], Case]]]:
    """Import every module of ``tests/operators/factories`` so that their factories register."""
    from . import factories

    for info in pkgutil.iter_modules(factories.__path__):
        importlib.import_module(f"{factories.__name__}.{info.name}")
    return FACTORIES
