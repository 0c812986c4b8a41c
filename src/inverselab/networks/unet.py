"""The U-Net of fastMRI: a plain image-to-image network (the physics stays outside, in the operator).

Used after a direct reconstruction (FBP, zero-filled, adjoint) for end-to-end post-processing ("FBPConvNet").
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_number

__all__ = ["UNet"]


def _check_image(name: str, x: object, channels: int) -> torch.Tensor:
    """Check that ``x`` is a real floating ``(B, channels, H, W)`` tensor (shared by the networks)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor, got dtype {x.dtype}")
    if x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got shape {tuple(x.shape)}")
    return x


def _conv_block(in_chans: int, out_chans: int, drop_prob: float) -> nn.Sequential:
    """Two (3x3 conv, instance norm, LeakyReLU(0.2), dropout) layers; the convs have no bias (the norm
    removes it)."""
    layers: list[nn.Module] = []
    for c_in in (in_chans, out_chans):
        layers += [
            nn.Conv2d(c_in, out_chans, kernel_size=3, padding=1, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Dropout2d(drop_prob),
        ]
    return nn.Sequential(*layers)


def _up_block(in_chans: int, out_chans: int) -> nn.Sequential:
    """2x2 stride-2 transposed conv (doubles H and W), instance norm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_chans, out_chans, kernel_size=2, stride=2, bias=False),
        nn.InstanceNorm2d(out_chans),
        nn.LeakyReLU(negative_slope=0.2, inplace=True),
    )


class UNet(nn.Module):
    """U-Net of fastMRI: conv blocks, average-pool down, transposed-conv up, skip concatenations.

    Each level has a block of two (3x3 conv, instance norm, LeakyReLU 0.2, dropout); the number of channels
    doubles at each of the ``num_pool_layers`` poolings (``chans``, ``2 chans``, ... at the bottom
    ``2**num_pool_layers * chans``) and halves on the way up; a 1x1 conv gives ``out_chans``. Any ``H, W``
    works: when a size is odd the upsampled map is one pixel short and is reflect-padded, as in fastMRI.
    The output is not residual; a post-processing method adds its input if it wants ``x + UNet(x)``.

    References:
        Ronneberger, Fischer & Brox, "U-Net: Convolutional networks for biomedical image segmentation",
        MICCAI 2015. Zbontar et al., "fastMRI: An open dataset and benchmarks for accelerated MRI",
        arXiv:1811.08839, 2018.

    Example:
        >>> import torch
        >>> net = UNet(1, 1, chans=4, num_pool_layers=2)
        >>> net(torch.zeros(2, 1, 9, 13)).shape
        torch.Size([2, 1, 9, 13])
    """

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        chans: int = 32,
        num_pool_layers: int = 4,
        drop_prob: float = 0.0,
    ):
        """Build the network.

        Args:
            in_chans: Number of input channels (>= 1).
            out_chans: Number of output channels (>= 1).
            chans: Channels after the first block (>= 1); doubled at each pooling.
            num_pool_layers: Number of down-sampling (and up-sampling) levels (>= 1). Inputs need
                ``H, W >= 2**num_pool_layers`` and more than one pixel at the coarsest level.
            drop_prob: Dropout2d probability in the conv blocks, in ``[0, 1)``.
        """
        super().__init__()
        self.in_chans = check_number("in_chans", in_chans, low=1, integer=True)
        self.out_chans = check_number("out_chans", out_chans, low=1, integer=True)
        self.chans = check_number("chans", chans, low=1, integer=True)
        self.num_pool_layers = check_number("num_pool_layers", num_pool_layers, low=1, integer=True)
        self.drop_prob = float(check_number("drop_prob", drop_prob, low=0, high=1, high_inclusive=False))

        ch = self.chans
        self.down_blocks = nn.ModuleList([_conv_block(self.in_chans, ch, self.drop_prob)])
        for _ in range(self.num_pool_layers - 1):
            self.down_blocks.append(_conv_block(ch, 2 * ch, self.drop_prob))
            ch *= 2
        self.bottom = _conv_block(ch, 2 * ch, self.drop_prob)
        self.up_transposes = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for _ in range(self.num_pool_layers):
            self.up_transposes.append(_up_block(2 * ch, ch))
            self.up_blocks.append(_conv_block(2 * ch, ch, self.drop_prob))
            ch //= 2
        self.final = nn.Conv2d(self.chans, self.out_chans, kernel_size=1)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``UNet(**net.config)`` builds the same network."""
        return {
            "in_chans": self.in_chans,
            "out_chans": self.out_chans,
            "chans": self.chans,
            "num_pool_layers": self.num_pool_layers,
            "drop_prob": self.drop_prob,
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(B, in_chans, H, W)`` to ``(B, out_chans, H, W)``."""
        _check_image("x", x, self.in_chans)
        H, W = x.shape[-2:]
        f = 2**self.num_pool_layers
        if min(H, W) < f or (H // f) * (W // f) < 2:
            raise ValueError(
                f"x must have H, W >= 2**num_pool_layers = {f} and (H // {f}) * (W // {f}) >= 2 "
                f"(the coarsest level needs more than one pixel), got shape {tuple(x.shape)}"
            )
        skips = []
        h = x
        for block in self.down_blocks:
            h = block(h)
            skips.append(h)
            h = F.avg_pool2d(h, kernel_size=2, stride=2)
        h = self.bottom(h)
        for up, block in zip(self.up_transposes, self.up_blocks, strict=True):
            skip = skips.pop()
            h = up(h)
            pad_w = skip.shape[-1] - h.shape[-1]  # 0 or 1 (odd size)
            pad_h = skip.shape[-2] - h.shape[-2]
            if pad_w or pad_h:
                h = F.pad(h, (0, pad_w, 0, pad_h), mode="reflect")
            h = block(torch.cat([h, skip], dim=1))
        return self.final(h)
