"""Unrolled sparse coding networks for a fixed matrix: LISTA, LISTA-CP, LISTA-CPSS, ALISTA and LAMP.

Each network unrolls ``num_layers`` iterations of a sparse-recovery algorithm for ``y = A x`` with a fixed
``m x n`` matrix ``A`` and learns some or all of the per-layer weights. ``A`` is a buffer (``"A"`` in the
state dict), so a weights file holds the matrix it was trained for and
:meth:`SparseCodingNetwork.check_matrix` tells whether a problem's operator is that matrix. ``config``
holds only sizes and scalars: ``cls(**config)`` rebuilds the architecture with a zero placeholder for ``A``
that ``load_state_dict`` fills.

All start from ``x_0 = 0``; ``net(y)`` returns the last estimate ``x_K`` of shape ``(B, n)`` and
``net(y, return_all=True)`` the list ``[x_1, ..., x_K]`` (for the NMSE per layer).
``net(y, num_layers=k)`` runs only the first ``k`` layers (stage-wise training).

Example:
    >>> import torch
    >>> A = torch.randn(20, 40, generator=torch.Generator().manual_seed(0)) / 20**0.5
    >>> net = LISTACP(A, num_layers=3)
    >>> [tuple(x.shape) for x in net(torch.zeros(2, 20), return_all=True)]
    [(2, 40), (2, 40), (2, 40)]
    >>> twin = LISTACP(**net.config)
    >>> _ = twin.load_state_dict(net.state_dict())
    >>> twin.check_matrix(A)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_choice, check_number, check_tensor

__all__ = [
    "SparseCodingNetwork",
    "LISTA",
    "LISTACP",
    "LISTACPSS",
    "ALISTA",
    "LAMP",
    "analytic_weight",
    "support_percentages",
]


def soft(v: torch.Tensor, theta: torch.Tensor | float) -> torch.Tensor:
    """Soft threshold ``sign(v) max(|v| - theta, 0)``, differentiable in ``v`` and ``theta`` (no checks)."""
    return torch.sign(v) * torch.clamp(torch.abs(v) - theta, min=0)


def soft_support_selection(v: torch.Tensor, theta: torch.Tensor | float, percent: float) -> torch.Tensor:
    """Soft threshold with support selection (Chen et al. 2018): the entries among the ``percent``% largest
    magnitudes of each vector that also exceed ``theta`` pass unchanged; the others are soft-thresholded.

    The selection is not differentiated (as in the reference code, ``tf.stop_gradient``).
    """
    count = int(round(percent / 100 * v.shape[-1]))
    if count <= 0:
        return soft(v, theta)
    mag = torch.abs(v)
    kth = torch.topk(mag.detach(), count, dim=-1).values[..., -1:]
    bypass = ((mag >= kth) & (mag > theta)).detach()
    return torch.where(bypass, v, soft(v, theta))


def support_percentages(num_layers: int, p: float, p_max: float) -> list[float]:
    """The support-selection schedule ``p_k = min(p k, p_max)`` in percent, ``k = 1..num_layers``.

    Chen et al. (2018) and Liu et al. (2019) use ``p = 1.2`` and ``p_max = 13``.

    Example:
        >>> support_percentages(4, 1.2, 3.0)
        [1.2, 2.4, 3.0, 3.0]
    """
    return [min(round(p * k, 10), p_max) for k in range(1, num_layers + 1)]


def analytic_weight(A: torch.Tensor) -> torch.Tensor:
    """The analytic weight of ALISTA from Frobenius coherence minimization, in closed form.

    Minimizes ``‖Wᵀ A‖_F²`` subject to ``W_{:,i}ᵀ A_{:,i} = 1`` for every column ``i``; the solution is
    ``W_{:,i} = (A Aᵀ)⁻¹ A_{:,i} / (A_{:,i}ᵀ (A Aᵀ)⁻¹ A_{:,i})``. Liu et al. (2019) minimize the generalized
    (max-entry) coherence by projected gradient descent started from this point; the Frobenius solution is the
    data-free, closed-form variant they discuss, and it gives the same accuracy here (see the benchmark).

    Args:
        A: The ``m x n`` matrix (full row rank).

    Returns:
        ``W`` of shape ``m x n`` with ``diag(Wᵀ A) = 1``, in ``A``'s dtype.

    Example:
        >>> A = torch.randn(10, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> W = analytic_weight(A)
        >>> bool(torch.allclose(torch.diagonal(W.T @ A), torch.ones(30, dtype=torch.float64)))
        True
    """
    A64 = A.double()
    G = torch.linalg.solve(A64 @ A64.T, A64)  # (A Aᵀ)⁻¹ A
    return (G / (G * A64).sum(dim=0, keepdim=True)).to(A.dtype)


def _matrix_of(A: object) -> torch.Tensor:
    """The dense matrix of ``A``: a 2-D tensor, or an operator with a ``matrix`` buffer (GaussianMatrix)."""
    if isinstance(A, torch.Tensor):
        M = A
    elif isinstance(getattr(A, "matrix", None), torch.Tensor):
        M = A.matrix
    else:
        raise TypeError(
            f"A must be an m x n tensor or an operator with a dense 'matrix' (GaussianMatrix), "
            f"got {type(A).__name__}"
        )
    check_tensor("A", M, ndim=2)
    if M.is_complex():
        raise ValueError("A must be real, got a complex matrix")
    return M


class SparseCodingNetwork(nn.Module):
    """Base of the unrolled sparse-coding networks: the fixed matrix, sizes, and the per-layer loop.

    Subclasses define ``_layer(k, y, x, state)`` (``k`` counts from 0) returning the next estimate,
    ``layer_parameters(k)`` (the parameters introduced by layer ``k``, for stage-wise training) and
    ``_extra_config()``.
    """

    def __init__(self, A: torch.Tensor | Any | None, num_layers: int, m: int | None, n: int | None):
        super().__init__()
        self.num_layers = check_number("num_layers", num_layers, low=1, integer=True)
        if A is None:
            if m is None or n is None:
                raise ValueError(f"give A or both m and n, got A=None, m={m!r}, n={n!r}")
            self.m = check_number("m", m, low=1, integer=True)
            self.n = check_number("n", n, low=1, integer=True)
            matrix = torch.zeros(self.m, self.n)
            self.initialized = False
        else:
            matrix = _matrix_of(A).detach().to(torch.get_default_dtype()).cpu().clone()
            for name, given, actual in (("m", m, matrix.shape[0]), ("n", n, matrix.shape[1])):
                if given is not None and given != actual:
                    raise ValueError(f"{name} must match A's shape {tuple(matrix.shape)}, got {name}={given}")
            self.m, self.n = int(matrix.shape[0]), int(matrix.shape[1])
            self.initialized = True
        self.register_buffer("A", matrix)

    # --- helpers for subclasses -----------------------------------------------------------------------
    def _lipschitz(self) -> float:
        """``‖A‖₂²`` (float64), the Lipschitz constant of ``½‖Ax - y‖²``; 1 for the zero placeholder."""
        if not self.initialized:
            return 1.0
        return float(torch.linalg.matrix_norm(self.A.double(), ord=2)) ** 2

    @staticmethod
    def _scalars(values: list[float]) -> nn.ParameterList:
        return nn.ParameterList(nn.Parameter(torch.tensor(float(v))) for v in values)

    # --- interface ------------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serializable, without the matrix): ``cls(**net.config)`` rebuilds
        the architecture; ``load_state_dict`` then restores ``A`` and the weights."""
        return {"m": self.m, "n": self.n, "num_layers": self.num_layers, **self._extra_config()}

    def _extra_config(self) -> dict[str, Any]:
        return {}

    def layer_parameters(self, k: int) -> list[nn.Parameter]:
        """The trainable parameters introduced by layer ``k`` (0-based)."""
        raise NotImplementedError

    def _layer(self, k: int, y: torch.Tensor, x: torch.Tensor, state: dict) -> torch.Tensor:
        raise NotImplementedError

    def check_matrix(self, A: torch.Tensor | Any, rtol: float = 1e-5) -> None:
        """Raise ``ValueError`` unless ``A`` (a matrix, or an operator with ``matrix``) is the network's.

        Args:
            A: The problem's matrix or operator.
            rtol: Tolerance on ``max |A - A_net| / max |A_net|``.

        Raises:
            ValueError: Different shape or entries (a network trained for another matrix).
        """
        M = _matrix_of(A)
        if tuple(M.shape) != (self.m, self.n):
            raise ValueError(
                f"A must be the {self.m}x{self.n} matrix this network was trained for, got {tuple(M.shape)}"
            )
        ref = self.A.double().cpu()
        err = float((M.detach().double().cpu() - ref).abs().max()) / max(float(ref.abs().max()), 1e-300)
        if not err <= rtol:
            raise ValueError(
                f"A differs from the matrix this network was trained for (relative difference {err:.3g}); "
                "a network for a fixed matrix only applies to that matrix (same preset and seed)"
            )

    def forward(
        self, y: torch.Tensor, return_all: bool = False, num_layers: int | None = None
    ) -> torch.Tensor | list[torch.Tensor]:
        """Run the unrolled iterations from ``x_0 = 0``.

        Args:
            y: Measurements ``(B, m)``.
            return_all: Return every layer's estimate ``[x_1, ..., x_K]`` instead of ``x_K``.
            num_layers: Run only the first ``num_layers`` layers (default all).

        Returns:
            ``x_K`` of shape ``(B, n)``, or the list of all estimates.
        """
        check_tensor("y", y, ndim=2, shape=(self.m,), finite=False)
        if y.dtype != self.A.dtype:
            raise ValueError(
                f"y must have the network's dtype {self.A.dtype}, got {y.dtype} "
                f"(pass y.to({self.A.dtype}) or convert the network with .to({y.dtype}))"
            )
        K = (
            self.num_layers
            if num_layers is None
            else check_number("num_layers", num_layers, low=1, high=self.num_layers, integer=True)
        )
        x = torch.zeros(y.shape[0], self.n, dtype=y.dtype, device=y.device)
        state: dict = {}
        estimates = []
        for k in range(K):
            x = self._layer(k, y, x, state)
            estimates.append(x)
        return estimates if return_all else x

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.items())


class LISTA(SparseCodingNetwork):
    """LISTA: ``x_{k+1} = soft(W1_k y + W2_k x_k, theta_k)`` with untied per-layer ``W1_k``, ``W2_k``,
    ``theta_k``.

    Initialized at ISTA's values for ``½‖Ax - y‖² + lam‖x‖₁`` with step ``1/L``, ``L = ‖A‖₂²``:
    ``W1 = Aᵀ/L``, ``W2 = I - AᵀA/L``, ``theta = lam/L``, so the untrained network is ISTA from ``x_0 = 0``.
    Gregor & LeCun tie the weights across layers; untied weights are the LISTA baseline of Chen et al.

    Reference:
        K. Gregor and Y. LeCun, "Learning fast approximations of sparse coding", ICML 2010.
    """

    def __init__(
        self,
        A: torch.Tensor | Any | None = None,
        num_layers: int = 16,
        *,
        m: int | None = None,
        n: int | None = None,
        lam: float = 0.4,
    ):
        """Build the network.

        Args:
            A: The ``m x n`` matrix (tensor or an operator with ``matrix``); ``None`` builds a placeholder of
                ``m x n`` zeros (for loading weights).
            num_layers: Number of layers ``K``.
            m: Number of measurements (only needed without ``A``).
            n: Signal length (only needed without ``A``).
            lam: The L1 weight of the ISTA initialization.
        """
        super().__init__(A, num_layers, m, n)
        self.lam = float(check_number("lam", lam, low=0))
        L = self._lipschitz()
        At = self.A.T
        self.W1 = nn.ParameterList(nn.Parameter(At / L) for _ in range(self.num_layers))
        eye = torch.eye(self.n, dtype=self.A.dtype)
        self.W2 = nn.ParameterList(nn.Parameter(eye - At @ self.A / L) for _ in range(self.num_layers))
        self.theta = self._scalars([self.lam / L] * self.num_layers)

    def _extra_config(self) -> dict[str, Any]:
        return {"lam": self.lam}

    def layer_parameters(self, k: int) -> list[nn.Parameter]:
        return [self.W1[k], self.W2[k], self.theta[k]]

    def _layer(self, k, y, x, state):
        return soft(y @ self.W1[k].T + x @ self.W2[k].T, self.theta[k])


class LISTACP(SparseCodingNetwork):
    """LISTA-CP (coupled weights): ``x_{k+1} = soft(x_k + W_kᵀ(y - A x_k), theta_k)``, untied ``W_k``
    (``m x n``) and ``theta_k``, initialized at ISTA's ``W = A/L``, ``theta = lam/L``.

    ``tied=True`` is the tied variant of Liu et al. (2019, "TiLISTA"): one learned ``W`` for all layers and
    a learned step per layer, ``W_k = gamma_k W`` (``gamma_k`` starts at 1). It has ``m n + 2K`` parameters
    instead of ``K (m n + 1)``: a 16-layer 250 x 500 network stores 0.5 MB of weights instead of 8 MB.

    Reference:
        X. Chen, J. Liu, Z. Wang and W. Yin, "Theoretical linear convergence of unfolded ISTA and its
        practical weights and thresholds", NeurIPS 2018.
    """

    support_selection = False

    def __init__(
        self,
        A: torch.Tensor | Any | None = None,
        num_layers: int = 16,
        *,
        m: int | None = None,
        n: int | None = None,
        lam: float = 0.4,
        tied: bool = False,
        init: str = "ista",
    ):
        """Build the network.

        Args:
            A: The ``m x n`` matrix (tensor or an operator with ``matrix``), or ``None`` for a placeholder.
            num_layers: Number of layers ``K``.
            m: Number of measurements (only needed without ``A``).
            n: Signal length (only needed without ``A``).
            lam: The L1 weight of the ISTA initialization (``init="ista"``: ``theta = lam/L``), or the initial
                threshold (``init="analytic"``: ``theta = lam``).
            tied: One ``W`` shared by all layers, scaled by a learned step ``gamma_k`` per layer.
            init: ``"ista"`` (the papers': ``W = A/L``, the untrained network is ISTA) or ``"analytic"``
                (``W_k = gamma_k V_k`` with ``V_k`` started at ALISTA's :func:`analytic_weight` and a learned
                step ``gamma_k = 1``: the untrained network is ALISTA's iteration without support selection).
                Every ``V_k`` is still learned, so the function class is LISTA-CP's; the redundant step lets
                the scale of each layer move at the scalars' learning rate while ``V_k`` moves slowly
                (``weight_lr`` of :func:`~inverselab.training.sparse_coding.train_sparse_coding`). Liu et al.
                (2019) find the trained LISTA-CP weights close to the analytic one; starting there trains to
                a given NMSE in a fraction of the steps.
        """
        super().__init__(A, num_layers, m, n)
        self.lam = float(check_number("lam", lam, low=0))
        if not isinstance(tied, bool):
            raise TypeError(f"tied must be a bool, got {tied!r}")
        self.tied = tied
        self.init = check_choice("init", init, ("ista", "analytic"))
        if self.init == "analytic":
            W0 = analytic_weight(self.A) if self.initialized else torch.zeros_like(self.A)
            theta0 = self.lam
        else:
            L = self._lipschitz()
            W0, theta0 = self.A / L, self.lam / L
        if tied:
            self.W = nn.Parameter(W0.clone())
        else:
            self.W = nn.ParameterList(nn.Parameter(W0.clone()) for _ in range(self.num_layers))
        self.stepped = tied or self.init == "analytic"  # W_k = gamma_k * (shared or per-layer) W
        if self.stepped:
            self.gamma = self._scalars([1.0] * self.num_layers)
        self.theta = self._scalars([theta0] * self.num_layers)

    def _extra_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "tied": self.tied, "init": self.init}

    def layer_parameters(self, k: int) -> list[nn.Parameter]:
        if self.tied:  # the shared W belongs to the first layer; later layers add a step and a threshold
            return ([self.W] if k == 0 else []) + [self.gamma[k], self.theta[k]]
        return [self.W[k]] + ([self.gamma[k]] if self.stepped else []) + [self.theta[k]]

    def _threshold(self, k: int, v: torch.Tensor) -> torch.Tensor:
        return soft(v, self.theta[k])

    def _weight(self, k: int) -> torch.Tensor:
        W = self.W if self.tied else self.W[k]
        return self.gamma[k] * W if self.stepped else W

    def _layer(self, k, y, x, state):
        residual = y - x @ self.A.T.to(x.dtype)
        return self._threshold(k, x + residual @ self._weight(k))


class LISTACPSS(LISTACP):
    """LISTA-CPSS: LISTA-CP with support selection.

    ``x_{k+1} = eta_ss(x_k + W_kᵀ(y - A x_k); theta_k, p_k)``: the entries among the ``p_k``% largest
    magnitudes (and above ``theta_k``) bypass the threshold, ``p_k = min(p k, p_max)`` (see
    :func:`support_percentages`; the paper uses ``p = 1.2``, ``p_max = 13``).

    Reference:
        X. Chen, J. Liu, Z. Wang and W. Yin, "Theoretical linear convergence of unfolded ISTA and its
        practical weights and thresholds", NeurIPS 2018.
    """

    support_selection = True

    def __init__(
        self,
        A: torch.Tensor | Any | None = None,
        num_layers: int = 16,
        *,
        m: int | None = None,
        n: int | None = None,
        lam: float = 0.4,
        p: float = 1.2,
        p_max: float = 13.0,
        tied: bool = False,
        init: str = "ista",
    ):
        """Build the network.

        Args:
            A: The ``m x n`` matrix (tensor or an operator with ``matrix``), or ``None`` for a placeholder.
            num_layers: Number of layers ``K``.
            m: Number of measurements (only needed without ``A``).
            n: Signal length (only needed without ``A``).
            lam: The L1 weight of the ISTA initialization.
            p: Support-selection increment per layer, in percent.
            p_max: Largest support-selection percentage.
            tied: One ``W`` shared by all layers, scaled by a learned step per layer (see :class:`LISTACP`).
            init: ``"ista"`` or ``"analytic"`` starting weights (see :class:`LISTACP`).
        """
        super().__init__(A, num_layers, m=m, n=n, lam=lam, tied=tied, init=init)
        self.p = float(check_number("p", p, low=0, high=100))
        self.p_max = float(check_number("p_max", p_max, low=0, high=100))
        self.percentages = support_percentages(self.num_layers, self.p, self.p_max)

    def _extra_config(self) -> dict[str, Any]:
        return {**super()._extra_config(), "p": self.p, "p_max": self.p_max}

    def _threshold(self, k: int, v: torch.Tensor) -> torch.Tensor:
        return soft_support_selection(v, self.theta[k], self.percentages[k])


class ALISTA(SparseCodingNetwork):
    """ALISTA: analytic weight, only a step ``gamma_k`` and a threshold ``theta_k`` learned per layer.

    ``x_{k+1} = eta_ss(x_k - gamma_k Wᵀ(A x_k - y); theta_k, p_k)`` with the fixed ``W`` of
    :func:`analytic_weight` (a buffer) and support selection as in LISTA-CPSS (``p = 0`` turns it off).
    Initialization: ``gamma_k = gamma``, ``theta_k = gamma * lam``.

    Reference:
        J. Liu, X. Chen, Z. Wang and W. Yin, "ALISTA: Analytic weights are as good as learned weights in
        LISTA", ICLR 2019.
    """

    def __init__(
        self,
        A: torch.Tensor | Any | None = None,
        num_layers: int = 16,
        *,
        m: int | None = None,
        n: int | None = None,
        lam: float = 0.4,
        gamma: float = 1.0,
        p: float = 1.2,
        p_max: float = 13.0,
    ):
        """Build the network.

        Args:
            A: The ``m x n`` matrix (tensor or an operator with ``matrix``), or ``None`` for a placeholder.
            num_layers: Number of layers ``K``.
            m: Number of measurements (only needed without ``A``).
            n: Signal length (only needed without ``A``).
            lam: Initial threshold per unit step.
            gamma: Initial step.
            p: Support-selection increment per layer, in percent (0 disables support selection).
            p_max: Largest support-selection percentage.
        """
        super().__init__(A, num_layers, m, n)
        self.lam = float(check_number("lam", lam, low=0))
        self.gamma0 = float(check_number("gamma", gamma, low=0, low_inclusive=False))
        self.p = float(check_number("p", p, low=0, high=100))
        self.p_max = float(check_number("p_max", p_max, low=0, high=100))
        self.percentages = support_percentages(self.num_layers, self.p, self.p_max)
        W = analytic_weight(self.A) if self.initialized else torch.zeros_like(self.A)
        self.register_buffer("W", W)
        self.gamma = self._scalars([self.gamma0] * self.num_layers)
        self.theta = self._scalars([self.gamma0 * self.lam] * self.num_layers)

    def _extra_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "gamma": self.gamma0, "p": self.p, "p_max": self.p_max}

    def layer_parameters(self, k: int) -> list[nn.Parameter]:
        return [self.gamma[k], self.theta[k]]

    def _layer(self, k, y, x, state):
        residual = y - x @ self.A.T.to(x.dtype)
        v = x + self.gamma[k] * (residual @ self.W.to(x.dtype))
        return soft_support_selection(v, self.theta[k], self.percentages[k])


class LAMP(SparseCodingNetwork):
    """LAMP (learned AMP) with the soft-threshold denoiser ("LAMP-l1").

    From ``x_0 = 0``, ``v_0 = y``: per layer ``r = x_k + B_k v_k``, ``x_{k+1} = soft(r, alpha_k ‖v_k‖/√m)``
    (per vector), ``v_{k+1} = y - A x_{k+1} + (‖x_{k+1}‖₀ / m) v_k`` (the Onsager correction, not
    differentiated). Learned: the matrix ``B`` (one ``n x m`` matrix shared by all layers when ``tied``, the
    default of the authors' code; one per layer otherwise; the paper reports both, untied gaining little for
    LAMP) and the threshold multiplier ``alpha_k`` of every layer. Initialization ``B = Aᵀ``,
    ``alpha_k = alpha`` is AMP with ``alpha`` times the residual-based noise estimate
    (:func:`inverselab.solvers.amp`), iterate by iterate. (The paper's initialization ``Aᵀ / (1.01 ‖A‖²)``
    and per-layer output scaling are not used: for unit-norm columns AMP's own values are the better start.)

    Reference:
        M. Borgerding, P. Schniter and S. Rangan, "AMP-inspired deep networks for sparse linear inverse
        problems", IEEE Trans. Signal Process. 65(16), 2017.
    """

    def __init__(
        self,
        A: torch.Tensor | Any | None = None,
        num_layers: int = 16,
        *,
        m: int | None = None,
        n: int | None = None,
        tied: bool = True,
        alpha: float = 1.0,
    ):
        """Build the network.

        Args:
            A: The ``m x n`` matrix (tensor or an operator with ``matrix``), or ``None`` for a placeholder.
            num_layers: Number of layers ``K``.
            m: Number of measurements (only needed without ``A``).
            n: Signal length (only needed without ``A``).
            tied: One ``B`` for all layers (else one per layer).
            alpha: Initial threshold multiplier.
        """
        super().__init__(A, num_layers, m, n)
        if not isinstance(tied, bool):
            raise TypeError(f"tied must be a bool, got {tied!r}")
        self.tied = tied
        self.alpha0 = float(check_number("alpha", alpha, low=0, low_inclusive=False))
        count = 1 if tied else self.num_layers
        self.B = nn.ParameterList(nn.Parameter(self.A.T.clone()) for _ in range(count))
        self.alpha = self._scalars([self.alpha0] * self.num_layers)

    def _extra_config(self) -> dict[str, Any]:
        return {"tied": self.tied, "alpha": self.alpha0}

    def layer_parameters(self, k: int) -> list[nn.Parameter]:
        if self.tied:
            return [self.B[0], self.alpha[k]] if k == 0 else [self.alpha[k]]
        return [self.B[k], self.alpha[k]]

    def _layer(self, k, y, x, state):
        v = state.get("v", y)
        B = self.B[0 if self.tied else k]
        # clamped: an all-zero y (x = 0 happens in small problems) would give a NaN gradient of sqrt at 0
        power = torch.clamp(torch.sum(v * v, dim=1, keepdim=True) / self.m, min=torch.finfo(v.dtype).tiny)
        tau = torch.sqrt(power)
        x_new = soft(x + v @ B.T, self.alpha[k] * tau)
        onsager = (torch.count_nonzero(x_new, dim=1).to(y.dtype) / self.m).unsqueeze(1)
        state["v"] = y - x_new @ self.A.T.to(x.dtype) + onsager * v
        return x_new
