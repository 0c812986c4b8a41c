"""Parallel-beam CT: exact adjoint, geometry vs scikit-image's radon, chord lengths, coverage, autograd."""

import math

import numpy as np
import pytest
import torch
from skimage.data import shepp_logan_phantom
from skimage.transform import radon, resize

from inverselab.operators import (
    ParallelBeamCT,
    check_adjoint,
    limited_angle_angles,
    sparse_view_angles,
)


@pytest.fixture(scope="module")
def phantom128():
    return resize(shepp_logan_phantom(), (128, 128), anti_aliasing=True)


def test_dot_test_64_with_30_angles():
    A = ParallelBeamCT(64, sparse_view_angles(30))
    assert check_adjoint(A, dtype=torch.float64, batch_size=3) < 1e-10
    assert check_adjoint(A, dtype=torch.float32) < 1e-6


@pytest.mark.parametrize("num_detectors, circle", [(182, False), (128, True)])
def test_matches_skimage_radon_on_shepp_logan(phantom128, num_detectors, circle):
    angles = sparse_view_angles(180)
    A = ParallelBeamCT(128, angles, num_detectors=num_detectors)
    ours = A(torch.from_numpy(phantom128)[None, None])[0, 0].numpy()
    ref = radon(phantom128, theta=np.degrees(angles.numpy()), circle=circle).T
    assert ours.shape == ref.shape
    rel = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
    worst = (np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)).max()
    assert rel < 0.01 and worst < 0.02, f"relative difference to skimage: {rel:.4f} (worst angle {worst:.4f})"


def test_sinogram_of_ones_gives_chord_lengths():
    N = 32
    angles = [0.0, math.pi / 6, math.pi / 4, math.pi / 2, 2.5]
    A = ParallelBeamCT(N, angles)
    center = A(torch.ones(1, 1, N, N, dtype=torch.float64))[0, 0, :, A.num_detectors // 2]
    expected = [N / max(abs(math.cos(t)), abs(math.sin(t))) for t in angles]
    assert np.allclose(center.numpy(), expected, rtol=1e-6)


def test_default_detectors_cover_every_pixel_at_every_angle():
    N, n = 32, 12
    angles = sparse_view_angles(n)
    full, circle = ParallelBeamCT(N, angles), ParallelBeamCT(N, angles, num_detectors=N)
    assert full.num_detectors == 2 * 23 + 3
    r = torch.arange(N, dtype=torch.float64) - N // 2
    inside = torch.hypot(r[:, None], r[None, :]) < N // 2 - 1
    for A, covers_corners in ((full, True), (circle, False)):
        for a in range(n):
            y = torch.zeros(1, *A.out_shape, dtype=torch.float64)
            y[0, 0, a] = 1
            weight = A.adjoint(y)[0, 0]  # total weight of each pixel at angle a
            assert float(weight[inside].min()) > 0.5
            if covers_corners:
                assert float(weight.min()) > 0.5, f"angle {a}: a pixel is missed"
    corners = circle.adjoint(torch.ones(1, *circle.out_shape, dtype=torch.float64))[0, 0, 0, 0]
    assert float(corners) < n - 1, "with D = N, the corners fall off the detector at oblique angles"


def test_batch_matches_single_images_and_float32():
    A = ParallelBeamCT(24, limited_angle_angles(90, 10))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 24, 24, dtype=torch.float64, generator=g)
    y = A(x)
    assert y.shape == (3, 1, 10, A.num_detectors)
    for b in range(3):
        assert torch.allclose(y[b : b + 1], A(x[b : b + 1]), rtol=0, atol=1e-12)
    assert torch.allclose(A(x.float()).double(), y, rtol=1e-5, atol=1e-4)
    z = A.adjoint(y)
    for b in range(3):
        assert torch.allclose(z[b : b + 1], A.adjoint(y[b : b + 1]), rtol=0, atol=1e-12)


def test_products_equal_the_scipy_matrix():
    A = ParallelBeamCT(20, sparse_view_angles(9))
    x = torch.rand(3, 1, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    M = A.scipy_matrix()
    ref = (M @ x.reshape(3, -1).numpy().T).T.reshape(3, *A.out_shape)
    assert np.abs(A(x).numpy() - ref).max() < 1e-12
    assert (A.scipy_matrix(transpose=True) != M.T.tocsr()).nnz == 0
    assert M.nnz == A.nnz and M.dtype == np.float32


def test_autograd_gradient_is_the_adjoint():
    A = ParallelBeamCT(16, sparse_view_angles(7))
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64, generator=g).requires_grad_(True)
    y = torch.rand(2, *A.out_shape, dtype=torch.float64, generator=g)
    loss = 0.5 * ((A(x) - y) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, x, create_graph=True)
    assert torch.allclose(grad, A.adjoint(A(x.detach()) - y), atol=1e-12)
    # Second order: the Hessian-vector product is AᵀA v.
    v = torch.rand_like(x)
    (hv,) = torch.autograd.grad((grad * v).sum(), x)
    assert torch.allclose(hv, A.normal(v), atol=1e-10)


def test_angle_helpers():
    assert torch.allclose(sparse_view_angles(60)[1], torch.tensor(math.pi / 60, dtype=torch.float64))
    lim = limited_angle_angles(90, 90)
    assert lim.numel() == 90 and float(lim[-1]) == pytest.approx(math.radians(89))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="angles"):
        ParallelBeamCT(8, [0.0, float("nan")])
    with pytest.raises(ValueError, match="angles"):
        ParallelBeamCT(8, [])
    with pytest.raises(ValueError, match="size"):
        ParallelBeamCT(0, [0.0])
    with pytest.raises(ValueError, match="num_detectors"):
        ParallelBeamCT(8, [0.0], num_detectors=0)
    A = ParallelBeamCT(8, [0.0, 1.0])
    with pytest.raises(ValueError, match="x"):
        A(torch.zeros(1, 1, 8, 9))
    with pytest.raises(TypeError, match="x"):
        A(torch.zeros(1, 1, 8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match="y"):
        A.adjoint(torch.zeros(1, 1, 3, A.num_detectors))
    with pytest.raises(ValueError, match="range_degrees"):
        limited_angle_angles(200, 10)
