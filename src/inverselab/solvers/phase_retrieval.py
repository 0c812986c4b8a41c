"""Phase retrieval solvers for intensities ``y = |A x|²``: spectral initialization, Wirtinger flow,
Gerchberg-Saxton (error reduction) and plug-and-play Wirtinger flow.

Every solver takes ``y`` and the measurement model ``A`` = :class:`~inverselab.operators.MagnitudeSquared`
(its linear part is ``A.linear``) and recovers ``x`` up to a global phase (a sign for real signals); the
error is measured after aligning that phase (:func:`inverselab.metrics.phase_invariant_error`), which is
what ``history["relative_error"]`` records when ``x_true`` is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._checks import check_choice, check_number
from ..operators.base import complex_dtype_of
from ..operators.phase_retrieval import MagnitudeSquared
from ._common import Monitor, SolverResult, check_positive

__all__ = [
    "spectral_init",
    "wirtinger_flow",
    "gerchberg_saxton",
    "pnp_wirtinger_flow",
    "fit_untrained_intensities",
    "wf_step_schedule",
]


def _check_model(A: object, y: object) -> tuple[MagnitudeSquared, torch.Tensor]:
    if not isinstance(A, MagnitudeSquared):
        raise TypeError(
            f"A must be a MagnitudeSquared phase retrieval model (intensities |Bx|^2 of a linear B), "
            f"got {type(A).__name__}"
        )
    y = A.check_measurement(y)
    if y.is_complex():
        raise ValueError(f"y must hold real intensities, got dtype {y.dtype}")
    return A, y


def _batch_norm2(x: torch.Tensor) -> torch.Tensor:
    """``‖x_b‖²`` per item, shaped ``(B, 1, ..., 1)``."""
    n2 = x.abs().square().reshape(x.shape[0], -1).sum(1)
    return n2.reshape(-1, *([1] * (x.ndim - 1)))


def _error(x: torch.Tensor, x_true: torch.Tensor) -> float:
    """Phase-invariant relative error pooled over the batch (a float for the history)."""
    from ..metrics import align_phase

    aligned = align_phase(x, x_true.to(x.device))
    err = (aligned - x_true).abs().square().sum() / x_true.abs().square().sum().clamp(min=1e-300)
    return math.sqrt(float(err))


def _realify(z: torch.Tensor) -> torch.Tensor:
    """The real signal closest to ``z`` up to a global phase: ``Re(e^{-iφ} z)`` with ``φ = ½ arg Σ z_j²``
    (the phase that maximizes ``‖Re(e^{-iφ} z)‖``), per item."""
    if not z.is_complex():
        return z
    s = z.square().reshape(z.shape[0], -1).sum(1)
    phase = torch.polar(torch.ones_like(s.real), -0.5 * torch.angle(s))
    return (z * phase.reshape(-1, *([1] * (z.ndim - 1)))).real


def spectral_init(
    y: torch.Tensor,
    A: MagnitudeSquared,
    *,
    num_iter: int = 50,
    truncate: float | None = None,
    real: bool = False,
    generator: torch.Generator | int | None = None,
) -> torch.Tensor:
    """Spectral initialization: the leading eigenvector of ``Y = (1/m) Σ_r y_r a_r a_rᴴ``, scaled.

    ``Y v = (1/m) Bᴴ(y ⊙ B v)`` (``B = A.linear``) is applied ``num_iter`` times from a random start (power
    iteration, as in Candès, Li & Soltanolkotabi 2015, who use 50). For Gaussian rows
    ``E Y = ‖x‖² I + x xᴴ`` (complex; ``‖x‖² I + 2 x xᵀ`` real), whose leading eigenvector is ``x``; the
    correlation with ``x`` grows with ``m / n``. ``truncate = α`` keeps only the ``y_r <= α² mean(y)``
    (truncated spectral initialization, Chen & Candès, CPAM 2017, ``α = 3``), which helps at small ``m / n``
    or with heavy-tailed data. The unit eigenvector ``z`` is scaled by the paper's norm estimate
    ``λ² = n Σ_r y_r / Σ_r ‖a_r‖²`` (``≈ ‖x‖²``; ``Σ_r ‖a_r‖² = ‖B‖_F²`` from ``B.frobenius_norm2()``, or a
    32-probe Hutchinson estimate for operators without it). (A least-squares fit of the scale underestimates
    ``‖x‖`` when ``z`` is only correlated with ``x``, which makes Wirtinger flow's step ``μ / ‖z_0‖²`` too
    large: measured unstable at ``m = 8n``.)

    Args:
        y: Intensities ``(B, *A.out_shape)`` (negative noisy values are clipped to 0 here).
        A: The measurement model.
        num_iter: Power iterations (>= 1).
        truncate: ``α`` of the truncated variant, or ``None`` for all measurements.
        real: Return a real signal: the eigenvector is rotated by the global phase that makes it most real
            and its real part is kept (for real signals seen through a complex ``B``, e.g. images and CDP).
        generator: Source of the random start (a ``torch.Generator`` or a seed; ``None`` means seed 0).

    Returns:
        The initial point ``(B, *A.in_shape)``: complex when ``B`` acts on complex signals (unless ``real``).

    Example:
        >>> from inverselab.operators import GaussianSensingMatrix, MagnitudeSquared
        >>> from inverselab.metrics import phase_invariant_error
        >>> A = MagnitudeSquared(GaussianSensingMatrix(32, 32 * 16, generator=0))
        >>> x = torch.randn(1, 32, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
        >>> round(float(phase_invariant_error(spectral_init(A(x), A), x)), 2)
        0.55
    """
    from ..noise import make_generator

    A, y = _check_model(A, y)
    num_iter = check_number("num_iter", num_iter, low=1, integer=True)
    if truncate is not None:
        truncate = check_positive("truncate", truncate)
    B = A.linear
    yc = y.clamp(min=0)
    batch = y.shape[0]
    if truncate is not None:
        mean = yc.reshape(batch, -1).mean(1).reshape(-1, *([1] * (y.ndim - 1)))
        yc = torch.where(yc <= truncate**2 * mean, yc, torch.zeros_like(yc))
    gen = make_generator(generator)
    shape = (batch, *A.in_shape)
    z = torch.randn(shape, dtype=y.dtype, generator=gen, device=gen.device).to(y.device)
    if A.in_complex:
        w = torch.randn(shape, dtype=y.dtype, generator=gen, device=gen.device).to(y.device)
        z = torch.complex(z, w)
    m = math.prod(A.out_shape)
    for _ in range(num_iter):
        z = z / _batch_norm2(z).sqrt().clamp(min=1e-300)
        z = B.adjoint(yc * B(z)) / m
        if not A.in_complex and z.is_complex():
            z = z.real
    z = z / _batch_norm2(z).sqrt().clamp(min=1e-300)
    if real:
        z = _realify(z)
        z = z / _batch_norm2(z).sqrt().clamp(min=1e-300)
    scale2 = math.prod(A.in_shape) * y.clamp(min=0).reshape(batch, -1).sum(1) / _frobenius2(B)
    return z * scale2.sqrt().reshape(-1, *([1] * (z.ndim - 1)))


def _frobenius2(B) -> float:
    """``‖B‖_F²``: exact where the operator knows it, else ``E‖B v‖²`` over 32 Rademacher probes ``v``."""
    if hasattr(B, "frobenius_norm2"):
        return float(B.frobenius_norm2())
    gen = torch.Generator().manual_seed(0)
    v = torch.randint(0, 2, (32, *B.in_shape), generator=gen).to(torch.float64) * 2 - 1
    with torch.no_grad():
        return float(B(v.to(B.device)).abs().square().sum() / 32)


def wf_step_schedule(t: int, tau0: float = 330.0, mu_max: float = 0.2) -> float:
    """``μ_t = min(1 - exp(-t / τ₀), μ_max)``: the step schedule of Wirtinger flow (Candès, Li &
    Soltanolkotabi 2015), small at first, then constant.

    Example:
        >>> round(wf_step_schedule(1), 5), wf_step_schedule(10_000)
        (0.00303, 0.2)
    """
    return min(1.0 - math.exp(-t / tau0), mu_max)


def _start(y, A, x0, real, init_iter):
    if x0 is None:
        return spectral_init(y, A, num_iter=init_iter, real=real)
    x0 = A.check_input(x0, "x0")
    if x0.shape[0] != y.shape[0]:
        raise ValueError(f"x0 must have the batch size of y ({y.shape[0]}), got shape {tuple(x0.shape)}")
    if real and x0.is_complex():
        raise ValueError(f"x0 must be real when real=True, got dtype {x0.dtype}")
    if A.in_complex and not real and not x0.is_complex():
        x0 = x0.to(complex_dtype_of(x0.dtype))
    return x0.clone()


def wirtinger_flow(
    y: torch.Tensor,
    A: MagnitudeSquared,
    *,
    x0: torch.Tensor | None = None,
    num_iter: int = 2500,
    tau0: float = 330.0,
    mu_max: float = 0.2,
    real: bool = False,
    init_iter: int = 50,
    tol: float | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Wirtinger flow: gradient descent on ``f(z) = (1/(2m)) Σ_r (|a_rᴴ z|² - y_r)²`` from a spectral start.

    ``z_{t+1} = z_t - (μ_{t+1} / ‖z_0‖²) ∇f(z_t)``, ``∇f(z) = (1/m) Bᴴ((|Bz|² - y) ⊙ Bz)`` (the Wirtinger
    gradient, :meth:`~inverselab.operators.MagnitudeSquared.gradient`), with the schedule
    ``μ_t = min(1 - exp(-t/τ₀), μ_max)`` (:func:`wf_step_schedule`). For complex Gaussian rows and
    ``m >= c n log n`` it converges linearly to ``e^{iφ} x`` with high probability; empirically from about
    ``m = 4.5 n`` (complex). One ``B`` and one ``Bᴴ`` per iteration.

    Reference: E. J. Candès, X. Li and M. Soltanolkotabi, "Phase retrieval via Wirtinger flow: theory and
    algorithms", IEEE Trans. Inf. Theory 61(4), 2015.

    Args:
        y: Intensities ``(B, *A.out_shape)``.
        A: The measurement model :class:`~inverselab.operators.MagnitudeSquared`.
        x0: Starting point (default: :func:`spectral_init` with ``init_iter`` power iterations).
        num_iter: Maximum number of iterations.
        tau0: Time constant ``τ₀`` of the step schedule (the paper's 330).
        mu_max: Largest step ``μ_max`` (0.2; the paper also uses 0.4 for coded diffraction).
        real: Keep the iterate real (projected WF: the real part after each step), for real signals.
        init_iter: Power iterations of the spectral start when ``x0`` is omitted.
        tol: Stop when ``‖z_{t+1} - z_t‖ / ‖z_t‖ <= tol``; default 100 times the machine epsilon of ``y``'s
            dtype (about 1e-5 in float32, 2e-14 in float64: the iteration converges linearly to the exact
            solution on noiseless data).
        callback: Called as ``callback(iteration, z)``.
        x_true: Ground truth, to record ``history["relative_error"]`` (up to a global phase).
        progress: Show a progress bar.

    Returns:
        A :class:`~inverselab.solvers.SolverResult`; ``history["objective"]`` is ``f(z)`` summed over the
        batch.

    Raises:
        ValueError: the iteration diverged (the loss overflowed), as it does from a poor spectral start
            (e.g. coded diffraction of an image with few masks): the quartic loss punishes a large step far
            from the solution.

    Example:
        >>> from inverselab.operators import GaussianSensingMatrix, MagnitudeSquared
        >>> A = MagnitudeSquared(GaussianSensingMatrix(16, 128, generator=0))
        >>> x = torch.randn(1, 16, dtype=torch.complex128, generator=torch.Generator().manual_seed(2))
        >>> res = wirtinger_flow(A(x), A, num_iter=1500, x_true=x)
        >>> res.history["relative_error"][-1] < 1e-6
        True
    """
    A, y = _check_model(A, y)
    tau0 = check_positive("tau0", tau0)
    mu_max = check_positive("mu_max", mu_max)
    init_iter = check_number("init_iter", init_iter, low=1, integer=True)
    tol = 100 * torch.finfo(y.dtype).eps if tol is None else tol
    monitor = Monitor("Wirtinger flow", num_iter, tol, callback, None, progress)
    z = _start(y, A, x0, real, init_iter)
    scale = _batch_norm2(z).clamp(min=1e-300)
    for t in range(1, monitor.num_iter + 1):
        grad, loss = A.gradient(z, y)
        if real and grad.is_complex():
            grad = grad.real
        z_prev = z
        if not bool(torch.isfinite(loss).all()):
            raise ValueError(
                f"Wirtinger flow diverged at iteration {t} (the loss is {float(loss.max())}): the start is "
                "too far from a solution for this step; use more measurements, a smaller mu_max, a better "
                "x0, or real=True for real signals"
            )
        z = z - (wf_step_schedule(t, tau0, mu_max) / scale) * grad
        extra = {} if x_true is None else {"relative_error": _error(z, x_true)}
        if monitor.update(z, z_prev, loss, **extra):
            break
    return monitor.result(z)


def gerchberg_saxton(
    y: torch.Tensor,
    A: MagnitudeSquared,
    *,
    x0: torch.Tensor | None = None,
    num_iter: int = 500,
    constraint: str | None = None,
    init_iter: int = 50,
    tol: float | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Gerchberg-Saxton / error reduction: alternate projections onto the measured moduli and the signal set.

    ``x_{k+1} = P(B⁺(√y ⊙ Bx_k / |Bx_k|))``: impose the measured magnitudes on ``B x_k`` keeping its phases,
    go back by least squares (``B⁺``, the operator's exact ``pseudo_inverse``: diagonal for coded diffraction,
    a cached pseudo-inverse for dense matrices), then project onto the object-domain set ``P``: none, real
    signals (``"real"``) or nonnegative ones (``"nonneg"``). It never increases ``‖√y - |Bx|‖`` (Fienup
    1982) but may stall at a non-solution; it starts from :func:`spectral_init` unless ``x0`` is given.

    References: R. W. Gerchberg and W. O. Saxton, "A practical algorithm for the determination of phase from
    image and diffraction plane pictures", Optik 35, 1972; J. R. Fienup, "Phase retrieval algorithms: a
    comparison", Appl. Opt. 21(15), 1982.

    Args:
        y: Intensities ``(B, *A.out_shape)``.
        A: The measurement model; ``A.linear`` must have ``pseudo_inverse`` (``GaussianSensingMatrix``,
            ``CodedDiffraction``).
        x0: Starting point (default: the spectral initialization).
        num_iter: Maximum number of iterations.
        constraint: ``None``, ``"real"`` or ``"nonneg"``.
        init_iter: Power iterations of the spectral start when ``x0`` is omitted.
        tol: Stop when ``‖x_{k+1} - x_k‖ / ‖x_k‖ <= tol``; default 100 times the machine epsilon of ``y``'s
            dtype.
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["relative_error"]`` (up to a global phase).
        progress: Show a progress bar.

    Example:
        >>> from inverselab.operators import CodedDiffraction, MagnitudeSquared
        >>> A = MagnitudeSquared(CodedDiffraction(32, 6, generator=0))
        >>> x = torch.randn(1, 32, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
        >>> res = gerchberg_saxton(A(x), A, num_iter=3000, x_true=x)
        >>> res.history["relative_error"][-1] < 1e-3
        True
    """
    A, y = _check_model(A, y)
    if constraint is not None:
        check_choice("constraint", constraint, ["real", "nonneg"])
    init_iter = check_number("init_iter", init_iter, low=1, integer=True)
    B = A.linear
    if not hasattr(B, "pseudo_inverse"):
        raise TypeError(
            f"A.linear must have an exact pseudo_inverse (GaussianSensingMatrix, CodedDiffraction), "
            f"got {type(B).__name__}"
        )
    real = constraint is not None
    tol = 100 * torch.finfo(y.dtype).eps if tol is None else tol
    monitor = Monitor("Gerchberg-Saxton", num_iter, tol, callback, None, progress)
    x = _start(y, A, x0, real, init_iter)
    if constraint == "nonneg":
        x = _nonneg_start(x)
    magnitude = y.clamp(min=0).sqrt()
    for _ in range(monitor.num_iter):
        Bx = B(x)
        size = Bx.abs()
        unit = torch.where(size > 0, Bx / torch.where(size > 0, size, 1.0), torch.ones_like(Bx))
        x_prev = x
        x = B.pseudo_inverse(magnitude * unit)
        if real and x.is_complex():
            x = x.real
        if constraint == "nonneg":
            x = x.clamp(min=0)
        residual = (size - magnitude).reshape(y.shape[0], -1).square().sum(1)
        extra = {} if x_true is None else {"relative_error": _error(x, x_true)}
        if monitor.update(x, x_prev, 0.5 * residual, **extra):
            break
    return monitor.result(x)


def _nonneg_start(x: torch.Tensor) -> torch.Tensor:
    """Flip the sign of real items whose sum is negative (a nonnegative signal has a positive sum)."""
    s = x.reshape(x.shape[0], -1).sum(1)
    return x * torch.where(s < 0, -1.0, 1.0).to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))


def pnp_wirtinger_flow(
    y: torch.Tensor,
    A: MagnitudeSquared,
    denoiser: Callable[[torch.Tensor, float], torch.Tensor],
    sigma: float,
    *,
    sigma_max: float | None = None,
    x0: torch.Tensor | None = None,
    num_iter: int = 200,
    tau0: float = 330.0,
    mu_max: float = 0.2,
    init_iter: int = 50,
    tol: float = 1e-6,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """Plug-and-play Wirtinger flow for real (e.g. image) signals: a WF step, then a denoiser.

    ``z = x_t - (μ_{t+1} / ‖x_0‖²) Re ∇f(x_t)``, ``x_{t+1} = D(z, σ)`` with the WF gradient and step schedule
    (:func:`wirtinger_flow`) and any denoiser ``D(x, σ)`` (wavelet or TV prox, BM3D, the shipped DRUNet):
    the proximal-gradient form of plug-and-play (Venkatakrishnan, Bouman & Wohlberg 2013) applied to phase
    retrieval, as in prDeep (Metzler, Schniter, Veeraraghavan & Baraniuk, ICML 2018) and Wirtinger-flow
    denoising schemes. The signal is kept real; the start is the real spectral initialization with the sign
    that makes its mean positive (images are nonnegative), so the denoiser sees an image, not its negative.
    With a denoiser that is the prox of a convex ``λσ R`` this is projected-gradient-like descent on
    ``f + R``; with a network it is a heuristic whose fixed points trade data fit against the prior.
    With ``sigma_max`` the noise level decreases geometrically from ``sigma_max`` to ``sigma`` over the first
    half of the iterations (as in DPIR, Zhang et al., IEEE TPAMI 2021), then stays at ``sigma``: strong
    denoising pulls a poor spectral start towards an image, weak denoising keeps the details; the stopping
    rule applies only after that.

    Args:
        y: Intensities ``(B, *A.out_shape)``.
        A: The measurement model (signals ``(C, H, W)`` for image denoisers).
        denoiser: Called as ``denoiser(x, sigma)``.
        sigma: Noise level given to the denoiser (> 0), the final one with ``sigma_max``.
        sigma_max: Initial noise level of the decreasing schedule (``>= sigma``), or ``None`` (constant).
        x0: Real starting point (default: the real spectral initialization, sign fixed).
        num_iter: Maximum number of iterations.
        tau0: Time constant of the WF step schedule.
        mu_max: Largest step.
        init_iter: Power iterations of the spectral start when ``x0`` is omitted.
        tol: Stop when ``‖x_{t+1} - x_t‖ / ‖x_t‖ <= tol``.
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["relative_error"]`` (up to a sign).
        progress: Show a progress bar.

    Example:
        >>> from inverselab.denoisers import TVDenoiser
        >>> from inverselab.operators import CodedDiffraction, MagnitudeSquared
        >>> A = MagnitudeSquared(CodedDiffraction((1, 16, 16), 4, generator=0))
        >>> x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
        >>> x[..., 4:12, 4:12] = 1.0
        >>> res = pnp_wirtinger_flow(A(x), A, TVDenoiser(num_iter=20), 0.01, num_iter=300, x_true=x)
        >>> res.history["relative_error"][-1] < 0.05
        True
    """
    from ..denoisers import check_denoiser, check_sigma
    from .pnp import sigma_schedule

    A, y = _check_model(A, y)
    denoiser = check_denoiser("denoiser", denoiser)
    sigma = check_sigma("sigma", sigma)
    num_iter = check_number("num_iter", num_iter, low=0, integer=True)
    anneal = 0 if sigma_max is None else max(num_iter // 2, 1)
    levels = [sigma] if sigma_max is None else sigma_schedule(sigma_max, sigma, anneal)
    tau0 = check_positive("tau0", tau0)
    mu_max = check_positive("mu_max", mu_max)
    init_iter = check_number("init_iter", init_iter, low=1, integer=True)
    monitor = Monitor("PnP Wirtinger flow", num_iter, tol, callback, None, progress)
    x = _start(y, A, x0, True, init_iter)
    if x0 is None:
        x = _nonneg_start(x)
    scale = _batch_norm2(x).clamp(min=1e-300)
    for t in range(1, monitor.num_iter + 1):
        grad, loss = A.gradient(x, y)
        grad = grad.real if grad.is_complex() else grad
        x_prev = x
        level = levels[min(t, len(levels)) - 1]
        x = denoiser(x - (wf_step_schedule(t, tau0, mu_max) / scale) * grad, level)
        extra = {} if x_true is None else {"relative_error": _error(x, x_true)}
        if monitor.update(x, x_prev, loss, sigma=level, **extra) and t > anneal:
            break
    return monitor.result(x)


def fit_untrained_intensities(
    y: torch.Tensor,
    A: MagnitudeSquared,
    network: torch.nn.Module,
    z: torch.Tensor,
    *,
    num_iter: int = 600,
    lr: float = 0.01,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> SolverResult:
    """An untrained-network prior for phase retrieval: fit ``G_θ`` to the amplitudes, ``x = G_θ(z)``.

    ``min_θ ‖ |B G_θ(z)| - √y ‖²`` (the amplitude loss, better behaved than the intensity loss under Poisson
    noise; Wang, Giannakis & Eldar, IEEE TIT 2018) by Adam with step ``lr`` for a fixed budget of
    ``num_iter`` steps, from the network's random weights: no spectral start is needed, since an untrained
    generator with a sigmoid output (the Deep Decoder) starts from a smooth nonnegative image. Returns the
    last iterate; the fixed input ``z`` and the budget are the caller's (fitted too long, the network also
    reproduces the noise). Untrained priors for (compressive) phase retrieval: Jagatap & Hegde, "Algorithmic
    guarantees for inverse imaging with untrained network priors", NeurIPS 2019 (Deep Decoder, Heckel &
    Hand, ICLR 2019).

    Args:
        y: Intensities ``(1, *A.out_shape)`` (one measurement: one network per signal).
        A: The measurement model; ``network(z)`` must have the shape ``(1, *A.in_shape)``.
        network: An untrained generator, e.g. :class:`~inverselab.networks.DeepDecoder` (fitted in place).
        z: Its fixed input.
        num_iter: Adam steps.
        lr: Adam step size.
        callback: Called as ``callback(iteration, x)``.
        x_true: Ground truth, to record ``history["relative_error"]`` (up to a sign).
        progress: Show a progress bar.

    Example:
        >>> from inverselab.networks import DeepDecoder
        >>> from inverselab.operators import CodedDiffraction, MagnitudeSquared
        >>> A = MagnitudeSquared(CodedDiffraction((1, 16, 16), 4, generator=0))
        >>> x = torch.zeros(1, 1, 16, 16)
        >>> x[..., 4:12, 4:12] = 0.8
        >>> net = DeepDecoder(16, out_channels=1, channels=16, num_layers=3, generator=0)
        >>> res = fit_untrained_intensities(A(x), A, net, net.random_input(generator=1), num_iter=300)
        >>> res.x.shape, float(res.history["objective"][-1]) < float(res.history["objective"][0])
        (torch.Size([1, 1, 16, 16]), True)
    """
    A, y = _check_model(A, y)
    if y.shape[0] != 1:
        raise ValueError(
            f"y must hold one measurement (batch size 1: one network each), got shape {tuple(y.shape)}"
        )
    if not isinstance(network, torch.nn.Module):
        raise TypeError(f"network must be a torch.nn.Module, got {type(network).__name__}")
    lr = check_positive("lr", lr)
    monitor = Monitor("Untrained prior (phase retrieval)", num_iter, 0.0, callback, None, progress)
    magnitude = y.clamp(min=0).sqrt()
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    with torch.no_grad():
        x = network(z)
    if tuple(x.shape) != (1, *A.in_shape):
        raise ValueError(f"network(z) must have shape {(1, *A.in_shape)}, got {tuple(x.shape)}")
    for _ in range(monitor.num_iter):
        with torch.enable_grad():
            optimizer.zero_grad()
            out = network(z)
            loss = (A(out).clamp(min=1e-12).sqrt() - magnitude).square().sum()
            loss.backward()
        optimizer.step()
        x_prev, x = x, out.detach()
        extra = {} if x_true is None else {"relative_error": _error(x, x_true)}
        monitor.update(x, x_prev, float(loss.detach()), **extra)
    with torch.no_grad():
        x = network(z)
    return monitor.result(x)
