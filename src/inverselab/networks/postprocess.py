"""End-to-end reconstruction by post-processing: a direct method, then a network that removes its artifacts.

``x_hat = x0 + net(x0)`` with ``x0`` the filtered back-projection (CT), the zero-filled image (MRI) or the
least-squares-scaled adjoint (deblurring, super-resolution, inpainting). The physics stays in the operator
passed at call time: the module is a method ``model(y, A)``.

Reference: K. H. Jin, M. T. McCann, E. Froustey and M. Unser, "Deep convolutional neural network for inverse
problems in imaging" (FBPConvNet), IEEE Trans. Image Process. 26(9), 2017.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_choice

__all__ = ["INITIAL_METHODS", "PostProcess", "direct_reconstruction"]

#: Direct methods a :class:`PostProcess` network can start from.
INITIAL_METHODS = ("adjoint", "zero-filled", "fbp")


def direct_reconstruction(initial: str, y: torch.Tensor, A) -> torch.Tensor:
    """The direct method ``initial`` (one of :data:`INITIAL_METHODS`) on ``y``: real (complex results are
    replaced by their magnitude), without gradient (it has no parameters), except with respect to ``y`` when
    ``y`` requires one (an adversarial attack on the measurements, :mod:`inverselab.robustness`)."""
    from ..methods import classical

    fn = {"adjoint": classical.adjoint, "zero-filled": classical.zero_filled, "fbp": classical.fbp}
    with torch.set_grad_enabled(torch.is_grad_enabled() and y.requires_grad):
        x0 = fn[initial](y, A)
    return x0.abs() if x0.is_complex() else x0


class PostProcess(nn.Module):
    """A direct reconstruction followed by a residual network.

    Args:
        net: Image-to-image network on real ``(B, C, H, W)`` tensors, e.g. :class:`~inverselab.networks.UNet`.
        initial: The direct method giving ``x0``: ``"adjoint"``, ``"zero-filled"`` or ``"fbp"``. It runs
            without gradients (it has no parameters); complex results are replaced by their magnitude.

    Example:
        >>> from inverselab.networks import UNet
        >>> from inverselab.operators import Identity
        >>> model = PostProcess(UNet(1, 1, chans=4, num_pool_layers=2), "adjoint")
        >>> model(torch.zeros(2, 1, 16, 16), Identity((1, 16, 16))).shape
        torch.Size([2, 1, 16, 16])
    """

    def __init__(self, net: nn.Module, initial: str = "adjoint"):
        super().__init__()
        self.net = net
        self.initial = check_choice("initial", initial, INITIAL_METHODS)

    def initial_reconstruction(self, y: torch.Tensor, A) -> torch.Tensor:
        """``x0``: the direct method's reconstruction (real, no gradient)."""
        return direct_reconstruction(self.initial, y, A)

    def forward(self, y: torch.Tensor, A) -> torch.Tensor:
        x0 = self.initial_reconstruction(y, A)
        return x0 + self.net(x0)
