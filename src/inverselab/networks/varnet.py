"""End-to-end variational network (E2E-VarNet) for multi-coil Cartesian MRI.

Written from the equations of A. Sriram, J. Zbontar, T. Murrell, A. Defazio, C. L. Zitnick, N. Yakubova,
F. Knoll and P. Johnson, "End-to-End Variational Networks for Accelerated MRI Reconstruction", MICCAI 2020
(arXiv:2004.06688). The network works in multi-coil k-space ``k`` (``(B, C, H, W)``, centered, as produced
by :class:`~inverselab.operators.MultiCoilMRI`) and estimates its own coil sensitivities from the
auto-calibration (ACS) band of the measurements; the true maps stored in the operator are never read. Only
the operator's sampling mask is used.

* Sensitivities: ``S = N(CNN(F⁻¹(M_acs ⊙ y)))``, the CNN applied to each coil image (coils folded into the
  batch, real and imaginary parts as two channels), ``N`` dividing by the root-sum-of-squares over coils so
  that ``Σ_c |S_c|² = 1``. Here the CNN is residual (``u + CNN(u)``): with a zero last layer the estimate is
  the classical low-resolution ACS estimate (the coil images of the center band divided by their RSS).
* Cascade ``t``: ``k ← k - η_t M (k - y) + F E(CNN_t(R(F⁻¹ k)))`` with ``R(x) = Σ_c conj(S_c) x_c`` the
  coil combination, ``E(x) = (S_c x)_c`` the expansion, ``F`` the centered orthonormal FFT per coil and
  ``η_t`` a learned data-consistency weight (initialized to 1).
* Output: ``sqrt(Σ_c |F⁻¹(k_T)_c|²)``, the root-sum-of-squares of the final coil images (as in the paper).

Example:
    >>> import torch
    >>> from inverselab.operators import MultiCoilMRI, coil_sensitivity_maps, equispaced_kspace_mask
    >>> A = MultiCoilMRI(coil_sensitivity_maps(4, (16, 16)), equispaced_kspace_mask((16, 16), 4, 0.25))
    >>> net = VarNet(num_cascades=2, chans=4, sens_chans=2, num_pool_layers=2, sens_num_pool_layers=2)
    >>> net(A(torch.rand(2, 1, 16, 16)), A).shape
    torch.Size([2, 1, 16, 16])
    >>> VarNet(**net.config).config == net.config
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._checks import check_choice, check_number, check_tensor
from ..operators.base import complex_dtype_of
from ..operators.mri import MultiCoilMRI, fft2c, ifft2c
from .unet import UNet

__all__ = ["acs_band", "SensitivityModel", "VarNetBlock", "VarNet"]

#: Floor of the root-sum-of-squares of the coil maps: pixels below it are left (nearly) zero, not divided.
_RSS_FLOOR = 1e-12
#: Floor of the per-image standard deviation in the CNN input normalization (an all-zero input stays zero).
_STD_FLOOR = 1e-8


def acs_band(mask: torch.Tensor) -> tuple[int, int]:
    """The auto-calibration band of a Cartesian mask: the contiguous fully sampled columns around the center.

    Starting from the center column ``W // 2`` (the DC column of centered k-space), the band extends left
    and right while whole columns are sampled. For an equispaced mask a sampled column next to the central
    band joins it (as in fastMRI).

    Args:
        mask: Bool or 0/1 tensor ``(H, W)``, true where k-space is sampled.

    Returns:
        ``(start, stop)``: the band is the columns ``start <= j < stop``.

    Raises:
        ValueError: If the center column is not fully sampled.

    Example:
        >>> import torch
        >>> from inverselab.operators import equispaced_kspace_mask
        >>> acs_band(equispaced_kspace_mask((4, 16), 4, 0.125, generator=0))
        (7, 9)
    """
    check_tensor("mask", mask, ndim=2)
    columns = mask.bool().all(dim=0).tolist()
    center = len(columns) // 2
    if not columns[center]:
        raise ValueError(
            f"mask must fully sample the center column {center} (the auto-calibration band), got a mask "
            f"without it"
        )
    start, stop = center, center + 1
    while start > 0 and columns[start - 1]:
        start -= 1
    while stop < len(columns) and columns[stop]:
        stop += 1
    return start, stop


def _complex_to_channels(x: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` complex to ``(N, 2, H, W)`` real (real and imaginary parts)."""
    return torch.view_as_real(x).permute(0, 3, 1, 2)


def _channels_to_complex(x: torch.Tensor) -> torch.Tensor:
    """``(N, 2, H, W)`` real to ``(N, H, W)`` complex."""
    return torch.complex(x[:, 0], x[:, 1])


def _normalized_unet(unet: UNet, x: torch.Tensor) -> torch.Tensor:
    """``σ · unet((x - μ) / σ)`` with the mean ``μ`` and standard deviation ``σ`` of each image and channel.

    The U-Net sees inputs of a fixed scale whatever the k-space scale, and its output is scaled back, so the
    map is equivariant to scaling ``x``. The mean is not added back (fastMRI's NormUnet does): the outputs
    here are corrections (a residual, a k-space update), and a zero last layer then gives exactly zero.
    """
    mean = x.mean(dim=(-2, -1), keepdim=True)
    std = x.std(dim=(-2, -1), keepdim=True).clamp_min(_STD_FLOOR)
    return unet((x - mean) / std) * std


def _coil_combine(images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """``R(x) = Σ_c conj(S_c) x_c``: ``(B, C, H, W)`` coil images to a ``(B, 1, H, W)`` image."""
    return (maps.conj() * images).sum(dim=1, keepdim=True)


class SensitivityModel(nn.Module):
    """Coil sensitivities estimated from the auto-calibration band of multi-coil k-space (Sriram et al. 2020).

    ``S = u' / sqrt(Σ_c |u'_c|²)`` with ``u' = u + CNN(u)`` and ``u_c = F⁻¹(M_acs ⊙ y_c)`` the low-resolution
    coil images of the ACS band (see :func:`acs_band`). The CNN is a :class:`UNet` with two channels (real and
    imaginary parts) applied to each coil image separately (coils folded into the batch, so any number of
    coils works), on inputs normalized by their mean and standard deviation. The residual form (not in the
    paper) starts training from the classical estimate ``u / RSS(u)``. Pixels where ``RSS(u') = 0`` get
    zero maps.

    Example:
        >>> import torch
        >>> model = SensitivityModel(chans=2, num_pool_layers=2)
        >>> y = torch.randn(1, 3, 16, 16, dtype=torch.complex64)
        >>> maps = model(y, torch.ones(16, 16, dtype=torch.bool))
        >>> bool(torch.allclose((maps.abs() ** 2).sum(1), torch.ones(1, 16, 16)))
        True
    """

    def __init__(self, chans: int = 6, num_pool_layers: int = 2):
        """Build the model.

        Args:
            chans: Channels of the first U-Net level (>= 1).
            num_pool_layers: U-Net down-sampling levels (>= 1).
        """
        super().__init__()
        self.unet = UNet(2, 2, chans=chans, num_pool_layers=num_pool_layers)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable)."""
        return {"chans": self.unet.chans, "num_pool_layers": self.unet.num_pool_layers}

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Complex maps ``(B, C, H, W)`` from k-space ``y`` ``(B, C, H, W)`` and the mask ``(H, W)``."""
        check_tensor("y", y, ndim=4, finite=False)
        check_tensor("mask", mask, ndim=2, shape=y.shape[-2:])
        start, stop = acs_band(mask)
        band = torch.zeros(y.shape[-1], dtype=y.real.dtype, device=y.device)
        band[start:stop] = 1
        images = ifft2c(y * band)
        B, C, H, W = images.shape
        u = _complex_to_channels(images.reshape(B * C, H, W))
        maps = _channels_to_complex(u + _normalized_unet(self.unet, u)).reshape(B, C, H, W)
        power = (maps.real**2 + maps.imag**2).sum(dim=1, keepdim=True)
        return maps / power.clamp_min(_RSS_FLOOR**2).sqrt()


class VarNetBlock(nn.Module):
    """One cascade ``k ← k - η M (k - y) + F E(CNN(R(F⁻¹ k)))`` (Sriram et al. 2020, Eq. 5-6).

    ``R`` combines the coil images with the (estimated) maps, ``E`` expands an image to coil images, the CNN
    is a :class:`UNet` on the real and imaginary parts normalized by their per-image mean and standard
    deviation, and ``η`` is a learned scalar initialized to 1 (with a zero CNN and ``η = 1`` the sampled
    entries of the output equal ``y``).

    Example:
        >>> import torch
        >>> block = VarNetBlock(chans=2, num_pool_layers=2)
        >>> k = torch.randn(1, 3, 8, 8, dtype=torch.complex64)
        >>> maps = torch.ones(1, 3, 8, 8, dtype=torch.complex64) / 3**0.5
        >>> block(k, k, torch.ones(8, 8), maps).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(self, chans: int = 12, num_pool_layers: int = 3):
        """Build the cascade.

        Args:
            chans: Channels of the first U-Net level (>= 1).
            num_pool_layers: U-Net down-sampling levels (>= 1).
        """
        super().__init__()
        self.unet = UNet(2, 2, chans=chans, num_pool_layers=num_pool_layers)
        self.eta = nn.Parameter(torch.ones(1))

    def forward(
        self, k: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, maps: torch.Tensor
    ) -> torch.Tensor:
        """One update of the k-space estimate ``k`` ``(B, C, H, W)``.

        Args:
            k: Current k-space estimate ``(B, C, H, W)``, complex.
            y: Measured k-space ``(B, C, H, W)``, zero where not sampled.
            mask: Real 0/1 mask broadcastable to ``k`` (e.g. ``(H, W)``).
            maps: Coil sensitivities ``(B, C, H, W)``, complex.
        """
        image = _coil_combine(ifft2c(k), maps)[:, 0]
        image = _channels_to_complex(_normalized_unet(self.unet, _complex_to_channels(image)))
        return k - self.eta * mask * (k - y) + fft2c(maps * image[:, None])


class VarNet(nn.Module):
    """End-to-end variational network for multi-coil MRI (E2E-VarNet; Sriram et al., MICCAI 2020).

    A method ``model(y, A)`` for a :class:`~inverselab.operators.MultiCoilMRI` operator ``A``: only ``A.mask``
    is used; the coil maps are estimated from the auto-calibration band by a :class:`SensitivityModel`, then
    ``num_cascades`` :class:`VarNetBlock` s refine the k-space starting from ``k_0 = M ⊙ y``. The output is
    the root-sum-of-squares ``sqrt(Σ_c |F⁻¹(k_T)_c|²)`` of the final coil images, a real ``(B, 1, H, W)``
    image; with CNNs that output zero it is exactly the zero-filled baseline.

    Root-sum-of-squares, as in the paper, rather than the magnitude or real part of the coil combination
    ``Σ_c conj(S_c) F⁻¹(k_T)_c``: it does not depend on the estimated maps, whose errors (large when the ACS
    band is a couple of columns, as for the 8x preset at 32 px) would shade the image; it equals ``|x|`` for
    maps with ``Σ_c |S_c|² = 1`` (the simulated ones); and it is non-negative, like the images. (The real part
    would also need the maps' phase to match the image's, which the ACS estimate only gives for real
    non-negative images.) Measured on the preset (3 cascades, 200-300 Adam steps): +0.4 to +0.6 dB over the
    coil-combination magnitude at 32 px, the same within 0.1 dB at 64 px.

    Example:
        >>> import torch
        >>> from inverselab.operators import MultiCoilMRI, coil_sensitivity_maps, equispaced_kspace_mask
        >>> A = MultiCoilMRI(coil_sensitivity_maps(4, (16, 16)), equispaced_kspace_mask((16, 16), 4, 0.25))
        >>> net = VarNet(num_cascades=2, chans=4, sens_chans=2, num_pool_layers=2, sens_num_pool_layers=2)
        >>> y = A(torch.rand(1, 1, 16, 16))
        >>> net(y, A).shape, net.initial_reconstruction(y, A).shape
        (torch.Size([1, 1, 16, 16]), torch.Size([1, 1, 16, 16]))
    """

    def __init__(
        self,
        num_cascades: int = 5,
        chans: int = 12,
        sens_chans: int = 6,
        num_pool_layers: int = 3,
        sens_num_pool_layers: int = 2,
        checkpointing: bool = False,
        zero_init: bool = False,
        maps: str = "estimate",
    ):
        """Build the network.

        Args:
            num_cascades: Number of cascades ``T`` (>= 1); the paper uses 12.
            chans: Channels of the first level of each cascade's U-Net (>= 1); the paper uses 18.
            sens_chans: Channels of the first level of the sensitivity U-Net (>= 1); the paper uses 8.
            num_pool_layers: Down-sampling levels of the cascades' U-Nets (>= 1); the paper uses 4. Images
                need ``H, W >= 2**num_pool_layers``.
            sens_num_pool_layers: Down-sampling levels of the sensitivity U-Net (>= 1).
            checkpointing: Recompute the activations of each cascade (and of the sensitivity model) in the
                backward pass instead of storing them (``torch.utils.checkpoint``): less memory, about one
                more forward pass of time. Has no effect without gradients.
            zero_init: Start every cascade's U-Net with a zero last layer, so the untrained network is
                exactly the zero-filled baseline and training learns corrections to it (ours, not the
                paper's, like the zero last layer of :class:`PostProcess`; it learns faster on a CPU
                budget). The paper's random start is the default.
            maps: ``"estimate"`` (the paper's: a :class:`SensitivityModel` estimates the coil maps from the
                auto-calibration band) or ``"operator"`` (use the maps of the operator ``A``, when they are
                known, as the variational network of Hammernik et al. 2018 and MoDL do with precomputed maps;
                no sensitivity network, so ``sens_chans`` and ``sens_num_pool_layers`` are ignored).
        """
        super().__init__()
        self.num_cascades = int(check_number("num_cascades", num_cascades, low=1, integer=True))
        if not isinstance(checkpointing, bool):
            raise TypeError(f"checkpointing must be a bool, got {type(checkpointing).__name__}")
        self.checkpointing = checkpointing
        self.maps = check_choice("maps", maps, ("estimate", "operator"))
        self.sens_model = (
            SensitivityModel(chans=sens_chans, num_pool_layers=sens_num_pool_layers)
            if self.maps == "estimate"
            else None
        )
        self.cascades = nn.ModuleList(
            VarNetBlock(chans=chans, num_pool_layers=num_pool_layers) for _ in range(self.num_cascades)
        )
        if not isinstance(zero_init, bool):
            raise TypeError(f"zero_init must be a bool, got {type(zero_init).__name__}")
        self.zero_init = zero_init
        if zero_init:  # every cascade's correction starts at zero: the untrained network is zero-filled
            for cascade in self.cascades:
                nn.init.zeros_(cascade.unet.final.weight)
                nn.init.zeros_(cascade.unet.final.bias)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``VarNet(**net.config)`` builds the same network."""
        unet = self.cascades[0].unet
        return {
            "num_cascades": self.num_cascades,
            "chans": unet.chans,
            "num_pool_layers": unet.num_pool_layers,
            "checkpointing": self.checkpointing,
            "zero_init": self.zero_init,
            **(
                {
                    "sens_chans": self.sens_model.unet.chans,
                    "sens_num_pool_layers": self.sens_model.unet.num_pool_layers,
                }
                if self.sens_model is not None
                else {"maps": self.maps}
            ),
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _check(self, y: object, A: object) -> torch.Tensor:
        if not isinstance(A, MultiCoilMRI):
            raise ValueError(f"A must be a MultiCoilMRI operator for VarNet, got {type(A).__name__}")
        return A.check_measurement(y)

    def _run(self, fn: nn.Module, *args: torch.Tensor) -> torch.Tensor:
        if self.checkpointing and torch.is_grad_enabled():
            return checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)

    def reconstruct_kspace(self, y: torch.Tensor, A: MultiCoilMRI) -> tuple[torch.Tensor, torch.Tensor]:
        """The final k-space estimate ``k_T`` ``(B, C, H, W)`` and the coil maps ``S`` used (estimated,
        ``(B, C, H, W)``; or the operator's, ``(1, C, H, W)``), complex.

        Args:
            y: Measured k-space ``(B, C, H, W)``; entries the mask does not sample are ignored.
            A: The :class:`~inverselab.operators.MultiCoilMRI` operator (its mask; its maps with
                ``maps="operator"``).
        """
        y = self._check(y, A)
        real = next(self.parameters()).dtype
        mask = A.mask.to(device=y.device, dtype=real)
        y = y.to(complex_dtype_of(real)) * mask
        if self.sens_model is None:
            maps = A.maps.to(device=y.device, dtype=y.dtype)[None]
        else:
            maps = self._run(self.sens_model, y, A.mask)
        k = y
        for cascade in self.cascades:
            k = self._run(cascade, k, y, mask, maps)
        return k, maps

    def forward(self, y: torch.Tensor, A: MultiCoilMRI) -> torch.Tensor:
        """The reconstruction ``sqrt(Σ_c |F⁻¹(k_T)_c|²)``, real ``(B, 1, H, W)``."""
        k, _ = self.reconstruct_kspace(y, A)
        return torch.linalg.vector_norm(ifft2c(k).abs(), dim=1, keepdim=True)

    def initial_reconstruction(self, y: torch.Tensor, A: MultiCoilMRI) -> torch.Tensor:
        """The zero-filled baseline (root-sum-of-squares of the zero-filled coil images; no gradient)."""
        from ..methods.classical import zero_filled

        self._check(y, A)
        with torch.no_grad():
            return zero_filled(y, A)
