"""Learned primal-dual reconstruction (Adler & Öktem 2018), called ``model(y, A)``.

The network unrolls a primal-dual scheme in which both proximal steps are small CNNs with memory: a primal
state ``f`` of ``n_primal`` image channels and a dual state ``h`` of ``n_dual`` channels in the measurement
layout (for CT the sinogram ``(angles, detectors)``). The operator is passed at call time and normalized by
its norm (``A / ‖A‖`` and ``y / ‖A‖``, ``‖A‖`` from ``A.norm()``), so the CNNs see inputs of a fixed scale.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_choice, check_number
from ..operators.base import LinearOperator
from .postprocess import INITIAL_METHODS
from .unrolled import _check_bool, _check_operator, _Unrolled, conv_stack, direct_reconstruction

__all__ = ["LearnedPrimalDual"]


class LearnedPrimalDual(_Unrolled):
    """Learned primal-dual (LPD): ``num_iter`` alternating residual CNN updates of a dual and a primal state.

    With ``Â = A / ‖A‖``, ``ŷ = y / ‖A‖``, ``f = 0`` (``n_primal`` channels) and ``h = 0`` (``n_dual``
    channels of the measurement's size), each iteration ``k`` does::

        h <- h + Γ_k([h, Â f[:, 1:2], ŷ])          # dual update, in the measurement domain
        f <- f + Λ_k([f, Âᵀ h[:, :C]])             # primal update, in the image domain

    and the reconstruction is ``f[:, 0:1]``. With ``initial`` (e.g. ``"fbp"``, our option, not the paper's)
    every primal channel starts at that direct reconstruction instead of 0 and each block's last layer starts
    at zero, so the untrained network returns the direct reconstruction and training only has to learn the
    correction (much faster on a CPU budget). ``C`` is ``measurement_channels`` (1 for CT sinograms
    ``(B, 1, angles, detectors)``). Each ``Γ_k``, ``Λ_k`` is three 3x3 convolutions with ``features`` channels
    and per-channel PReLU, the last layer linear; weights are not shared across iterations. Measurements must
    be real ``(B, C, H', W')`` tensors (CT, deblurring, super-resolution; not complex MRI k-space).

    Reference:
        J. Adler and O. Öktem, "Learned primal-dual reconstruction", IEEE Transactions on Medical Imaging
        37(6), 2018.

    Example:
        >>> from inverselab.operators import ParallelBeamCT, sparse_view_angles
        >>> A = ParallelBeamCT(16, sparse_view_angles(6))
        >>> model = LearnedPrimalDual(num_iter=2, features=4)
        >>> model(A(torch.rand(2, 1, 16, 16)), A).shape
        torch.Size([2, 1, 16, 16])
        >>> LearnedPrimalDual(**model.config).config == model.config
        True
    """

    def __init__(
        self,
        num_iter: int = 10,
        n_primal: int = 5,
        n_dual: int = 5,
        features: int = 32,
        measurement_channels: int = 1,
        checkpointing: bool = False,
        initial: str | None = None,
    ):
        """Build the network.

        Args:
            num_iter: Number of unrolled iterations (>= 1).
            n_primal: Channels of the primal memory (>= 2: channel 0 is the image, channel 1 is the one
                the operator is applied to).
            n_dual: Channels of the dual memory (>= ``measurement_channels``).
            features: Hidden channels of every CNN (>= 1).
            measurement_channels: Channels ``C`` of the measurements ``(B, C, H', W')``.
            checkpointing: Recompute each iteration's activations in the backward pass (saves memory).
            initial: ``None`` (start from ``f = 0``, as Adler & Öktem) or a direct method (``"fbp"``,
                ``"adjoint"``) to start every primal channel from, with zero-initialized last layers.
        """
        super().__init__()
        self.num_iter = check_number("num_iter", num_iter, low=1, integer=True)
        self.n_primal = check_number("n_primal", n_primal, low=2, integer=True)
        self.measurement_channels = check_number(
            "measurement_channels", measurement_channels, low=1, integer=True
        )
        self.n_dual = check_number("n_dual", n_dual, low=self.measurement_channels, integer=True)
        self.features = check_number("features", features, low=1, integer=True)
        self.checkpointing = _check_bool("checkpointing", checkpointing)
        C = self.measurement_channels
        self.dual_blocks = nn.ModuleList(
            conv_stack(self.n_dual + 2 * C, self.n_dual, self.features, 3, prelu=True)
            for _ in range(self.num_iter)
        )
        self.primal_blocks = nn.ModuleList(
            conv_stack(self.n_primal + 1, self.n_primal, self.features, 3, prelu=True)
            for _ in range(self.num_iter)
        )
        self.initial = None if initial is None else check_choice("initial", initial, INITIAL_METHODS)
        if self.initial is not None:
            for block in (*self.dual_blocks, *self.primal_blocks):
                nn.init.zeros_(block[-1].weight)
                nn.init.zeros_(block[-1].bias)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable): ``cls(**model.config)`` builds the same network."""
        return {
            "num_iter": self.num_iter,
            "n_primal": self.n_primal,
            "n_dual": self.n_dual,
            "features": self.features,
            "measurement_channels": self.measurement_channels,
            "checkpointing": self.checkpointing,
            "initial": self.initial,
        }

    def initial_reconstruction(self, y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
        """The classical baseline (real, no gradient): ``initial`` if set, else FBP for CT and the adjoint
        otherwise. Without ``initial`` the network does not start from it (``f = 0``); trainers compare
        against it."""
        from ..operators.tomography import ParallelBeamCT

        A = _check_operator(A)
        method = self.initial or ("fbp" if isinstance(A, ParallelBeamCT) else "adjoint")
        return direct_reconstruction(method, y, A)

    def _check_measurement(self, y: object, A: LinearOperator) -> torch.Tensor:
        y = A.check_measurement(y)
        C = self.measurement_channels
        if y.ndim != 4 or y.is_complex() or not y.is_floating_point() or y.shape[1] != C:
            raise ValueError(
                f"y must be a real floating-point tensor (B, {C}, H, W) (measurement_channels={C}), got "
                f"shape {tuple(y.shape)} and dtype {y.dtype}"
            )
        return y

    def _iteration(
        self, k: int, f: torch.Tensor, h: torch.Tensor, y: torch.Tensor, A: LinearOperator, norm: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        C = self.measurement_channels
        Af = A(f[:, 1:2]) / norm
        h = h + self.dual_blocks[k](torch.cat([h, Af, y], dim=1))
        ATh = A.adjoint(h[:, :C]) / norm
        f = f + self.primal_blocks[k](torch.cat([f, ATh], dim=1))
        return f, h

    def forward(self, y: torch.Tensor, A: LinearOperator) -> torch.Tensor:
        """Reconstruct real images ``(B, 1, H, W)`` from real measurements ``y`` of the operator ``A``."""
        A = _check_operator(A)
        y = self._check_measurement(y, A)
        norm = float(A.norm())
        if not norm > 0:
            raise ValueError(f"A must have a positive norm, got ‖A‖ = {norm}")
        B, (_, H, W) = y.shape[0], A.in_shape
        if self.initial is None:
            f = y.new_zeros(B, self.n_primal, H, W)
        else:
            f = direct_reconstruction(self.initial, y, A).expand(B, self.n_primal, H, W).contiguous()
        h = y.new_zeros(B, self.n_dual, *y.shape[2:])
        y = y / norm
        for k in range(self.num_iter):
            f, h = self._run(self._iteration, k, f, h, y, A, norm)
        return f[:, 0:1]
