"""The hourglass "skip" network of Deep Image Prior (Ulyanov, Vedaldi & Lempitsky 2018)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_number
from ._untrained import ChannelNorm, UntrainedNetwork, conv, image_size_of, init_parameters

__all__ = ["SkipNet", "skip_net_max_scales"]

_SLOPE = 0.2  # LeakyReLU slope of the paper's code


def skip_net_max_scales(image_size: int | tuple[int, int]) -> int:
    """The most scales a :class:`SkipNet` can have for ``image_size``: every stride-2 level halves the size
    (rounding up) and the coarsest must keep at least 2 pixels per side (for the reflection padding).

    Example:
        >>> skip_net_max_scales(32), skip_net_max_scales(33), skip_net_max_scales((256, 100))
        (4, 5, 6)
    """
    H, W = image_size_of(image_size)
    scales = 0
    while math.ceil(min(H, W) / 2 ** (scales + 1)) >= 2:
        scales += 1
    return scales


def _block(c_in: int, c_out: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """Convolution (reflection padding, bias), channel normalization, LeakyReLU(0.2)."""
    return nn.Sequential(
        conv(c_in, c_out, kernel_size, stride=stride, bias=True, padding_mode="reflect"),
        ChannelNorm(c_out),
        nn.LeakyReLU(_SLOPE),
    )


class _Level(nn.Module):
    """One scale of the hourglass: ``up(cat(skip(x), upsample(deeper(down(x)))))``."""

    def __init__(self, c_in: int, channels: int, skip_channels: int, inner: nn.Module | None):
        super().__init__()
        self.skip = _block(c_in, skip_channels, 1) if skip_channels else None
        # down: a stride-2 3x3 conv (ceil(H/2) outputs) then a 3x3 conv, each with norm and LeakyReLU
        self.down = nn.Sequential(_block(c_in, channels, 3, stride=2), _block(channels, channels, 3))
        self.inner = inner
        self.merge_norm = ChannelNorm(skip_channels + channels)
        self.up = nn.Sequential(_block(skip_channels + channels, channels, 3), _block(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        deeper = self.down(x)
        if self.inner is not None:
            deeper = self.inner(deeper)
        # bilinear upsampling back to exactly this level's size (x2 for even sizes)
        deeper = F.interpolate(deeper, size=x.shape[-2:], mode="bilinear", align_corners=False)
        merged = deeper if self.skip is None else torch.cat((self.skip(x), deeper), dim=1)
        return self.up(self.merge_norm(merged))


class SkipNet(UntrainedNetwork):
    """The encoder-decoder ("hourglass") with skip connections of Deep Image Prior.

    ``num_scales`` levels; level ``i`` takes its input ``x`` (``in_channels`` noise channels at the first
    level) to

    - a skip branch: 1x1 convolution to ``skip_channels``, normalization, LeakyReLU(0.2);
    - a deeper branch: 3x3 convolution with stride 2 (``ceil(H/2)`` outputs) and a 3x3 convolution (each
      followed by normalization and LeakyReLU), the next level, and bilinear upsampling back to ``x``'s size;

    then concatenates both, normalizes, and applies a 3x3 and a 1x1 convolution (each followed by
    normalization and LeakyReLU) with ``channels`` outputs. A final 1x1 convolution gives ``out_channels``,
    followed by a sigmoid by default. Convolutions have biases and reflection padding; the normalizations are
    :class:`~inverselab.networks._untrained.ChannelNorm` (batch normalization on a batch of one image, as the
    network is fitted). The paper's setting for denoising and inpainting is 32 noise channels, 5 scales of 128
    channels and 4 skip channels (about 2.2 M parameters); it is fully convolutional, and any ``H, W`` works
    that keeps 2 pixels at the coarsest scale (:func:`skip_net_max_scales`).

    Reference: D. Ulyanov, A. Vedaldi and V. Lempitsky, "Deep image prior", CVPR 2018 (supplementary
    material: architectures).

    Example:
        >>> net = SkipNet(24, in_channels=4, out_channels=1, channels=8, skip_channels=2, num_scales=3)
        >>> net.input_shape
        (4, 24, 24)
        >>> net(net.random_input(generator=0)).shape
        torch.Size([1, 1, 24, 24])
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        in_channels: int = 32,
        out_channels: int = 3,
        channels: int = 128,
        skip_channels: int = 4,
        num_scales: int = 5,
        sigmoid: bool = True,
        generator: torch.Generator | int | None = None,
    ):
        """Build the network and draw its weights.

        Args:
            image_size: Image size ``H`` (square) or ``(H, W)``; the input noise has this size.
            in_channels: Channels of the noise input (the paper's 32).
            out_channels: Output channels (3 color, 1 gray; 2 per image channel for complex images).
            channels: Channels of every level, down and up (the paper's 128).
            skip_channels: Channels of each skip connection (the paper's 4); 0 removes them.
            num_scales: Number of levels (the paper's 5), at most :func:`skip_net_max_scales`.
            sigmoid: End with a sigmoid (images in ``[0, 1]``); turn it off for signed or complex images.
            generator: ``torch.Generator`` or seed for the initial weights (``None`` means seed 0).
        """
        super().__init__()
        self.image_size = image_size_of(image_size)
        self.in_channels = check_number("in_channels", in_channels, low=1, integer=True)
        self.out_channels = check_number("out_channels", out_channels, low=1, integer=True)
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.skip_channels = check_number("skip_channels", skip_channels, low=0, integer=True)
        self.num_scales = check_number("num_scales", num_scales, low=1, integer=True)
        most = skip_net_max_scales(self.image_size)
        if self.num_scales > most:
            raise ValueError(
                f"num_scales must be at most {most} for image_size {self.image_size} (each scale halves the "
                f"size and the coarsest needs 2 pixels per side), got {self.num_scales}"
            )
        self.sigmoid = bool(sigmoid)
        inner = None
        for i in reversed(range(self.num_scales)):
            c_in = self.in_channels if i == 0 else self.channels
            inner = _Level(c_in, self.channels, self.skip_channels, inner)
        self.levels = inner
        self.output = conv(self.channels, self.out_channels, 1, bias=True)
        init_parameters(self, generator)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(in_channels, H, W)``."""
        return (self.in_channels, *self.image_size)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable) but the generator."""
        return {
            "image_size": list(self.image_size),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "channels": self.channels,
            "skip_channels": self.skip_channels,
            "num_scales": self.num_scales,
            "sigmoid": self.sigmoid,
        }

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(B, out_channels, H, W)`` from inputs ``z`` of shape ``(B, *input_shape)``."""
        x = self.output(self.levels(self._check_input(z)))
        return torch.sigmoid(x) if self.sigmoid else x
