"""Inpainting: observe the pixels where a binary mask is true, and the mask builders.

Mask convention everywhere: ``True`` (or 1) marks an observed pixel, ``False`` (or 0) a missing one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_binary_mask, check_number, check_tensor
from ..noise import make_generator
from .base import LinearOperator
from .blur import _image_shape

__all__ = ["Inpainting", "random_mask", "block_mask"]


class Inpainting(LinearOperator):
    """Pixel masking ``A x = m ⊙ x`` on ``(B, C, H, W)`` images; unobserved entries of ``A x`` are 0.

    The output has the input's shape (missing pixels are zeros rather than dropped), so ``A`` is an orthogonal
    projection: ``Aᴴ = A = AᴴA`` and ``‖A‖ = 1`` (0 if nothing is observed).

    Args:
        shape: Image shape ``(C, H, W)``.
        mask: Boolean or 0/1 tensor of shape ``(H, W)`` (the same pixels in every channel) or ``(C, H, W)``;
            true where a pixel is observed. It is stored as the bool buffer ``mask`` of shape ``(1, H, W)`` or
            ``(C, H, W)``.

    Example:
        >>> import torch
        >>> A = Inpainting((1, 2, 2), torch.tensor([[1, 0], [0, 1]]))
        >>> A(torch.ones(1, 1, 2, 2))
        tensor([[[[1., 0.],
                  [0., 1.]]]])
    """

    def __init__(self, shape: Sequence[int], mask: torch.Tensor):
        shape = _image_shape(shape)
        super().__init__(shape, shape)
        check_tensor("mask", mask)
        if tuple(mask.shape) not in (shape[1:], shape):
            raise ValueError(f"mask must have shape {shape[1:]} or {shape}, got shape {tuple(mask.shape)}")
        mask = check_binary_mask("mask", mask)
        if mask.ndim == 2:
            mask = mask[None]
        self.register_buffer("mask", mask.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, shape=self.in_shape, finite=False)
        return x * self.mask.to(device=x.device, dtype=x.dtype)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, ndim=4, shape=self.out_shape, finite=False)
        return y * self.mask.to(device=y.device, dtype=y.dtype)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    def norm(self, *args, **kwargs) -> float:
        """1 if at least one entry is observed, else 0."""
        return float(bool(self.mask.any()))

    def extra_repr(self) -> str:
        fraction = float(self.mask.double().mean())
        return f"shape={self.in_shape}, observed_fraction={fraction:.3f}"


def _mask_shape(shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(
            f"shape must be a tuple (H, W) or (C, H, W) of positive integers, got {shape!r}"
        ) from None
    if len(shape) not in (2, 3) or any(isinstance(s, bool) or int(s) != s or s <= 0 for s in shape):
        raise ValueError(f"shape must be a tuple (H, W) or (C, H, W) of positive integers, got {shape!r}")
    return tuple(int(s) for s in shape)


def random_mask(
    shape: Sequence[int], fraction: float, generator: torch.Generator | int | None = None
) -> torch.Tensor:
    """A random mask observing exactly ``round(fraction * N)`` of the ``N`` entries (at least one).

    The count is exact (a random subset, not independent coin flips), so two masks of the same ``fraction``
    observe the same number of pixels. With ``shape=(H, W)`` the mask selects pixels (the same in every
    channel); with ``(C, H, W)`` it selects individual entries.

    Args:
        shape: ``(H, W)`` or ``(C, H, W)``.
        fraction: Fraction of observed entries, in ``(0, 1]``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0). The mask is created on
            the generator's device.

    Returns:
        A bool tensor of shape ``shape``, true where observed.

    Example:
        >>> int(random_mask((10, 10), 0.3, generator=0).sum())
        30
    """
    shape = _mask_shape(shape)
    fraction = check_number("fraction", fraction, low=0, high=1, low_inclusive=False)
    gen = make_generator(generator)
    n = math.prod(shape)
    keep = max(1, round(fraction * n))
    perm = torch.randperm(n, generator=gen, device=gen.device)
    mask = torch.zeros(n, dtype=torch.bool, device=gen.device)
    mask[perm[:keep]] = True
    return mask.reshape(shape)


def block_mask(
    shape: Sequence[int],
    block_size: int | Sequence[int] | None = None,
    *,
    missing_fraction: float | None = None,
    position: str | Sequence[int] = "center",
) -> torch.Tensor:
    """A mask with one missing rectangle (box inpainting).

    Give exactly one of ``block_size`` and ``missing_fraction``; ``missing_fraction=f`` removes a block of
    ``round(sqrt(f) H) x round(sqrt(f) W)`` pixels, about a fraction ``f`` of the image.

    Args:
        shape: ``(H, W)``.
        block_size: Side of a square block, or ``(h, w)``.
        missing_fraction: Fraction of the image area that is missing, in ``(0, 1]``.
        position: ``"center"``, or the ``(top, left)`` corner of the block.

    Returns:
        A bool ``(H, W)`` tensor, false inside the block.

    Example:
        >>> block_mask((4, 4), 2).int()
        tensor([[1, 1, 1, 1],
                [1, 0, 0, 1],
                [1, 0, 0, 1],
                [1, 1, 1, 1]], dtype=torch.int32)
    """
    shape = _mask_shape(shape)
    if len(shape) != 2:
        raise ValueError(f"shape must be (H, W) for a block mask, got {shape}")
    H, W = shape
    if (block_size is None) == (missing_fraction is None):
        raise ValueError(
            f"give exactly one of block_size and missing_fraction, got block_size={block_size!r}, "
            f"missing_fraction={missing_fraction!r}"
        )
    if block_size is not None:
        bh, bw = (block_size, block_size) if not isinstance(block_size, Sequence) else tuple(block_size)
        bh = check_number("block_size", bh, low=1, high=H, integer=True)
        bw = check_number("block_size", bw, low=1, high=W, integer=True)
    else:
        f = check_number("missing_fraction", missing_fraction, low=0, high=1, low_inclusive=False)
        bh, bw = max(1, round(math.sqrt(f) * H)), max(1, round(math.sqrt(f) * W))
    if isinstance(position, str):
        if position != "center":
            raise ValueError(f"position must be 'center' or a (top, left) pair, got {position!r}")
        top, left = (H - bh) // 2, (W - bw) // 2
    else:
        if len(position) != 2:
            raise ValueError(f"position must be 'center' or a (top, left) pair, got {position!r}")
        top = check_number("position", position[0], low=0, high=H - bh, integer=True)
        left = check_number("position", position[1], low=0, high=W - bw, integer=True)
    mask = torch.ones(H, W, dtype=torch.bool)
    mask[top : top + bh, left : left + bw] = False
    return mask
