"""Classical denoisers called ``denoiser(x, sigma) -> x``, for plug-and-play and RED.

Every denoiser takes a batch ``x`` of shape ``(B, C, H, W)`` and a noise level ``sigma`` (the standard
deviation of the noise it should remove, in the units of ``x``) and returns a tensor of ``x``'s shape. Any
callable with that signature works with the plug-and-play solvers, including the learned networks
(:class:`~inverselab.networks.DnCNN`, :class:`~inverselab.networks.DRUNet`).

Two of the denoisers here are proximal operators of documented convex functionals, so that plug-and-play
with them solves a known convex problem (see :mod:`inverselab.solvers.pnp`):

- :class:`WaveletDenoiser`: ``D(x, σ) = prox_{fσ‖W_d ·‖₁}(x)``, exactly (orthonormal wavelet).
- :class:`TVDenoiser`: ``D(x, σ) ≈ prox_{wσ TV}(x)``, by an explicit number of dual iterations.

:class:`BM3DDenoiser` wraps the optional ``bm3d`` package (``pip install bm3d``), and
:class:`NetworkDenoiser` a trained network (:class:`~inverselab.networks.DRUNet`,
:class:`~inverselab.networks.DnCNN`), e.g. the shipped ``drunet-denoise`` weights. :func:`estimate_sigma`
estimates the noise level of an image when it is not known.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real

import torch

from ._checks import check_number, check_tensor

__all__ = [
    "WaveletDenoiser",
    "TVDenoiser",
    "BM3DDenoiser",
    "NetworkDenoiser",
    "estimate_sigma",
    "check_denoiser",
    "check_sigma",
]


def check_sigma(name: str, sigma: object) -> float:
    """``sigma`` as a float; a ``ValueError``/``TypeError`` naming ``name`` unless a finite number > 0."""
    if isinstance(sigma, bool) or not isinstance(sigma, Real):
        raise TypeError(f"{name} must be a positive number (a noise level), got {type(sigma).__name__}")
    return float(check_number(name, sigma, low=0, low_inclusive=False))


def check_denoiser(name: str, denoiser: object) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """``denoiser`` unchanged, or a ``TypeError`` naming ``name`` unless it is callable."""
    if not callable(denoiser):
        raise TypeError(
            f"{name} must be callable as {name}(x, sigma) -> x (e.g. WaveletDenoiser(), a DnCNN), "
            f"got {type(denoiser).__name__}"
        )
    return denoiser  # type: ignore[return-value]


def _check_image(x: object) -> torch.Tensor:
    return check_tensor("x", x, ndim=4)


class WaveletDenoiser:
    """Soft thresholding of orthonormal wavelet detail coefficients at ``factor · sigma``.

    ``D(x, σ) = Wᵀ soft(W x, fσ)`` on the detail coefficients (the coarsest approximation block is kept),
    with ``W`` the orthonormal periodized DWT of :class:`~inverselab.functionals.Wavelet`. Because ``W`` is
    orthonormal this is exactly the prox of ``g_σ(x) = fσ ‖W_d x‖₁``, i.e. of
    ``L1Wavelet(f σ, shape, wavelet, levels)`` with step 1 (:meth:`functional` returns it), so plug-and-play
    with this denoiser solves a known convex problem.

    Reference: D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
    Biometrika 81(3), 1994.

    Args:
        wavelet: Orthogonal PyWavelets wavelet name (``'haar'``, ``'db1'``...``'db38'``, ``'sym4'``, ...).
        levels: Number of decomposition levels; ``H`` and ``W`` must be divisible by ``2**levels``.
        factor: Threshold per unit of ``sigma`` (> 0); ``3`` is about the universal threshold
            ``σ √(2 ln n)`` for a 64 x 64 image.

    Example:
        >>> import torch
        >>> D = WaveletDenoiser("haar", levels=1, factor=1.0)
        >>> x = torch.ones(1, 1, 4, 4)  # constant image: no detail coefficients to shrink
        >>> bool(torch.allclose(D(x, 0.5), x))
        True
    """

    def __init__(self, wavelet: str = "db4", levels: int = 4, factor: float = 1.0):
        from .functionals.wavelets import _pywt_filters

        _pywt_filters(wavelet)  # validates the name
        self.wavelet = wavelet
        self.levels = int(check_number("levels", levels, low=1, integer=True))
        self.factor = float(check_number("factor", factor, low=0, low_inclusive=False))

    def functional(self, sigma: float, shape: tuple[int, ...]):
        """The convex functional ``g_σ = fσ ‖W_d ·‖₁`` whose prox (step 1) this denoiser is, for signals of
        ``shape`` ``(C, H, W)``."""
        from .functionals import L1Wavelet

        sigma = check_sigma("sigma", sigma)
        return L1Wavelet(self.factor * sigma, shape, wavelet=self.wavelet, levels=self.levels)

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        x = _check_image(x)
        return self.functional(sigma, tuple(x.shape[1:])).prox(x, 1.0)

    def __repr__(self) -> str:
        return f"WaveletDenoiser(wavelet={self.wavelet!r}, levels={self.levels}, factor={self.factor})"


class TVDenoiser:
    """Total-variation (ROF) denoising: ``D(x, σ) ≈ prox_{wσ TV}(x) = argmin_z ½‖z - x‖² + wσ TV(z)``.

    The prox is computed by ``num_iter`` iterations of fast gradient projection on the dual
    (:func:`~inverselab.functionals.tv_prox`), from a zero dual each call: the count is explicit, there is
    no hidden budget. Periodic differences, isotropic TV by default.

    Reference: L. Rudin, S. Osher and E. Fatemi, "Nonlinear total variation based noise removal algorithms",
    Physica D 60, 1992; A. Beck and M. Teboulle, IEEE Trans. Image Process. 18(11), 2009 (FGP).

    Args:
        weight: TV weight per unit of ``sigma`` (> 0).
        num_iter: FGP dual iterations per call (>= 1).
        isotropic: Isotropic or anisotropic TV.

    Example:
        >>> import torch
        >>> D = TVDenoiser(weight=1.0, num_iter=200)
        >>> D(torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]]), 0.25)
        tensor([[[[0.2500, 0.2500, 0.7500, 0.7500]]]])
    """

    def __init__(self, weight: float = 1.0, *, num_iter: int, isotropic: bool = True):
        self.weight = float(check_number("weight", weight, low=0, low_inclusive=False))
        self.num_iter = int(check_number("num_iter", num_iter, low=1, integer=True))
        self.isotropic = bool(isotropic)

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        from .functionals import tv_prox

        x = _check_image(x)
        sigma = check_sigma("sigma", sigma)
        return tv_prox(x, self.weight * sigma, num_iter=self.num_iter, isotropic=self.isotropic)[0]

    def __repr__(self) -> str:
        return f"TVDenoiser(weight={self.weight}, num_iter={self.num_iter}, isotropic={self.isotropic})"


class BM3DDenoiser:
    """BM3D through the optional ``bm3d`` package (``pip install bm3d``; not a dependency of inverselab).

    Each image and channel is denoised separately on the CPU in float64 (``bm3d.bm3d(z, sigma_psd=σ)``),
    and the result returned on ``x``'s device and dtype. Slow (seconds per 512 x 512 image) and not
    differentiable.

    Reference: K. Dabov, A. Foi, V. Katkovnik and K. Egiazarian, "Image denoising by sparse 3-D
    transform-domain collaborative filtering", IEEE Trans. Image Process. 16(8), 2007.

    Args:
        profile: BM3D profile name passed to ``bm3d.bm3d`` (``'np'`` normal, ``'refilter'``, ``'vn'``,
            ``'high'``, ``'deb'``).

    Raises:
        ImportError: ``bm3d`` is not installed.
    """

    def __init__(self, profile: str = "np"):
        try:
            import bm3d  # noqa: F401
        except ImportError:
            raise ImportError(
                "BM3DDenoiser needs the optional package bm3d, which is not installed: pip install bm3d"
            ) from None
        if not isinstance(profile, str):
            raise TypeError(f"profile must be a BM3D profile name such as 'np', got {type(profile).__name__}")
        self.profile = profile

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        import bm3d
        import numpy as np

        x = _check_image(x)
        if x.is_complex():
            raise TypeError("x must be real for BM3D, got a complex tensor")
        sigma = check_sigma("sigma", sigma)
        data = x.detach().cpu().to(torch.float64).numpy()
        out = np.empty_like(data)
        for b in range(data.shape[0]):
            for c in range(data.shape[1]):
                out[b, c] = bm3d.bm3d(data[b, c], sigma_psd=sigma, profile=self.profile)
        return torch.from_numpy(out).to(device=x.device, dtype=x.dtype)

    def __repr__(self) -> str:
        return f"BM3DDenoiser(profile={self.profile!r})"


class NetworkDenoiser:
    """A trained denoising network as ``D(x, sigma)``, for images with any number of channels.

    The network (a single-channel :class:`~inverselab.networks.DRUNet` or
    :class:`~inverselab.networks.DnCNN`) sees each channel of each image as one grayscale image. DRUNet is
    given the noise level ``sigma`` (a number, or one value per image); DnCNN was trained for one noise level
    and ignores it. The network runs on ``x``'s device and dtype (moved there on first use).

    Args:
        net: The network, ``net(x, sigma)``, with a ``channels`` attribute.
        differentiable: Keep the autograd graph (for adversarial studies or unrolling); by default the
            network runs under ``torch.no_grad()``.
        self_ensemble: Average the network's outputs over the 8 flips and quarter turns of the image (each
            undone on its output): a geometric self-ensemble, 8 times the compute for a fraction of a dB
            (+0.24 dB for the shipped DRUNet at sigma = 25/255 on the bench's test images, 256 px).
            Reference: R. Timofte, R. Rothe and L. Van Gool, "Seven ways to improve example-based single image
            super resolution", CVPR 2016.

    Example:
        >>> from inverselab.networks import DRUNet
        >>> D = NetworkDenoiser(DRUNet(1, features=(4, 8, 8, 8), num_blocks=1))
        >>> D(torch.zeros(2, 3, 8, 8), 0.1).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(self, net: torch.nn.Module, differentiable: bool = False, self_ensemble: bool = False):
        if not isinstance(net, torch.nn.Module):
            raise TypeError(f"net must be a torch.nn.Module denoiser, got {type(net).__name__}")
        if not isinstance(self_ensemble, bool):
            raise TypeError(f"self_ensemble must be True or False, got {self_ensemble!r}")
        self.net = net.eval()
        self.channels = int(getattr(net, "channels", 1))
        self.differentiable = bool(differentiable)
        self.self_ensemble = self_ensemble

    def __call__(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        x = _check_image(x)
        if x.is_complex():
            raise TypeError("x must be real for a network denoiser, got a complex tensor")
        B, C, H, W = x.shape
        if isinstance(sigma, torch.Tensor):
            sigma = sigma.to(device=x.device, dtype=x.dtype).reshape(-1)
            if sigma.numel() not in (1, B) or not bool(torch.all(sigma >= 0)):
                raise ValueError(f"sigma must be >= 0 with 1 or {B} values, got shape {tuple(sigma.shape)}")
        else:
            sigma = torch.full(
                (1,), float(check_number("sigma", sigma, low=0)), dtype=x.dtype, device=x.device
            )
        sigma = sigma.expand(B)
        k = self.channels
        if C % k:
            raise ValueError(f"x must have a multiple of the network's {k} channels, got {C}")
        fold = x.reshape(B * (C // k), k, H, W)
        s = sigma.repeat_interleave(C // k)
        self.net.to(device=x.device, dtype=x.dtype)
        with torch.set_grad_enabled(self.differentiable and torch.is_grad_enabled()):
            if not self.self_ensemble:
                out = self.net(fold, s)
            else:  # the 8 symmetries of the square: flip or not, then 0-3 quarter turns; each undone
                out = 0
                for flip in (False, True):
                    t = fold.flip(-1) if flip else fold
                    for k in range(4):
                        o = torch.rot90(self.net(torch.rot90(t, k, (-2, -1)), s), -k, (-2, -1))
                        out = out + (o.flip(-1) if flip else o)
                out = out / 8
        return out.reshape(B, C, H, W)

    def __repr__(self) -> str:
        extra = ", self_ensemble=True" if self.self_ensemble else ""
        return f"NetworkDenoiser({type(self.net).__name__}{extra})"


def estimate_sigma(x: torch.Tensor) -> torch.Tensor:
    """Noise standard deviation of each image in ``x`` ``(B, C, H, W)``: ``median(|HH|) / 0.6745``.

    ``HH`` are the finest diagonal Haar wavelet coefficients of all channels, which white Gaussian noise fills
    while smooth image content barely does (Donoho's robust median estimator). It overestimates ``sigma``
    a little on highly textured images.

    Reference: D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
    Biometrika 81(3), 1994.

    Returns:
        A tensor of ``B`` noise levels.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> s = estimate_sigma(0.5 + 0.1 * torch.randn(2, 1, 64, 64, generator=g))
        >>> bool(torch.allclose(s, torch.tensor(0.1), atol=0.01))
        True
    """
    x = _check_image(x)
    if x.shape[-1] < 2 or x.shape[-2] < 2:
        raise ValueError(f"x must be at least 2 x 2 pixels to estimate its noise, got {tuple(x.shape[-2:])}")
    H, W = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    z = x[..., :H, :W].real
    hh = (z[..., 0::2, 0::2] - z[..., 0::2, 1::2] - z[..., 1::2, 0::2] + z[..., 1::2, 1::2]) / 2
    return hh.reshape(x.shape[0], -1).abs().median(dim=1).values / 0.6745
