"""A small DCGAN: a generator ``x = decode(z)`` in ``[0, 1]`` (a generative prior for CSGM) and its
discriminator, trained together with one optimizer by :meth:`DCGAN.train_step`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .._checks import check_number, check_tensor
from .vae import _check_generator, _check_unit_images, _num_levels, _standard_normal

__all__ = ["DCGAN"]


class DCGAN(nn.Module):
    """DCGAN generator and discriminator for ``channels x image_size x image_size`` images in ``[0, 1]``.

    Generator (:attr:`generator`): the code ``z`` of shape ``(N, latent_dim)`` goes through a 4x4 transposed
    convolution to ``2^(L-1) width`` channels at 4x4, then ``L - 1`` stride-2 4x4 transposed convolutions
    halving the channels (each convolution followed by BatchNorm and ReLU) and a last stride-2 transposed
    convolution to ``channels`` with a sigmoid, where ``L = log2(image_size / 4)``: 4 → 8 → 16 → 32 for the
    default size.

    Discriminator (:attr:`discriminator`): ``L`` stride-2 4x4 convolutions (``width``, ``2 width``, ...) with
    LeakyReLU(0.2) and a last 4x4 convolution to one logit per image. Instead of DCGAN's BatchNorm (never
    in the first layer), every layer is spectrally normalized (Miyato et al., ICLR 2018): this bounds the
    discriminator's Lipschitz constant, which keeps the small GAN stable on a tiny data set at the DCGAN
    learning rate, and without BatchNorm the discriminator scores each image on its own, so the real and
    fake halves of a batch cannot leak statistics into each other.

    Training: ``train_step(x_real, optimizer, generator)`` with one ``torch.optim.Adam(gan.parameters(),
    lr=2e-4, betas=(0.5, 0.999))`` over all parameters (the DCGAN paper's settings). Losses are the standard
    discriminator cross-entropy and the non-saturating generator loss ``-log D(G(z))``
    (Goodfellow et al., NeurIPS 2014).

    BatchNorm and eval mode: in train mode the generator normalizes with the statistics of its batch; in
    eval mode (what :func:`~inverselab.solvers.csgm` uses) it uses the running statistics, so that each image
    depends on its own code only. The running statistics are updated by every training forward pass
    (momentum 0.1), so they lag the generator slightly; call :meth:`calibrate_batchnorm` after training (and
    before saving) to replace them by exact averages over many codes of the final generator.

    The argument called ``generator`` in the methods is always a ``torch.Generator`` (the source of random
    codes); the attribute :attr:`generator` is the generator network.

    With the defaults (``latent_dim=32, image_size=32, channels=1, width=32``) the generator has 230,336
    parameters and the discriminator 166,561.

    References:
        A. Radford, L. Metz and S. Chintala, "Unsupervised representation learning with deep convolutional
        generative adversarial networks", ICLR 2016. T. Miyato, T. Kataoka, M. Koyama and Y. Yoshida,
        "Spectral normalization for generative adversarial networks", ICLR 2018.

    Example:
        >>> import torch
        >>> gan = DCGAN(latent_dim=8, image_size=16, width=4).eval()
        >>> gan.decode(torch.zeros(2, 8)).shape
        torch.Size([2, 1, 16, 16])
        >>> gan.discriminator(torch.rand(3, 1, 16, 16)).shape
        torch.Size([3])
        >>> DCGAN(**gan.config).config == gan.config
        True
    """

    def __init__(self, latent_dim: int = 32, image_size: int = 32, channels: int = 1, width: int = 32):
        """Build the two networks.

        Args:
            latent_dim: Dimension ``k`` of the latent code (>= 1).
            image_size: Side of the square images, ``4 · 2^L`` for some ``L >= 1`` (8, 16, 32, 64, ...).
            channels: Number of image channels (>= 1).
            width: Channels of the discriminator's first convolution and of the generator's last hidden layer
                (>= 1); doubled at each level towards 4x4.
        """
        super().__init__()
        self.latent_dim = check_number("latent_dim", latent_dim, low=1, integer=True)
        self.image_size = check_number("image_size", image_size, low=1, integer=True)
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.width = check_number("width", width, low=1, integer=True)
        levels = _num_levels(self.image_size)
        hidden = [self.width * 2**i for i in range(levels)]  # width, 2 width, ... (fine to coarse)

        top = hidden[-1]
        gen: list[nn.Module] = [
            nn.Unflatten(1, (self.latent_dim, 1, 1)),
            nn.ConvTranspose2d(self.latent_dim, top, 4, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(top),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(hidden[:0:-1], hidden[-2::-1], strict=True):
            gen += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        gen += [nn.ConvTranspose2d(hidden[0], self.channels, 4, stride=2, padding=1), nn.Sigmoid()]
        self.generator = nn.Sequential(*gen)

        disc: list[nn.Module] = []
        for c_in, c_out in zip([self.channels, *hidden[:-1]], hidden, strict=True):
            disc += [spectral_norm(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        disc += [spectral_norm(nn.Conv2d(top, 1, 4, stride=1, padding=0)), nn.Flatten(0)]
        self.discriminator = nn.Sequential(*disc)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``DCGAN(**gan.config)`` builds the same networks."""
        return {
            "latent_dim": self.latent_dim,
            "image_size": self.image_size,
            "channels": self.channels,
            "width": self.width,
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars (generator and discriminator)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in ``[0, 1]``, ``(N, channels, image_size, image_size)``, for codes ``z`` of shape
        ``(N, latent_dim)`` (BatchNorm: batch statistics in train mode, running statistics in eval mode)."""
        check_tensor("z", z, ndim=2, shape=(self.latent_dim,), finite=False)
        return self.generator(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`decode`."""
        return self.decode(z)

    def _codes(self, num: int, generator: torch.Generator) -> torch.Tensor:
        num = check_number("num", num, low=1, integer=True)
        ref = next(self.generator.parameters())
        return _standard_normal((num, self.latent_dim), _check_generator(generator), ref)

    def sample(self, num: int, generator: torch.Generator) -> torch.Tensor:
        """``num`` images ``decode(z)``, ``z ~ N(0, I)`` drawn from ``generator``, in the current mode (use
        eval mode for images that do not depend on each other); no gradients are kept."""
        with torch.no_grad():
            return self.decode(self._codes(num, generator))

    def discriminator_loss(self, x_real: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Discriminator cross-entropy ``-mean log D(x) - mean log(1 - D(G(z)))`` on the real batch and as
        many fakes, with ``z ~ N(0, I)`` from ``generator``.

        The fakes are made without gradients (detached), so backpropagating this loss touches only the
        discriminator; the generator still runs in its current mode (its BatchNorm statistics update in
        train mode). ``D`` is the sigmoid of :attr:`discriminator`'s logit.

        Args:
            x_real: Real images ``(B, channels, image_size, image_size)`` with values in ``[0, 1]``.
            generator: Source of the codes.
        """
        return self._discriminator_loss(x_real, generator)[0]

    def _discriminator_loss(
        self, x_real: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The loss and the discriminator's logits on the real and on the fake images."""
        _check_unit_images("x_real", x_real, self.channels, self.image_size)
        with torch.no_grad():
            fake = self.generator(self._codes(x_real.shape[0], generator))
        # one pass over real and fake together: the discriminator has no batch-coupled layer
        logits = self.discriminator(torch.cat((x_real, fake.to(x_real.dtype)), dim=0))
        real_logits, fake_logits = logits.split(x_real.shape[0])
        loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        return loss, real_logits.detach(), fake_logits.detach()

    def generator_loss(self, num: int, generator: torch.Generator) -> torch.Tensor:
        """Non-saturating generator loss ``-mean log D(G(z))`` over ``num`` codes ``z ~ N(0, I)`` from
        ``generator``.

        Gradients flow through the discriminator into the generator; :meth:`train_step` backpropagates it into
        the generator's parameters only.
        """
        logits = self.discriminator(self.generator(self._codes(num, generator)))
        return F.softplus(-logits).mean()

    def train_step(
        self, x_real: torch.Tensor, optimizer: torch.optim.Optimizer, generator: torch.Generator
    ) -> dict[str, float]:
        """One alternating GAN update with a single optimizer over all parameters: discriminator, then
        generator.

        Each half clears all gradients to ``None``, backpropagates its loss into its own network only, and
        calls ``optimizer.step()``; Adam (and every ``torch.optim`` optimizer) skips parameters whose gradient
        is ``None``, so each half moves one network and leaves the other's parameters and Adam moments
        untouched. Recommended: ``torch.optim.Adam(gan.parameters(), lr=2e-4, betas=(0.5, 0.999))``. The
        generator half draws a fresh batch of ``B`` codes. Call it in train mode. Do not mix it with
        gradient scaling or a ``DistributedDataParallel`` wrapper: it calls ``backward`` itself, on this
        module.

        Args:
            x_real: A batch of real images ``(B, channels, image_size, image_size)`` in ``[0, 1]``.
            optimizer: The optimizer over ``gan.parameters()``.
            generator: Source of the codes (create it once, use it for every step).

        Returns:
            ``{"d_loss", "g_loss", "d_real", "d_fake"}``: the two losses, and the mean probability the
            discriminator gave (before its update) to the real images and to the fakes.
        """
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        d_params = list(self.discriminator.parameters())
        g_params = list(self.generator.parameters())

        optimizer.zero_grad(set_to_none=True)
        d_loss, real_logits, fake_logits = self._discriminator_loss(x_real, generator)
        d_loss.backward(inputs=d_params)
        for p in g_params:
            p.grad = None
        optimizer.step()

        optimizer.zero_grad(set_to_none=True)
        g_loss = self.generator_loss(x_real.shape[0], generator)
        g_loss.backward(inputs=g_params)  # no gradient is computed for the discriminator's weights
        for p in d_params:
            p.grad = None
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return {
            "d_loss": float(d_loss.detach()),
            "g_loss": float(g_loss.detach()),
            "d_real": float(torch.sigmoid(real_logits).mean()),
            "d_fake": float(torch.sigmoid(fake_logits).mean()),
        }

    def calibrate_batchnorm(
        self, generator: torch.Generator, num_samples: int = 2048, batch_size: int = 256
    ) -> None:
        """Recompute the generator's BatchNorm running statistics as exact averages over ``num_samples``
        codes ``z ~ N(0, I)`` (in batches of ``batch_size``), so that eval-mode :meth:`decode` matches
        train-mode decoding of large batches. Parameters and modes are left unchanged; no gradients.

        Args:
            generator: Source of the codes.
            num_samples: Number of codes (>= 1).
            batch_size: Codes per forward pass (>= 2, as BatchNorm needs).
        """
        num_samples = check_number("num_samples", num_samples, low=1, integer=True)
        batch_size = check_number("batch_size", batch_size, low=2, integer=True)
        norms = [m for m in self.generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in norms]
        modes = [(m, m.training) for m in self.generator.modules()]
        try:
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the batches
            self.generator.train()
            with torch.no_grad():
                done = 0
                while done < num_samples:
                    n = max(2, min(batch_size, num_samples - done))
                    self.generator(self._codes(n, generator))
                    done += n
        finally:
            for m, momentum in zip(norms, momenta, strict=True):
                m.momentum = momentum
            for m, mode in modes:
                m.training = mode
