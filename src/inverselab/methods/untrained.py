"""Untrained-network methods as ``method(y, A) -> x``: the network's architecture is the only prior.

- :func:`deep_decoder`: the Deep Decoder (Heckel & Hand 2019), under-parameterized, 1x1 convolutions and
  bilinear upsampling;
- :func:`dip`: Deep Image Prior (Ulyanov et al. 2018), the hourglass skip network with input jitter and an
  averaged output;
- :func:`convdecoder`: the ConvDecoder (Darestani & Heckel 2021), 3x3 convolutions and nearest upsampling,
  made for (multi-coil) MRI.

Each fits a freshly initialized network to each measurement with
:func:`~inverselab.solvers.untrained.fit_untrained` (Adam, step 0.01) and stops early on the loss of held-out
measurement entries, so no iteration count has to be guessed (except where held-out entries are not
predictable from the others, e.g. random DCT coefficients: see ``early_stopping`` there); any linear
operator on images works (denoising, inpainting, blur, super-resolution, compressed sensing, CT, MRI).
Images are real for real-domain operators (networks with a sigmoid output, images in ``[0, 1]``) and
complex for MRI (networks with two output channels per image channel, no sigmoid, fitted to rescaled
k-space), as for the variational methods. Item ``b`` of a batch uses ``seed + b`` (weights, input,
held-out entries and jitter), so a call is reproducible. The fit costs hundreds to thousands of network
forward and backward passes; measured on one busy CPU thread, per iteration at 128x128 (256x256): Deep
Decoder 0.05 s (0.26 s), ConvDecoder 0.44 s (2.5 s), the paper's Deep Image Prior 0.9 s (4 s). So Deep
Image Prior with its published width takes tens of minutes to hours on a CPU; its ``channels`` scale the
cost about quadratically. The presets' tuned settings (Deep Decoder k = 32-64, Deep Image Prior and
ConvDecoder 32 channels; one thread, 0.02-0.08 s per iteration at 128x128) take 15 s to 3 min per 128 px
image.
"""

from __future__ import annotations

import math

import torch

from .._checks import check_number
from ..noise import make_generator
from ..operators.base import LinearOperator, real_dtype_of
from .classical import _check

__all__ = ["deep_decoder", "dip", "convdecoder"]


def _image_operator(y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    y = _check(y, A)
    if len(A.in_shape) != 3:
        raise ValueError(
            f"untrained networks reconstruct images: A.in_shape must be (C, H, W), got {A.in_shape}"
        )
    return y


def _fit_each(y, A, make_net, seed, **fit_kwargs) -> torch.Tensor:
    """Fit a fresh network (``make_net(generator)``) to each measurement of the batch; stack the results."""
    from ..solvers.untrained import fit_untrained

    seed = check_number("seed", seed, low=0, integer=True)
    dtype = real_dtype_of(y.dtype) if y.is_complex() or y.is_floating_point() else torch.float32
    outs = []
    for b in range(y.shape[0]):
        gen = make_generator(seed + b)
        with torch.inference_mode(False):  # parameters that autograd can use, whatever the caller's mode
            net = make_net(gen).to(device=y.device, dtype=dtype)
        res = fit_untrained(y[b : b + 1], A, net, generator=gen, **fit_kwargs)
        outs.append(res.x.detach())
    return torch.cat(outs)


def _deep_decoder_max_layers(image_size: tuple[int, ...]) -> int:
    """The most layers a Deep Decoder can have for ``image_size`` with an input of at least 4 pixels per side
    (each layer but the last doubles the size), or 1 for images under 4 pixels."""
    side = min(image_size)
    layers = 1
    while math.ceil(side / 2**layers) >= 4:
        layers += 1
    return layers


def deep_decoder(
    y: torch.Tensor,
    A: LinearOperator,
    channels: int = 64,
    num_layers: int = 6,
    num_iter: int = 3000,
    lr: float = 0.01,
    early_stopping: str | None = "holdout",
    holdout: float = 0.1,
    patience: int = 300,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Deep Decoder: ``x = G_θ(z)`` for a :class:`~inverselab.networks.DeepDecoder` fitted to ``y``.

    ``d = num_layers`` layers of ``k = channels`` channels (1x1 convolution, bilinear upsampling, ReLU,
    channel normalization) from a fixed ``k x H/2^(d-1) x W/2^(d-1)`` noise input, a sigmoid output with
    ``C = A.in_shape[0]`` channels (2C without sigmoid for complex MRI images); Adam with step 0.01 on
    ``‖A G_θ(z) - y‖²``. The network has ``d k² + 2dk + kC`` weights (25,536 for the paper's ``k = 64``,
    color), fewer than the pixels of a large image: under-parameterized, it cannot fit all the noise, and
    early stopping matters less than for Deep Image Prior. For small images (``H W C`` below that count)
    use a smaller ``channels``. Images too small for ``num_layers`` layers use as many as keep the input at
    least 4 pixels on a side (4 layers at 32x32; 6 from 128x128 up): with a 1x1 input the channel
    normalization would make every layer, and so the image, constant.

    Reference: R. Heckel and P. Hand, "Deep Decoder: Concise image representations from untrained
    non-convolutional networks", ICLR 2019.

    Args:
        y: Measurements (a batch is fitted item by item).
        A: Any linear operator on images ``(C, H, W)``.
        channels: Channels ``k`` per layer.
        num_layers: Layers ``d``.
        num_iter: Iteration budget.
        lr: Adam step size.
        early_stopping: ``"holdout"``, ``"variance"`` or ``None`` (see
            :func:`~inverselab.solvers.untrained.fit_untrained`).
        holdout: Fraction of measurement entries held out for ``"holdout"``.
        patience: Iterations without improvement before stopping.
        seed: Seeds the weights, the input, the held-out entries (item ``b`` of a batch: ``seed + b``).
        progress: Show a progress bar.

    Example:
        >>> import torch
        >>> from inverselab.operators import Identity
        >>> y = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(0))
        >>> deep_decoder(y, Identity((3, 16, 20)), channels=4, num_layers=3, num_iter=10).shape
        torch.Size([1, 3, 16, 20])
    """
    from ..networks.deep_decoder import DeepDecoder

    y = _image_operator(y, A)
    C = A.in_shape[0]
    layers = min(
        check_number("num_layers", num_layers, low=1, integer=True), _deep_decoder_max_layers(A.in_shape[1:])
    )

    def make(gen):
        return DeepDecoder(
            A.in_shape[1:], out_channels=2 * C if A.in_complex else C, channels=channels,
            num_layers=layers, sigmoid=not A.in_complex, generator=gen,
        )  # fmt: skip

    return _fit_each(
        y, A, make, seed, num_iter=num_iter, lr=lr, early_stopping=early_stopping, holdout=holdout,
        patience=patience, rescale=A.in_complex, progress=progress,
    )  # fmt: skip


def dip(
    y: torch.Tensor,
    A: LinearOperator,
    channels: int = 128,
    skip_channels: int = 4,
    num_scales: int = 5,
    input_channels: int = 32,
    num_iter: int = 3000,
    lr: float = 0.01,
    jitter: float = 1 / 30,
    ema: float | None = 0.99,
    early_stopping: str | None = "holdout",
    holdout: float = 0.1,
    patience: int = 300,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Deep Image Prior: ``x`` the averaged output of a :class:`~inverselab.networks.SkipNet` fitted to ``y``.

    The paper's denoising setup: the hourglass skip network (5 scales of 128 channels, 4 skip channels,
    32 channels of uniform noise input, sigmoid output), Adam with step 0.01 on ``‖A G_θ(z) - y‖²``, the
    input jittered by Gaussian noise of standard deviation 1/30 at every iteration, and the output averaged
    with decay 0.99. With about 2 M weights the network can fit the noise, so early stopping is essential;
    it is also slow on a CPU (about 1 s per iteration at 128x128): narrower ``channels`` (e.g. 32 or 64) cost
    about ``(channels / 128)²`` as much.
    Images too small for ``num_scales`` scales use as many as fit (:func:`~inverselab.networks.dip.
    skip_net_max_scales`: 4 at 32x32).

    Reference: D. Ulyanov, A. Vedaldi and V. Lempitsky, "Deep image prior", CVPR 2018.

    Args:
        y: Measurements (a batch is fitted item by item).
        A: Any linear operator on images ``(C, H, W)``.
        channels: Channels of every scale.
        skip_channels: Channels of the skip connections (0 for none).
        num_scales: Number of scales (reduced to what the image size allows).
        input_channels: Channels of the noise input.
        num_iter: Iteration budget.
        lr: Adam step size.
        jitter: Standard deviation of the input perturbation (0 for none).
        ema: Decay of the output average (``None`` for the plain output).
        early_stopping: ``"holdout"``, ``"variance"`` or ``None`` (see
            :func:`~inverselab.solvers.untrained.fit_untrained`).
        holdout: Fraction of measurement entries held out for ``"holdout"``.
        patience: Iterations without improvement before stopping.
        seed: Seeds the weights, the input, the held-out entries and the jitter (item ``b``: ``seed + b``).
        progress: Show a progress bar.
    """
    from ..networks.dip import SkipNet, skip_net_max_scales

    y = _image_operator(y, A)
    C = A.in_shape[0]
    scales = min(
        check_number("num_scales", num_scales, low=1, integer=True), skip_net_max_scales(A.in_shape[1:])
    )

    def make(gen):
        return SkipNet(
            A.in_shape[1:], in_channels=input_channels, out_channels=2 * C if A.in_complex else C,
            channels=channels, skip_channels=skip_channels, num_scales=scales, sigmoid=not A.in_complex,
            generator=gen,
        )  # fmt: skip

    return _fit_each(
        y, A, make, seed, num_iter=num_iter, lr=lr, jitter=jitter, ema=ema, early_stopping=early_stopping,
        holdout=holdout, patience=patience, rescale=A.in_complex, progress=progress,
    )  # fmt: skip


def convdecoder(
    y: torch.Tensor,
    A: LinearOperator,
    channels: int = 128,
    num_layers: int = 6,
    input_size: int = 4,
    num_iter: int = 3000,
    lr: float = 0.01,
    early_stopping: str | None = "holdout",
    holdout: float = 0.1,
    patience: int = 300,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """ConvDecoder: ``x = G_θ(z)`` for a :class:`~inverselab.networks.ConvDecoder` fitted to ``y``.

    ``num_layers`` blocks of (nearest upsampling, 3x3 convolution, ReLU, channel normalization) from a
    ``channels x 4 x 4`` noise input through geometrically growing sizes to the image size, then a 1x1
    convolution to two channels per image channel for complex (MRI) images, the real and imaginary parts, or
    one per channel for real images (no sigmoid either way). Adam with step 0.01 on the k-space data fit
    ``‖A G_θ(z) - y‖²`` (``A`` the single- or multi-coil MRI operator, so the fit is through the coil maps and
    the mask); ``y`` is first rescaled so that the network's initial output has the scale of the adjoint
    reconstruction, and the result is scaled back. Returns the complex image for MRI operators (the metrics
    compare magnitudes, as for the variational methods).

    Reference: M. Z. Darestani and R. Heckel, "Accelerated MRI with un-trained neural networks", IEEE Trans.
    Comput. Imaging 7, 2021.

    Args:
        y: Measurements (a batch is fitted item by item).
        A: Any linear operator on images ``(C, H, W)``; made for :class:`~inverselab.operators.MRI` and
            :class:`~inverselab.operators.MultiCoilMRI`.
        channels: Channels of the input and every layer.
        num_layers: Number of 3x3 convolution blocks.
        input_size: Side of the noise input (at most the image size).
        num_iter: Iteration budget.
        lr: Adam step size.
        early_stopping: ``"holdout"``, ``"variance"`` or ``None`` (see
            :func:`~inverselab.solvers.untrained.fit_untrained`).
        holdout: Fraction of measurement entries held out for ``"holdout"``.
        patience: Iterations without improvement before stopping.
        seed: Seeds the weights, the input and the held-out entries (item ``b`` of a batch: ``seed + b``).
        progress: Show a progress bar.
    """
    from ..networks.deep_decoder import ConvDecoder

    y = _image_operator(y, A)
    C = A.in_shape[0]
    H, W = A.in_shape[1:]
    size = check_number("input_size", input_size, low=1, integer=True)

    def make(gen):
        return ConvDecoder(
            (H, W), out_channels=2 * C if A.in_complex else C, channels=channels, num_layers=num_layers,
            input_size=(min(size, H), min(size, W)), generator=gen,
        )  # fmt: skip

    return _fit_each(
        y, A, make, seed, num_iter=num_iter, lr=lr, early_stopping=early_stopping, holdout=holdout,
        patience=patience, rescale=True, progress=progress,
    )  # fmt: skip
