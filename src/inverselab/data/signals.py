"""Synthetic 1-D signals ``(num, 1, n)``: spike trains, piecewise-constant signals, complex Gaussian vectors.

The test signals of the 1-D presets (spike deconvolution, compressed sensing of 1-D signals) and of phase
retrieval on vectors. Randomness only from an explicit ``generator`` (a ``torch.Generator`` or a seed).
"""

from __future__ import annotations

import torch

from .._checks import check_number
from ..noise import make_generator

__all__ = ["spike_train", "piecewise_constant", "complex_gaussian"]


def _sizes(num: int, n: int) -> tuple[int, int]:
    return check_number("num", num, low=1, integer=True), check_number("n", n, low=1, integer=True)


def spike_train(
    num: int,
    n: int,
    k: int,
    generator: torch.Generator | int | None = None,
    *,
    min_separation: int = 1,
    signed: bool = True,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Sparse spike trains: ``k`` spikes per signal at random positions at least ``min_separation`` apart
    (circularly), amplitudes ``±(0.5 + U(0, 1))`` (``signed``) or ``0.5 + U(0, 1)``, bounded away from 0 so
    that every spike is detectable.

    Positions are drawn as ``k`` gaps: each spike sits ``min_separation`` plus a random share of the slack
    after the previous one, then the train is rolled by a random offset (uniform over arrangements of the
    gaps, not over all position sets, which is what matters for a test signal).

    Args:
        num: Number of signals.
        n: Length.
        k: Spikes per signal, ``1 <= k`` and ``k * min_separation <= n``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).
        min_separation: Smallest circular distance between two spikes (>= 1).
        signed: Random signs, or nonnegative amplitudes.
        dtype: Real floating dtype of the result.

    Returns:
        A ``(num, 1, n)`` tensor.

    Example:
        >>> x = spike_train(2, 64, 5, generator=0, min_separation=8)
        >>> tuple(x.shape), [int((xi != 0).sum()) for xi in x]
        ((2, 1, 64), [5, 5])
    """
    num, n = _sizes(num, n)
    k = check_number("k", k, low=1, integer=True)
    min_separation = check_number("min_separation", min_separation, low=1, integer=True)
    if k * min_separation > n:
        raise ValueError(f"k * min_separation must be <= n = {n}, got k={k}, min_separation={min_separation}")
    gen = make_generator(generator)
    out = torch.zeros(num, 1, n, dtype=torch.float64)
    slack = n - k * min_separation
    for i in range(num):
        cuts = torch.sort(torch.randint(0, slack + 1, (k,), generator=gen)).values
        extra = torch.diff(cuts, prepend=torch.zeros(1, dtype=cuts.dtype))
        pos = torch.cumsum(extra + min_separation, 0) - min_separation
        offset = int(torch.randint(0, n, (1,), generator=gen))
        pos = (pos + offset) % n
        amp = 0.5 + torch.rand(k, generator=gen, dtype=torch.float64)
        if signed:
            amp = amp * (torch.randint(0, 2, (k,), generator=gen) * 2 - 1)
        out[i, 0, pos] = amp
    return out.to(dtype)


def piecewise_constant(
    num: int,
    n: int,
    num_jumps: int,
    generator: torch.Generator | int | None = None,
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Piecewise-constant signals with ``num_jumps`` jumps at distinct random positions and levels ``U(0, 1)``
    (each new level differs from the previous by at least 0.2): sparse gradients, the model of TV.

    Example:
        >>> x = piecewise_constant(1, 100, 4, generator=0)
        >>> tuple(x.shape), int((x[0, 0, 1:] != x[0, 0, :-1]).sum())
        ((1, 1, 100), 4)
    """
    num, n = _sizes(num, n)
    num_jumps = check_number("num_jumps", num_jumps, low=0, high=n - 1, integer=True)
    gen = make_generator(generator)
    out = torch.zeros(num, 1, n, dtype=torch.float64)
    for i in range(num):
        jumps = torch.sort(torch.randperm(n - 1, generator=gen)[:num_jumps] + 1).values.tolist()
        level = float(torch.rand(1, generator=gen, dtype=torch.float64))
        start = 0
        for stop in [*jumps, n]:
            out[i, 0, start:stop] = level
            step = 0.2 + 0.6 * float(torch.rand(1, generator=gen, dtype=torch.float64))
            level = (level + step) % 1.0
            start = stop
    return out.to(dtype)


def complex_gaussian(
    num: int,
    n: int,
    generator: torch.Generator | int | None = None,
    *,
    dtype: torch.dtype = torch.complex64,
) -> torch.Tensor:
    """Complex Gaussian vectors ``x ~ CN(0, I)`` (real and imaginary parts ``N(0, 1/2)``), ``(num, 1, n)``:
    the random signals of Wirtinger flow's experiments (Candès, Li & Soltanolkotabi 2015).

    Example:
        >>> x = complex_gaussian(1, 4096, generator=0)
        >>> x.dtype, round(float(x.abs().square().mean()), 1)
        (torch.complex64, 1.0)
    """
    num, n = _sizes(num, n)
    gen = make_generator(generator)
    parts = torch.randn(2, num, 1, n, generator=gen, dtype=torch.float64) / 2**0.5
    return torch.complex(parts[0], parts[1]).to(dtype)
