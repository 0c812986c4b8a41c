"""Functionals ``F`` with ``value(x)`` (one value per batch item, shape ``(B,)``) and ``prox(x, step)``;
smooth ones also ``grad(x)``. See :mod:`.base` for the conventions."""

from . import base, constraints, l1_dct, l1_wavelet, l2, norms, total_variation, wavelets
from .base import *  # noqa: F403
from .constraints import *  # noqa: F403
from .l1_dct import *  # noqa: F403
from .l1_wavelet import *  # noqa: F403
from .l2 import *  # noqa: F403
from .norms import *  # noqa: F403
from .total_variation import *  # noqa: F403
from .wavelets import *  # noqa: F403

__all__ = [
    *base.__all__,
    *l2.__all__,
    *norms.__all__,
    *wavelets.__all__,
    *l1_wavelet.__all__,
    *l1_dct.__all__,
    *total_variation.__all__,
    *constraints.__all__,
]
