"""MRI operators: centered FFT, fastMRI masks, coil maps, and the shift-folded fast path vs plain shifts."""

import math

import numpy as np
import pytest
import torch

from inverselab.operators import (
    MRI,
    MultiCoilMRI,
    check_adjoint,
    coil_sensitivity_maps,
    equispaced_kspace_mask,
    fft2c,
    ifft2c,
    mri,
    operator_norm,
    random_kspace_mask,
)

SIZES = [(8, 8), (7, 9), (6, 5), (5, 4)]


def crandn(*shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(
        torch.randn(shape, dtype=dtype, generator=g), torch.randn(shape, dtype=dtype, generator=g)
    )


@pytest.mark.parametrize("shape", SIZES)
def test_fft2c_is_orthonormal_and_matches_numpy(shape):
    x = crandn(2, 3, *shape)
    k = fft2c(x)
    assert float(torch.linalg.vector_norm(k) / torch.linalg.vector_norm(x)) == pytest.approx(1, abs=1e-13)
    ref = np.fft.fftshift(
        np.fft.fft2(np.fft.ifftshift(x.numpy(), axes=(-2, -1)), norm="ortho"), axes=(-2, -1)
    )
    assert np.abs(k.numpy() - ref).max() < 1e-13
    assert float((ifft2c(k) - x).abs().max()) < 1e-13
    y = crandn(2, 3, *shape, seed=1)
    # ifft2c is the adjoint: <fft2c x, y> = <x, ifft2c y>
    lhs, rhs = torch.sum(k.conj() * y), torch.sum(x.conj() * ifft2c(y))
    assert float(abs(lhs - rhs)) < 1e-12


def test_fft2c_dc_is_at_the_center():
    k = fft2c(torch.ones(1, 1, 6, 5, dtype=torch.complex128))
    assert float(k[0, 0, 3, 2].real) == pytest.approx(math.sqrt(30))
    assert float(k.abs().sum()) == pytest.approx(math.sqrt(30))


@pytest.mark.parametrize("shape", SIZES)
def test_multicoil_fast_path_equals_plain_shifts(shape):
    maps = coil_sensitivity_maps(3, shape, generator=7, dtype=torch.complex128)
    mask = random_kspace_mask(shape, 2, 0.2, generator=1)
    A = MultiCoilMRI(maps, mask)
    x, y = crandn(2, 1, *shape, seed=2), crandn(2, 3, *shape, seed=3)
    assert float((A(x) - mask * fft2c(maps * x)).abs().max()) < 1e-14
    plain_adjoint = (maps.conj() * ifft2c(mask * y)).sum(1, keepdim=True)
    assert float((A.adjoint(y) - plain_adjoint).abs().max()) < 1e-14
    assert float((A.normal(x) - A.adjoint(A(x))).abs().max()) < 1e-14
    assert float((A.coil_images(y) - ifft2c(mask * y)).abs().max()) < 1e-14
    assert float((A.maps - maps).abs().max()) == 0


@pytest.mark.parametrize("shape", SIZES)
def test_single_coil_equals_plain_shifts(shape):
    mask = equispaced_kspace_mask(shape, 2, 0.25, generator=4)
    A = MRI(shape, mask)
    x, y = crandn(2, 1, *shape, seed=5), crandn(2, 1, *shape, seed=6)
    assert float((A(x) - mask * fft2c(x)).abs().max()) < 1e-14
    assert float((A.adjoint(y) - ifft2c(mask * y)).abs().max()) < 1e-14
    assert check_adjoint(A) < 1e-14


def test_real_input_is_promoted_and_precision_follows_input():
    A = MRI((8, 8), random_kspace_mask((8, 8), 2, 0.25, generator=0))
    x = torch.rand(1, 1, 8, 8)
    assert A(x).dtype == torch.complex64 and A(x.double()).dtype == torch.complex128
    assert float((A(x.double()) - A(x.to(torch.complex128))).abs().max()) == 0
    assert float((A(x) - A(x.double())).abs().max()) < 1e-6


def test_single_coil_normal_is_a_projection_with_unit_norm():
    A = MRI((16, 16), random_kspace_mask((16, 16), 4, 0.125, generator=1))
    x = crandn(1, 1, 16, 16)
    p = A.normal(x)
    assert float((A.normal(p) - p).abs().max()) < 1e-14
    assert A.norm() == 1.0 and operator_norm(A) == pytest.approx(1.0, abs=1e-6)
    assert MRI((4, 4), torch.zeros(4, 4, dtype=torch.bool)).norm() == 0.0


def test_multicoil_full_mask_is_an_isometry():
    maps = coil_sensitivity_maps(6, (16, 12), dtype=torch.complex128)
    A = MultiCoilMRI(maps, torch.ones(16, 12, dtype=torch.bool))
    x = crandn(2, 1, 16, 12)
    assert float((A.adjoint(A(x)) - x).abs().max()) < 1e-13
    assert A.norm() == pytest.approx(1.0, abs=1e-12)
    assert operator_norm(A) == pytest.approx(1.0, abs=1e-6)


def test_multicoil_undersampled_norm_by_power_iteration_is_below_one():
    maps = coil_sensitivity_maps(4, (16, 16), dtype=torch.complex128)
    A = MultiCoilMRI(maps, random_kspace_mask((16, 16), 4, 0.125, generator=2))
    assert 0.3 < A.norm() <= 1 + 1e-9


@pytest.mark.parametrize("acceleration, center_fraction, low", [(4, 0.08, 26), (8, 0.04, 13)])
def test_random_mask_center_and_expected_count(acceleration, center_fraction, low):
    W = 320
    counts = []
    start = (W - low + 1) // 2
    for seed in range(200):
        mask = random_kspace_mask((16, W), acceleration, center_fraction, generator=seed)
        assert mask.shape == (16, W) and mask.dtype == torch.bool
        assert bool((mask == mask[:1]).all()), "a column mask is the same in every row"
        cols = mask[0]
        assert bool(cols[start : start + low].all()), "the central band is fully sampled"
        counts.append(int(cols.sum()))
    # E[count] = W / acceleration; the std of the mean over 200 masks is about 0.5 (4x) and 0.4 (8x).
    assert np.mean(counts) == pytest.approx(W / acceleration, abs=2.0)
    assert min(counts) >= low and len(set(counts)) > 5


def test_random_mask_is_seeded():
    a = random_kspace_mask((4, 64), 4, 0.08, generator=3)
    b = random_kspace_mask((4, 64), 4, 0.08, generator=torch.Generator().manual_seed(3))
    c = random_kspace_mask((4, 64), 4, 0.08, generator=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_equispaced_mask_spacing_and_offsets():
    W, acc, cf = 320, 4, 0.08
    low, start = 26, (320 - 26 + 1) // 2
    offsets = set()
    for seed in range(40):
        cols = equispaced_kspace_mask((2, W), acc, cf, generator=seed)[0]
        assert bool(cols[start : start + low].all())
        outside = [j for j in range(W) if not start <= j < start + low]
        sampled = [j for j in outside if cols[j]]
        offset = sampled[0] % acc
        assert all((j - offset) % acc == 0 for j in sampled), "outside the center, every acc-th column"
        assert all(cols[j] for j in outside if (j - offset) % acc == 0)
        offsets.add(offset)
        assert abs(int(cols.sum()) - (W // acc + low - low // acc)) <= 1
    assert offsets == set(range(acc))


def test_mask_errors_name_the_argument():
    with pytest.raises(ValueError, match="center_fraction"):
        random_kspace_mask((8, 320), 8, 0.2)
    with pytest.raises(ValueError, match="acceleration"):
        random_kspace_mask((8, 320), 0.5, 0.0)
    with pytest.raises(TypeError, match="acceleration"):
        equispaced_kspace_mask((8, 320), 2.5, 0.04)
    with pytest.raises(ValueError, match="shape"):
        random_kspace_mask((320,), 4, 0.08)


def test_coil_maps_normalized_smooth_and_distinct():
    S = coil_sensitivity_maps(8, (64, 48), dtype=torch.complex128)
    assert S.shape == (8, 64, 48)
    assert float(((S.abs() ** 2).sum(0) - 1).abs().max()) < 1e-13
    step = max(float((S[:, 1:] - S[:, :-1]).abs().max()), float((S[:, :, 1:] - S[:, :, :-1]).abs().max()))
    assert step < 0.1, f"maps are not smooth: neighbor difference {step}"
    # Each coil is strongest near its own position: the brightest pixels differ between coils.
    peaks = {int(S[c].abs().argmax()) for c in range(8)}
    assert len(peaks) == 8
    assert torch.equal(S, coil_sensitivity_maps(8, (64, 48), dtype=torch.complex128))
    jittered = coil_sensitivity_maps(8, (64, 48), generator=1, dtype=torch.complex128)
    assert float((jittered - S).abs().max()) > 0.05
    assert float(((jittered.abs() ** 2).sum(0) - 1).abs().max()) < 1e-13


def test_to_float64_keeps_complex_buffers():
    maps = coil_sensitivity_maps(3, (8, 8))
    A = MultiCoilMRI(maps, random_kspace_mask((8, 8), 2, 0.25, generator=0))
    x = crandn(1, 1, 8, 8, dtype=torch.float32)
    before = A(x)
    A = A.to(torch.float64)
    assert A.maps.dtype == torch.complex128 and float(A.maps.imag.abs().max()) > 0.1
    assert float((A(x.to(torch.complex128)) - before).abs().max()) < 1e-6


def test_bad_inputs_name_the_argument():
    maps = coil_sensitivity_maps(2, (8, 8))
    mask = torch.ones(8, 8, dtype=torch.bool)
    with pytest.raises(ValueError, match="mask"):
        MultiCoilMRI(maps, torch.ones(8, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        MRI((8, 8), torch.full((8, 8), 0.5))
    with pytest.raises(ValueError, match="maps"):
        MultiCoilMRI(maps[0], mask)
    with pytest.raises(ValueError, match="shape"):
        MRI((2, 8, 8), mask)
    A = MultiCoilMRI(maps, mask)
    with pytest.raises(ValueError, match="x"):
        A(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="y"):
        A.adjoint(torch.zeros(1, 3, 8, 8, dtype=torch.complex64))


@pytest.mark.parametrize("chunk_coils", [1, 2, 5])
def test_cpu_coil_loop_equals_batched_autograd_path(monkeypatch, chunk_coils):
    """The chunked CPU loop (no autograd) and the batched path (autograd, other devices) agree."""
    shape = (6, 8)
    monkeypatch.setattr(mri, "_CHUNK_BYTES", chunk_coils * 6 * 8 * 16)
    maps = coil_sensitivity_maps(5, shape, generator=2, dtype=torch.complex128)
    A = MultiCoilMRI(maps, random_kspace_mask(shape, 2, 0.25, generator=3))
    x, y = crandn(3, 1, *shape, seed=4), crandn(3, 5, *shape, seed=5)
    fast = A(x), A.adjoint(y), A.normal(x)
    xg, yg = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    slow = A(xg), A.adjoint(yg), A.normal(xg)
    assert all(t.grad_fn is not None for t in slow) and all(t.grad_fn is None for t in fast)
    for f, s in zip(fast, slow, strict=True):
        assert float((f - s.detach()).abs().max()) < 1e-14
    assert float((fast[0] - A.mask * fft2c(maps * x)).abs().max()) < 1e-14
