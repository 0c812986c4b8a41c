"""Training losses.

Supervised losses (:data:`LOSSES`) compare the network's output with the clean image:
``loss(x_hat, x) -> scalar`` (mean over the batch), differentiable in ``x_hat``.

Self-supervised denoising losses (:data:`SELF_SUPERVISED`) train a denoiser from noisy images alone: they take
the denoiser, the noisy batch ``y`` and its noise level, never a clean image:
``loss(denoiser, y, sigma, generator) -> scalar``, with ``denoiser(v, sigma_v)`` the network (called on
batches built from ``y``) and every random draw (probes, masks) from ``generator``.

Example:
    >>> import torch
    >>> x = torch.zeros(2, 1, 16, 16)
    >>> float(get_loss("mse")(x + 0.1, x)), float(get_loss("l1")(x - 0.5, x))
    (0.010000000707805157, 0.5)
    >>> y = 0.5 + 0.1 * torch.randn(16, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> identity = lambda v, s: v  # its MSE is the noise's, sigma^2 = 0.01; SURE estimates it from y alone
    >>> value = SELF_SUPERVISED["sure"](identity, y, 0.1, torch.Generator().manual_seed(1))
    >>> abs(float(value) - 0.01) < 0.001
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._checks import check_choice, check_number

__all__ = [
    "LOSSES",
    "SELF_SUPERVISED",
    "LOSS_NAMES",
    "SelfSupervisedLoss",
    "get_loss",
    "get_self_supervised_loss",
    "mse_loss",
    "l1_loss",
    "ssim_loss",
    "sure_loss",
    "noise2self_loss",
]

#: A denoiser as the self-supervised losses call it: ``denoiser(v, sigma)`` with ``v`` a ``(B, C, H, W)``
#: batch and ``sigma`` its ``(B,)`` noise levels (blind networks ignore them).
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mse_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error (of magnitudes' real and imaginary parts for complex data)."""
    d = x_hat - x
    return (d.real**2 + d.imag**2).mean() if d.is_complex() else (d * d).mean()


def l1_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (x_hat - x).abs().mean()


def ssim_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM`` (Gaussian window, data range 1, as :func:`inverselab.metrics.ssim`), batch-averaged.

    Reference: H. Zhao, O. Gallo, I. Frosio and J. Kautz, "Loss functions for image restoration with neural
    networks", IEEE Trans. Comput. Imaging 3(1), 2017.
    """
    from ..metrics import ssim

    return 1.0 - ssim(x_hat, x, data_range=1.0).mean()


#: Loss functions by name (``inverselab train --loss``).
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": mse_loss,
    "l1": l1_loss,
    "ssim": ssim_loss,
}


def get_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss called ``name`` (one of :data:`LOSSES`)."""
    return LOSSES[check_choice("loss", name, tuple(LOSSES))]


# ----------------------------------------------------------------------------------- self-supervised losses


def _sigmas(sigma: float | torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sigma`` as a float32 ``(B,)`` tensor on ``y``'s device (one noise level per image)."""
    if isinstance(sigma, torch.Tensor):
        s = sigma.detach().to(device=y.device, dtype=torch.float32).reshape(-1)
        if s.numel() == 1:
            s = s.expand(y.shape[0])
        if s.shape[0] != y.shape[0]:
            raise ValueError(f"sigma must be a number or one value per image ({y.shape[0]}), got {s.numel()}")
    else:
        s = torch.full((y.shape[0],), float(check_number("sigma", sigma, low=0)), device=y.device)
    if bool((s < 0).any()) or not bool(torch.isfinite(s).all()):
        raise ValueError("sigma must be finite and >= 0")
    return s


def _draw_probe(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator, device=generator.device)


def _sure(denoiser: Denoiser, y: torch.Tensor, sigma: float | torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    s = _sigmas(sigma, y)
    y = y.float()
    b = b.to(device=y.device, dtype=torch.float32)
    n = y[0].numel()
    eps = (s.clamp(min=1e-2) / 1000).reshape(-1, 1, 1, 1)  # per-image step of the finite difference
    # One call on [y; y + eps b]: a single forward (one DDP pass); float32 even under autocast, since a
    # half-precision difference at this step would be rounding noise.
    with torch.autocast(y.device.type, enabled=False):
        out = denoiser(torch.cat([y, y + eps * b]), torch.cat([s, s])).float()
    fy, f_eps = out[: y.shape[0]], out[y.shape[0] :]
    fit = ((fy - y) ** 2).flatten(1).sum(1) / n
    divergence = (b * (f_eps - fy)).flatten(1).sum(1) / eps.reshape(-1)
    return (fit - s**2 + 2 * s**2 / n * divergence).mean()


#: Grid of the Noise2Self masks: one pixel masked in every ``_GRID x _GRID`` cell.
_GRID = 4
#: The 8 neighbour offsets a masked pixel may copy (a neighbour of a masked pixel is never masked).
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _draw_mask(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """``(B, 1, H, W)`` integers: 0 where a pixel is kept, ``k`` in 1..8 where it is replaced by neighbour
    ``_OFFSETS[k - 1]``; the masked pixels are one per ``_GRID x _GRID`` cell, at a random phase per image."""
    B, H, W = shape[0], shape[-2], shape[-1]
    phase = torch.randint(_GRID, (B, 2, 1, 1), generator=generator, device=generator.device)
    rows = (torch.arange(H, device=generator.device) % _GRID).reshape(1, H, 1)
    cols = (torch.arange(W, device=generator.device) % _GRID).reshape(1, 1, W)
    masked = (rows == phase[:, 0]) & (cols == phase[:, 1])
    neighbour = torch.randint(1, len(_OFFSETS) + 1, (B, H, W), generator=generator, device=generator.device)
    return (neighbour * masked).unsqueeze(1)


def _noise2self(
    denoiser: Denoiser, y: torch.Tensor, sigma: float | torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    import torch.nn.functional as F

    s = _sigmas(sigma, y)
    H, W = y.shape[-2:]
    mask = mask.to(y.device)
    padded = F.pad(y, (1, 1, 1, 1), mode="reflect")
    y_in = y
    for k, (dr, dc) in enumerate(_OFFSETS, start=1):
        shifted = padded[..., 1 + dr : 1 + dr + H, 1 + dc : 1 + dc + W]
        y_in = torch.where(mask == k, shifted, y_in)
    out = denoiser(y_in, s).float()
    masked = (mask > 0).to(torch.float32).expand_as(out)
    return (((out - y.float()) ** 2) * masked).sum() / masked.sum()


@dataclass(frozen=True)
class SelfSupervisedLoss:
    """A self-supervised denoising loss, split into its random draw and its value.

    ``draw(shape, generator)`` returns the loss's randomness for a batch of that shape (first dimension: one
    entry per image); ``value(denoiser, y, sigma, random)`` computes the loss from it. Calling the object does
    both. The trainer draws for the global batch and keeps each process's share, so ``N`` DDP processes use
    the same randomness as one.

    Attributes:
        name: The loss's name in :data:`SELF_SUPERVISED`.
        draw: ``(shape, generator) -> tensor`` (on the generator's device).
        value: ``(denoiser, y, sigma, random) -> scalar``.
    """

    name: str
    draw: Callable[[tuple[int, ...], torch.Generator], torch.Tensor]
    value: Callable[[Denoiser, torch.Tensor, float | torch.Tensor, torch.Tensor], torch.Tensor]

    def __call__(
        self, denoiser: Denoiser, y: torch.Tensor, sigma: float | torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        return self.value(denoiser, y, sigma, self.draw(tuple(y.shape), generator))


def sure_loss(
    denoiser: Denoiser, y: torch.Tensor, sigma: float | torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Monte-Carlo SURE: an unbiased estimate of the denoiser's MSE from the noisy images alone.

    For each image (``n`` pixels, noise level ``sigma``, Gaussian noise), with a probe ``b ~ N(0, I)`` and a
    step ``eps = max(sigma, 0.01) / 1000``::

        ||f(y) - y||^2 / n - sigma^2 + 2 sigma^2 / n * b^T (f(y + eps b) - f(y)) / eps

    averaged over the batch. The last term estimates the divergence of ``f`` (its expectation over ``b`` is
    the trace of the Jacobian, up to the finite difference's ``O(eps)`` error). The network runs once on the
    batch ``[y; y + eps b]``, in float32 even under ``torch.autocast`` (with batch normalization in training
    mode, both halves share the batch statistics).

    References: C. A. Metzler, A. Mousavi, R. Heckel and R. G. Baraniuk, "Unsupervised learning with Stein's
    unbiased risk estimator", arXiv:1805.10531, 2018; S. Ramani, T. Blu and M. Unser, "Monte-Carlo SURE: a
    black-box optimization of regularization parameters for general denoising algorithms", IEEE Trans. Image
    Process. 17(9), 2008.

    Args:
        denoiser: ``denoiser(v, sigma_v)``, the network (differentiable in its parameters).
        y: Noisy images ``(B, C, H, W)``: ``x + sigma * noise`` with white Gaussian noise.
        sigma: The noise level: a number or one per image, ``(B,)``.
        generator: Source of the probe ``b``.

    Returns:
        The batch mean of the per-image SURE values (a scalar tensor).
    """
    return SELF_SUPERVISED["sure"](denoiser, y, sigma, generator)


def noise2self_loss(
    denoiser: Denoiser, y: torch.Tensor, sigma: float | torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Noise2Self: predict masked pixels from their neighbours, against the noisy image itself.

    In every 4 x 4 cell of each image one pixel (at a random phase, drawn per image) is masked: replaced by
    the weighted mean of its 8 neighbours (edges 1, corners 1/2), never using its own value. The loss is the
    mean squared difference between the network's output and ``y`` on the masked pixels only. Because the
    output at a masked pixel cannot see that pixel's noise, its expectation is the MSE to the clean image
    plus ``sigma^2`` (for noise independent across pixels). At inference the plain network is used, without
    masking. The masked pixel copies a random neighbour (as in Noise2Void) rather than an average of its
    neighbours: it then carries noise like every other pixel, so the network learns to rely on the context
    and not on the centre pixel, which it does see at inference.

    It needs images whose pixels are predictable from their neighbours: trained on the generated dead-leaves
    images (edges at the pixel scale; half of the ``"natural"`` training source) a small DnCNN or DRUNet did
    not beat its noisy input, while on photo crops it gained about 3 dB in 60 steps. Train it on photos or on
    your own images.

    Reference: J. Batson and L. Royer, "Noise2Self: blind denoising by self-supervision", ICML 2019.

    Args:
        denoiser: ``denoiser(v, sigma_v)``, the network.
        y: Noisy images ``(B, C, H, W)`` (at least 2 x 2).
        sigma: Noise level passed on to the network (the loss itself does not use it).
        generator: Source of the mask phases.

    Returns:
        The mean squared error on the masked pixels (a scalar tensor).
    """
    return SELF_SUPERVISED["noise2self"](denoiser, y, sigma, generator)


#: Self-supervised denoising losses by name (``inverselab train --loss``): ``loss(denoiser, y, sigma,
#: generator)``; they never see a clean image.
SELF_SUPERVISED: dict[str, SelfSupervisedLoss] = {
    "sure": SelfSupervisedLoss("sure", _draw_probe, _sure),
    "noise2self": SelfSupervisedLoss("noise2self", _draw_mask, _noise2self),
}

#: Every loss name :class:`~inverselab.training.trainer.TrainConfig` accepts.
LOSS_NAMES: tuple[str, ...] = (*LOSSES, *SELF_SUPERVISED)


def get_self_supervised_loss(name: str) -> SelfSupervisedLoss:
    """The self-supervised loss called ``name`` (one of :data:`SELF_SUPERVISED`)."""
    return SELF_SUPERVISED[check_choice("loss", name, tuple(SELF_SUPERVISED))]
