"""Contract-test factories for :mod:`inverselab.operators.inpainting`."""

import torch

from inverselab.operators import Inpainting, block_mask, random_mask

from ..registry import Case, register


def diag(mask, shape):
    return torch.diag(mask.expand(shape).reshape(-1).to(torch.float64))


@register(Inpainting)
def inpaint_random():
    mask = random_mask((6, 6), 0.5, generator=1)
    return Case(Inpainting((2, 6, 6), mask), dense=diag(mask, (2, 6, 6)))


@register(Inpainting, name="inpaint-per-channel")
def inpaint_per_channel():
    mask = random_mask((2, 4, 5), 0.3, generator=2).int()
    return Case(Inpainting((2, 4, 5), mask), dense=diag(mask, (2, 4, 5)))


@register(Inpainting, name="inpaint-block")
def inpaint_block():
    mask = block_mask((8, 8), missing_fraction=0.25, position=(1, 3))
    return Case(Inpainting((1, 8, 8), mask), dense=diag(mask, (1, 8, 8)))
