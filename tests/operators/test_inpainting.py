import pytest
import torch

from inverselab.operators import Inpainting, block_mask, random_mask


def test_random_mask_keeps_exact_count_and_is_seeded():
    m = random_mask((10, 20), 0.37, generator=3)
    assert m.dtype == torch.bool and m.shape == (10, 20)
    assert int(m.sum()) == round(0.37 * 200)
    assert torch.equal(m, random_mask((10, 20), 0.37, generator=torch.Generator().manual_seed(3)))
    assert not torch.equal(m, random_mask((10, 20), 0.37, generator=4))
    assert bool(random_mask((4, 4), 1.0).all())
    per_entry = random_mask((3, 8, 8), 0.5, generator=0)
    assert per_entry.shape == (3, 8, 8) and int(per_entry.sum()) == 96
    assert not torch.equal(per_entry[0], per_entry[1])


def test_random_mask_is_uniform_over_pixels():
    counts = sum(random_mask((4, 4), 0.25, generator=s).double() for s in range(2000))
    assert float(counts.min()) > 400 and float(counts.max()) < 600  # 500 expected each, sd ~19


def test_block_mask_geometry():
    m = block_mask((8, 10), (2, 4))
    missing = (~m).nonzero()
    assert missing[:, 0].tolist() == [3] * 4 + [4] * 4 and sorted(set(missing[:, 1].tolist())) == [3, 4, 5, 6]
    m = block_mask((20, 20), missing_fraction=0.25, position=(0, 10))
    assert int((~m).sum()) == 100 and not bool(m[0, 10]) and not bool(m[9, 19]) and bool(m[10, 10])


def test_inpainting_masks_channels_and_is_a_projection():
    mask = random_mask((6, 6), 0.5, generator=1)
    A = Inpainting((3, 6, 6), mask)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = A(x)
    assert torch.equal(y[:, :, ~mask], torch.zeros_like(y[:, :, ~mask]))
    assert torch.equal(y[:, :, mask], x[:, :, mask])
    assert torch.equal(A.adjoint(y), y) and torch.equal(A.normal(x), y) and torch.equal(A(y), y)
    assert A.norm() == 1.0
    assert Inpainting((1, 2, 2), torch.zeros(2, 2)).norm() == 0.0


def test_inpainting_float_and_per_channel_masks():
    mask = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    A = Inpainting((2, 1, 2), mask)
    assert A.mask.dtype == torch.bool
    assert A(torch.ones(1, 2, 1, 2)).tolist() == [[[[1.0, 0.0]], [[0.0, 1.0]]]]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: random_mask((8, 8), 0.0), "fraction"),
        (lambda: random_mask((8, 8), 1.5), "fraction"),
        (lambda: random_mask((8,), 0.5), "shape"),
        (lambda: block_mask((8, 8)), "block_size"),
        (lambda: block_mask((8, 8), 9), "block_size"),
        (lambda: block_mask((8, 8), missing_fraction=0), "missing_fraction"),
        (lambda: block_mask((8, 8), 4, position=(5, 0)), "position"),
        (lambda: block_mask((8, 8), 4, position="top"), "position"),
        (lambda: Inpainting((1, 4, 4), torch.ones(4, 5)), "mask"),
        (lambda: Inpainting((1, 4, 4), 2 * torch.ones(4, 4)), "mask"),
        (lambda: Inpainting((1, 4, 4), torch.ones(4, 4))(torch.ones(1, 4, 4)), "x"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
