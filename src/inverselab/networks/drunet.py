"""DRUNet: a residual U-Net denoiser fed a noise-level map, so one network serves a range of sigmas."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_number
from .unet import _check_image

__all__ = ["DRUNet", "noise_level_map"]


def noise_level_map(sigma: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The noise standard deviation as a ``(B, 1, H, W)`` map on ``x``'s device and dtype.

    Args:
        sigma: A number (one level for the batch), a 0-d or ``(B,)`` tensor (one level per image) or a 4-d
            tensor that broadcasts to ``(B, 1, H, W)`` (a level per pixel). Non-negative, finite, in the
            units of ``x`` (e.g. ``25 / 255`` for images in ``[0, 1]``).
        x: The ``(B, C, H, W)`` images the map is for.

    Returns:
        The map, shape ``(B, 1, H, W)``.

    Example:
        >>> import torch
        >>> noise_level_map(torch.tensor([0.5, 0.25]), torch.zeros(2, 3, 4, 5))[:, 0, 0, 0].tolist()
        [0.5, 0.25]
    """
    B, _, H, W = x.shape
    if isinstance(sigma, Real) and not isinstance(sigma, bool):
        check_number("sigma", sigma, low=0)
        return torch.full((B, 1, H, W), float(sigma), dtype=x.dtype, device=x.device)
    if not isinstance(sigma, torch.Tensor):
        raise TypeError(f"sigma must be a number or a torch.Tensor, got {type(sigma).__name__}")
    if sigma.is_complex() or sigma.dtype == torch.bool:
        raise TypeError(f"sigma must be a real tensor, got dtype {sigma.dtype}")
    if sigma.ndim == 0:
        sigma = sigma.reshape(1, 1, 1, 1)
    elif sigma.ndim == 1 and sigma.shape[0] == B:
        sigma = sigma.reshape(B, 1, 1, 1)
    elif not (
        sigma.ndim == 4 and all(s == 1 or s == t for s, t in zip(sigma.shape, (B, 1, H, W), strict=True))
    ):
        raise ValueError(
            f"sigma must be a number, a 0-d tensor, a ({B},) tensor or a map broadcastable to "
            f"({B}, 1, {H}, {W}); got shape {tuple(sigma.shape)}"
        )
    if not bool(torch.isfinite(sigma).all()) or bool((sigma < 0).any()):
        raise ValueError(
            f"sigma must be finite and >= 0, got min {float(sigma.min())}, max {float(sigma.max())}"
        )
    return sigma.to(device=x.device, dtype=x.dtype).expand(B, 1, H, W)


class _ResBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with bias-free 3x3 convs."""

    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(features, features, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class DRUNet(nn.Module):
    """A small DRUNet: a bias-free residual U-Net fed the image and a noise-level map.

    The input is the image concatenated with the map of ``sigma`` (one channel), so one network denoises a
    range of noise levels. Each level has ``num_blocks`` residual blocks (3x3 conv, ReLU, 3x3 conv, plus the
    input); 2x2 stride-2 convolutions go down, 2x2 stride-2 transposed convolutions go up, and the skips
    are added (not concatenated). All convolutions are bias-free. Unlike the original, the network is
    residual: it returns ``x + tail(...)`` (as DnCNN learns the noise), which trains faster on small data and
    makes the network the identity when the last layer is zero. Inputs of any ``H, W`` are padded (replicate)
    to a multiple of ``2**(len(features) - 1)`` and the output cropped back.

    Reference:
        Zhang, Li, Zuo, Zhang, Van Gool & Timofte, "Plug-and-play image restoration with deep denoiser
        prior", IEEE Transactions on Pattern Analysis and Machine Intelligence 44(10), 2021.

    Example:
        >>> import torch
        >>> net = DRUNet(channels=1, features=(4, 8), num_blocks=1)
        >>> net(torch.zeros(2, 1, 7, 10), 0.1).shape
        torch.Size([2, 1, 7, 10])
    """

    def __init__(self, channels: int = 1, features: Sequence[int] = (16, 32, 64, 128), num_blocks: int = 2):
        """Build the network.

        Args:
            channels: Number of image channels (>= 1); the network takes one more (the noise-level map).
            features: Channels per level, finest first (one entry per level, each >= 1); the paper uses
                ``(64, 128, 256, 512)``.
            num_blocks: Residual blocks per level and direction (>= 1); the paper uses 4.
        """
        super().__init__()
        self.channels = check_number("channels", channels, low=1, integer=True)
        if isinstance(features, str | bytes) or not isinstance(features, Sequence):
            raise TypeError(f"features must be a sequence of positive integers, got {features!r}")
        if len(features) == 0:
            raise ValueError("features must be a non-empty sequence of positive integers, got an empty one")
        self.features = tuple(
            check_number(f"features[{i}]", f, low=1, integer=True) for i, f in enumerate(features)
        )
        self.num_blocks = check_number("num_blocks", num_blocks, low=1, integer=True)

        f, nb = self.features, self.num_blocks
        self.head = nn.Conv2d(self.channels + 1, f[0], kernel_size=3, padding=1, bias=False)
        self.downs = nn.ModuleList(
            nn.Sequential(
                *[_ResBlock(f[i]) for _ in range(nb)], nn.Conv2d(f[i], f[i + 1], 2, stride=2, bias=False)
            )
            for i in range(len(f) - 1)
        )
        self.body = nn.Sequential(*[_ResBlock(f[-1]) for _ in range(nb)])
        self.ups = nn.ModuleList(
            nn.Sequential(
                nn.ConvTranspose2d(f[i + 1], f[i], 2, stride=2, bias=False),
                *[_ResBlock(f[i]) for _ in range(nb)],
            )
            for i in range(len(f) - 1)
        )
        self.tail = nn.Conv2d(f[0], self.channels, kernel_size=3, padding=1, bias=False)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``DRUNet(**net.config)`` builds the same network."""
        return {"channels": self.channels, "features": list(self.features), "num_blocks": self.num_blocks}

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """Denoise ``x`` of shape ``(B, channels, H, W)`` at noise level ``sigma``.

        Args:
            x: Noisy images.
            sigma: Noise standard deviation in the units of ``x``: a number, a ``(B,)`` tensor or a map, as
                in :func:`noise_level_map`.

        Returns:
            The denoised images, the same shape as ``x``.
        """
        _check_image("x", x, self.channels)
        H, W = x.shape[-2:]
        h = torch.cat([x, noise_level_map(sigma, x)], dim=1)
        m = 2 ** (len(self.features) - 1)
        pad_h, pad_w = -H % m, -W % m
        if pad_h or pad_w:
            h = F.pad(h, (0, pad_w, 0, pad_h), mode="replicate")
        h = self.head(h)
        skips = [h]
        for down in self.downs:
            h = down(h)
            skips.append(h)
        h = self.body(h)
        for i in reversed(range(len(self.ups))):
            h = self.ups[i](h + skips[i + 1])
        h = self.tail(h + skips[0])
        return x + h[..., :H, :W]
