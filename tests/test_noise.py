"""Noise models: the standard deviations they promise, seeded draws, errors naming the argument."""

import pytest
import torch

from inverselab.noise import GaussianNoise, NoNoise, RelativeGaussianNoise, make_generator


def test_gaussian_noise_has_its_sigma_and_is_seeded():
    y = torch.zeros(2, 20000)
    a, b = GaussianNoise(0.3)(y, make_generator(1)), GaussianNoise(0.3)(y, make_generator(1))
    assert torch.equal(a, b)
    assert abs(float(a.std()) - 0.3) < 0.01
    z = GaussianNoise(0.3)(torch.zeros(1, 20000, dtype=torch.complex64), make_generator(1))
    assert abs(float(z.abs().pow(2).mean().sqrt()) - 0.3) < 0.01  # the total std, split over re/im
    assert torch.equal(NoNoise()(y), y)


def test_relative_noise_scales_with_each_measurement():
    """sigma_i = fraction * mean |y_i| per batch element: 5% of 2 and of 40."""
    y = torch.cat([torch.full((1, 1, 100, 100), 2.0), torch.full((1, 1, 100, 100), -40.0)])
    noisy = RelativeGaussianNoise(0.05)(y, make_generator(0))
    std = (noisy - y).flatten(1).std(dim=1)
    assert torch.allclose(std, torch.tensor([0.1, 2.0]), rtol=0.03)
    assert torch.equal(RelativeGaussianNoise(0.0)(y), y)
    with pytest.raises(ValueError, match="fraction"):
        RelativeGaussianNoise(-0.1)
