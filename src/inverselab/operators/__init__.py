"""Forward operators: every one a ``torch.nn.Module`` with an exact adjoint (see :mod:`.base`).

Each module lists its public names in ``__all__``; this package re-exports them all.
"""

from . import (
    base,
    blur,
    compressed_sensing,
    convolution,
    inpainting,
    mri,
    phase_retrieval,
    resampling,
    tomography,
)
from .base import *  # noqa: F403
from .blur import *  # noqa: F403
from .compressed_sensing import *  # noqa: F403
from .convolution import *  # noqa: F403
from .inpainting import *  # noqa: F403
from .mri import *  # noqa: F403
from .phase_retrieval import *  # noqa: F403
from .resampling import *  # noqa: F403
from .tomography import *  # noqa: F403

__all__ = [
    *base.__all__,
    *blur.__all__,
    *compressed_sensing.__all__,
    *inpainting.__all__,
    *mri.__all__,
    *resampling.__all__,
    *tomography.__all__,
    *convolution.__all__,
    *phase_retrieval.__all__,
]
