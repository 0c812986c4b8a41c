"""Image-domain unrolled networks: learned proximal gradient and MoDL, called ``model(y, A)``.

Both start from a direct reconstruction ``x0`` (the adjoint, zero-filled MRI or FBP, as
:class:`~inverselab.networks.PostProcess`) and alternate a step that uses the physics (a gradient step on
``½‖Ax - y‖²``, or an exact data-consistency solve) with a small residual CNN. The operator is passed at call
time and its norm ``‖A‖`` is read from ``A.norm()`` then, so the learned step sizes and weights are relative
to ``‖A‖²`` and one network serves any instance of a problem (a new mask, another set of angles).

Images are real ``(B, 1, H, W)``; for complex-domain operators (MRI) the gradient is the real part
``Re Aᴴ(Ax - y)``, the gradient of the data term over real images.

``checkpointing=True`` wraps each unrolled iteration in :func:`torch.utils.checkpoint.checkpoint`: the
activations inside an iteration are recomputed in the backward pass instead of stored, so memory grows with
the number of iterations by one image per iteration only (same outputs and gradients, about one more forward
pass of compute).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._checks import check_choice, check_number
from ..operators.base import LinearOperator
from .postprocess import INITIAL_METHODS, direct_reconstruction

__all__ = ["UnrolledProximalGradient", "MoDL"]


# --- helpers shared with primal_dual.py ---------------------------------------------------------------------
def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def _check_operator(A: object) -> LinearOperator:
    """``A`` must be a linear operator on one-channel images ``(1, H, W)``."""
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    if len(A.in_shape) != 3 or A.in_shape[0] != 1:
        raise ValueError(f"A must act on one-channel images (1, H, W), got in_shape {A.in_shape}")
    return A


def _squared_norm(A: LinearOperator) -> float:
    """``‖A‖²`` from ``A.norm()`` (cached by the operator); a zero operator is refused."""
    L = float(A.norm()) ** 2
    if not L > 0 or not math.isfinite(L):
        raise ValueError(f"A must have a positive finite norm, got ‖A‖² = {L}")
    return L


def _real(t: torch.Tensor) -> torch.Tensor:
    return t.real if t.is_complex() else t


def conv_stack(
    in_channels: int, out_channels: int, features: int, depth: int, prelu: bool = False
) -> nn.Sequential:
    """``depth`` 3x3 convolutions with ``features`` hidden channels and ReLU (or per-channel PReLU) between
    them; the last layer is linear. No normalization layers (batch norm would update its running statistics
    twice under checkpointing)."""
    layers: list[nn.Module] = []
    widths = [in_channels] + [features] * (depth - 1) + [out_channels]
    for i in range(depth):
        layers.append(nn.Conv2d(widths[i], widths[i + 1], kernel_size=3, padding=1))
        if i < depth - 1:
            layers.append(nn.PReLU(features) if prelu else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _Unrolled(nn.Module):
    """The pieces common to the unrolled networks: the direct start, checkpointing, parameter count."""

    initial: str
    checkpointing: bool

    def initial_reconstruction(self, y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
        """``x0``: the direct method named by ``initial`` (real, no gradient)."""
        return direct_reconstruction(self.initial, y, _check_operator(A))

    def num_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _run(self, fn, *args):
        """``fn(*args)``, checkpointed when asked for and when gradients are being recorded."""
        if self.checkpointing and torch.is_grad_enabled():
            return checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)


class UnrolledProximalGradient(_Unrolled):
    """Learned proximal gradient: ``num_iter`` gradient steps on ``½‖Ax - y‖²``, each followed by a residual
    CNN in place of the proximal operator.

    ``x_{k+1} = v_k + cnn_k(v_k)`` with ``v_k = x_k - η_k Re Aᴴ(A x_k - y)`` and ``x_0`` the direct method
    ``initial``. The step sizes are ``η_k = exp(s_k) / ‖A‖²`` with learned ``s_k`` (``log_steps``, zero at
    initialization, so ``η_k = 1/‖A‖²``) and ``‖A‖`` taken from ``A.norm()`` at call time. Each CNN is
    ``depth`` 3x3 convolutions with ReLU, its last layer zero at initialization: the untrained network is
    exactly ``num_iter`` gradient steps from ``x_0``, and training starts from that classical method.

    References:
        K. Gregor and Y. LeCun, "Learning fast approximations of sparse coding", ICML 2010 (unrolling).
        J. Adler and O. Öktem, "Solving ill-posed inverse problems using iterative deep neural networks",
        Inverse Problems 33(12), 2017 (learned gradient schemes). M. Mardani et al., "Neural proximal
        gradient descent for compressive imaging", NeurIPS 2018 (a CNN as the proximal step).

    Example:
        >>> from inverselab.operators import Identity
        >>> model = UnrolledProximalGradient(num_iter=2, features=4, depth=2)
        >>> model(torch.zeros(2, 1, 8, 8), Identity((1, 8, 8))).shape
        torch.Size([2, 1, 8, 8])
        >>> UnrolledProximalGradient(**model.config).config == model.config
        True
    """

    def __init__(
        self,
        num_iter: int = 8,
        features: int = 32,
        depth: int = 4,
        shared: bool = False,
        initial: str = "adjoint",
        checkpointing: bool = False,
    ):
        """Build the network.

        Args:
            num_iter: Number of unrolled iterations ``K`` (>= 1).
            features: Hidden channels of the CNNs (>= 1).
            depth: Convolutions per CNN (>= 2).
            shared: One CNN for all iterations (else one per iteration). The step sizes are always
                per-iteration.
            initial: The direct method giving ``x0``: ``"adjoint"``, ``"zero-filled"`` or ``"fbp"``.
            checkpointing: Recompute each iteration's activations in the backward pass (saves memory).
        """
        super().__init__()
        self.num_iter = check_number("num_iter", num_iter, low=1, integer=True)
        self.features = check_number("features", features, low=1, integer=True)
        self.depth = check_number("depth", depth, low=2, integer=True)
        self.shared = _check_bool("shared", shared)
        self.initial = check_choice("initial", initial, INITIAL_METHODS)
        self.checkpointing = _check_bool("checkpointing", checkpointing)
        self.log_steps = nn.Parameter(torch.zeros(self.num_iter))
        blocks = 1 if self.shared else self.num_iter
        self.proxes = nn.ModuleList(conv_stack(1, 1, self.features, self.depth) for _ in range(blocks))
        for cnn in self.proxes:
            nn.init.zeros_(cnn[-1].weight)
            nn.init.zeros_(cnn[-1].bias)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``cls(**model.config)`` builds the same network."""
        return {
            "num_iter": self.num_iter,
            "features": self.features,
            "depth": self.depth,
            "shared": self.shared,
            "initial": self.initial,
            "checkpointing": self.checkpointing,
        }

    def relative_steps(self) -> torch.Tensor:
        """``η_k ‖A‖²`` for every iteration (1 at initialization), shape ``(num_iter,)``."""
        return torch.exp(self.log_steps)

    def _iteration(
        self, k: int, x: torch.Tensor, aty: torch.Tensor, A: LinearOperator, L: float
    ) -> torch.Tensor:
        grad = _real(A.normal(x)) - aty
        x = x - (torch.exp(self.log_steps[k]) / L) * grad
        return x + self.proxes[0 if self.shared else k](x)

    def forward(self, y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
        """Reconstruct real images ``(B, 1, H, W)`` from measurements ``y`` of the operator ``A``."""
        x = self.initial_reconstruction(y, A)
        L = _squared_norm(A)
        aty = _real(A.adjoint(y)).to(x.dtype)
        for k in range(self.num_iter):
            x = self._run(self._iteration, k, x, aty, A, L)
        return x


def _batch_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``<a_b, b_b>`` per batch item (real tensors), shape ``(B, 1, ..., 1)`` to broadcast against ``a``."""
    return (a * b).sum(dim=tuple(range(1, a.ndim)), keepdim=True)


def _safe_ratio(num: torch.Tensor, den: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """``num / den`` where ``ok``, else 0, with finite gradients in both branches."""
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def conjugate_gradient(apply, b: torch.Tensor, x: torch.Tensor, num_iter: int) -> torch.Tensor:
    """At most ``num_iter`` conjugate-gradient steps for ``M x = b`` from ``x``, as a differentiable loop.

    ``M = apply`` must be symmetric positive definite on real tensors and act on each batch item separately;
    every item gets its own step sizes. An item whose residual has reached the working precision
    (``‖r‖ <= 10 eps max(‖r_0‖, ‖b‖)``, with ``eps`` of the dtype) stays where it is from then on: CG
    converges exactly in as many steps as ``M`` has distinct eigenvalues (two for single-coil Cartesian
    MRI, whose ``AᴴA`` is a projection), and further steps would divide rounding noise by rounding
    noise, whose gradient overflows. Unlike :func:`inverselab.solvers.cg` there is no per-iteration
    bookkeeping (no host synchronization), which is what an unrolled network differentiates through.

    Reference: M. R. Hestenes and E. Stiefel, "Methods of conjugate gradients for solving linear systems",
    J. Res. Nat. Bur. Standards 49(6), 1952.
    """
    r = b - apply(x)
    p = r
    rs = _batch_dot(r, r)
    # rounding leaves a residual of about eps (‖b‖ + ‖M x‖), so the floor is relative to ‖b‖ and ‖r_0‖
    floor = (10 * torch.finfo(rs.dtype).eps) ** 2 * torch.maximum(rs, _batch_dot(b, b)).detach()
    for _ in range(num_iter):
        active = rs.detach() > floor
        Mp = apply(p)
        pMp = _batch_dot(p, Mp)
        alpha = _safe_ratio(rs, pMp, active & (pMp.detach() > 0))
        x = x + alpha * p
        r = r - alpha * Mp
        rs_new = _batch_dot(r, r)
        p = r + _safe_ratio(rs_new, rs, active) * p
        rs = rs_new
    return x


class MoDL(_Unrolled):
    """MoDL: a shared residual CNN alternating with an exact data-consistency step solved by CG.

    ``z_k = x_k + cnn(x_k)``, then ``x_{k+1} = argmin_x ‖Ax - y‖² + λ‖x - z_k‖²
    = (AᴴA + λI)⁻¹(Aᴴy + λ z_k)``, the inverse applied by ``cg_iter`` conjugate-gradient steps started at
    ``z_k`` (a plain differentiable loop, :func:`conjugate_gradient`; ``Re AᴴA`` for real images). The weight
    is ``λ = exp(t) ‖A‖²`` with a learned ``t`` (``log_lam``), so ``lam`` is relative to ``‖A‖²`` (read from
    ``A.norm()`` at call time). The CNN's last layer is zero at initialization: the untrained network is
    ``num_iter`` proximal-point (iterated Tikhonov) steps from the direct reconstruction ``x_0``.

    Reference:
        H. K. Aggarwal, M. P. Mani and M. Jacob, "MoDL: Model-based deep learning architecture for inverse
        problems", IEEE Transactions on Medical Imaging 38(2), 2019.

    Example:
        >>> from inverselab.operators import Identity
        >>> model = MoDL(num_iter=2, features=4, depth=2, cg_iter=3)
        >>> model(torch.zeros(2, 1, 8, 8), Identity((1, 8, 8))).shape
        torch.Size([2, 1, 8, 8])
        >>> MoDL(**model.config).config == model.config
        True
    """

    def __init__(
        self,
        num_iter: int = 5,
        features: int = 32,
        depth: int = 5,
        lam: float = 0.05,
        cg_iter: int = 10,
        initial: str = "adjoint",
        checkpointing: bool = False,
    ):
        """Build the network.

        Args:
            num_iter: Number of unrolled iterations ``K`` (>= 1); the CNN is shared by all of them.
            features: Hidden channels of the CNN (>= 1).
            depth: Convolutions of the CNN (>= 2).
            lam: Initial relative weight ``λ / ‖A‖²`` of the data-consistency step (> 0); learned.
            cg_iter: Conjugate-gradient steps per data-consistency solve (>= 1).
            initial: The direct method giving ``x0``: ``"adjoint"``, ``"zero-filled"`` or ``"fbp"``.
            checkpointing: Recompute each iteration's activations in the backward pass (saves memory).
        """
        super().__init__()
        self.num_iter = check_number("num_iter", num_iter, low=1, integer=True)
        self.features = check_number("features", features, low=1, integer=True)
        self.depth = check_number("depth", depth, low=2, integer=True)
        lam = float(check_number("lam", lam, low=0, low_inclusive=False))
        if not math.isfinite(lam):
            raise ValueError(f"lam must be finite, got {lam!r}")
        self.cg_iter = check_number("cg_iter", cg_iter, low=1, integer=True)
        self.initial = check_choice("initial", initial, INITIAL_METHODS)
        self.checkpointing = _check_bool("checkpointing", checkpointing)
        self.log_lam = nn.Parameter(torch.tensor(math.log(lam)))
        self._lam_init = lam
        self.cnn = conv_stack(1, 1, self.features, self.depth)
        nn.init.zeros_(self.cnn[-1].weight)
        nn.init.zeros_(self.cnn[-1].bias)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``cls(**model.config)`` builds the same network
        (``lam`` is the initial weight; the learned one is in the state dict)."""
        return {
            "num_iter": self.num_iter,
            "features": self.features,
            "depth": self.depth,
            "lam": self._lam_init,
            "cg_iter": self.cg_iter,
            "initial": self.initial,
            "checkpointing": self.checkpointing,
        }

    @property
    def lam(self) -> float:
        """The current relative weight ``λ / ‖A‖²``."""
        return float(torch.exp(self.log_lam.detach()))

    def _solve(
        self, z: torch.Tensor, aty: torch.Tensor, A: LinearOperator, L: float, lam: torch.Tensor
    ) -> torch.Tensor:
        """``(AᴴA/L + lam I)⁻¹ (Aᴴy/L + lam z)`` by ``cg_iter`` CG steps from ``z`` (the same minimizer as
        the unscaled system with ``λ = lam L``, better conditioned in float32)."""

        def apply(v: torch.Tensor) -> torch.Tensor:
            return _real(A.normal(v)) / L + lam * v

        return conjugate_gradient(apply, aty / L + lam * z, z, self.cg_iter)

    def data_consistency(
        self, z: torch.Tensor, y: torch.Tensor, A: LinearOperator, lam: float | None = None
    ) -> torch.Tensor:
        """The data-consistency step ``argmin_x ‖Ax - y‖² + λ‖x - z‖²`` by ``cg_iter`` CG steps.

        Args:
            z: Real images ``(B, 1, H, W)``.
            y: Measurements of ``A``.
            A: The operator.
            lam: Relative weight ``λ / ‖A‖²`` (default: the learned one).

        Returns:
            ``x``, the shape of ``z``.
        """
        A = _check_operator(A)
        y = A.check_measurement(y)
        z = A.check_input(z, "z")
        L = _squared_norm(A)
        if lam is None:
            weight = torch.exp(self.log_lam).to(z.dtype)
        else:
            lam = float(check_number("lam", lam, low=0, low_inclusive=False))
            weight = torch.tensor(lam, dtype=z.dtype, device=z.device)
        return self._solve(z, _real(A.adjoint(y)).to(z.dtype), A, L, weight)

    def _iteration(self, x: torch.Tensor, aty: torch.Tensor, A: LinearOperator, L: float) -> torch.Tensor:
        z = x + self.cnn(x)
        return self._solve(z, aty, A, L, torch.exp(self.log_lam))

    def forward(self, y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
        """Reconstruct real images ``(B, 1, H, W)`` from measurements ``y`` of the operator ``A``."""
        x = self.initial_reconstruction(y, A)
        L = _squared_norm(A)
        aty = _real(A.adjoint(y)).to(x.dtype)
        for _ in range(self.num_iter):
            x = self._run(self._iteration, x, aty, A, L)
        return x
