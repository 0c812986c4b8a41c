"""Training losses: ``loss(x_hat, x) -> scalar`` (mean over the batch), differentiable in ``x_hat``.

Example:
    >>> import torch
    >>> x = torch.zeros(2, 1, 16, 16)
    >>> float(get_loss("mse")(x + 0.1, x)), float(get_loss("l1")(x - 0.5, x))
    (0.010000000707805157, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_choice

__all__ = ["LOSSES", "get_loss", "mse_loss", "l1_loss", "ssim_loss"]


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
