"""A small convolutional variational autoencoder: a generative prior ``x = decode(z)`` for CSGM.

The decoder maps a latent code ``z ∈ R^k`` to an image in ``[0, 1]``; :func:`~inverselab.solvers.csgm`
reconstructs by searching over ``z``. Sized for 1-channel 32x32 digits trained on a CPU in minutes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_number, check_tensor
from .unet import _check_image

__all__ = ["VAE", "gaussian_kl"]


def _num_levels(image_size: int) -> int:
    """Number of stride-2 levels between ``image_size`` and the 4x4 bottleneck (``image_size = 4 · 2^L``)."""
    levels = round(math.log2(image_size / 4)) if image_size >= 8 else 0
    if levels < 1 or 4 * 2**levels != image_size:
        raise ValueError(
            f"image_size must be 4 * 2**L for some L >= 1 (8, 16, 32, 64, ...), got {image_size}"
        )
    return levels


def _check_generator(generator: object) -> torch.Generator:
    """Raise a ``TypeError`` unless ``generator`` is a ``torch.Generator`` (a seed would be re-used on every
    training step, drawing the same noise each time)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator (make one once with inverselab.noise.make_generator(seed) "
            f"and pass it to every step), got {type(generator).__name__}"
        )
    return generator


def _standard_normal(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """``N(0, I)`` samples of ``shape`` drawn from ``generator`` (on its device), returned on the device and
    in the dtype of ``like``."""
    z = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return z.to(like.device)


def _check_unit_images(name: str, x: object, channels: int, image_size: int) -> torch.Tensor:
    """Check that ``x`` is a finite ``(B, channels, image_size, image_size)`` tensor with values in
    ``[0, 1]``."""
    _check_image(name, x, channels)
    check_tensor(name, x, shape=(channels, image_size, image_size))
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise ValueError(f"{name} must have values in [0, 1], got values in [{lo:.4g}, {hi:.4g}]")
    return x


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag(exp(logvar))) ‖ N(0, I))`` per batch item, in closed form.

    ``KL = ½ Σ_j (mu_j² + exp(logvar_j) - 1 - logvar_j)``, summed over all but the first dimension.

    Example:
        >>> gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
        tensor([0.5000])
    """
    terms = mu.square() + logvar.exp() - 1 - logvar
    return 0.5 * terms.reshape(terms.shape[0], -1).sum(dim=1)


class VAE(nn.Module):
    """Convolutional VAE with a Bernoulli decoder for images in ``[0, 1]``.

    Encoder: ``L = log2(image_size / 4)`` stride-2 4x4 convolutions (``width``, ``2 width``, ...) with
    LeakyReLU(0.2) down to 4x4, then a linear layer to the mean ``mu`` and log-variance ``logvar`` of
    ``q(z | x) = N(mu, diag(exp(logvar)))``. Decoder (mirror image): a linear layer to 4x4, ``L`` stride-2 4x4
    transposed convolutions (ReLU between them) and a sigmoid, so every output is in ``[0, 1]``. There is no
    normalization layer, so ``decode`` is the same function in train and eval mode and each output depends on
    its own code only. :meth:`training_loss` is the negative ELBO with a ``beta``-weighted KL term
    (``beta = 1`` is the plain VAE; Higgins et al., ICLR 2017, for ``beta != 1``).

    With the defaults (``latent_dim=16, image_size=32, channels=1, width=32``) it has 429,409 parameters.

    Reference:
        D. P. Kingma and M. Welling, "Auto-encoding variational Bayes", ICLR 2014.

    Example:
        >>> import torch
        >>> vae = VAE(latent_dim=4, image_size=16, width=4)
        >>> vae.decode(torch.zeros(2, 4)).shape
        torch.Size([2, 1, 16, 16])
        >>> mu, logvar = vae.encode(torch.rand(3, 1, 16, 16))
        >>> tuple(mu.shape), tuple(logvar.shape)
        ((3, 4), (3, 4))
        >>> VAE(**vae.config).config == vae.config
        True
    """

    def __init__(
        self,
        latent_dim: int = 16,
        image_size: int = 32,
        channels: int = 1,
        width: int = 32,
        beta: float = 1.0,
    ):
        """Build the network.

        Args:
            latent_dim: Dimension ``k`` of the latent code (>= 1).
            image_size: Side of the square images, ``4 · 2^L`` for some ``L >= 1`` (8, 16, 32, 64, ...).
            channels: Number of image channels (>= 1).
            width: Channels of the first encoder convolution (>= 1); doubled at each level.
            beta: Weight of the KL term in :meth:`training_loss` (>= 0).
        """
        super().__init__()
        self.latent_dim = check_number("latent_dim", latent_dim, low=1, integer=True)
        self.image_size = check_number("image_size", image_size, low=1, integer=True)
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.width = check_number("width", width, low=1, integer=True)
        self.beta = float(check_number("beta", beta, low=0))
        levels = _num_levels(self.image_size)

        chans = [self.channels] + [self.width * 2**i for i in range(levels)]
        enc: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:], strict=True):
            enc += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self._bottom = (chans[-1], 4, 4)
        self.to_latent = nn.Linear(chans[-1] * 16, 2 * self.latent_dim)

        self.from_latent = nn.Linear(self.latent_dim, chans[-1] * 16)
        dec: list[nn.Module] = []
        rev = chans[::-1]
        for i, (c_in, c_out) in enumerate(zip(rev[:-1], rev[1:], strict=True)):
            dec.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            if i < levels - 1:
                dec.append(nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(*dec)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``VAE(**vae.config)`` builds the same network."""
        return {
            "latent_dim": self.latent_dim,
            "image_size": self.image_size,
            "channels": self.channels,
            "width": self.width,
            "beta": self.beta,
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and log-variance, each ``(B, latent_dim)``, of ``q(z | x)`` for images
        ``x`` of shape ``(B, channels, image_size, image_size)``."""
        _check_image("x", x, self.channels)
        check_tensor("x", x, shape=(self.channels, self.image_size, self.image_size), finite=False)
        mu, logvar = self.to_latent(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's pre-sigmoid output (Bernoulli logits) for codes ``z`` of shape
        ``(N, latent_dim)``."""
        check_tensor("z", z, ndim=2, shape=(self.latent_dim,), finite=False)
        h = F.relu(self.from_latent(z)).reshape(z.shape[0], *self._bottom)
        return self.decoder(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in ``[0, 1]``, ``(N, channels, image_size, image_size)``, for codes ``z`` of shape
        ``(N, latent_dim)``."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction ``decode(mu(x))`` (the decoded posterior mean), shaped as ``x``."""
        return self.decode(self.encode(x)[0])

    def sample(self, num: int, generator: torch.Generator) -> torch.Tensor:
        """``num`` images ``decode(z)``, ``z ~ N(0, I)`` drawn from ``generator``; no gradients are kept."""
        num = check_number("num", num, low=1, integer=True)
        ref = next(self.parameters())
        with torch.no_grad():
            return self.decode(_standard_normal((num, self.latent_dim), _check_generator(generator), ref))

    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Negative ELBO per image, averaged over the batch (a scalar to minimize).

        ``-ELBO(x) = -Σ_pixels [x log p + (1 - x) log(1 - p)] + beta · KL(q(z | x) ‖ N(0, I))`` with
        ``p = decode(z)`` and one reparameterized sample ``z = mu + exp(logvar / 2) · eps``,
        ``eps ~ N(0, I)`` drawn from ``generator``. In nats per image; binary cross-entropy accepts the
        grey levels of ``x`` as soft targets.

        Args:
            x: Training images ``(B, channels, image_size, image_size)`` with values in ``[0, 1]``.
            generator: Source of the reparameterization noise (create it once, use it for every step).
        """
        _check_unit_images("x", x, self.channels, self.image_size)
        generator = _check_generator(generator)
        mu, logvar = self.encode(x)
        eps = _standard_normal(tuple(mu.shape), generator, mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.decode_logits(z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").reshape(x.shape[0], -1).sum(1)
        return (rec + self.beta * gaussian_kl(mu, logvar)).mean()
