"""Untrained decoders: the Deep Decoder (Heckel & Hand 2019) and the ConvDecoder (Darestani & Heckel 2021).

Both map a fixed random input ``z`` to an image through upsampling and convolutions; fitted to one
measurement (:func:`~inverselab.solvers.untrained.fit_untrained`), the architecture alone is the image
prior. They are plain modules: the physics is the operator the fitting is given.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_number
from ._untrained import ChannelNorm, UntrainedNetwork, conv, image_size_of, init_parameters

__all__ = ["DeepDecoder", "ConvDecoder", "deep_decoder_num_parameters"]


def deep_decoder_num_parameters(channels: int, num_layers: int = 6, out_channels: int = 3) -> int:
    """Number of parameters of a :class:`DeepDecoder`: ``d k² + 2 d k + k c`` for ``d`` layers of ``k``
    channels and ``c`` output channels (``d`` 1x1 convolutions ``k → k`` without bias, a scale and a shift
    per channel in each of the ``d`` channel normalizations, and the 1x1 output convolution ``k → c``).

    It does not depend on the image size: that is the Deep Decoder's compression view, an image of
    ``n`` pixels described by ``N << n`` weights (Heckel & Hand 2019, ``k = 64`` and color: 25,536).

    Example:
        >>> deep_decoder_num_parameters(64, num_layers=6, out_channels=3)
        25536
    """
    k = check_number("channels", channels, low=1, integer=True)
    d = check_number("num_layers", num_layers, low=1, integer=True)
    c = check_number("out_channels", out_channels, low=1, integer=True)
    return d * k * k + 2 * d * k + k * c


class DeepDecoder(UntrainedNetwork):
    """The Deep Decoder: an under-parameterized image generator of 1x1 convolutions and fixed upsampling.

    Layer ``i = 1..d``: a 1x1 convolution ``k → k`` without bias, bilinear upsampling (layers ``1..d-1``
    only), ReLU and channel normalization (:class:`~inverselab.networks._untrained.ChannelNorm`); then a 1x1
    convolution ``k → out_channels`` without bias and, by default, a sigmoid. The input is a fixed
    ``k x h_0 x w_0`` tensor of uniform noise (:meth:`random_input`) with
    ``h_0 = ceil(H / 2^(d-1))``; each upsampling goes to ``ceil(H / 2^j)`` pixels, so it doubles the size for
    ``H = h_0 2^(d-1)`` (16x16 → 512x512 for ``d = 6``) and any other ``H, W`` works too (the steps are then
    close to, not exactly, 2). The parameter count ``d k² + 2 d k + k c``
    (:func:`deep_decoder_num_parameters`) does not grow with the image.

    The 1x1 convolutions mix channels only: spatial structure comes entirely from the fixed bilinear
    upsampling, which is why gradient descent fits smooth, natural-looking images first and noise late.
    With its default settings the paper fits by Adam with step 0.01 (see
    :func:`inverselab.methods.untrained.deep_decoder`).

    Reference: R. Heckel and P. Hand, "Deep Decoder: Concise image representations from untrained
    non-convolutional networks", ICLR 2019.

    Example:
        >>> net = DeepDecoder((20, 24), out_channels=3, channels=8, num_layers=4, generator=0)
        >>> net.input_shape
        (8, 3, 3)
        >>> net(net.random_input(generator=1)).shape
        torch.Size([1, 3, 20, 24])
        >>> net.num_parameters() == deep_decoder_num_parameters(8, 4, 3)
        True
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        out_channels: int = 3,
        channels: int = 64,
        num_layers: int = 6,
        sigmoid: bool = True,
        generator: torch.Generator | int | None = None,
    ):
        """Build the network and draw its weights.

        Args:
            image_size: Output size ``H`` (square) or ``(H, W)``.
            out_channels: Output channels ``c`` (3 for color, 1 for gray; 2 per image channel for complex
                images, real and imaginary parts).
            channels: Channels ``k`` of every hidden layer (the paper's default 64).
            num_layers: Hidden layers ``d`` (the paper's 6).
            sigmoid: End with a sigmoid (images in ``[0, 1]``); turn it off for signed or complex images.
            generator: ``torch.Generator`` or seed for the initial weights (``None`` means seed 0).
        """
        super().__init__()
        self.image_size = image_size_of(image_size)
        self.out_channels = check_number("out_channels", out_channels, low=1, integer=True)
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.num_layers = check_number("num_layers", num_layers, low=1, integer=True)
        self.sigmoid = bool(sigmoid)
        H, W = self.image_size
        d = self.num_layers
        # size of layer i's input: ceil(H / 2^(d-1-i)); the last layer works at the output size
        self.sizes = [(math.ceil(H / 2 ** (d - 1 - i)), math.ceil(W / 2 ** (d - 1 - i))) for i in range(d)]
        k = self.channels
        self.convs = nn.ModuleList(conv(k, k, 1, bias=False) for _ in range(d))
        self.norms = nn.ModuleList(ChannelNorm(k) for _ in range(d))
        self.output = conv(k, self.out_channels, 1, bias=False)
        init_parameters(self, generator)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(k, h_0, w_0)`` with ``h_0 = ceil(H / 2^(d-1))``."""
        return (self.channels, *self.sizes[0])

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable) but the generator."""
        return {
            "image_size": list(self.image_size),
            "out_channels": self.out_channels,
            "channels": self.channels,
            "num_layers": self.num_layers,
            "sigmoid": self.sigmoid,
        }

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(B, out_channels, H, W)`` from inputs ``z`` of shape ``(B, *input_shape)``."""
        x = self._check_input(z)
        for i, (layer, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = layer(x)
            if i + 1 < self.num_layers:
                x = F.interpolate(x, size=self.sizes[i + 1], mode="bilinear", align_corners=False)
            x = norm(torch.relu(x))
        x = self.output(x)
        return torch.sigmoid(x) if self.sigmoid else x


class ConvDecoder(UntrainedNetwork):
    """The ConvDecoder: an untrained decoder of 3x3 convolutions and nearest-neighbour upsampling, for MRI.

    From a fixed ``k x h_0 x w_0`` noise input, ``num_layers - 1`` blocks of (nearest upsampling, 3x3
    convolution, ReLU, channel normalization) grow the image through sizes in geometric progression from
    ``(h_0, w_0)`` to ``(H, W)`` (``ceil(h_0 s^j)`` with ``s = (H / h_0)^(1/(num_layers-1))``, any ``H, W``),
    a last such block without upsampling works at ``(H, W)``, and a 1x1 convolution gives
    ``out_channels`` (2 for one complex image: real and imaginary part) with no output nonlinearity.
    Convolutions have biases and zero padding.

    Unlike the Deep Decoder its 3x3 convolutions see neighbours, and with the default 128 channels it has
    about ``9 k² num_layers ≈ 0.9 M`` parameters: more than the pixels of a 256x256 image, so it can fit
    noise, and the fitting relies on early stopping (:func:`~inverselab.solvers.untrained.fit_untrained`).

    Reference: M. Z. Darestani and R. Heckel, "Accelerated MRI with un-trained neural networks", IEEE Trans.
    Comput. Imaging 7, 2021.

    Example:
        >>> net = ConvDecoder((30, 20), out_channels=2, channels=8, num_layers=4, generator=0)
        >>> net.input_shape, net.sizes
        ((8, 4, 4), [(4, 4), (8, 7), (16, 12), (30, 20)])
        >>> net(net.random_input(generator=1)).shape
        torch.Size([1, 2, 30, 20])
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        out_channels: int = 2,
        channels: int = 128,
        num_layers: int = 6,
        input_size: int | tuple[int, int] = 4,
        generator: torch.Generator | int | None = None,
    ):
        """Build the network and draw its weights.

        Args:
            image_size: Output size ``H`` (square) or ``(H, W)``.
            out_channels: Output channels (2 for a complex image: real and imaginary part).
            channels: Channels ``k`` of the input and of every hidden layer.
            num_layers: Number of 3x3 convolution blocks (>= 2); all but the last upsample first.
            input_size: Spatial size of the noise input, ``h_0`` or ``(h_0, w_0)``, at most ``image_size``.
            generator: ``torch.Generator`` or seed for the initial weights (``None`` means seed 0).
        """
        super().__init__()
        self.image_size = image_size_of(image_size)
        self.out_channels = check_number("out_channels", out_channels, low=1, integer=True)
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.num_layers = check_number("num_layers", num_layers, low=2, integer=True)
        self.input_size = image_size_of(input_size, "input_size")
        if any(i > s for i, s in zip(self.input_size, self.image_size, strict=True)):
            raise ValueError(
                f"input_size must be at most image_size {self.image_size}, got {self.input_size}"
            )
        steps = self.num_layers - 1
        scales = [(s / i) ** (1 / steps) for s, i in zip(self.image_size, self.input_size, strict=True)]
        self.sizes = [self.input_size]
        for j in range(1, steps):  # ceil, but 4 * sqrt(8)**2 = 32.000000000000004 is 32
            size = tuple(math.ceil(i * s**j - 1e-9) for i, s in zip(self.input_size, scales, strict=True))
            self.sizes.append(size)  # type: ignore[arg-type]
        self.sizes.append(self.image_size)
        k = self.channels
        self.convs = nn.ModuleList(conv(k, k, 3, bias=True) for _ in range(self.num_layers))
        self.norms = nn.ModuleList(ChannelNorm(k) for _ in range(self.num_layers))
        self.output = conv(k, self.out_channels, 1, bias=True)
        init_parameters(self, generator)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(k, h_0, w_0)``."""
        return (self.channels, *self.input_size)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable) but the generator."""
        return {
            "image_size": list(self.image_size),
            "out_channels": self.out_channels,
            "channels": self.channels,
            "num_layers": self.num_layers,
            "input_size": list(self.input_size),
        }

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(B, out_channels, H, W)`` from inputs ``z`` of shape ``(B, *input_shape)``."""
        x = self._check_input(z)
        for i, (layer, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            if i + 1 < self.num_layers:
                x = F.interpolate(x, size=self.sizes[i + 1], mode="nearest")
            x = norm(torch.relu(layer(x)))
        return self.output(x)
