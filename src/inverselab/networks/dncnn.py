"""DnCNN: a plain stack of convolutions that predicts the noise (residual learning)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_number
from .drunet import noise_level_map
from .unet import _check_image

__all__ = ["DnCNN"]


class DnCNN(nn.Module):
    """DnCNN denoiser: ``depth`` 3x3 convolutions predict the noise ``n(x)``; the output is ``x - n(x)``.

    Layers: conv + ReLU, then ``depth - 2`` times conv + batch norm (if ``batch_norm``) + ReLU, then a conv
    back to ``channels`` (without bias: the noise has zero mean). The network is blind: it is called as a
    denoiser ``denoiser(x, sigma)`` but ignores ``sigma`` (it is checked, not used), so train one network per
    noise level or over a range of levels.

    Reference:
        Zhang, Zuo, Chen, Meng & Zhang, "Beyond a Gaussian denoiser: Residual learning of deep CNN for image
        denoising", IEEE Transactions on Image Processing 26(7), 2017.

    Example:
        >>> import torch
        >>> net = DnCNN(channels=1, depth=3, features=8)
        >>> net(torch.zeros(2, 1, 7, 10), 0.1).shape
        torch.Size([2, 1, 7, 10])
    """

    def __init__(self, channels: int = 1, depth: int = 17, features: int = 64, batch_norm: bool = True):
        """Build the network.

        Args:
            channels: Number of image channels (>= 1).
            depth: Number of convolution layers (>= 2).
            features: Channels of the hidden layers (>= 1).
            batch_norm: Batch normalization in the hidden layers (their convs then have no bias).
        """
        super().__init__()
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.depth = check_number("depth", depth, low=2, integer=True)
        self.features = check_number("features", features, low=1, integer=True)
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be a bool, got {batch_norm!r}")
        self.batch_norm = batch_norm

        layers: list[nn.Module] = [
            nn.Conv2d(self.channels, self.features, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
        ]
        for _ in range(self.depth - 2):
            layers.append(
                nn.Conv2d(self.features, self.features, kernel_size=3, padding=1, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(self.features))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(self.features, self.channels, kernel_size=3, padding=1, bias=False))
        self.layers = nn.Sequential(*layers)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``DnCNN(**net.config)`` builds the same network."""
        return {
            "channels": self.channels,
            "depth": self.depth,
            "features": self.features,
            "batch_norm": self.batch_norm,
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor | None = None) -> torch.Tensor:
        """Denoise ``x`` of shape ``(B, channels, H, W)``.

        Args:
            x: Noisy images.
            sigma: Ignored (the network is blind); if given, it must be a valid noise level for ``x`` as in
                :func:`noise_level_map`.

        Returns:
            ``x - n(x)``, the same shape as ``x``.
        """
        _check_image("x", x, self.channels)
        if sigma is not None:
            noise_level_map(sigma, x)
        return x - self.layers(x)
