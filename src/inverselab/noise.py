"""Noise models, kept separate from operators: ``y = noise(A(x), generator)``.

Randomness always comes from an explicit ``torch.Generator`` (or a seed); never from global state.
"""

from __future__ import annotations

import torch

from ._checks import check_number, check_tensor

__all__ = ["NoNoise", "GaussianNoise", "RelativeGaussianNoise", "PoissonNoise", "make_generator"]


def make_generator(seed: int | torch.Generator | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` from a seed (``None`` means seed 0, so runs are reproducible by default).

    Example:
        >>> make_generator(3).initial_seed()
        3
    """
    if isinstance(seed, torch.Generator):
        return seed
    seed = 0 if seed is None else check_number("seed", seed, low=0, integer=True)
    return torch.Generator(device=device).manual_seed(int(seed))


def _randn_like(y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    # Draw on the generator's device, then move: works for CPU generators with CUDA tensors too.
    real = y.real if y.is_complex() else y
    z = torch.randn(real.shape, dtype=real.dtype, generator=generator, device=generator.device).to(y.device)
    if y.is_complex():
        w = torch.randn(real.shape, dtype=real.dtype, generator=generator, device=generator.device)
        z = torch.complex(z, w.to(y.device)) / 2**0.5
    return z


class NoNoise:
    """Noiseless measurements."""

    sigma = 0.0

    def __call__(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return y

    def __repr__(self) -> str:
        return "NoNoise()"


class GaussianNoise:
    """Additive white Gaussian noise of standard deviation ``sigma`` (complex: ``sigma`` is the total std,
    split equally between the real and imaginary parts).

    Args:
        sigma: Noise standard deviation (>= 0), in the units of the measurements.

    Example:
        >>> import torch
        >>> y = GaussianNoise(0.1)(torch.zeros(1, 10000), make_generator(0))
        >>> round(float(y.std()), 2)
        0.1
    """

    def __init__(self, sigma: float):
        self.sigma = float(check_number("sigma", sigma, low=0))

    def __call__(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        check_tensor("y", y)
        if self.sigma == 0:
            return y
        return y + self.sigma * _randn_like(y, make_generator(generator))

    def __repr__(self) -> str:
        return f"GaussianNoise(sigma={self.sigma})"


class RelativeGaussianNoise:
    """Additive white Gaussian noise whose standard deviation is ``fraction`` times the mean absolute value of
    each noiseless measurement: ``sigma_i = fraction * mean(|(A x)_i|)`` for batch element ``i`` ("5% additive
    Gaussian noise" in Adler & Öktem, IEEE TMI 2018). Complex data: as :class:`GaussianNoise`.

    Args:
        fraction: The noise level relative to the data (>= 0), e.g. ``0.05``.

    Example:
        >>> import torch
        >>> y = RelativeGaussianNoise(0.05)(torch.full((2, 10000), 4.0), make_generator(0))
        >>> round(float((y - 4).std()), 2)
        0.2
    """

    def __init__(self, fraction: float):
        self.fraction = float(check_number("fraction", fraction, low=0))

    def __call__(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        check_tensor("y", y)
        if self.fraction == 0:
            return y
        dims = tuple(range(1, y.ndim))
        scale = y.abs().mean(dim=dims, keepdim=True) if dims else y.abs()
        return y + self.fraction * scale * _randn_like(y, make_generator(generator))

    def __repr__(self) -> str:
        return f"RelativeGaussianNoise(fraction={self.fraction})"


class PoissonNoise:
    """Poisson (shot) noise: ``y ~ Poisson(gain * Ax) / gain``; larger ``gain`` means less noise.

    Args:
        gain: Photons per unit intensity (> 0).
    """

    def __init__(self, gain: float):
        self.gain = float(check_number("gain", gain, low=0, low_inclusive=False))

    def __call__(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        check_tensor("y", y)
        if y.is_complex() or bool((y < 0).any()):
            raise ValueError("y must be real and nonnegative for Poisson noise")
        gen = make_generator(generator)
        rate = (self.gain * y).to(gen.device)
        return torch.poisson(rate, generator=gen).to(y.device) / self.gain

    def __repr__(self) -> str:
        return f"PoissonNoise(gain={self.gain})"
