"""A small denoising diffusion probabilistic model (DDPM): a noise-prediction U-Net, the linear variance
schedule of Ho et al. (2020), and the DDPM (ancestral) and DDIM samplers.

Notation (used by :mod:`inverselab.solvers.diffusion` too): images ``x`` live in ``image_range = (lo, hi)``;
the diffusion variable is ``z = 2 (x - lo) / (hi - lo) - 1`` (so ``z`` is in ``[-1, 1]``). Timesteps are
0-based, ``t = 0, ..., T - 1``; ``ᾱ_t = ∏_{s <= t} (1 - β_s)`` and ``z_t = √ᾱ_t z_0 + √(1 - ᾱ_t) ε``. A
sampler walks a decreasing sequence of timesteps (all ``T`` of them or an evenly respaced subsequence) and
finishes at "``t = -1``", where ``ᾱ = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_number, check_tensor
from ..noise import make_generator

__all__ = ["DiffusionUNet", "DDPM", "ddpm_sample", "ddim_sample"]


# --- the network ------------------------------------------------------------------------------------------
def _groups(channels: int) -> int:
    """Number of GroupNorm groups: 8 when it divides ``channels``, else the largest divisor below 8."""
    return math.gcd(channels, 8)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps, ``(B,) -> (B, dim)`` (Vaswani et al. 2017).

    Channel ``i < dim/2`` is ``sin(t ω_i)``, channel ``dim/2 + i`` is ``cos(t ω_i)`` with
    ``ω_i = 10000^(-i / (dim/2))``; an odd ``dim`` gets one zero channel.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class _ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, plus a projection of the time embedding, GroupNorm-SiLU-conv, residual skip."""

    def __init__(self, in_ch: int, out_ch: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_ch), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time = nn.Linear(time_dim, out_ch)
        self.norm2 = nn.GroupNorm(_groups(out_ch), out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity (Ho et al. 2020)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(temb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class _SelfAttention(nn.Module):
    """Single-head self-attention over the pixels of a feature map, with GroupNorm and a residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).unbind(dim=1)
        weights = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(C), dim=-1)
        out = torch.einsum("bij,bcj->bci", weights, v).reshape(B, C, H, W)
        return x + self.proj(out)


class DiffusionUNet(nn.Module):
    """Noise-prediction U-Net ``ε_θ(z_t, t)`` for small images (the DDPM architecture, scaled down).

    A sinusoidal embedding of ``t`` goes through a 2-layer MLP (width ``2 widths[0]``) and is added, by a
    per-block linear projection, inside every residual block (GroupNorm, SiLU, 3x3 conv, twice). Level ``i``
    has ``num_res_blocks`` blocks at ``widths[i]`` channels; between levels 2x2 average pooling halves the
    resolution (32 -> 16 -> 8 for three widths). The lowest level ends with a middle residual block and
    (optionally) single-head self-attention. The way up mirrors the way down with nearest-neighbour
    upsampling, each block taking the matching down-block output concatenated (skip connections). The
    residual branches and the output conv start at zero, so the untrained network predicts ``ε = 0``.

    Inputs need ``H`` and ``W`` divisible by ``2**(len(widths) - 1)``. The network is fully convolutional
    apart from the attention, so any such size runs; a model trained at one size is off-distribution at
    another.

    References:
        Ho, Jain & Abbeel, "Denoising diffusion probabilistic models", NeurIPS 2020. Ronneberger, Fischer
        & Brox, "U-Net: Convolutional networks for biomedical image segmentation", MICCAI 2015.

    Example:
        >>> import torch
        >>> net = DiffusionUNet(channels=1, widths=(8, 16), attention=True)
        >>> net(torch.zeros(2, 1, 16, 16), torch.tensor([0, 999])).shape
        torch.Size([2, 1, 16, 16])
    """

    def __init__(
        self,
        channels: int = 1,
        widths: Sequence[int] = (32, 64, 64),
        num_res_blocks: int = 1,
        attention: bool = True,
    ):
        """Build the network.

        Args:
            channels: Image channels (input = output), >= 1.
            widths: Channels at each resolution level, from the finest; ``len(widths) - 1`` downsamplings.
                Each width must be >= 1.
            num_res_blocks: Residual blocks per level on each of the two paths, >= 1.
            attention: Add self-attention in the middle block at the lowest resolution.
        """
        super().__init__()
        self.channels = check_number("channels", channels, low=1, integer=True)
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) == 0:
            raise TypeError(f"widths must be a non-empty sequence of integers, got {widths!r}")
        self.widths = tuple(
            check_number(f"widths[{i}]", w, low=1, integer=True) for i, w in enumerate(widths)
        )
        self.num_res_blocks = check_number("num_res_blocks", num_res_blocks, low=1, integer=True)
        if not isinstance(attention, bool):
            raise TypeError(f"attention must be a bool, got {attention!r}")
        self.attention = attention

        w0 = self.widths[0]
        time_dim = 2 * w0
        self.time_mlp = nn.Sequential(nn.Linear(w0, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = nn.Conv2d(self.channels, w0, 3, padding=1)

        self.down = nn.ModuleList()
        skip_channels = []
        ch = w0
        for width in self.widths:
            blocks = nn.ModuleList()
            for _ in range(self.num_res_blocks):
                blocks.append(_ResBlock(ch, width, time_dim))
                ch = width
                skip_channels.append(ch)
            self.down.append(blocks)

        self.mid = _ResBlock(ch, ch, time_dim)
        self.mid_attn = _SelfAttention(ch) if attention else nn.Identity()

        self.up = nn.ModuleList()
        for width in reversed(self.widths):
            blocks = nn.ModuleList()
            for _ in range(self.num_res_blocks):
                blocks.append(_ResBlock(ch + skip_channels.pop(), width, time_dim))
                ch = width
            self.up.append(blocks)

        self.norm_out = nn.GroupNorm(_groups(ch), ch)
        self.conv_out = nn.Conv2d(ch, self.channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``DiffusionUNet(**net.config)`` builds the same
        architecture."""
        return {
            "channels": self.channels,
            "widths": list(self.widths),
            "num_res_blocks": self.num_res_blocks,
            "attention": self.attention,
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @property
    def size_multiple(self) -> int:
        """``H`` and ``W`` must be multiples of this (``2**(len(widths) - 1)``)."""
        return 2 ** (len(self.widths) - 1)

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predict the noise ``ε`` in ``z`` of shape ``(B, channels, H, W)`` at timesteps ``t`` of shape
        ``(B,)`` (integers or floats in ``[0, T)``)."""
        check_tensor("z", z, ndim=4, finite=False)
        if z.shape[1] != self.channels:
            raise ValueError(f"z must have {self.channels} channel(s), got shape {tuple(z.shape)}")
        f = self.size_multiple
        if z.shape[-1] % f or z.shape[-2] % f:
            raise ValueError(f"z must have H and W divisible by {f}, got shape {tuple(z.shape)}")
        if not isinstance(t, torch.Tensor) or t.shape != (z.shape[0],):
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"t must be a tensor of shape ({z.shape[0]},), got {got}")
        temb = self.time_mlp(timestep_embedding(t, self.widths[0]).to(z.dtype))
        h = self.conv_in(z)
        skips = []
        for level, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, temb)
                skips.append(h)
            if level < len(self.down) - 1:
                h = F.avg_pool2d(h, 2)
        h = self.mid_attn(self.mid(h, temb))
        for level, blocks in enumerate(self.up):
            if level > 0:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            for block in blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), temb)
        return self.conv_out(F.silu(self.norm_out(h)))


# --- the diffusion model ------------------------------------------------------------------------------------
def standard_normal(shape: Sequence[int], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """Standard normal draws from ``generator`` (on its device), moved to ``like``'s device and dtype."""
    z = torch.randn(tuple(shape), generator=generator, device=generator.device, dtype=torch.float64)
    return z.to(device=like.device, dtype=like.dtype)


class DDPM(nn.Module):
    """A denoising diffusion probabilistic model: an ``ε``-prediction network and a variance schedule.

    The schedule is linear, ``β_t`` from ``beta_start`` to ``beta_end`` over ``num_timesteps`` steps
    (Ho et al. 2020: ``T = 1000``, ``1e-4 .. 0.02``), stored as buffers ``betas`` and ``alphas_cumprod``
    (``ᾱ_t``). Images ``x`` live in ``image_range = (lo, hi)``; the diffusion runs on
    ``z = 2 (x - lo) / (hi - lo) - 1`` (:meth:`from_image`, :meth:`to_image`), so ``image_range=(-1, 1)``
    makes ``z = x``.

    By default the network is a :class:`DiffusionUNet` built from ``channels``, ``widths``,
    ``num_res_blocks``, ``attention`` and the samples are ``(channels, image_size, image_size)`` images;
    ``DDPM(**ddpm.config)`` rebuilds it. Any other ``ε`` network (e.g. an exact one for a Gaussian prior, or
    a network for non-image signals) is passed as ``network=`` together with ``sample_shape=``: it is called
    as ``network(z_t, t)`` with ``z_t`` of shape ``(B, *sample_shape)`` and ``t`` a long tensor ``(B,)`` of
    0-based timesteps, and must return ``ε`` of ``z_t``'s shape. The attribute ``ddpm.network`` may also be
    replaced after construction. :attr:`config` is defined only for the built-in U-Net.

    References:
        Ho, Jain & Abbeel, "Denoising diffusion probabilistic models", NeurIPS 2020.

    Example:
        >>> import torch
        >>> model = DDPM(widths=(8, 16), image_size=16)
        >>> loss = model.training_loss(torch.rand(4, 1, 16, 16), torch.Generator().manual_seed(0))
        >>> DDPM(**model.config).config == model.config, loss.ndim
        (True, 0)
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        widths: Sequence[int] = (32, 64, 64),
        num_res_blocks: int = 1,
        attention: bool = True,
        num_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        image_range: Sequence[float] = (0.0, 1.0),
        *,
        network: nn.Module | None = None,
        sample_shape: Sequence[int] | None = None,
    ):
        """Build the model.

        Args:
            channels: Image channels of the built-in U-Net.
            image_size: Height and width of the training images (a multiple of ``2**(len(widths) - 1)``).
            widths: Channels per resolution level of the U-Net (see :class:`DiffusionUNet`).
            num_res_blocks: Residual blocks per level of the U-Net.
            attention: Self-attention at the lowest resolution of the U-Net.
            num_timesteps: Number of diffusion steps ``T`` (>= 1).
            beta_start: First variance ``β_0``, in ``(0, 1)``.
            beta_end: Last variance ``β_{T-1}``, in ``[beta_start, 1)``.
            image_range: ``(lo, hi)`` with ``lo < hi``: the range of the images ``x``.
            network: A custom ``ε`` network ``network(z_t, t)`` used instead of the U-Net.
            sample_shape: Shape of one sample without the batch dimension; required with ``network`` (and
                only allowed with it).
        """
        super().__init__()
        self.num_timesteps = check_number("num_timesteps", num_timesteps, low=1, integer=True)
        self.beta_start = float(check_number("beta_start", beta_start, low=0, high=1, low_inclusive=False))
        self.beta_end = float(
            check_number("beta_end", beta_end, low=self.beta_start, high=1, high_inclusive=False)
        )
        if (
            isinstance(image_range, (str, bytes))
            or not isinstance(image_range, Sequence)
            or len(image_range) != 2
        ):
            raise TypeError(f"image_range must be a pair (lo, hi), got {image_range!r}")
        lo = float(check_number("image_range[0]", image_range[0]))
        hi = float(check_number("image_range[1]", image_range[1]))
        if not lo < hi:
            raise ValueError(f"image_range must have lo < hi, got {tuple(image_range)}")
        self.image_range = (lo, hi)

        self._unet_config: dict[str, Any] | None = None
        self.image_size = check_number("image_size", image_size, low=1, integer=True)
        if network is None:
            if sample_shape is not None:
                raise ValueError("sample_shape is only allowed with a custom network; use image_size")
            self.network = DiffusionUNet(channels, widths, num_res_blocks, attention)
            self._unet_config = self.network.config
            f = self.network.size_multiple
            if self.image_size % f:
                raise ValueError(
                    f"image_size must be a multiple of 2**(len(widths) - 1) = {f}, got {image_size}"
                )
            self.sample_shape = (self.network.channels, self.image_size, self.image_size)
        else:
            if not isinstance(network, nn.Module):
                raise TypeError(f"network must be a torch.nn.Module, got {type(network).__name__}")
            if sample_shape is None:
                raise ValueError("sample_shape must be given with a custom network")
            shape = tuple(sample_shape)
            if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
                raise ValueError(
                    f"sample_shape must be a non-empty tuple of positive integers, got {sample_shape!r}"
                )
            self.network = network
            self.sample_shape = shape

        betas = torch.linspace(self.beta_start, self.beta_end, self.num_timesteps, dtype=torch.float64)
        dtype = torch.get_default_dtype()
        # Not persistent: rebuilt from the config, so weights stored in float16 keep an exact schedule
        # (1 - alpha_bar near t = 0 would round to zero in half precision).
        self.register_buffer("betas", betas.to(dtype), persistent=False)
        self.register_buffer("alphas_cumprod", torch.cumprod(1 - betas, dim=0).to(dtype), persistent=False)

    # --- bookkeeping -----------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``DDPM(**ddpm.config)`` builds the same model.

        Raises:
            TypeError: When the network is not the built-in :class:`DiffusionUNet`.
        """
        net = self.network
        if self._unet_config is None or not isinstance(net, DiffusionUNet) or net.config != self._unet_config:
            raise TypeError(
                f"config is defined only for the built-in DiffusionUNet, got a {type(net).__name__} network"
            )
        return {
            **net.config,
            "image_size": self.image_size,
            "num_timesteps": self.num_timesteps,
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "image_range": list(self.image_range),
        }

    def num_parameters(self) -> int:
        """Number of trainable scalars of the network."""
        return sum(p.numel() for p in self.network.parameters() if p.requires_grad)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the schedule buffers (the working precision of the samplers)."""
        return self.alphas_cumprod.dtype

    @property
    def device(self) -> torch.device:
        """The device of the schedule buffers."""
        return self.alphas_cumprod.device

    # --- transforms ------------------------------------------------------------------------------------
    def from_image(self, x: torch.Tensor) -> torch.Tensor:
        """``z = 2 (x - lo) / (hi - lo) - 1``: image space to diffusion space."""
        lo, hi = self.image_range
        return (x - lo) * (2.0 / (hi - lo)) - 1.0

    def to_image(self, z: torch.Tensor) -> torch.Tensor:
        """``x = lo + (hi - lo) (z + 1) / 2``: diffusion space to image space (no clamping)."""
        lo, hi = self.image_range
        return lo + (z + 1.0) * ((hi - lo) / 2.0)

    def _time(self, t: int | torch.Tensor, batch: int) -> torch.Tensor:
        if isinstance(t, torch.Tensor):
            t = t.to(device=self.device, dtype=torch.long).reshape(-1)
            if t.numel() == 1:
                t = t.expand(batch)
            if t.shape != (batch,):
                raise ValueError(f"t must be an integer or a ({batch},) tensor, got shape {tuple(t.shape)}")
        else:
            t = torch.full(
                (batch,), check_number("t", t, low=0, integer=True), dtype=torch.long, device=self.device
            )
        if bool((t < 0).any()) or bool((t >= self.num_timesteps).any()):
            raise ValueError(f"t must be in [0, {self.num_timesteps - 1}], got {t.tolist()}")
        return t

    def _alpha_bar(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``ᾱ_t`` as a ``(B, 1, ..., 1)`` tensor broadcasting against ``like``."""
        return self.alphas_cumprod[t].to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))

    # --- the denoiser ----------------------------------------------------------------------------------
    def eps(self, z_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The predicted noise ``ε_θ(z_t, t)``; ``t`` is an integer or a ``(B,)`` tensor of timesteps."""
        out = self.network(z_t, self._time(t, z_t.shape[0]))
        if not isinstance(out, torch.Tensor) or out.shape != z_t.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"the network must return a tensor of z_t's shape {tuple(z_t.shape)}, got {got}")
        return out

    forward = eps

    def predict_x0(self, z_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """Tweedie's estimate ``E[z_0 | z_t] ≈ (z_t - √(1 - ᾱ_t) ε_θ(z_t, t)) / √ᾱ_t``, in ``z`` space."""
        t = self._time(t, z_t.shape[0])
        ab = self._alpha_bar(t, z_t)
        return (z_t - torch.sqrt(1 - ab) * self.eps(z_t, t)) / torch.sqrt(ab)

    def training_loss(self, x: torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor:
        """The simple loss of Ho et al.: ``mean ‖ε - ε_θ(√ᾱ_t z_0 + √(1 - ᾱ_t) ε, t)‖²`` (per entry).

        Args:
            x: Training images ``(B, *sample_shape)`` in ``image_range``.
            generator: Source of ``t ~ U{0, ..., T-1}`` and ``ε ~ N(0, I)`` (a seed, or ``None`` for 0).

        Returns:
            The scalar loss.
        """
        check_tensor("x", x, ndim=len(self.sample_shape) + 1, shape=self.sample_shape)
        gen = make_generator(generator)
        z0 = self.from_image(x)
        t = torch.randint(0, self.num_timesteps, (x.shape[0],), generator=gen, device=gen.device).to(
            self.device
        )
        noise = standard_normal(z0.shape, gen, z0)
        ab = self._alpha_bar(t, z0)
        z_t = torch.sqrt(ab) * z0 + torch.sqrt(1 - ab) * noise
        return torch.mean((self.eps(z_t, t) - noise) ** 2)

    # --- sampling steps (shared with the posterior samplers) ----------------------------------------------
    def timesteps(self, num_steps: int | None = None) -> list[int]:
        """The decreasing timesteps a sampler visits: all ``T`` of them, or ``num_steps`` evenly spaced from
        ``T - 1`` down to ``0`` (rounded; both ends included).

        Example:
            >>> DDPM(widths=(8,), image_size=8).timesteps(4)
            [999, 666, 333, 0]
        """
        T = self.num_timesteps
        n = T if num_steps is None else check_number("num_steps", num_steps, low=1, high=T, integer=True)
        if n == 1:
            return [T - 1]
        return [round((T - 1) * k / (n - 1)) for k in range(n - 1, -1, -1)]

    def _pair(self, t: int, t_prev: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ab = self.alphas_cumprod[t].to(like.dtype)
        ab_prev = self.alphas_cumprod[t_prev].to(like.dtype) if t_prev >= 0 else torch.ones_like(ab)
        return ab, ab_prev

    def ancestral_step(
        self, z_t: torch.Tensor, x0: torch.Tensor, t: int, t_prev: int, noise: torch.Tensor | None
    ) -> torch.Tensor:
        """One DDPM step ``t -> t' = t_prev`` (respaced chain): a draw from ``q(z_{t'} | z_t, z_0 = x0)``.

        With ``β = 1 - ᾱ_t / ᾱ_{t'}`` the mean is ``√ᾱ_{t'} β / (1 - ᾱ_t) x0 + √(1 - β) (1 - ᾱ_{t'}) /
        (1 - ᾱ_t) z_t`` and the variance ``β̃ = (1 - ᾱ_{t'}) / (1 - ᾱ_t) β`` (Ho et al. 2020, Eq. 7; for
        ``t' = t - 1`` these are the original coefficients). ``t_prev = -1`` is the final step
        (``ᾱ = 1``, zero variance, the result is ``x0``); ``noise`` may then be ``None``.
        """
        ab, ab_prev = self._pair(t, t_prev, z_t)
        beta = 1 - ab / ab_prev
        mean = (torch.sqrt(ab_prev) * beta * x0 + torch.sqrt(1 - beta) * (1 - ab_prev) * z_t) / (1 - ab)
        if t_prev < 0:
            return mean
        return mean + torch.sqrt((1 - ab_prev) / (1 - ab) * beta) * noise

    def ddim_step(
        self, z_t: torch.Tensor, x0: torch.Tensor, t: int, t_prev: int, eta: float, noise: torch.Tensor | None
    ) -> torch.Tensor:
        """One DDIM step ``t -> t' = t_prev`` (Song, Meng & Ermon 2021, Eq. 12).

        ``z_{t'} = √ᾱ_{t'} x0 + √(1 - ᾱ_{t'} - s²) ε + s ξ`` with ``ε = (z_t - √ᾱ_t x0) / √(1 - ᾱ_t)`` (the
        noise consistent with ``x0``), ``s = η √((1 - ᾱ_{t'}) / (1 - ᾱ_t)) √(1 - ᾱ_t / ᾱ_{t'})`` and
        ``ξ = noise``. ``η = 0`` is deterministic, ``η = 1`` is the DDPM step.
        """
        ab, ab_prev = self._pair(t, t_prev, z_t)
        eps = (z_t - torch.sqrt(ab) * x0) / torch.sqrt(1 - ab)
        s2 = eta**2 * (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)
        out = torch.sqrt(ab_prev) * x0 + torch.sqrt(torch.clamp(1 - ab_prev - s2, min=0)) * eps
        if t_prev < 0 or eta == 0:
            return out
        return out + torch.sqrt(s2) * noise


# --- samplers ---------------------------------------------------------------------------------------------
def check_model(model: object) -> DDPM:
    """Raise a ``TypeError`` unless ``model`` is a :class:`DDPM`."""
    if not isinstance(model, DDPM):
        raise TypeError(f"model must be a DDPM, got {type(model).__name__}")
    return model


def steps_with_progress(steps: list[int], progress: bool, desc: str):
    """``(t, t_prev)`` pairs over the decreasing ``steps`` (``t_prev = -1`` last), with an optional bar."""
    pairs = list(zip(steps, [*steps[1:], -1], strict=True))
    if not progress:
        return pairs
    from tqdm.auto import tqdm

    return tqdm(pairs, desc=desc, leave=False)


def _start(
    model: DDPM, num: int, generator: torch.Generator | int | None
) -> tuple[torch.Tensor, torch.Generator]:
    num = check_number("num", num, low=1, integer=True)
    gen = make_generator(generator)
    like = model.alphas_cumprod
    return standard_normal((num, *model.sample_shape), gen, like), gen


@torch.no_grad()
def ddpm_sample(
    model: DDPM,
    num: int,
    generator: torch.Generator | int | None = None,
    *,
    num_steps: int | None = None,
    clip_x0: bool = False,
    progress: bool = False,
    callback: Callable[[int, torch.Tensor], object] | None = None,
) -> torch.Tensor:
    """Ancestral DDPM sampling (Ho et al. 2020, Algorithm 2), optionally on a respaced chain.

    From ``z ~ N(0, I)``, each step predicts ``x̂_0 = E[z_0 | z_t]`` and draws
    ``z_{t'} ~ q(z_{t'} | z_t, x̂_0)`` (:meth:`DDPM.ancestral_step`). With ``num_steps < T`` the chain visits
    :meth:`DDPM.timesteps` and uses that chain's own DDPM posterior variance (as in Nichol & Dhariwal 2021,
    "Improved DDPM", respacing with the lower-bound variance ``β̃``).

    Args:
        model: The diffusion model.
        num: Number of samples (one batch).
        generator: Source of all randomness (a ``torch.Generator``, a seed, or ``None`` for seed 0).
        num_steps: Number of denoising steps (default ``T``).
        clip_x0: Clamp ``x̂_0`` to ``[-1, 1]`` (the image range) at each step; off by default.
        progress: Show a progress bar.
        callback: Called as ``callback(step, x0_hat)`` with ``x̂_0`` in image space.

    Returns:
        Samples ``(num, *model.sample_shape)`` in image space (not clamped).

    Example:
        >>> model = DDPM(widths=(8,), image_size=8)
        >>> ddpm_sample(model, 2, torch.Generator().manual_seed(0), num_steps=3).shape
        torch.Size([2, 1, 8, 8])
    """
    model = check_model(model)
    z, gen = _start(model, num, generator)
    steps = model.timesteps(num_steps)
    for i, (t, t_prev) in enumerate(steps_with_progress(steps, progress, "DDPM")):
        x0 = model.predict_x0(z, t)
        if clip_x0:
            x0 = x0.clamp(-1, 1)
        noise = standard_normal(z.shape, gen, z) if t_prev >= 0 else None
        z = model.ancestral_step(z, x0, t, t_prev, noise)
        if callback is not None:
            callback(i, model.to_image(x0))
    return model.to_image(z)


@torch.no_grad()
def ddim_sample(
    model: DDPM,
    num: int,
    generator: torch.Generator | int | None = None,
    *,
    num_steps: int = 50,
    eta: float = 0.0,
    clip_x0: bool = False,
    progress: bool = False,
    callback: Callable[[int, torch.Tensor], object] | None = None,
) -> torch.Tensor:
    """DDIM sampling (Song, Meng & Ermon, "Denoising diffusion implicit models", ICLR 2021).

    Visits ``num_steps`` evenly spaced timesteps (:meth:`DDPM.timesteps`) with the update of
    :meth:`DDPM.ddim_step`: ``eta=0`` is the deterministic sampler (a discretization of the probability-flow
    ODE; the randomness is only the starting noise), ``eta=1`` the DDPM posterior of the respaced chain.

    Args:
        model: The diffusion model.
        num: Number of samples (one batch).
        generator: Source of all randomness (a ``torch.Generator``, a seed, or ``None`` for seed 0).
        num_steps: Number of denoising steps, in ``[1, T]``.
        eta: Stochasticity ``η`` in ``[0, 1]``.
        clip_x0: Clamp ``x̂_0`` to ``[-1, 1]`` at each step (the noise estimate is recomputed from it).
        progress: Show a progress bar.
        callback: Called as ``callback(step, x0_hat)`` with ``x̂_0`` in image space.

    Returns:
        Samples ``(num, *model.sample_shape)`` in image space (not clamped).

    Example:
        >>> model = DDPM(widths=(8,), image_size=8)
        >>> ddim_sample(model, 2, 0, num_steps=3).shape
        torch.Size([2, 1, 8, 8])
    """
    model = check_model(model)
    eta = float(check_number("eta", eta, low=0, high=1))
    steps = model.timesteps(check_number("num_steps", num_steps, low=1, integer=True))
    z, gen = _start(model, num, generator)
    for i, (t, t_prev) in enumerate(steps_with_progress(steps, progress, "DDIM")):
        x0 = model.predict_x0(z, t)
        if clip_x0:
            x0 = x0.clamp(-1, 1)
        noise = standard_normal(z.shape, gen, z) if (t_prev >= 0 and eta > 0) else None
        z = model.ddim_step(z, x0, t, t_prev, eta, noise)
        if callback is not None:
            callback(i, model.to_image(x0))
    return model.to_image(z)
