"""Fitting an untrained network to one measurement: ``min_θ ‖A G_θ(z) - y‖²`` by Adam, with early stopping.

Deep Image Prior, the Deep Decoder and the ConvDecoder all reconstruct this way: the network ``G_θ`` is
initialized at random, its input ``z`` is fixed noise, and gradient descent on the data fit alone is the
reconstruction. Fitted long enough, an over-parameterized network reproduces the noise too, so when to stop
matters; :func:`fit_untrained` decides without the ground truth (see its ``early_stopping``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import check_choice, check_number, check_tensor
from ..functionals.base import to_domain
from ..noise import make_generator
from ..operators.base import LinearOperator
from ._common import Monitor, SolverResult, check_positive, psnr

__all__ = ["fit_untrained", "UntrainedResult", "EARLY_STOPPING"]

#: The stopping rules of :func:`fit_untrained` (``None`` runs the whole budget).
EARLY_STOPPING = ("holdout", "variance")
#: Entries with more than this many times the mean energy per measured entry are never held out.
_DOMINANT = 10.0


@dataclass
class UntrainedResult(SolverResult):
    """What :func:`fit_untrained` returns: a :class:`SolverResult` plus the fitted network.

    Attributes:
        best_iter: The iteration whose estimate is ``x`` (the last one without early stopping).
        network: The fitted network, with the weights that gave the estimate of iteration ``best_iter``
            (so ``network(z)`` is ``x`` without averaging or input jitter, up to the scaling of ``rescale``).
        z: The network's fixed input.
        scale: The output scaling: ``x = image(network(z)) / scale`` (1 unless ``rescale``).
    """

    best_iter: int = 0
    network: nn.Module | None = None
    z: torch.Tensor | None = None
    scale: float = 1.0


def _check_image_operator(A: object) -> LinearOperator:
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a LinearOperator, got {type(A).__name__}")
    if len(A.in_shape) != 3:
        raise ValueError(
            f"A must act on images: untrained networks need A.in_shape = (C, H, W), got {A.in_shape}"
        )
    return A


def _to_image(out: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """The network output as an image of ``A``'s domain: ``C`` real channels, or ``2C`` channels holding
    the real then the imaginary parts of a complex image."""
    C = A.in_shape[0]
    want = 2 * C if A.in_complex else C
    if out.ndim != 4 or out.shape[1] != want or tuple(out.shape[2:]) != tuple(A.in_shape[1:]):
        kind = f"{want} = 2 x {C} channels (real and imaginary parts)" if A.in_complex else f"{C} channel(s)"
        raise ValueError(
            f"net must give images of shape (1, {want}, {A.in_shape[1]}, {A.in_shape[2]}) for A.in_shape = "
            f"{A.in_shape} ({kind}), got shape {tuple(out.shape)}"
        )
    return torch.complex(out[:, :C], out[:, C:]) if A.in_complex else out


def _random_domain_image(A: LinearOperator, gen: torch.Generator, dtype: torch.dtype, device) -> torch.Tensor:
    shape = (1, *A.in_shape)
    x = torch.randn(shape, generator=gen, device=gen.device, dtype=dtype)
    if A.in_complex:
        x = torch.complex(x, torch.randn(shape, generator=gen, device=gen.device, dtype=dtype))
    return x.to(device)


def _sq_abs(r: torch.Tensor) -> torch.Tensor:
    return r.real.square() + r.imag.square() if r.is_complex() else r.square()


class _WindowVariance:
    """Variance of the last ``window`` estimates, ``(1/W) Σ_i ‖x_i - x̄‖²`` (Wang et al.'s ES-WMV), from a
    ring buffer and running sums in float64; NaN until the window is full."""

    def __init__(self, window: int):
        self.window = window
        self.buffer: list[torch.Tensor] = []
        self.sum: torch.Tensor | None = None
        self.sum_sq = 0.0
        self.pos = 0

    def push(self, x: torch.Tensor) -> float:
        x64 = x.detach().to(torch.complex128 if x.is_complex() else torch.float64)
        norm_sq = float(_sq_abs(x64).sum())
        if len(self.buffer) < self.window:
            self.buffer.append(x.detach().clone())
            self.sum = x64.clone() if self.sum is None else self.sum + x64
        else:
            old = self.buffer[self.pos].to(x64.dtype)
            self.sum = self.sum + x64 - old
            self.sum_sq -= float(_sq_abs(old).sum())
            self.buffer[self.pos] = x.detach().clone()
            self.pos = (self.pos + 1) % self.window
        self.sum_sq += norm_sq
        if len(self.buffer) < self.window:
            return math.nan
        mean = self.sum / self.window
        return max(self.sum_sq / self.window - float(_sq_abs(mean).sum()), 0.0)


def fit_untrained(
    y: torch.Tensor,
    A: LinearOperator,
    net: nn.Module,
    z: torch.Tensor | None = None,
    *,
    num_iter: int = 3000,
    lr: float = 0.01,
    jitter: float = 0.0,
    ema: float | None = None,
    early_stopping: str | None = "holdout",
    holdout: float = 0.1,
    patience: int = 300,
    window: int = 100,
    rescale: bool = False,
    generator: torch.Generator | int | None = None,
    callback: Callable[[int, torch.Tensor], object] | None = None,
    x_true: torch.Tensor | None = None,
    progress: bool = False,
) -> UntrainedResult:
    """Fit an untrained network to one measurement: Adam on ``θ`` for ``‖A G_θ(z) - y‖²``, ``x = G_θ(z)``.

    Each iteration runs the network on its input (``z`` plus fresh Gaussian noise of standard deviation
    ``jitter``, Deep Image Prior's regularizing input perturbation), takes the mean squared residual
    ``|A x - y|²`` over the fitted measurement entries, and makes one Adam step (Kingma & Ba 2015; step
    ``lr``, 0.01 in the three papers). The estimate of the iteration is the network output, or with
    ``ema = β`` its exponential moving average ``x̄ ← β x̄ + (1 - β) x`` (Deep Image Prior uses ``β = 0.99``):
    the average smooths the jitter and the late, noisy iterates. Real-domain operators take a network with
    ``C`` output channels (``C = A.in_shape[0]``); complex-domain ones (MRI) take ``2C`` channels, the real
    then imaginary parts of the image. Measurement entries that ``A`` never fills (zero rows, such as
    unsampled k-space or missing pixels) are left out of the fit.

    **Early stopping without the ground truth.**

    - ``"holdout"`` (the default): a random fraction ``holdout`` of the measurement entries is set aside and
      not fitted; the mean squared residual of the estimate on them is a validation loss. For noise that is
      independent across entries, it is (up to the noise variance) an unbiased estimate of the error of
      ``A x`` on those entries, so it falls while the network fits the signal and rises once it fits the noise
      of the other entries. The fit stops when the held-out loss has not improved for ``patience``
      iterations and returns the estimate with the lowest held-out loss (so a late spike of Adam does not
      matter either). Entries with more than 10 times the mean energy ``|y_i|²`` of the measured entries are
      never held out: in Fourier-type measurements a few coefficients (the centre of k-space) carry most of
      the image, cannot be predicted from the others, and would otherwise ruin both the fit and the
      validation. The rule needs no tuning to the step size or the image's scale, and its signal is an
      error itself; the price is that the held-out entries are not fitted (10% by default), which costs
      little when the data are redundant (denoising, multi-coil MRI) and more when they are scarce, and that
      it measures the error on entries that were not fitted, so with little noise it can stop before the
      fitted entries are fitted as well as they could be (inpainting with noise 0.01: 1.8 dB below the best
      iterate). It fails when the held-out entries are global functionals of the image that the fitted
      ones hardly predict, such as a random quarter of the DCT coefficients of a photograph: the held-out
      loss then stays near that of predicting zero, and its minimum can come in the first steps (Deep
      Decoder, 128 px ``chelsea``: stopped at step 34 with 22.4 dB while the PSNR still rises at step 1500,
      27.6 dB); use a fixed budget (``None``) there.
    - ``"variance"``: Wang et al.'s ES-WMV: the variance ``(1/W) Σ ‖x_i - x̄‖²`` of the last ``window``
      network outputs (before averaging), which is U-shaped over the fit (large while the image forms, small
      near the best iterate, large again as noise is fitted); the fit stops when it has not reached a new
      minimum for ``patience`` iterations and returns the estimate at the minimum. All measurements are
      fitted, but the rule is a heuristic tied to the optimizer's settings: with Adam at step 0.01 it
      often stops too early here (Deep Image Prior, 64x64 denoising: 25.4 dB against 27.3 dB for
      ``"holdout"``).
    - ``None``: run ``num_iter`` iterations and return the last estimate.

    When the budget ends first, the estimate that the rule ranks best so far is returned. With ``x_true``
    the PSNR of every estimate is recorded (magnitudes for a complex estimate and a real truth), which shows
    the over-fitting that early stopping avoids.

    ``rescale``: for networks without an output sigmoid and data of any scale (k-space), fit ``s y`` instead
    of ``y``, with ``s`` chosen so that the adjoint reconstruction ``c Aᴴ y`` (``c`` the best scalar) has the
    RMS of the network's initial output; the estimate is then divided by ``s``. This is what Darestani &
    Heckel do for the ConvDecoder; a network with a sigmoid output assumes images in ``[0, 1]`` instead.

    The network is fitted in place (its weights end as those of the returned estimate, see
    :class:`UntrainedResult`). Works when called under ``torch.no_grad()``. The randomness (the input when
    ``z`` is omitted, the held-out entries and the jitter) comes from ``generator`` only.

    References:
        D. Ulyanov, A. Vedaldi and V. Lempitsky, "Deep image prior", CVPR 2018. R. Heckel and P. Hand, "Deep
        Decoder", ICLR 2019. M. Z. Darestani and R. Heckel, "Accelerated MRI with un-trained neural networks",
        IEEE TCI 2021. H. Wang, T. Li, Z. Zhuang, T. Chen, H. Liang and J. Sun, "Early stopping for deep
        image prior", TMLR 2023 (arXiv:2112.06074, 2021).

    Args:
        y: Measurements ``(1, *A.out_shape)``: one measurement (fit one network per measurement).
        A: Linear operator on images ``(C, H, W)``.
        net: The network (e.g. :class:`~inverselab.networks.DeepDecoder`,
            :class:`~inverselab.networks.SkipNet`, :class:`~inverselab.networks.ConvDecoder`), giving
            ``(1, C or 2C, H, W)`` from ``z``.
        z: The fixed input ``(1, *net.input_shape)``; default uniform noise in ``[0, 0.1)`` drawn from
            ``generator`` (the papers' input).
        num_iter: Iteration budget.
        lr: Adam step size (> 0).
        jitter: Standard deviation of the Gaussian noise added to ``z`` at each iteration (>= 0; Deep Image
            Prior uses 1/30 for denoising).
        ema: Decay ``β`` in ``[0, 1)`` of the moving average of the outputs, or ``None`` for the plain output.
        early_stopping: ``"holdout"``, ``"variance"`` or ``None`` (see above).
        holdout: Fraction of the measurement entries held out by ``"holdout"``, in ``(0, 1)``.
        patience: Iterations without a new best held-out loss (or variance minimum) before stopping.
        window: Number of estimates in the variance of ``"variance"`` (>= 2).
        rescale: Fit ``s y`` and return ``x / s`` (see above).
        generator: ``torch.Generator`` or seed (``None`` means seed 0).
        callback: Called as ``callback(iteration, x)`` with each estimate.
        x_true: Ground truth of ``A``'s input shape, to record ``history["psnr"]``.
        progress: Show a progress bar.

    Returns:
        The :class:`UntrainedResult`. ``history`` has, per iteration, ``"objective"`` (the mean squared
        residual ``|A G_θ(z) - y|²`` over the fitted entries, the training loss), ``"relative_change"`` of the
        estimate, ``"holdout_loss"`` (mean squared residual of the estimate on the held-out entries) or
        ``"variance"`` (NaN until the window fills) for those rules, and ``"psnr"`` with ``x_true``.
        ``converged`` says whether the stopping rule fired before the budget ended.

    Example:
        >>> import torch
        >>> from inverselab.networks import DeepDecoder
        >>> from inverselab.operators import Identity
        >>> x = torch.linspace(0.2, 0.8, 16).expand(1, 1, 16, 16)  # a smooth ramp
        >>> net = DeepDecoder(16, out_channels=1, channels=4, num_layers=3, generator=0)
        >>> res = fit_untrained(x, Identity((1, 16, 16)), net, num_iter=30, early_stopping=None)
        >>> res.x.shape, res.num_iter, res.history["objective"][-1] < res.history["objective"][0]
        (torch.Size([1, 1, 16, 16]), 30, True)
    """
    A = _check_image_operator(A)
    y = A.check_measurement(y)
    if y.shape[0] != 1:
        raise ValueError(
            f"y must hold one measurement (batch 1): an untrained network is fitted to one measurement "
            f"(fit one network per item), got batch {y.shape[0]}"
        )
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("net must have parameters that require gradients (it is fitted)")
    lr = check_positive("lr", lr)
    jitter = float(check_number("jitter", jitter, low=0))
    if ema is not None:
        ema = float(check_number("ema", ema, low=0, high=1, high_inclusive=False))
    if early_stopping is not None:
        check_choice("early_stopping", early_stopping, EARLY_STOPPING)
    holdout = float(
        check_number("holdout", holdout, low=0, high=1, low_inclusive=False, high_inclusive=False)
    )
    patience = check_number("patience", patience, low=1, integer=True)
    window = check_number("window", window, low=2, integer=True)
    gen = make_generator(generator)
    monitor = Monitor(type(net).__name__, num_iter, 0.0, callback, None, progress)
    if x_true is not None:
        x_true = A.check_input(check_tensor("x_true", x_true), "x_true")
        if x_true.shape[0] != 1:
            raise ValueError(f"x_true must have batch 1 like y, got shape {tuple(x_true.shape)}")

    ref = params[0]
    device, dtype = ref.device, ref.dtype
    if z is None:
        shape = getattr(net, "input_shape", None)
        if shape is None:
            raise ValueError("z is required for a network without an input_shape attribute")
        z = 0.1 * torch.rand((1, *shape), generator=gen, device=gen.device, dtype=dtype)
    else:
        check_tensor("z", z, min_ndim=1)
        if z.shape[0] != 1:
            raise ValueError(f"z must have batch 1 (one fixed input), got shape {tuple(z.shape)}")

    with torch.inference_mode(False), torch.enable_grad():
        z = z.detach().clone().to(device=device, dtype=dtype)
        y = y.clone().to(device)
        with torch.no_grad():
            x_init = _to_image(net(z), A)
            # entries A fills at all (a zero row of A gives exact zeros for any input)
            probe = A(_random_domain_image(A, gen, dtype, device))
            measured = probe != 0
            if not bool(measured.any()):
                raise ValueError("A measures nothing (its output is zero for any input): nothing to fit")
            if early_stopping == "holdout":
                draw = torch.rand(y.shape, generator=gen, device=gen.device, dtype=torch.float64)
                energy = _sq_abs(y)
                typical = energy <= _DOMINANT * energy[measured].mean()
                held = measured & typical & (draw.to(device) < holdout)
                fitted = measured & ~held
                num_held = int(held.sum())
                if num_held == 0 or int(fitted.sum()) == 0:
                    raise ValueError(
                        f"holdout={holdout} of the {int(measured.sum())} measured entries leaves none to "
                        "hold out or none to fit; use early_stopping='variance' for so few measurements"
                    )
            else:
                fitted = measured
            num_fitted = int(fitted.sum())
            scale = 1.0
            if rescale:
                x0 = to_domain(A.adjoint(y), A)
                Ax0 = A(x0)
                den = float(_sq_abs(Ax0).sum())
                c = float((Ax0.conj() * y).real.sum()) / den if den > 0 else 0.0
                rms0 = float(_sq_abs(c * x0).mean().sqrt())
                rms_net = float(_sq_abs(x_init).mean().sqrt())
                scale = rms_net / rms0 if rms0 > 0 and rms_net > 0 else 1.0
            target = scale * y
            inv2 = 1.0 / scale**2

        optimizer = torch.optim.Adam(params, lr=lr)
        variance = _WindowVariance(window) if early_stopping == "variance" else None
        x_avg: torch.Tensor | None = None
        x_prev = x_init.detach() / scale
        best_score, best_iter, best_x, best_state = math.inf, 0, x_prev, None
        since_best = 0
        for k in range(1, monitor.num_iter + 1):
            z_k = z
            if jitter > 0:
                noise = torch.randn(z.shape, generator=gen, device=gen.device, dtype=dtype)
                z_k = z + jitter * noise.to(device)
            image = _to_image(net(z_k), A)
            sq = _sq_abs(A(image) - target)
            loss = sq[fitted].sum() / num_fitted
            optimizer.zero_grad(set_to_none=True)
            loss.backward()

            # the estimate of iteration k is that of the weights before its step (kept if it is the best)
            with torch.no_grad():
                out = image.detach()
                if ema is None:
                    est, sq_est = out, sq.detach()
                else:
                    x_avg = out.clone() if x_avg is None else x_avg.mul_(ema).add_(out, alpha=1 - ema)
                    est, sq_est = x_avg, None
                x = est / scale
                extra = {}
                score = math.nan
                if early_stopping == "holdout":
                    if sq_est is None:
                        sq_est = _sq_abs(A(est) - target)
                    score = float(sq_est[held].sum()) / num_held * inv2
                    extra["holdout_loss"] = score
                elif variance is not None:
                    score = variance.push(out / scale)  # of the network outputs, averaged or not
                    extra["variance"] = score
                if x_true is not None:
                    shown = x.abs() if x.is_complex() and not x_true.is_complex() else x
                    extra["psnr"] = psnr(shown, x_true.to(shown.device))
                monitor.update(x, x_prev, float(loss) * inv2, **extra)
                x_prev = x
                if early_stopping is None:
                    best_iter, best_x = k, x
                elif score < best_score:  # NaN (variance window not full) never wins
                    best_score, best_iter, best_x = score, k, x.clone()
                    best_state = {n: t.detach().clone() for n, t in net.state_dict().items()}
                    since_best = 0
                else:
                    since_best += 1
                    if best_state is not None and since_best >= patience:
                        break
            if k < monitor.num_iter:  # the last step would never be evaluated
                optimizer.step()
        if early_stopping is not None and best_state is not None:
            net.load_state_dict(best_state)
        elif early_stopping is not None:  # the rule never ranked an estimate (budget below the window)
            best_iter, best_x = monitor.iterations, x_prev

    monitor.converged = early_stopping is not None and since_best >= patience and best_state is not None
    result = monitor.result(best_x.detach())
    return UntrainedResult(
        x=result.x,
        history=result.history,
        num_iter=result.num_iter,
        converged=result.converged,
        best_iter=best_iter,
        network=net,
        z=z.detach(),
        scale=scale,
    )
