"""Data: synthetic phantoms, dead-leaves images, bundled and user images, training images, sparse vectors.

Conventions: float32 tensors in ``[0, 1]`` (images); one image is ``(C, H, W)`` and a batch
``(num, C, H, W)``; randomness only from an explicit ``generator`` (a ``torch.Generator`` or an integer seed).
Optional and heavy dependencies (scikit-image, scikit-learn, Pillow) are imported only inside the functions
that need them.
"""

from . import digits as _digits_module
from . import images, phantoms, training
from .digits import *  # noqa: F403
from .images import *  # noqa: F403
from .phantoms import *  # noqa: F403
from .training import *  # noqa: F403

__all__ = [*phantoms.__all__, *images.__all__, *training.__all__, *_digits_module.__all__]

try:  # sparse vectors (Bernoulli-Gaussian, exactly sparse, CS problems)
    from . import sparse
    from .sparse import *  # noqa: F403

    __all__ += sparse.__all__
except ModuleNotFoundError as err:  # only while sparse.py does not exist yet; its own bugs still raise
    if err.name != f"{__name__}.sparse":
        raise

from . import signals  # noqa: E402 - 1-D test signals (spikes, piecewise constant, complex Gaussian)
from .signals import *  # noqa: E402, F403

__all__ += signals.__all__

from . import graphs  # noqa: E402 - stochastic block model graphs (community detection)
from .graphs import *  # noqa: E402, F403

__all__ += graphs.__all__
