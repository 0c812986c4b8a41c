"""Input validation shared by the whole package.

Every check raises ``ValueError`` (or ``TypeError``) with a message that names the argument, what was expected
and what was received, so that the CLI can print it as one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch


def check_tensor(
    name: str,
    x: object,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """Check that ``x`` is a tensor with the given rank/shape and (optionally) only finite values.

    Args:
        name: Argument name used in the error message.
        x: The value to check.
        ndim: Required number of dimensions.
        min_ndim: Minimum number of dimensions.
        shape: Required trailing shape; ``None`` entries match any size.
        finite: Reject NaN and Inf values.

    Returns:
        ``x`` unchanged.

    Example:
        >>> import torch
        >>> check_tensor("y", torch.zeros(1, 1, 4, 4), ndim=4).shape
        torch.Size([1, 1, 4, 4])
    """
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}")
    if shape is not None:
        shape = tuple(shape)
        tail = tuple(x.shape[x.ndim - len(shape) :]) if x.ndim >= len(shape) else None
        ok = tail is not None and all(s is None or s == t for s, t in zip(shape, tail, strict=True))
        if not ok:
            want = tuple("*" if s is None else s for s in shape)
            raise ValueError(f"{name} must have trailing shape {want}, got shape {tuple(x.shape)}")
    if finite and (x.is_floating_point() or x.is_complex()) and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must contain only finite values, got NaN or Inf")
    return x


def check_shape_of(name: str, x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Check that ``x`` is ``(B, *shape)`` for some batch size ``B`` and finite."""
    check_tensor(name, x, ndim=len(shape) + 1, shape=shape)
    return x


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
) -> float | int:
    """Check that ``value`` is a finite real number in a range and return it.

    Example:
        >>> check_number("sigma", 0.1, low=0)
        0.1
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        kind = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {kind}, got {value!r}")
    if integer and int(value) != value:
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value!r}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {value!r}")
    return int(value) if integer else value


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``.

    Example:
        >>> check_choice("filter", "hann", ["ram-lak", "hann"])
        'hann'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value  # type: ignore[return-value]


def check_binary_mask(name: str, mask: object) -> torch.Tensor:
    """Check that ``mask`` is a bool or 0/1 real tensor and return it as a bool tensor.

    Example:
        >>> import torch
        >>> check_binary_mask("mask", torch.tensor([0.0, 1.0])).tolist()
        [False, True]
    """
    import torch

    check_tensor(name, mask)
    if mask.is_complex():
        raise TypeError(f"{name} must be a bool or 0/1 real tensor, got dtype {mask.dtype}")
    if mask.dtype != torch.bool:
        if not bool(((mask == 0) | (mask == 1)).all()):
            bad = mask[(mask != 0) & (mask != 1)][0].item()
            raise ValueError(f"{name} must contain only 0 and 1 (or be bool), got the value {bad}")
        mask = mask != 0
    return mask
