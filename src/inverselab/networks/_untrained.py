"""Pieces shared by the untrained networks (Deep Decoder, ConvDecoder, the Deep Image Prior skip network).

An untrained network is fitted to one measurement from its random initialization, so its initialization is
part of the method: every one draws its weights from an explicit ``torch.Generator`` (never the global RNG)
and has a fixed random input ``z`` of shape :attr:`UntrainedNetwork.input_shape`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._checks import check_number
from ..noise import make_generator

#: The input noise of all three papers' code: uniform in ``[0, INPUT_SCALE)``.
INPUT_SCALE = 0.1


def image_size_of(value: object, name: str = "image_size") -> tuple[int, int]:
    """``(H, W)`` from an integer or a pair of positive integers; the error names ``name``."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (H, W) of integers, got {value!r}")
        h, w = (check_number(name, v, low=1, integer=True) for v in value)
        return int(h), int(w)
    size = check_number(name, value, low=1, integer=True)
    return size, size


def conv(
    c_in: int, c_out: int, kernel_size: int, *, stride: int = 1, bias: bool, padding_mode: str = "zeros"
):
    """A ``kernel_size`` convolution with "same" padding (``ceil(H / stride)`` outputs), created without
    drawing its initial weights from the global RNG (:func:`init_parameters` draws them)."""
    return torch.nn.utils.skip_init(
        nn.Conv2d,
        c_in,
        c_out,
        kernel_size,
        stride=stride,
        padding=(kernel_size - 1) // 2,
        bias=bias,
        padding_mode=padding_mode,
    )


class ChannelNorm(nn.Module):
    """Per-image, per-channel normalization over the spatial dimensions with a learned scale and shift:
    ``γ_c (x_c - mean(x_c)) / sqrt(var(x_c) + eps) + β_c`` (biased variance).

    This is what the papers' ``BatchNorm2d`` computes in training mode on a batch of one image (the network is
    fitted to a single image and never switched to eval mode); unlike batch normalization it keeps the items
    of a batch independent.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=(-2, -1), keepdim=True, correction=0)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


def init_parameters(module: nn.Module, generator: torch.Generator | int | None) -> None:
    """PyTorch's default initialization of every convolution, drawn from ``generator``: weights and biases
    uniform in ``±1/sqrt(fan_in)`` (what ``kaiming_uniform_(a=sqrt(5))`` gives); normalizations get scale 1
    and shift 0."""
    gen = make_generator(generator)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                _uniform_(m.weight, bound, gen)
                if m.bias is not None:
                    _uniform_(m.bias, bound, gen)
            elif isinstance(m, ChannelNorm):
                m.weight.fill_(1.0)
                m.bias.fill_(0.0)


def _uniform_(t: torch.Tensor, bound: float, gen: torch.Generator) -> None:
    draw = torch.rand(t.shape, generator=gen, device=gen.device, dtype=torch.float32)
    t.copy_((2 * draw - 1) * bound)


class UntrainedNetwork(nn.Module):
    """Base class: a generator ``x = G(z)`` of images ``(B, out_channels, H, W)`` from a fixed input ``z``.

    Subclasses set ``image_size``, ``out_channels`` and :attr:`input_shape`.
    """

    image_size: tuple[int, int]
    out_channels: int

    @property
    def input_shape(self) -> tuple[int, int, int]:  # pragma: no cover - abstract
        """Shape ``(C, h, w)`` of the network's input (without the batch dimension)."""
        raise NotImplementedError

    def random_input(
        self, generator: torch.Generator | int | None = None, batch_size: int = 1
    ) -> torch.Tensor:
        """The papers' fixed input: uniform noise in ``[0, 0.1)`` of shape ``(batch_size, *input_shape)``,
        drawn from ``generator`` (a seed or ``None`` for seed 0), on the device and in the dtype of the
        network's parameters."""
        gen = make_generator(generator)
        batch_size = check_number("batch_size", batch_size, low=1, integer=True)
        ref = next(self.parameters())
        z = torch.rand((batch_size, *self.input_shape), generator=gen, device=gen.device, dtype=ref.dtype)
        return (INPUT_SCALE * z).to(ref.device)

    def num_parameters(self) -> int:
        """Number of learned scalars (all parameters)."""
        return sum(p.numel() for p in self.parameters())

    def _check_input(self, z: object) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
        if z.ndim != 4 or tuple(z.shape[1:]) != tuple(self.input_shape):
            raise ValueError(
                f"z must have shape (B, {', '.join(map(str, self.input_shape))}) (the network's "
                f"input_shape), got shape {tuple(z.shape)}"
            )
        if not z.is_floating_point():
            raise TypeError(f"z must be a real floating-point tensor, got dtype {z.dtype}")
        return z
