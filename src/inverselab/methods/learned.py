"""Learned methods as ``method(y, A, weights=...) -> x``: trained networks loaded by name or path.

- :func:`drunet`: the shipped multi-noise-level denoiser (or any denoiser weights) applied to a noisy image;
- :func:`unet`: a post-processing network after the direct method it was trained with (FBP + U-Net for CT,
  zero-filled + U-Net for MRI, "FBPConvNet");
- :func:`sparse_coder`: a LISTA-family network for the fixed matrix it was trained for (any kind), and
  :func:`lista`, :func:`lista_cp`, :func:`lista_cpss`, :func:`alista`, :func:`lamp`: one kind each, the last
  three with shipped weights for ``cs-sparse-250x500``;
- :func:`unrolled_pg`, :func:`modl`, :func:`lpd`, :func:`varnet`: unrolled networks that apply ``A`` inside
  each iteration (learned proximal gradient, MoDL, learned primal-dual, E2E VarNet for multi-coil MRI).

``weights`` is a shipped name (``inverselab list weights``), a name in a folder of
``INVERSELAB_WEIGHTS_PATH``, or a path to a ``.safetensors`` file written by ``inverselab train``. Networks
are loaded once per process (:func:`load_network` caches them) and never unpickled. The plug-and-play methods
take the same denoisers (``denoiser="drunet"``, see :mod:`inverselab.methods.pnp`).
"""

from __future__ import annotations

import functools
import os

import torch

from ..operators.base import LinearOperator
from .classical import _check

__all__ = [
    "drunet",
    "unet",
    "sparse_coder",
    "lista",
    "lista_cp",
    "lista_cpss",
    "alista",
    "lamp",
    "unrolled_pg",
    "modl",
    "lpd",
    "varnet",
    "load_network",
    "network_denoiser",
    "DEFAULT_DENOISER",
]

#: The shipped denoiser used by :func:`drunet` and by ``denoiser="drunet"`` in plug-and-play.
DEFAULT_DENOISER = "drunet-denoise"


def load_network(weights: str | os.PathLike) -> torch.nn.Module:
    """The network saved as ``weights`` (name or path), in eval mode, on the CPU, cached per file version.

    Raises:
        ValueError, FileNotFoundError: unknown name or missing file (the message lists the shipped names).
    """
    from ..weights import find_weights

    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights must be a weights name or a .safetensors path, got {type(weights).__name__}"
        )
    path = find_weights(weights).resolve()
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> torch.nn.Module:
    from ..weights import load_model

    return load_model(path)


def network_denoiser(
    weights: str | os.PathLike = DEFAULT_DENOISER, differentiable: bool = False, self_ensemble: bool = False
):
    """The denoiser network ``weights`` as a :class:`~inverselab.denoisers.NetworkDenoiser` ``D(x, sigma)``
    (``differentiable`` and ``self_ensemble`` as there).

    Raises:
        ValueError: ``weights`` holds a post-processing network, not a denoiser.
    """
    from ..denoisers import NetworkDenoiser
    from ..networks import PostProcess

    net = load_network(weights)
    if isinstance(net, PostProcess):
        raise ValueError(
            f"weights {str(weights)!r} hold a post-processing network (after {net.initial!r}), not a denoiser"
        )
    return NetworkDenoiser(net, differentiable=differentiable, self_ensemble=self_ensemble)


def drunet(
    y: torch.Tensor,
    A: LinearOperator,
    weights: str | os.PathLike = DEFAULT_DENOISER,
    sigma: float | None = None,
    self_ensemble: bool = False,
) -> torch.Tensor:
    """Denoise ``y`` with a trained denoiser: ``x = D(y, sigma)`` (``A`` must be the identity).

    Args:
        y: Noisy images ``(B, C, H, W)``; each channel is denoised as a grayscale image.
        A: The identity operator (a denoising problem).
        weights: Denoiser weights (name or path); default the shipped DRUNet (trained for
            ``sigma`` in ``[0, 50/255]``).
        sigma: Noise standard deviation; ``None`` estimates it per image
            (:func:`~inverselab.denoisers.estimate_sigma`). Presets pass their own.
        self_ensemble: Average over the 8 flips and quarter turns (8 times the time; +0.24 dB at sigma =
            25/255 for the shipped DRUNet, see :class:`~inverselab.denoisers.NetworkDenoiser`).

    Reference: K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool and R. Timofte, "Plug-and-play image
    restoration with deep denoiser prior" (DRUNet), IEEE TPAMI 44(10), 2021.
    """
    from ..denoisers import check_sigma, estimate_sigma
    from ..operators import Identity

    y = _check(y, A)
    if not isinstance(A, Identity):
        raise ValueError(
            f"A must be the identity for drunet (a denoiser), got {type(A).__name__}; for other operators "
            "use a plug-and-play method with denoiser='drunet' (pnp-fista, pnp-admm, hqs, red)"
        )
    if y.is_complex():
        raise TypeError("y must be real for drunet, got a complex tensor")
    level = estimate_sigma(y) if sigma is None else check_sigma("sigma", sigma)
    return network_denoiser(weights, self_ensemble=self_ensemble)(y, level)


def unet(y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None) -> torch.Tensor:
    """Post-processing network: ``x = x0 + U(x0)``, ``x0`` the direct method the network was trained after.

    Args:
        y: Measurements of ``A``.
        A: The operator of the problem the network was trained for (same kind and sampling; any image size
            works, but quality is only measured at the training preset's).
        weights: Post-processing weights (name or path), e.g. ``"unet-ct-sparse-60"``; required (the presets
            with shipped weights pass theirs).

    Reference: K. H. Jin, M. T. McCann, E. Froustey and M. Unser, "Deep convolutional neural network for
    inverse problems in imaging" (FBPConvNet), IEEE Trans. Image Process. 26(9), 2017.
    """
    from ..networks import PostProcess

    y = _check(y, A)
    if weights is None:
        from ..weights import list_weights

        names = ", ".join(r["name"] for r in list_weights() if r.get("initial")) or "none"
        raise ValueError(f"weights is required for unet: a post-processing network ({names}) or a path")
    model = load_network(weights)
    if not isinstance(model, PostProcess):
        raise ValueError(f"weights {str(weights)!r} hold a denoiser, not a post-processing network")
    model.to(device=y.device)
    with torch.no_grad():
        x = model(y, A)
    if tuple(x.shape[1:]) != tuple(A.in_shape):
        raise ValueError(
            f"weights {str(weights)!r} return {tuple(x.shape[1:])} images but A expects {tuple(A.in_shape)}: "
            "train a network for this operator's channels"
        )
    return x


def sparse_coder(
    y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None
) -> torch.Tensor:
    """A trained LISTA-family network (LISTA, LISTA-CP, LISTA-CPSS, ALISTA, LAMP) on vectors ``y``.

    Each network was trained for one fixed matrix (stored in its weights); ``A`` must be that matrix
    (``cs-sparse-250x500`` uses one matrix for every seed). Train one with
    ``inverselab train cs-sparse-250x500 --model alista`` (see :mod:`inverselab.training.sparse_coding`).

    Args:
        y: Measurements ``(B, m)``.
        A: The matrix operator the network was trained for.
        weights: Sparse-coding weights (name or path); required.

    Raises:
        ValueError: no weights, weights of another kind of network, or another matrix.

    References: K. Gregor and Y. LeCun, ICML 2010 (LISTA); X. Chen, J. Liu, Z. Wang and W. Yin, NeurIPS 2018
    (LISTA-CP, -CPSS); J. Liu, X. Chen, Z. Wang and W. Yin, ICLR 2019 (ALISTA); M. Borgerding, P. Schniter and
    S. Rangan, IEEE Trans. Signal Process. 2017 (LAMP).
    """
    y = _check(y, A)
    if weights is None:
        raise ValueError("weights is required: a LISTA-family network trained for this matrix (name or path)")
    net = load_network(weights)
    if not hasattr(net, "check_matrix"):
        raise ValueError(f"weights {str(weights)!r} hold a {type(net).__name__}, not a LISTA-family network")
    return _run_sparse(net, y, A)


def _run_sparse(net, y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """Run the sparse-coding network ``net`` on ``y`` after checking that ``A`` is its matrix."""
    net.check_matrix(A)
    net.to(device=y.device)
    with torch.no_grad():
        return net(y.to(net.A.dtype)).to(y.dtype)


def _network_of_kind(weights, model: str, exact: bool = False) -> torch.nn.Module:
    """The network ``weights`` (required), which must be a ``model`` network (exactly that class when
    ``exact``: ``"lista-cp"`` then refuses LISTA-CPSS weights)."""
    from ..networks import NETWORKS

    if weights is None:
        from ..weights import list_weights

        names = ", ".join(r["name"] for r in list_weights() if r.get("model") == model) or "none shipped"
        raise ValueError(f"weights is required for {model}: trained {model} weights ({names}) or a path")
    net = load_network(weights)
    cls = NETWORKS[model]
    if (type(net) is not cls) if exact else (not isinstance(net, cls)):
        raise ValueError(f"weights {str(weights)!r} hold a {type(net).__name__}, not a {model} network")
    return net


def _sparse_model(y: torch.Tensor, A: LinearOperator, weights, model: str) -> torch.Tensor:
    """:func:`sparse_coder` restricted to weights of exactly the kind ``model``."""
    y = _check(y, A)
    return _run_sparse(_network_of_kind(weights, model, exact=True), y, A)


def lista(y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None) -> torch.Tensor:
    """LISTA (Gregor & LeCun 2010; untied layers) for the fixed matrix it was trained for. None ships (16
    untied layers are 24 MB): train one with ``inverselab train cs-sparse-250x500 --model lista``."""
    return _sparse_model(y, A, weights, "lista")


def lista_cp(
    y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = "lista-cp-cs-sparse"
) -> torch.Tensor:
    """LISTA-CP (Chen et al. 2018, coupled weights, no support selection) for the fixed matrix it was trained
    for, by default the shipped tied network for ``cs-sparse-250x500`` (one ``W`` started at ALISTA's
    analytic weight, a learned step and threshold per layer; train others with ``inverselab train
    cs-sparse-250x500 --model lista-cp [--net tied=true] [--net init=analytic]``)."""
    return _sparse_model(y, A, weights, "lista-cp")


def lista_cpss(
    y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = "lista-cpss-cs-sparse"
) -> torch.Tensor:
    """LISTA-CPSS (Chen et al. 2018, support selection), by default the shipped tied network for
    ``cs-sparse-250x500`` (one ``W``, a learned step per layer)."""
    return _sparse_model(y, A, weights, "lista-cpss")


def alista(
    y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = "alista-cs-sparse"
) -> torch.Tensor:
    """ALISTA (Liu et al. 2019: analytic weight, learned steps and thresholds), by default the shipped
    network for ``cs-sparse-250x500``."""
    return _sparse_model(y, A, weights, "alista")


def lamp(
    y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = "lamp-cs-sparse"
) -> torch.Tensor:
    """Learned AMP (Borgerding, Schniter & Rangan 2017), by default the shipped network for
    ``cs-sparse-250x500``."""
    return _sparse_model(y, A, weights, "lamp")


def _unrolled(y: torch.Tensor, A: LinearOperator, weights, model: str) -> torch.Tensor:
    """Run the unrolled network ``weights`` (of the trainer's kind ``model``) on ``y`` without gradients."""

    y = _check(y, A)
    net = _network_of_kind(weights, model)
    net.to(device=y.device)
    with torch.no_grad():
        x = net(y, A)
    if tuple(x.shape[1:]) != tuple(A.in_shape):
        raise ValueError(
            f"weights {str(weights)!r} return {tuple(x.shape[1:])} images but A expects {tuple(A.in_shape)}"
        )
    return x


def unrolled_pg(y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None) -> torch.Tensor:
    """Unrolled proximal gradient: learned step sizes and CNN proximal steps
    (:class:`~inverselab.networks.UnrolledProximalGradient`), trained by ``inverselab train PRESET --model
    unrolled-pg``.

    Args:
        y: Measurements of ``A``.
        A: The operator of the problem the network was trained for (its kind; any instance).
        weights: Trained weights (name or path); required unless the preset passes its own.
    """
    return _unrolled(y, A, weights, "unrolled-pg")


def modl(y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None) -> torch.Tensor:
    """MoDL: a shared CNN denoiser alternated with conjugate-gradient data consistency
    (:class:`~inverselab.networks.MoDL`), trained by ``inverselab train PRESET --model modl``.

    Args:
        y: Measurements of ``A``.
        A: The operator of the problem the network was trained for.
        weights: Trained weights (name or path); required unless the preset passes its own.
    """
    return _unrolled(y, A, weights, "modl")


def lpd(y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None) -> torch.Tensor:
    """Learned primal-dual (:class:`~inverselab.networks.LearnedPrimalDual`), trained by ``inverselab train
    PRESET --model lpd``; the CT presets ship weights.

    Args:
        y: Measurements of ``A`` (e.g. a sinogram ``(B, 1, angles, detectors)``).
        A: The operator of the problem the network was trained for.
        weights: Trained weights (name or path); required unless the preset passes its own.
    """
    return _unrolled(y, A, weights, "lpd")


def varnet(y: torch.Tensor, A: LinearOperator, weights: str | os.PathLike | None = None) -> torch.Tensor:
    """End-to-end variational network for multi-coil MRI (:class:`~inverselab.networks.VarNet`): it estimates
    its own coil maps from the calibration lines, trained by ``inverselab train mri-8x-multicoil --model
    varnet``.

    Args:
        y: Multi-coil k-space of a :class:`~inverselab.operators.MultiCoilMRI` ``A``.
        A: The multi-coil MRI operator (only its mask is used by the network).
        weights: Trained weights (name or path); required unless the preset passes its own.
    """
    return _unrolled(y, A, weights, "varnet")
