"""Named problems: small declarative records of (operator, noise, data, metric, methods).

A preset builds a :class:`Problem` (truth, operator, measurement) from a signal, a size and a seed; the same
preset, signal and seed always give the same problem. ``inverselab list presets`` prints them.

Example:
    >>> p = get_preset("denoise-sigma25")
    >>> p.default_method, p.metric
    ('tv-admm', 'psnr')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._checks import check_number, check_tensor

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .operators import LinearOperator

__all__ = [
    "Preset",
    "Problem",
    "PRESETS",
    "get_preset",
    "list_presets",
    "make_problem",
    "evaluate",
    "align_to_truth",
]


@dataclass(frozen=True)
class Preset:
    """A named inverse problem.

    Attributes:
        name: Lowercase hyphenated name, e.g. ``"deblur-gauss"``.
        description: One line shown by ``inverselab list presets``.
        kind: ``"image"`` (signals ``(1, C, H, W)`` in [0, 1]), ``"vector"`` (sparse vectors ``(1, n)``) or
            ``"signal"`` (1-D signals ``(1, C, n)``: spike trains, piecewise-constant signals).
        build: ``build(shape, generator) -> (A, noise)``: the operator for a signal of ``shape``
            (no batch dim) and the noise model. Random parts (masks, matrices) draw from ``generator``.
            Builders of presets with a ``sampling`` knob also take ``sampling=None`` (the preset's default).
        methods: Sensible classical methods; the first is the default (the best of them, measured).
        baseline: The naive direct method the default must beat.
        size: Default image side length (or vector length for ``"vector"``).
        sample: Default test signal: a sample name, ``"bernoulli-gaussian"`` (vector presets) or ``"digits"``
            (the held-out digit number ``seed``, see :func:`inverselab.data.digits`).
        metric: Headline metric: ``"psnr"`` or ``"nmse_db"``.
        data_range: PSNR/SSIM data range: a number, or ``"max"`` for the fastMRI convention.
        channels: ``1`` for single-channel physics (MRI, CT): color inputs are averaged to gray.
        learned: Methods that use trained networks (shipped weights, or plug-and-play with the shipped
            denoiser), in table order; they run in the bench suites beside ``methods``.
        untrained: Untrained-network methods (Deep Decoder, Deep Image Prior, ConvDecoder), in table order:
            one network is fitted to each image, minutes per reconstruction on a CPU, so the ``quick`` suite
            leaves them out (``full`` and ``untrained`` run them).
        params: Per-method keyword arguments tuned for this preset (e.g. regularization weights).
        sampling: What ``make_problem(..., sampling=value)`` changes, or ``None`` if the preset has no such
            knob: ``"acceleration"`` (MRI: the mask's undersampling factor, same center band),
            ``"angles"`` (sparse-view CT: number of angles over 180 degrees) or ``"angular range (degrees)"``
            (limited-angle CT: one angle per degree) or ``"measurements"`` (Gaussian compressed sensing: the
            number of rows of the matrix).
        sampling_default: The knob's value that gives the preset's own problem.
        random_operator: The operator has random parts drawn from the seed (a mask): each seed is another
            instance, so trained networks see a fresh operator at every step (``inverselab train``).
        Graph presets (``kind="graph"``, community detection) differ: ``x`` is the ``(1, N)`` ``int64``
            group labels, ``A`` a :class:`~inverselab.data.graphs.StochasticBlockModel` (not an operator),
            ``y`` the observed graph (a sparse ``(N, N)`` adjacency matrix), ``size`` the number of nodes
            ``N`` and ``metric`` ``"overlap"``; the image/vector bench suites leave them out (their study is
            ``inverselab bench --study sbm-transition``).
        phase_invariant: The data determine the signal only up to a global phase (phase retrieval: the
            operator is a :class:`~inverselab.operators.MagnitudeSquared` model): :func:`evaluate` aligns
            the reconstruction's phase (sign) with the truth's first.
    """

    name: str
    description: str
    kind: str
    build: Callable[..., tuple[LinearOperator, Any]]
    methods: tuple[str, ...]
    baseline: str
    size: int = 128
    sample: str = "camera"
    metric: str = "psnr"
    data_range: float | str = 1.0
    channels: int | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    learned: tuple[str, ...] = ()
    untrained: tuple[str, ...] = ()
    sampling: str | None = None
    sampling_default: float | None = None
    random_operator: bool = False
    phase_invariant: bool = False

    @property
    def default_method(self) -> str:
        return self.methods[0]

    @property
    def all_methods(self) -> tuple[str, ...]:
        """The classical ``methods``, then the ``learned`` and the ``untrained`` ones."""
        return self.methods + self.learned + self.untrained

    def method_params(self, method: str) -> dict[str, Any]:
        """Keyword arguments tuned for ``method`` on this preset (empty if none)."""
        return dict(self.params.get(method, {}))


@dataclass
class Problem:
    """One instance of a preset: ``y = noise(A(x_true))``."""

    preset: Preset
    x_true: torch.Tensor
    A: LinearOperator
    y: torch.Tensor
    noise: Any
    seed: int


# --- builders (imports inside, so listing presets does not import torch) -----------------------------------
def _denoise(sigma: float):
    def build(shape, generator):
        from .noise import GaussianNoise
        from .operators import Identity

        return Identity(shape), GaussianNoise(sigma)

    return build


def _deblur(shape, generator):
    from .noise import GaussianNoise
    from .operators import Blur, gaussian_kernel

    return Blur(shape, gaussian_kernel(2.0)), GaussianNoise(0.01)


def _inpaint(shape, generator):
    from .noise import GaussianNoise
    from .operators.inpainting import Inpainting, random_mask

    return Inpainting(shape, random_mask(shape[-2:], 0.5, generator=generator)), GaussianNoise(0.01)


def _sr(shape, generator):
    from .noise import GaussianNoise
    from .operators import Downsampling

    return Downsampling(shape, 4), GaussianNoise(0.01)


def _cs_sparse(shape, generator):
    from .noise import NoNoise, make_generator
    from .operators import GaussianMatrix

    # One fixed matrix (drawn from seed 0) for every seed, as in the LISTA literature: learned sparse coders
    # are trained for a matrix, and the seed varies the vector only.
    fixed = make_generator(0)
    return GaussianMatrix(shape, 250, generator=fixed, normalize_columns=True), NoNoise()


def _cs_image(shape, generator):
    from .noise import GaussianNoise
    from .operators import SubsampledDCT

    # A quarter of the coefficients: the lowest 5% of frequencies always, the rest uniformly at random.
    return SubsampledDCT(shape, fraction=0.25, low_fraction=0.05, generator=generator), GaussianNoise(0.01)


def _cs_digits(shape, generator, sampling=None):
    from .noise import GaussianNoise
    from .operators import GaussianMatrix

    n = math.prod(shape)
    m = 100 if sampling is None else check_number("sampling", sampling, low=1, high=n, integer=True)
    return GaussianMatrix(shape, m, generator=generator), GaussianNoise(0.01)


def _inpaint_digits(shape, generator):
    from .noise import GaussianNoise
    from .operators.inpainting import Inpainting, random_mask

    return Inpainting(shape, random_mask(shape[-2:], 0.2, generator=generator)), GaussianNoise(0.01)


def _mri(shape, generator, sampling=None):
    from .noise import GaussianNoise
    from .operators import MRI
    from .operators.mri import random_kspace_mask

    acceleration = 4 if sampling is None else check_number("sampling", sampling, low=1, high=1 / 0.08)
    mask = random_kspace_mask(shape[-2:], acceleration, 0.08, generator=generator)
    return MRI(shape[-2:], mask), GaussianNoise(0.01)


def _mri_multicoil(shape, generator, sampling=None):
    from .noise import GaussianNoise
    from .operators import MultiCoilMRI, coil_sensitivity_maps
    from .operators.mri import equispaced_kspace_mask

    acceleration = 8 if sampling is None else check_number("sampling", sampling, low=1, high=25, integer=True)
    # Simulated coils jittered per instance (angles, radii, phases), so a network trained on many instances
    # (VarNet estimates its own maps) meets a new coil layout at every step, like scans of a new patient.
    maps = coil_sensitivity_maps(8, shape[-2:], generator=generator)
    mask = equispaced_kspace_mask(shape[-2:], acceleration, 0.04, generator=generator)
    return MultiCoilMRI(maps, mask), GaussianNoise(0.005)


def _ct(angles: Callable[[Any], Any]):
    def build(shape, generator, sampling=None):
        from .noise import GaussianNoise
        from .operators import ParallelBeamCT

        A = ParallelBeamCT(shape[-1], angles(sampling))
        # 1% of the ray sum through a unit-intensity disc across half the field of view (0.64 at 128 px).
        return A, GaussianNoise(0.01 * shape[-1] * 0.5)

    return build


def _ct_relative(shape, generator, sampling=None):
    from .noise import RelativeGaussianNoise
    from .operators import ParallelBeamCT, sparse_view_angles

    num_angles = 30 if sampling is None else check_number("sampling", sampling, low=1, integer=True)
    return ParallelBeamCT(shape[-1], sparse_view_angles(num_angles)), RelativeGaussianNoise(0.05)


def _sparse_angles(sampling=None):
    from .operators import sparse_view_angles

    num_angles = 60 if sampling is None else check_number("sampling", sampling, low=1, integer=True)
    return sparse_view_angles(num_angles)


def _limited_angles(sampling=None):
    from .operators import limited_angle_angles

    span = 90 if sampling is None else check_number("sampling", sampling, low=1, high=180, integer=True)
    return limited_angle_angles(float(span), span)  # one angle per degree


def _sbm(gap: float):
    def build(shape, generator):
        from .data.graphs import StochasticBlockModel
        from .noise import NoNoise

        # The randomness of the graph is the SBM's own (the "noise"): make_problem samples it from A.
        return StochasticBlockModel.from_degree(3.0, gap, shape[-1]), NoNoise()

    return build


def _spikes_1d(shape, generator):
    from .noise import GaussianNoise
    from .operators import Convolution1D, ricker_wavelet

    # A Ricker pulse of width 3 samples (central frequency ~0.075 cycles per sample), noise 0.01.
    return Convolution1D(shape, ricker_wavelet(3.0)), GaussianNoise(0.01)


def _cs_1d(shape, generator):
    from .noise import GaussianNoise
    from .operators import GaussianMatrix

    # m = 3n/8 rows with N(0, 1/m) entries (the normalization AMP assumes).
    return GaussianMatrix(shape, math.prod(shape) * 3 // 8, generator=generator), GaussianNoise(0.01)


def _pr_gaussian(shape, generator):
    from .noise import NoNoise
    from .operators import GaussianSensingMatrix, MagnitudeSquared

    # m = 8 n complex Gaussian intensities, noiseless: Wirtinger flow's exact-recovery regime.
    n = math.prod(shape)
    if n > 32 * 32:  # the dense 8n x n complex matrix: 134 MB at 32 px, 2 GB at 64 px
        raise ValueError(f"size must be <= 32 for pr-gaussian (a dense 8n x n matrix), got {shape[-1]}")
    A = GaussianSensingMatrix(shape, 8 * n, generator=generator)
    return MagnitudeSquared(A), NoNoise()


def _pr_cdp(shape, generator):
    from .noise import PoissonNoise
    from .operators import CodedDiffraction, MagnitudeSquared

    return MagnitudeSquared(CodedDiffraction(shape, _CDP_MASKS, generator=generator)), PoissonNoise(_CDP_GAIN)


_CDP_MASKS = 4  # octanary masks of pr-cdp
_CDP_GAIN = 0.01  # photons per unit intensity of pr-cdp (about 13 per measurement of a 64 px image)


# 1-D signals: tuned on seeds 100-104 (the bench runs seeds 0-9). Mean NMSE over them: spikes-1d fista-l1
# lam 0.003/0.01/0.03/0.1: -29.0/-33.5/-35.5/-30.6 dB (ISTA needs 5000 iterations for -35.5, at 2000 it is at
# -5.6: the Ricker wavelet has no DC response, so the problem is ill-conditioned); cs-1d tv-pdhg lam
# 0.003/0.01/0.03/0.1: -38.1/-40.7/-40.0/-32.2 dB. fista-l1 and amp are tuned on --sample spikes (fista lam
# 0.003/0.01/0.03: -29.0/-31.2/-28.3 dB; amp alpha 1/1.5/2: -27.8/-31.2/-29.8 dB; tv-pdhg there: -6.2 dB).
_SIGNAL_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "spikes-1d": {
        "fista-l1": {"lam": 0.03, "num_iter": 2000},
        "admm-l1": {"lam": 0.03, "rho": 1.0, "num_iter": 500},
        "ista-l1": {"lam": 0.03, "num_iter": 5000},
    },
    "cs-1d": {
        "tv-pdhg": {"lam": 0.01, "num_iter": 2000},
        "tv-admm": {"lam": 0.01, "cg_iter": 10, "num_iter": 300},
        "fista-l1": {"lam": 0.01, "num_iter": 2000},
        "amp": {"alpha": 1.5},
    },
}

# Phase retrieval (see benchmarks/bench_phase_retrieval.py). pr-cdp: tuned on chelsea, coffee and brick at
# 64 px, seeds 100-101 (mean PSNR): pnp-wf TV sigma 0.005/0.01/0.02: 26.8/27.0/25.2 dB (it stops by its
# tolerance before 300 iterations), gerchberg-saxton (nonneg) 23.0, wf with real iterates 18.3 (21.0 median:
# one of 6 runs fails), wf with complex iterates (the paper's) diverges from the spectral start at 4 masks.
_PR_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "pr-gaussian": {"wf": {"num_iter": 2500}, "gerchberg-saxton": {"num_iter": 1000}},
    "pr-cdp": {
        "wf": {"real": True, "num_iter": 1000},
        "gerchberg-saxton": {"constraint": "nonneg", "num_iter": 500},
        "pnp-wf": {"denoiser": "tv", "sigma": 0.01, "num_iter": 300},
        # Deep Decoder, k = 64, 5 layers, Adam 0.01: PSNR still rising at 500-750 steps on chelsea (28.4 at
        # 500, 28.6 at 750, 28.5 at 1000) and coffee; about 22 s at 64 px on one thread.
        "deep-decoder-pr": {"channels": 64, "num_layers": 5, "num_iter": 600},
    },
}


# Plug-and-play with the shipped DRUNet, tuned on the training photos chelsea, coffee and brick (128 px).
_PNP_DEBLUR = {
    "hqs": {"denoiser": "drunet", "sigma": 0.03, "sigma_max": 0.2, "lam": 1e-5, "num_iter": 8},
    "pnp-admm": {"denoiser": "drunet", "sigma": 0.08, "rho": 0.01, "num_iter": 30},
}
_PNP_SR = {
    "hqs": {"denoiser": "drunet", "sigma": 0.03, "sigma_max": 0.3, "lam": 1e-5, "num_iter": 8, "cg_iter": 10},
    "pnp-admm": {"denoiser": "drunet", "sigma": 0.05, "rho": 0.01, "num_iter": 30},
}

_CT_PARAMS = {
    "tv-admm": {"lam": 3.0, "rho": 100.0, "cg_iter": 10},
    "tv-pdhg": {"lam": 3.0, "num_iter": 500},
    "tikhonov-cg": {"lam": 100.0},
    "fista-wavelet": {"lam": 1.0},
}

# Tuned on the validation digits (inverselab.data.digits("validation")), never on the test digits. The
# generative priors (csgm-vae, csgm-gan, dps, pigdm) use the shipped digit models; pigdm takes the noise
# level (its default 0.01 is these presets').
_DIGITS_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "cs": {  # 6 validation digits: tv-pdhg 18.2 dB, fista-dct 14.2, fista-wavelet 13.1, adjoint 7.2
        # zeta of {0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 1, 3} on 4 validation digits with the shipped DDPM:
        # 0.1 gives 43.5 dB, 0.3 37.9, 1 23.1 (pigdm 20.8)
        "dps": {"zeta": 0.1},
        "tv-pdhg": {"lam": 0.01, "num_iter": 500},
        "fista-dct": {"lam": 0.03, "num_iter": 500},
        "fista-wavelet": {"lam": 0.01, "num_iter": 500},
    },
    "inpaint": {  # fista-dct 21.1, tv-pdhg 18.8, fista-wavelet 14.9, adjoint 7.8
        "dps": {"zeta": 1.0},  # of {0.1, 0.3, 0.5, 1, 2, 3}: 42.1 dB (0.5: 41.2; pigdm 26.8)
        "fista-dct": {"lam": 0.01, "num_iter": 500},
        "tv-pdhg": {"lam": 0.003, "num_iter": 500},
        "fista-wavelet": {"lam": 0.03, "num_iter": 500},
    },
    "sr": {  # fista-dct 23.3, tv-pdhg 21.8, tikhonov-cg 21.4, fista-wavelet 19.5, adjoint 16.9
        "dps": {"zeta": 0.7},  # of {0.1, 0.3, 0.5, 0.7, 1, 2, 3}: 34.2 dB (1: 34.1; pigdm 33.1)
        "fista-dct": {"lam": 1e-3, "num_iter": 500},
        "tv-pdhg": {"lam": 1e-4, "num_iter": 500},
        "tikhonov-cg": {"lam": 1e-3},
        "fista-wavelet": {"lam": 1e-3, "num_iter": 500},
    },
}

_DIGITS_LEARNED = ("csgm-vae", "csgm-gan", "dps", "pigdm")

# Untrained networks (one network fitted per image, Adam step 0.01, held-out early stopping unless said):
# widths and budgets for 128 px on one CPU thread, tuned on chelsea and coffee (natural-image presets) or a
# random-ellipse phantom (seed 123) and chelsea (phantom presets), never on test images. CPU seconds per
# reconstruction at 128 px, one thread, as measured while tuning (benchmarks/bench_untrained.py presets).
_UNTRAINED: dict[str, dict[str, dict[str, Any]]] = {
    "denoise": {  # k 16/32/64: 25.9/27.3/27.4 dB (2-image mean); DIP 32 vs 64 channels: 28.65 vs 28.55
        "deep-decoder": {"channels": 32, "num_iter": 3000},  # stops after 600-1500 steps: 15-40 s
        "dip": {"channels": 32, "num_iter": 2000},  # stops after 800-1300 steps: 75-110 s
    },
    "inpaint": {  # k 32 vs 64: 30.7 vs 31.5 dB; DIP (32 channels) 33.5, still improving at 3000 steps
        "deep-decoder": {"channels": 64, "num_iter": 3000},  # 130-170 s
        "dip": {"channels": 32, "num_iter": 2000},  # the whole budget: about 185 s
    },
    "sr": {"deep-decoder": {"channels": 32, "num_iter": 3000}},  # k 32 vs 64: 26.2 vs 26.3 dB; 50 s
    # The held-out rule fails on DCT measurements: each held-out coefficient is a global functional the
    # fitted ones do not predict, so the held-out loss stays near that of predicting zero (chelsea: stopped
    # at step 34 with 22.4 dB, while the PSNR still rises at step 1500: 27.6 dB); a fixed budget instead.
    "cs-image": {"deep-decoder": {"channels": 64, "num_iter": 2500, "early_stopping": None}},  # 145 s
    # ConvDecoder: 32 channels fit faster than 64 in a CPU budget (ellipses, 2000 steps: 22.1 vs 21.0 dB);
    # far from converged (the paper runs 20 000 steps on a GPU), so far below TV here.
    "mri": {"convdecoder": {"channels": 32, "num_iter": 3000}},  # at most 150 s
    "mri-multicoil": {"convdecoder": {"channels": 32, "num_iter": 3000}},  # at most 160 s
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "denoise-sigma25",
            "Gaussian denoising, sigma = 25/255, grayscale",
            "image",
            _denoise(25 / 255),
            ("tv-admm", "tv-pdhg", "fista-wavelet", "ista-wavelet", "adjoint"),
            baseline="adjoint",
            params={
                "tv-admm": {"lam": 0.08},
                "tv-pdhg": {"lam": 0.08},
                "fista-wavelet": {"lam": 0.15},
                "ista-wavelet": {"lam": 0.15},
                "drunet": {"sigma": 25 / 255},
                **_UNTRAINED["denoise"],
            },
            learned=("drunet",),
            untrained=("deep-decoder", "dip"),
        ),
        Preset(
            "deblur-gauss",
            "Gaussian blur (sigma 2 px, circular) + noise 0.01",
            "image",
            _deblur,
            ("tv-admm", "tikhonov-cg", "tv-pdhg", "fista-wavelet", "ista-wavelet", "adjoint"),
            baseline="adjoint",
            params={
                "tv-admm": {"lam": 5e-4},
                "tikhonov-cg": {"lam": 0.01},
                "tv-pdhg": {"lam": 5e-4},
                "fista-wavelet": {"lam": 0.003},
                "ista-wavelet": {"lam": 0.003},
                **_PNP_DEBLUR,
            },
            learned=("hqs", "pnp-admm"),
        ),
        Preset(
            "inpaint-half",
            "Inpainting: a random half of the pixels observed, noise 0.01",
            "image",
            _inpaint,
            ("tv-pdhg", "fista-wavelet", "ista-wavelet", "adjoint"),
            random_operator=True,
            baseline="adjoint",
            params={
                "tv-pdhg": {"lam": 0.003},
                "fista-wavelet": {"lam": 0.01},
                "ista-wavelet": {"lam": 0.01},
                **_UNTRAINED["inpaint"],
            },
            untrained=("deep-decoder", "dip"),
        ),
        Preset(
            "sr-x4",
            "Super-resolution x4: Gaussian anti-aliasing + decimation, noise 0.01",
            "image",
            _sr,
            ("tv-pdhg", "tikhonov-cg", "fista-wavelet", "ista-wavelet", "adjoint"),
            baseline="adjoint",
            params={
                "tv-pdhg": {"lam": 3e-4, "num_iter": 1000},
                "tikhonov-cg": {"lam": 0.001},
                "fista-wavelet": {"lam": 0.001},
                "ista-wavelet": {"lam": 0.001},
                **_PNP_SR,
                **_UNTRAINED["sr"],
            },
            learned=("hqs", "pnp-admm"),
            untrained=("deep-decoder",),
        ),
        Preset(
            "cs-sparse-250x500",
            "Compressed sensing of Bernoulli(0.1)-Gaussian vectors, fixed 250x500 Gaussian matrix, noiseless",
            "vector",
            _cs_sparse,
            ("amp", "fista-l1", "ista-l1", "adjoint"),
            baseline="adjoint",
            size=500,
            sample="bernoulli-gaussian",
            metric="nmse_db",
            params={
                "fista-l1": {"lam": 1e-3, "num_iter": 2000},
                "ista-l1": {"lam": 1e-3, "num_iter": 2000},
            },
            learned=("alista", "lista-cpss", "lista-cp", "lamp"),
        ),
        Preset(
            "cs-image-25pct",
            "Compressed sensing: 25% of the orthonormal 2-D DCT (lowest 5% always), noise 0.01",
            "image",
            _cs_image,
            ("tv-pdhg", "fista-wavelet", "ista-wavelet", "adjoint"),
            random_operator=True,
            baseline="adjoint",
            sample="shepp_logan",
            params={
                "tv-pdhg": {"lam": 0.002, "num_iter": 500},
                "fista-wavelet": {"lam": 0.01},
                "ista-wavelet": {"lam": 0.01},
                **_UNTRAINED["cs-image"],
            },
            untrained=("deep-decoder",),
        ),
        Preset(
            "cs-digits-32",
            "Compressed sensing of 32 px handwritten digits: m = 100 Gaussian measurements (n = 1024), noise "
            "0.01",
            "image",
            _cs_digits,
            ("tv-pdhg", "fista-dct", "fista-wavelet", "adjoint"),
            random_operator=True,
            baseline="adjoint",
            size=32,
            sample="digits",
            sampling="measurements",
            sampling_default=100,
            params=_DIGITS_PARAMS["cs"],
            learned=_DIGITS_LEARNED,
        ),
        Preset(
            "inpaint-digits-32",
            "Inpainting of 32 px handwritten digits: a random 20% of the pixels observed, noise 0.01",
            "image",
            _inpaint_digits,
            ("fista-dct", "tv-pdhg", "fista-wavelet", "adjoint"),
            random_operator=True,
            baseline="adjoint",
            size=32,
            sample="digits",
            params=_DIGITS_PARAMS["inpaint"],
            learned=_DIGITS_LEARNED,
        ),
        Preset(
            "sr-digits-32",
            "Super-resolution x4 of 32 px handwritten digits (8 x 8 measured), noise 0.01",
            "image",
            _sr,
            ("fista-dct", "tv-pdhg", "tikhonov-cg", "fista-wavelet", "adjoint"),
            baseline="adjoint",
            size=32,
            sample="digits",
            params=_DIGITS_PARAMS["sr"],
            learned=_DIGITS_LEARNED,
        ),
        Preset(
            "mri-4x",
            "Single-coil Cartesian MRI, random mask 4x (center 8%), complex noise 0.01",
            "image",
            _mri,
            ("tv-admm", "tv-pdhg", "fista-wavelet", "ista-wavelet", "zero-filled"),
            random_operator=True,
            baseline="zero-filled",
            channels=1,
            sample="shepp_logan",
            data_range="max",
            sampling="acceleration",
            sampling_default=4,
            params={
                "tv-admm": {"lam": 0.003, "cg_iter": 5},
                "tv-pdhg": {"lam": 0.003, "num_iter": 500},
                "fista-wavelet": {"lam": 0.001},
                "ista-wavelet": {"lam": 0.001},
                "unet": {"weights": "unet-mri-4x"},
                "modl": {"weights": "modl-mri-4x"},
                "unrolled-pg": {"weights": "unrolled-pg-mri-4x"},
                **_UNTRAINED["mri"],
            },
            learned=("modl", "unrolled-pg", "unet"),
            untrained=("convdecoder",),
        ),
        Preset(
            "mri-8x-multicoil",
            "8-coil Cartesian MRI, equispaced mask 8x (center 4%), complex noise 0.005",
            "image",
            _mri_multicoil,
            ("tv-admm", "tv-pdhg", "fista-wavelet", "ista-wavelet", "zero-filled"),
            random_operator=True,
            baseline="zero-filled",
            channels=1,
            sample="shepp_logan",
            data_range="max",
            sampling="acceleration",
            sampling_default=8,
            params={
                "tv-admm": {"lam": 0.001, "cg_iter": 5},
                "tv-pdhg": {"lam": 0.001, "num_iter": 500},
                "fista-wavelet": {"lam": 0.001},
                "ista-wavelet": {"lam": 0.001},
                "varnet": {"weights": "varnet-mri-8x-multicoil"},
                **_UNTRAINED["mri-multicoil"],
            },
            learned=("varnet",),
            untrained=("convdecoder",),
        ),
        Preset(
            "ct-sparse-60",
            "Parallel-beam CT, 60 angles over 180 degrees, Gaussian noise 0.64 on the ray sums",
            "image",
            _ct(_sparse_angles),
            ("tv-admm", "tv-pdhg", "tikhonov-cg", "fista-wavelet", "fbp"),
            baseline="fbp",
            channels=1,
            sample="shepp_logan",
            sampling="angles",
            sampling_default=60,
            params={
                **_CT_PARAMS,
                "unet": {"weights": "unet-ct-sparse-60"},
                "lpd": {"weights": "lpd-ct-sparse-60"},
            },
            learned=("unet", "lpd"),
        ),
        Preset(
            "ct-ellipses-30",
            "Parallel-beam CT as in Adler & Oktem's learned primal-dual: 64 px, 30 angles, Gaussian noise "
            "5% of the mean |ray sum|",
            "image",
            _ct_relative,
            ("tv-admm", "tv-pdhg", "tikhonov-cg", "fbp"),
            baseline="fbp",
            size=64,
            channels=1,
            sample="shepp_logan",
            sampling="angles",
            sampling_default=30,
            # Tuned on random ellipses (seed 123, not the test images): TV lam 2 gives 23.6 dB, FBP 18.6.
            params={
                "tv-admm": {"lam": 2.0, "cg_iter": 10},
                "tv-pdhg": {"lam": 2.0, "num_iter": 500},
                "tikhonov-cg": {"lam": 30.0},
            },
        ),
        Preset(
            "ct-limited-90",
            "Parallel-beam CT, limited angle: 90 angles over 90 degrees, Gaussian noise 0.64 on the ray sums",
            "image",
            _ct(_limited_angles),
            ("tv-admm", "tv-pdhg", "tikhonov-cg", "fista-wavelet", "fbp"),
            baseline="fbp",
            channels=1,
            sample="shepp_logan",
            sampling="angular range (degrees)",
            sampling_default=90,
            params=_CT_PARAMS,
        ),
        Preset(
            "spikes-1d",
            "Sparse spike deconvolution: 1-D spike trains blurred by a Ricker wavelet (width 3, circular), "
            "noise 0.01",
            "signal",
            _spikes_1d,
            ("fista-l1", "admm-l1", "ista-l1", "adjoint"),
            baseline="adjoint",
            size=256,
            sample="spikes",
            metric="nmse_db",
            params=_SIGNAL_PARAMS["spikes-1d"],
        ),
        Preset(
            "cs-1d",
            "Compressed sensing of 1-D piecewise-constant signals: m = 3n/8 Gaussian measurements, "
            "noise 0.01 (--sample spikes for sparse signals)",
            "signal",
            _cs_1d,
            ("tv-pdhg", "tv-admm", "fista-l1", "amp", "adjoint"),
            random_operator=True,
            baseline="adjoint",
            size=256,
            sample="piecewise-constant",
            metric="nmse_db",
            params=_SIGNAL_PARAMS["cs-1d"],
        ),
        Preset(
            "pr-gaussian",
            "Phase retrieval: m = 8n complex Gaussian intensities |a_r^H x|^2 of a 16 px digit, noiseless",
            "image",
            _pr_gaussian,
            ("wf", "gerchberg-saxton", "spectral-init"),
            random_operator=True,
            baseline="spectral-init",
            size=16,
            sample="digits",
            metric="nmse_db",
            channels=1,
            phase_invariant=True,
            params=_PR_PARAMS["pr-gaussian"],
        ),
        Preset(
            "pr-cdp",
            f"Phase retrieval: coded diffraction patterns, {_CDP_MASKS} octanary masks + FFT, Poisson noise "
            f"(gain {_CDP_GAIN} photons per unit intensity)",
            "image",
            _pr_cdp,
            ("pnp-wf", "wf", "gerchberg-saxton", "spectral-init"),
            random_operator=True,
            baseline="spectral-init",
            size=64,
            channels=1,
            phase_invariant=True,
            params=_PR_PARAMS["pr-cdp"],
            untrained=("deep-decoder-pr",),
        ),
        Preset(
            "sbm-2groups",
            "Community detection: a sparse stochastic block model, 2 equal groups, average degree 3, "
            "c_in - c_out = 4.5 (Kesten-Stigum threshold 3.46), 10 000 nodes",
            "graph",
            _sbm(4.5),
            ("sbm-bp", "bethe-hessian", "spectral-laplacian", "spectral-adjacency"),
            baseline="spectral-adjacency",
            size=10_000,
            sample="sbm",
            metric="overlap",
            learned=("gnn",),
        ),
    ]
}


def list_presets() -> list[str]:
    """Names of all presets, sorted.

    Example:
        >>> "mri-4x" in list_presets()
        True
    """
    return sorted(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ``ValueError`` listing the valid names otherwise."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(list_presets())}; got {name!r}")
    return PRESETS[name]


def make_problem(
    preset: str | Preset,
    x: torch.Tensor | None = None,
    *,
    sample: str | None = None,
    size: int | None = None,
    seed: int = 0,
    noise_sigma: float | None = None,
    sampling: float | None = None,
) -> Problem:
    """Build one instance of ``preset``: load/generate the signal, build the operator, simulate ``y``.

    Args:
        preset: A preset or its name.
        x: The ground truth ``(1, C, H, W)`` (or ``(1, n)`` for vector presets); loaded from ``sample``
            when omitted.
        sample: Name of the test signal (see :func:`inverselab.data.load_sample`); the preset's default when
            omitted.
        size: Image side length (vector length for vector presets).
        seed: Seeds the operator's random parts, the signal (when generated) and the noise.
        noise_sigma: Replace the preset's noise by Gaussian noise of this standard deviation (methods keep
            the parameters tuned for the preset's own noise level).
        sampling: Set the preset's sampling knob (:attr:`Preset.sampling`, e.g. the MRI acceleration or the
            number of CT angles) to this value; the preset's default when omitted. Presets without a knob
            reject it.

    Returns:
        The problem ``(x_true, A, y)``.
    """
    import torch

    from .noise import make_generator

    p = get_preset(preset) if isinstance(preset, str) else preset
    seed = int(check_number("seed", seed, low=0, integer=True))
    if p.kind == "graph":
        return _graph_problem(p, x, sample, size, seed, noise_sigma, sampling)
    if size is not None:
        size = int(check_number("size", size, low=8, high=4096, integer=True))
    if x is None:
        x = _load_signal(p, sample or p.sample, size or p.size, seed)
    want_ndim = {"vector": 2, "signal": 3}.get(p.kind, 4)
    if not isinstance(x, torch.Tensor) or x.ndim != want_ndim or x.shape[0] != 1:
        check_tensor("x", x, finite=False)  # a non-tensor gets the TypeError
        kind = {"vector": "(1, n)", "signal": "(1, C, n)"}.get(p.kind, "(1, C, H, W)")
        raise ValueError(f"x must have shape {kind} for preset {p.name!r}, got {tuple(x.shape)}")
    check_tensor("x", x)
    if p.channels == 1 and x.shape[1] != 1:
        x = x.mean(dim=1, keepdim=True)
    op_gen = make_generator(seed)
    if sampling is None:
        A, noise = p.build(tuple(x.shape[1:]), op_gen)
    elif p.sampling is None:
        knobs = ", ".join(q.name for q in PRESETS.values() if q.sampling is not None)
        raise ValueError(
            f"sampling applies only to presets with a sampling knob ({knobs}); {p.name!r} has none"
        )
    else:
        A, noise = p.build(tuple(x.shape[1:]), op_gen, sampling=sampling)
    if noise_sigma is not None:
        from .noise import GaussianNoise

        noise = GaussianNoise(check_number("noise_sigma", noise_sigma, low=0))
    noise_gen = make_generator(seed + 1_000_003)
    with torch.no_grad():
        y = noise(A(x), noise_gen)
    return Problem(p, x, A, y, noise, seed)


def evaluate(x_hat: torch.Tensor, x_true: torch.Tensor, preset: Preset) -> dict[str, float]:
    """The metrics of ``x_hat`` against ``x_true`` for ``preset``: ``psnr``, ``ssim``, ``nmse``, ``nmse_db``
    (magnitudes for complex reconstructions; PSNR and SSIM are NaN for vector presets)."""
    from . import metrics

    if preset.kind == "graph":  # group labels, defined up to a permutation of the groups
        return {"overlap": float(metrics.overlap(x_hat.detach().cpu(), x_true.cpu())[0])}
    x_hat = align_to_truth(x_hat.detach(), x_true, preset)
    x_hat = x_hat.abs() if x_hat.is_complex() and not x_true.is_complex() else x_hat
    x_hat = x_hat.to(x_true.dtype)
    nmse = float(metrics.nmse(x_hat, x_true)[0])
    out = {"nmse": nmse, "nmse_db": 10 * math.log10(max(nmse, 1e-30))}  # finite, so valid JSON
    if preset.kind == "image":
        out["psnr"] = float(metrics.psnr(x_hat, x_true, data_range=preset.data_range)[0])
        out["ssim"] = float(metrics.ssim(x_hat, x_true, data_range=preset.data_range)[0])
    else:
        out["psnr"] = float("nan")
        out["ssim"] = float("nan")
    return out


def align_to_truth(x_hat: torch.Tensor, x_true: torch.Tensor, preset: Preset) -> torch.Tensor:
    """``x_hat`` unchanged, or for a :attr:`Preset.phase_invariant` preset rotated by the global phase (sign)
    that brings it closest to ``x_true`` (:func:`inverselab.metrics.align_phase`), and its real part kept
    when ``x_true`` is real: what :func:`evaluate` scores and the pictures show."""
    if not preset.phase_invariant:
        return x_hat
    from . import metrics

    x_hat = metrics.align_phase(x_hat, x_true.to(x_hat.device))
    return x_hat.real if x_hat.is_complex() and not x_true.is_complex() else x_hat


def _load_signal(p: Preset, sample: str, size: int, seed: int) -> torch.Tensor:
    from . import data

    if p.kind == "vector":
        if sample != "bernoulli-gaussian":
            raise ValueError(f"sample must be 'bernoulli-gaussian' for preset {p.name!r}, got {sample!r}")
        from .noise import make_generator

        return data.bernoulli_gaussian(1, size, 0.1, generator=make_generator(seed + 7))
    if p.kind == "signal":
        return _load_1d_signal(p, sample, size, seed)
    if sample == "digits":
        test = data.digits("test", size=size)
        return test[seed % test.shape[0]].unsqueeze(0)
    return data.load_sample(sample, size=size, gray=True).unsqueeze(0)


#: Test signals of the ``"signal"`` presets: name -> ``(n, generator) -> (1, 1, n)``.
SIGNAL_SAMPLES = ("spikes", "piecewise-constant")


def _load_1d_signal(p: Preset, sample: str, size: int, seed: int) -> torch.Tensor:
    from . import data
    from .noise import make_generator

    gen = make_generator(seed + 7)
    if sample == "spikes":  # about one spike per 25 samples, at least 12 apart (4 Ricker widths)
        return data.spike_train(1, size, max(1, size // 25), gen, min_separation=12)
    if sample == "piecewise-constant":
        return data.piecewise_constant(1, size, max(1, size // 32), gen)
    names = ", ".join(SIGNAL_SAMPLES)
    raise ValueError(f"sample must be one of {names} for preset {p.name!r}, got {sample!r}")


def _graph_problem(p: Preset, x, sample, size, seed: int, noise_sigma, sampling) -> Problem:
    """A graph preset's problem: planted labels and the graph, both sampled from the preset's model."""
    if x is not None:
        raise ValueError(f"x must be None for the graph preset {p.name!r} (labels and graph are sampled)")
    if sample not in (None, p.sample):
        raise ValueError(f"sample must be {p.sample!r} for the graph preset {p.name!r}, got {sample!r}")
    if noise_sigma is not None or sampling is not None:
        raise ValueError(f"noise_sigma and sampling do not apply to the graph preset {p.name!r}")
    n = p.size if size is None else int(check_number("size", size, low=8, high=10**8, integer=True))
    from .noise import make_generator

    A, noise = p.build((n,), make_generator(seed))
    x_true, y = A.sample(generator=make_generator(seed))
    return Problem(p, x_true, A, y, noise, seed)
