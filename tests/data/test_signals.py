"""Synthetic 1-D signals: shapes, counts, separation, determinism."""

import pytest
import torch

from inverselab.data import complex_gaussian, piecewise_constant, spike_train


def circular_gaps(pos, n):
    pos = sorted(pos)
    return [(b - a) % n for a, b in zip(pos, pos[1:] + pos[:1], strict=True)]


def test_spike_train_counts_separation_amplitudes():
    x = spike_train(20, 128, 8, generator=0, min_separation=12)
    assert x.shape == (20, 1, 128) and x.dtype == torch.float32
    for xi in x:
        pos = torch.nonzero(xi[0]).flatten().tolist()
        assert len(pos) == 8
        assert min(circular_gaps(pos, 128)) >= 12
        amp = xi[0, pos].abs()
        assert bool(((amp >= 0.5) & (amp <= 1.5)).all())
    assert bool((x < 0).any())
    assert bool((spike_train(5, 64, 3, generator=1, signed=False) >= 0).all())
    assert torch.equal(spike_train(2, 64, 3, generator=7), spike_train(2, 64, 3, generator=7))


def test_piecewise_constant_jumps():
    x = piecewise_constant(10, 100, 5, generator=0)
    assert x.shape == (10, 1, 100)
    jumps = (x[:, 0, 1:] != x[:, 0, :-1]).sum(1)
    assert jumps.tolist() == [5] * 10
    assert bool(((x >= 0) & (x < 1)).all())
    steps = (x[:, 0, 1:] - x[:, 0, :-1]).abs()
    assert float(steps[steps > 0].min()) >= 0.19  # levels differ by at least 0.2 (mod 1)


def test_complex_gaussian():
    x = complex_gaussian(4, 2000, generator=3, dtype=torch.complex128)
    assert x.shape == (4, 1, 2000) and x.dtype == torch.complex128
    assert abs(float(x.abs().square().mean()) - 1) < 0.05


def test_argument_errors():
    with pytest.raises(ValueError, match="k \\* min_separation must be <= n"):
        spike_train(1, 10, 4, min_separation=3)
    with pytest.raises(ValueError, match="num_jumps must be <= 9"):
        piecewise_constant(1, 10, 10)
    with pytest.raises(ValueError, match="k must be >= 1"):
        spike_train(1, 10, 0)
