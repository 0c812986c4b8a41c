"""Sparse random vectors and the standard synthetic compressed-sensing problem (LISTA / AMP benchmarks).

Vectors are batches ``(num, n)``: the input shape of the matching operators is ``(n,)``.
"""

from __future__ import annotations

import torch

from .._checks import check_number
from ..noise import GaussianNoise, make_generator

__all__ = ["bernoulli_gaussian", "exact_sparse", "sparse_cs_problem"]


def _check_sizes(num: int, n: int) -> tuple[int, int]:
    return check_number("num", num, low=1, integer=True), check_number("n", n, low=1, integer=True)


def bernoulli_gaussian(
    num: int,
    n: int,
    sparsity: float,
    generator: torch.Generator | int | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Bernoulli-Gaussian vectors ``x_i = b_i g_i``, ``b_i ~ Bernoulli(eps)``, ``g_i ~ N(0, 1)``, independent.

    Each entry is nonzero with probability ``eps`` (so ``E[x_i²] = eps``): the signal model of AMP's state
    evolution and of the LISTA papers.

    Args:
        num: Number of vectors (the batch size).
        n: Length of each vector.
        sparsity: Probability ``eps`` that an entry is nonzero, in ``(0, 1)``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).
        dtype: Real floating dtype of the result.
        device: Device of the result (drawn on the generator's device, then moved).

    Returns:
        A ``(num, n)`` tensor.

    Example:
        >>> x = bernoulli_gaussian(4, 1000, 0.1, generator=0)
        >>> tuple(x.shape), round(float((x != 0).float().mean()), 1)
        ((4, 1000), 0.1)
    """
    num, n = _check_sizes(num, n)
    sparsity = check_number("sparsity", sparsity, low=0, high=1, low_inclusive=False, high_inclusive=False)
    _check_dtype(dtype)
    gen = make_generator(generator)
    support = torch.rand((num, n), generator=gen, device=gen.device, dtype=torch.float64) < sparsity
    values = torch.randn((num, n), generator=gen, device=gen.device, dtype=torch.float64)
    return (values * support).to(device=device if device is not None else gen.device, dtype=dtype)


def exact_sparse(
    num: int,
    n: int,
    k: int,
    generator: torch.Generator | int | None = None,
    signed: bool = True,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Vectors with exactly ``k`` nonzero entries each, at uniformly random positions.

    The nonzero amplitudes are i.i.d. ``N(0, 1)`` (random signs) when ``signed``, and their absolute values
    (half-normal, nonnegative signals) otherwise: the two cases of the Donoho-Maleki-Montanari transition.

    Args:
        num: Number of vectors (the batch size).
        n: Length of each vector.
        k: Number of nonzero entries per vector, ``0 <= k <= n``.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).
        signed: Gaussian amplitudes with random signs, or nonnegative ones.
        dtype: Real floating dtype of the result.
        device: Device of the result.

    Returns:
        A ``(num, n)`` tensor.

    Example:
        >>> x = exact_sparse(3, 50, 5, generator=0, signed=False)
        >>> (x != 0).sum(dim=1).tolist(), bool((x >= 0).all())
        ([5, 5, 5], True)
    """
    num, n = _check_sizes(num, n)
    k = check_number("k", k, low=0, high=n, integer=True)
    if not isinstance(signed, bool):
        raise TypeError(f"signed must be a bool, got {signed!r}")
    _check_dtype(dtype)
    gen = make_generator(generator)
    # k positions per row without replacement: the k smallest of n i.i.d. uniforms.
    keys = torch.rand((num, n), generator=gen, device=gen.device, dtype=torch.float64)
    positions = torch.topk(keys, k, dim=1, largest=False).indices
    amplitudes = torch.randn((num, k), generator=gen, device=gen.device, dtype=torch.float64)
    if not signed:
        amplitudes = amplitudes.abs()
    # A drawn amplitude is almost surely nonzero; keep exactly k nonzeros even if one is exactly 0.
    amplitudes = torch.where(amplitudes == 0, torch.ones_like(amplitudes), amplitudes)
    x = torch.zeros((num, n), device=gen.device, dtype=torch.float64).scatter(1, positions, amplitudes)
    return x.to(device=device if device is not None else gen.device, dtype=dtype)


def sparse_cs_problem(
    m: int = 250,
    n: int = 500,
    sparsity: float = 0.1,
    snr_db: float | None = None,
    num: int = 1000,
    generator: torch.Generator | int | None = None,
    normalize_columns: bool = True,
    *,
    dtype: torch.dtype = torch.float32,
):
    """The standard synthetic sparse-recovery problem of the LISTA / AMP literature.

    ``A`` is an ``m x n`` :class:`~inverselab.operators.GaussianMatrix` with ``N(0, 1/m)`` entries and (by
    default) unit-norm columns, ``x`` is Bernoulli(``sparsity``)-Gaussian, and ``y = A x + w`` with white
    Gaussian noise of standard deviation ``std(A x) * 10^(-snr_db / 20)`` (the standard deviation of all
    noiseless measurements of the batch), or no noise when ``snr_db`` is ``None``. The defaults are the setup
    of LISTA-CP/CPSS and ALISTA (Chen et al., NeurIPS 2018; Liu et al., ICLR 2019). Random draws, in order:
    the matrix, the signals, the noise, all from ``generator``.

    Args:
        m: Number of measurements.
        n: Signal length.
        sparsity: Probability that an entry of ``x`` is nonzero, in ``(0, 1)``.
        snr_db: Measurement signal-to-noise ratio in dB, or ``None`` for noiseless measurements.
        num: Number of signals (the batch size).
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).
        normalize_columns: Rescale the columns of ``A`` to unit norm (Borgerding & Schniter's LAMP setup
            does not).
        dtype: Real floating dtype of ``x`` and ``y`` (``A`` keeps its float64 matrix and computes in the
            dtype of its input).

    Returns:
        ``(A, x, y)``: the operator (in_shape ``(n,)``, out_shape ``(m,)``), ``x`` of shape ``(num, n)`` and
        ``y`` of shape ``(num, m)``.

    Example:
        >>> A, x, y = sparse_cs_problem(num=8, snr_db=40, generator=0)
        >>> A.in_shape, tuple(x.shape), tuple(y.shape)
        ((500,), (8, 500), (8, 250))
    """
    from ..operators.compressed_sensing import GaussianMatrix

    m = check_number("m", m, low=1, integer=True)
    num, n = _check_sizes(num, n)
    if snr_db is not None:
        snr_db = check_number("snr_db", snr_db)
    if not isinstance(normalize_columns, bool):
        raise TypeError(f"normalize_columns must be a bool, got {normalize_columns!r}")
    gen = make_generator(generator)
    A = GaussianMatrix((n,), m, generator=gen, normalize_columns=normalize_columns)
    x = bernoulli_gaussian(num, n, sparsity, gen, dtype=torch.float64, device=A.device)
    y = A(x)
    if snr_db is not None:
        sigma = float(torch.std(y)) * 10 ** (-snr_db / 20)
        y = GaussianNoise(sigma)(y, gen)
    return A, x.to(dtype), y.to(dtype)


def _check_dtype(dtype: torch.dtype) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a real floating torch dtype, got {dtype!r}")
