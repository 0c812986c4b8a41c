"""Phase retrieval: Wirtinger flow's empirical success rate vs m/n, and priors on coded diffraction images.

1. Complex Gaussian model (Candès, Li & Soltanolkotabi, IEEE TIT 2015): for each oversampling ratio m/n, a
   fresh ``CN(0, I)`` matrix and signal per trial, spectral initialization (50 power iterations) then
   Wirtinger flow (their step schedule, up to ``--wf-iter`` iterations, float64). Success: relative error up
   to a global phase below 1e-5. Also the mean correlation ``|<z0, x>| / (‖z0‖ ‖x‖)`` of the spectral start.
   The paper reports success with high probability from about m = 4.5 n (n = 128).
2. Coded diffraction of an image (the test image ``camera``, never used for tuning) with few octanary masks
   L, with and without Poisson noise (the ``pr-cdp`` preset's gain 0.01): PSNR (after aligning the global
   phase, real part) of plain complex WF (the paper's), WF with real iterates, Gerchberg-Saxton with a
   nonnegativity constraint, plug-and-play WF with the TV denoiser (the preset's parameters) and with the
   shipped DRUNet, and the untrained Deep Decoder fitted to the amplitudes (the preset's parameters). Mean
   over ``--mask-seeds`` mask draws; "div" counts WF runs that diverged.

Run: ``.venv/bin/python benchmarks/bench_phase_retrieval.py [--n 64] [--trials 20] [--size 64] [--no-cdp]``
(about 16 minutes on one CPU thread with the defaults).
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from inverselab.data import complex_gaussian, load_sample
from inverselab.methods import get_method
from inverselab.metrics import align_phase, phase_invariant_error, psnr
from inverselab.noise import NoNoise, PoissonNoise
from inverselab.operators import CodedDiffraction, GaussianSensingMatrix, MagnitudeSquared
from inverselab.presets import get_preset
from inverselab.solvers import spectral_init, wirtinger_flow


def success_rate(n: int, ratios: list[float], trials: int, wf_iter: int, seed: int) -> None:
    print(f"\n## Complex Gaussian model: spectral init + Wirtinger flow, n = {n}, {trials} trials per ratio")
    print("| m/n | success rate | mean start correlation | median WF iterations | seconds per trial |")
    print("|----:|-------------:|-----------------------:|---------------------:|------------------:|")
    for ratio in ratios:
        m = round(ratio * n)
        wins, corr, iters = 0, [], []
        start = time.perf_counter()
        for t in range(trials):
            s = seed + 1000 * t + round(10 * ratio)
            A = MagnitudeSquared(GaussianSensingMatrix(n, m, generator=s))
            x = complex_gaussian(1, n, generator=s + 1, dtype=torch.complex128)[:, 0]
            y = A(x)
            z0 = spectral_init(y, A)
            corr.append(float((z0.conj() * x).sum().abs() / (z0.norm() * x.norm())))
            try:
                res = wirtinger_flow(y, A, x0=z0, num_iter=wf_iter)
                wins += float(phase_invariant_error(res.x, x)) < 1e-5
                iters.append(res.num_iter)
            except ValueError:  # diverged: a failure
                iters.append(wf_iter)
        seconds = (time.perf_counter() - start) / trials
        median = sorted(iters)[len(iters) // 2]
        print(
            f"| {ratio:3g} | {wins / trials:12.2f} | {sum(corr) / trials:22.3f} | {median:20d} "
            f"| {seconds:17.2f} |"
        )


def _psnr(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    x_hat = x_hat.to(torch.complex128) if x_hat.is_complex() else x_hat.double()
    aligned = align_phase(x_hat, x.double())
    aligned = aligned.real if aligned.is_complex() else aligned
    return float(psnr(aligned, x.double(), data_range=1.0))


def cdp_priors(
    size: int, masks: list[int], gains: list[float | None], mask_seeds: int, drunet: bool, untrained: bool
) -> None:
    x = load_sample("camera", size=size, gray=True).unsqueeze(0).double()
    params = get_preset("pr-cdp").params
    methods = {
        "wf (complex)": ("wf", {"num_iter": 1000}),
        "wf (real)": ("wf", {**params["wf"]}),
        "gs (nonneg)": ("gerchberg-saxton", {**params["gerchberg-saxton"]}),
        "pnp-wf tv": ("pnp-wf", {**params["pnp-wf"]}),
    }
    if drunet:
        methods["pnp-wf drunet"] = ("pnp-wf", {"denoiser": "drunet", "sigma": 0.03, "num_iter": 300})
    if untrained:
        methods["deep decoder"] = ("deep-decoder-pr", {**params["deep-decoder-pr"]})
    print(
        f"\n## Coded diffraction, camera {size} px: PSNR (dB) after global-phase alignment, mean over "
        f"{mask_seeds} mask draws (div = diverged runs, counted as 0 dB)"
    )
    print("| masks | noise | " + " | ".join(methods) + " |")
    print("|---:|---|" + "---:|" * len(methods))
    for L in masks:
        for gain in gains:
            noise = NoNoise() if gain is None else PoissonNoise(gain)
            cells = []
            for name, kw in methods.values():
                scores, diverged, seconds = [], 0, 0.0
                for s in range(mask_seeds):
                    A = MagnitudeSquared(CodedDiffraction((1, size, size), L, generator=s))
                    y = noise(A(x), torch.Generator().manual_seed(1000 + s))
                    start = time.perf_counter()
                    try:
                        scores.append(_psnr(get_method(name, **kw)(y, A), x))
                    except ValueError:
                        scores.append(0.0)
                        diverged += 1
                    seconds += time.perf_counter() - start
                cell = f"{sum(scores) / len(scores):.2f}" + (f" ({diverged} div)" if diverged else "")
                cells.append(f"{cell}, {seconds / mask_seeds:.1f} s")
            noise_label = "none" if gain is None else f"Poisson {gain:g}"
            print(f"| {L} | {noise_label} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="signal length of the Gaussian experiment")
    parser.add_argument("--trials", type=int, default=20, help="trials per ratio")
    parser.add_argument("--ratios", default="2,3,3.5,4,4.5,5,6,8", help="comma-separated m/n values")
    parser.add_argument("--wf-iter", type=int, default=2500, help="Wirtinger flow iterations (Gaussian)")
    parser.add_argument("--size", type=int, default=64, help="image side length of the CDP experiment")
    parser.add_argument("--masks", default="2,3,4,6", help="comma-separated numbers of CDP masks")
    parser.add_argument("--mask-seeds", type=int, default=2, help="mask draws per setting")
    parser.add_argument("--no-drunet", action="store_true", help="leave out PnP with the shipped DRUNet")
    parser.add_argument("--no-cdp", action="store_true", help="run the Gaussian experiment only")
    parser.add_argument(
        "--no-gaussian", action="store_true", help="run the coded diffraction experiment only"
    )
    parser.add_argument(
        "--no-untrained", action="store_true", help="leave out the Deep Decoder (~20 s a run)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    start = time.perf_counter()
    if not args.no_gaussian:
        ratios = [float(r) for r in args.ratios.split(",")]
        success_rate(args.n, ratios, args.trials, args.wf_iter, args.seed)
    if not args.no_cdp:
        masks = [int(v) for v in args.masks.split(",")]
        cdp_priors(args.size, masks, [None, 0.01], args.mask_seeds, not args.no_drunet, not args.no_untrained)
    print(
        f"\ntotal {time.perf_counter() - start:.0f} s ({math.ceil((time.perf_counter() - start) / 60)} min)"
    )


if __name__ == "__main__":
    main()
