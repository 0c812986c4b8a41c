"""Distribution shift of the forward model: methods run on problems other than the ones they were tuned for.

Every preset carries parameters tuned for its own setting (``Preset.params``: regularization weights for its
noise level and sampling pattern). These studies keep those parameters and move the problem:

- ``noise-shift`` (:func:`run_noise_shift`): the Gaussian noise standard deviation ``sigma`` becomes a
  multiple of the preset's own ``sigma_0`` (``make_problem(..., noise_sigma=)``), drawn as PSNR against
  ``sigma``;
- ``sampling-shift`` (:func:`run_sampling_shift`): the MRI acceleration, the number of CT angles or the
  limited-angle range changes (``make_problem(..., sampling=)``, see
  :attr:`inverselab.presets.Preset.sampling`), drawn as PSNR against that knob.

The seed fixes the operator's random parts and the noise realization; the noise draw is the same standard
normal vector scaled to each ``sigma``, so the noise-shift curves differ only through ``sigma``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._checks import check_number
from .._files import write_atomic
from .parallel import map_ordered
from .shift_figures import (
    dropped_sentence,
    fmt,
    images_sentence,
    markdown_table,
    plot_panels,
    public_plan,
    skip_sentence,
)
from .studies import StudyResult
from .suites import NATURAL_TEST, PHANTOM_TEST

__all__ = ["NOISE_SUITES", "SAMPLING_SUITES", "run_noise_shift", "run_sampling_shift"]

_NOISE, _SAMPLING = "noise-shift", "sampling-shift"
_SQRT2 = math.sqrt(2)

#: noise-shift suites: presets, multiples of the preset's own noise std, test images per preset, and methods
#: left out unless asked for (ISTA minimizes the same objective as FISTA, only more slowly).
NOISE_SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "presets": ("denoise-sigma25", "deblur-gauss", "mri-4x", "ct-sparse-60"),
        "multiples": (0.25, 0.5, 1.0, 2.0, 4.0),
        "images": 1,
        "skip": ("ista-wavelet",),
    },
    "full": {
        "presets": (
            "denoise-sigma25",
            "deblur-gauss",
            "inpaint-half",
            "sr-x4",
            "cs-image-25pct",
            "mri-4x",
            "mri-8x-multicoil",
            "ct-sparse-60",
            "ct-limited-90",
        ),
        "multiples": (0.125, 0.25, 0.5, 1 / _SQRT2, 1.0, _SQRT2, 2.0, 4.0, 8.0),
        "images": 3,
        "skip": (),
    },
}

#: sampling-shift suites: presets, values of each preset's sampling knob, test images per preset, methods
#: left out unless asked for.
SAMPLING_SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "presets": ("mri-4x", "ct-sparse-60"),
        "values": {
            "mri-4x": (2, 4, 8, 12),
            "mri-8x-multicoil": (2, 4, 8, 12),
            "ct-sparse-60": (15, 30, 60, 120),
            "ct-limited-90": (45, 90, 135, 180),
        },
        "images": 1,
        "skip": ("ista-wavelet",),
    },
    "full": {
        "presets": ("mri-4x", "mri-8x-multicoil", "ct-sparse-60", "ct-limited-90"),
        "values": {
            "mri-4x": (2, 4, 6, 8, 12),
            "mri-8x-multicoil": (2, 4, 6, 8, 12),
            "ct-sparse-60": (15, 30, 60, 90, 180),
            "ct-limited-90": (45, 60, 90, 120, 150, 180),
        },
        "images": 3,
        "skip": (),
    },
}

_AXIS_LABELS = {
    "acceleration": "acceleration R (undersampling factor)",
    "angles": "number of projection angles over 180°",
    "angular range (degrees)": "angular range (degrees, 1 angle per degree)",
}
_KNOB_SENTENCES = {
    "acceleration": "The MRI acceleration changes the number of sampled k-space columns and keeps the mask's "
    "fully sampled center band.",
    "angles": "The CT angles are spread evenly over 180°.",
    "angular range (degrees)": "The limited-angle range keeps one angle per degree.",
}
_REF_LABELS = {"acceleration": "R = {}", "angles": "{} angles", "angular range (degrees)": "{}°"}
_NOISE_UNITS = {"mri": "complex k-space noise", "ct": "noise on the ray sums"}


# --- arguments ----------------------------------------------------------------------------------------------
def _check_common(suite: str, suites: dict[str, Any], seed: int, jobs: int) -> tuple[int, int]:
    if suite not in suites:
        raise ValueError(f"suite must be one of {', '.join(map(repr, suites))}; got {suite!r}")
    seed = int(check_number("seed", seed, low=0, integer=True))
    jobs = int(check_number("jobs", jobs, low=1, integer=True))
    return seed, jobs


def _names(arg: str, names: Sequence[str] | None) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"{arg} must be a sequence of names, got the string {names!r}")
    names = list(names)
    if not names:
        return None
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{arg} must contain names (strings), got {n!r}")
    return list(dict.fromkeys(names))


def _select_presets(study: str, names: list[str] | None, default: Sequence[str], applies) -> list:
    """The selected presets (``default`` when ``names`` is None), each checked to exist and to apply."""
    from ..presets import PRESETS, get_preset

    applicable = [n for n in PRESETS if applies(PRESETS[n])]
    out = []
    for name in names if names is not None else default:
        if name not in PRESETS:
            raise ValueError(f"presets must be among {', '.join(applicable)} for {study}; got {name!r}")
        p = get_preset(name)
        if not applies(p):
            raise ValueError(
                f"presets: {name!r} does not apply to {study} (it applies to {', '.join(applicable)})"
            )
        out.append(p)
    return out


def _select_methods(presets: list, methods: list[str] | None, skip: Sequence[str]) -> dict[str, list[str]]:
    """Preset name -> methods to run: its methods (minus ``skip``), or those of ``methods`` it has."""
    if methods is None:
        return {p.name: [m for m in p.methods if m not in skip] for p in presets}
    offered = {m for p in presets for m in p.methods}
    bad = [m for m in methods if m not in offered]
    if bad:
        raise ValueError(
            f"methods must be among the selected presets' methods ({', '.join(sorted(offered))}); got {bad!r}"
        )
    return {p.name: [m for m in p.methods if m in methods] for p in presets}


def _images(p, count: int, samples: Sequence[str] | None) -> list[str]:
    if samples is not None:
        return list(samples)
    pool = PHANTOM_TEST if p.sample == "shepp_logan" else NATURAL_TEST
    return list(dict.fromkeys([p.sample, *pool]))[:count]


def _check_samples(samples: Sequence[str] | None) -> list[str] | None:
    samples = _names("samples", samples)
    if samples is None:
        return None
    from ..data import list_samples

    known = list_samples()
    for s in samples:
        if s not in known:
            raise ValueError(f"samples must be among {', '.join(known)}; got {s!r}")
    return samples


def _check_values(arg: str, values: Sequence[float] | None) -> list[float] | None:
    """Positive numbers, sorted, without repeats (``None`` passes through)."""
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ValueError(f"{arg} must be a non-empty sequence of numbers, got {values!r}")
    return sorted({check_number(arg, v, low=0, low_inclusive=False) for v in values})


# --- running ------------------------------------------------------------------------------------------------
#: Progress-bar settings of studies whose tasks are one (preset, image) problem each.
_TASK_BAR: dict[str, Any] = {"unit": "problem", "label": lambda task: f"{task['preset']} {task['sample']}"}


def _finite(v: float | None) -> float | None:
    """``v`` as a float, or ``None`` for ``None``, NaN and infinities (JSON has no NaN)."""
    return float(v) if v is not None and math.isfinite(v) else None


def _mean(values) -> float | None:
    """The mean of the finite values (``None`` entries skipped), or ``None`` if there are none."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One problem (preset, image, setting) solved by every method of the task (module-level for a pool)."""
    import torch

    from ..methods import get_method
    from ..presets import evaluate, get_preset, make_problem

    p = get_preset(task["preset"])
    problem = make_problem(p, sample=task["sample"], size=task["size"], seed=task["seed"], **task["setting"])
    out: dict[str, Any] = {}
    for m in task["methods"]:
        method = get_method(m, **p.method_params(m))
        start = time.perf_counter()
        with torch.no_grad():
            x_hat = method(problem.y, problem.A)
        seconds = time.perf_counter() - start
        scores = evaluate(x_hat, problem.x_true, p)
        out[m] = {"psnr": scores["psnr"], "ssim": scores["ssim"], "seconds": seconds}
    # MRI masks are random: the fraction actually sampled, next to the nominal acceleration
    fraction = getattr(problem.A, "sampling_fraction", None)
    return {"methods": out, "sampling_fraction": fraction}


def _run_tasks(name: str, tasks: list[dict[str, Any]], jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Results in the order of ``tasks``: in this process, or in a pool of ``jobs`` one-thread workers."""
    return map_ordered(_run_task, tasks, jobs=jobs, threads=1, progress=progress, desc=name, **_TASK_BAR)


def _sweep(
    name: str,
    plan: list[dict[str, Any]],
    size: int | None,
    seed: int,
    jobs: int,
    progress: bool,
) -> float:
    """Run every (preset, setting, image) of ``plan``; store each entry's ``"curves"``.

    Each plan entry has ``preset``, ``methods``, ``images``, ``x`` (the swept values), ``x_key`` (its JSON
    name) and ``settings`` (the ``make_problem`` keyword arguments for each value). ``curves[method]`` gets
    one point per value: mean PSNR, per-image PSNRs, mean SSIM, mean seconds. Returns the wall time (s).
    """
    tasks, keys = [], []
    for entry in plan:
        for j, setting in enumerate(entry["settings"]):
            for k, sample in enumerate(entry["images"]):
                tasks.append(
                    {
                        "preset": entry["preset"],
                        "sample": sample,
                        "size": size,
                        "seed": seed,
                        "setting": setting,
                        "methods": tuple(entry["methods"]),
                    }
                )
                keys.append((entry, j, k))
    wall = time.perf_counter()
    results = _run_tasks(name, tasks, jobs, progress)
    wall = time.perf_counter() - wall
    for entry in plan:
        n_x, n_img = len(entry["x"]), len(entry["images"])
        entry["results"] = {m: [[None] * n_img for _ in range(n_x)] for m in entry["methods"]}
        if entry["x_key"] == "value":
            entry["sampling_fraction"] = [None] * n_x
    for (entry, j, k), res in zip(keys, results, strict=True):
        for m, r in res["methods"].items():
            entry["results"][m][j][k] = r
        if "sampling_fraction" in entry and res["sampling_fraction"] is not None:
            entry["sampling_fraction"][j] = round(res["sampling_fraction"], 6)  # same mask for every image
    for entry in plan:
        if entry.get("sampling_fraction") is not None and all(f is None for f in entry["sampling_fraction"]):
            del entry["sampling_fraction"]
        entry["curves"] = {}
        for m in entry["methods"]:
            points = []
            for j, x in enumerate(entry["x"]):
                per = entry["results"][m][j]
                psnr = [r["psnr"] for r in per]
                points.append(
                    {
                        entry["x_key"]: x,
                        **({"multiple": entry["multiples"][j]} if "multiples" in entry else {}),
                        "psnr": _finite(sum(psnr) / len(psnr)),
                        "psnr_per_image": [_finite(v) for v in psnr],
                        "ssim": _finite(sum(r["ssim"] for r in per) / len(per)),
                        "seconds": sum(r["seconds"] for r in per) / len(per),
                    }
                )
            entry["curves"][m] = points
        del entry["results"]
    return wall


# --- the studies --------------------------------------------------------------------------------------------
def run_noise_shift(
    out: str | Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    size: int | None = None,
    multiples: Sequence[float] | None = None,
    samples: Sequence[str] | None = None,
) -> StudyResult:
    """PSNR of each method when the noise level moves away from the one its parameters were tuned for.

    For every selected preset (image presets with Gaussian noise), the preset's own noise std ``sigma_0`` is
    read from the problem it builds, and the problem is rebuilt with Gaussian noise ``sigma = k sigma_0`` for
    each multiple ``k`` (``make_problem(..., noise_sigma=sigma)``). Every method is run with the parameters
    tuned for ``sigma_0`` (``preset.method_params``). Suites (:data:`NOISE_SUITES`): ``quick`` runs
    denoise-sigma25, deblur-gauss, mri-4x and ct-sparse-60 at ``k`` in {1/4, 1/2, 1, 2, 4} on each preset's
    default image, without ista-wavelet; ``full`` runs all nine image presets at nine multiples from 1/8 to 8
    on three test images each. Measured on the shared 2-core development machine: ``quick`` about 100 s
    (longer when other jobs compete for the cores); ``full`` about 30 min, estimated from the per-method
    times.

    Writes ``out/noise-shift.png`` (one panel per preset: PSNR against ``sigma`` on a log axis, one line per
    method, the dashed line at ``sigma_0``) and ``out/noise-shift.json`` (``data`` below).

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"``.
        presets: Preset names (default: the suite's). Must have Gaussian noise (not ``cs-sparse-250x500``).
        methods: Restrict every preset to these of its methods (default: the preset's methods, minus the
            suite's skipped ones); each must belong to at least one selected preset.
        seed: Seeds the operators' random parts and the noise (the same draw, scaled, at every ``sigma``).
            The same seed gives identical numbers.
        jobs: Worker processes; above 1, problems are spread over a spawn-started process pool whose
            workers use one thread each (timings then differ, PSNRs agree to float rounding).
        progress: Show a progress bar over the problems.
        size: Image side length for every preset (default: each preset's own; for tests).
        multiples: The multiples ``k`` of ``sigma_0`` (default: the suite's; for tests).
        samples: Test images for every preset (default: the suite's; for tests).

    Returns:
        The study result. ``data["presets"][name]`` holds ``tuned_sigma``, ``sigmas``, ``multiples``,
        ``images`` and, per method, its ``params`` and ``points``: one record per ``sigma`` with the mean
        ``psnr``, ``psnr_per_image``, mean ``ssim`` and mean ``seconds`` per reconstruction.
    """
    from ..noise import GaussianNoise
    from ..presets import make_problem

    seed, jobs = _check_common(suite, NOISE_SUITES, seed, jobs)
    config = NOISE_SUITES[suite]
    selected = _select_presets(
        _NOISE,
        _names("presets", presets),
        config["presets"],
        lambda p: p.kind == "image" and p.name != "cs-sparse-250x500",
    )
    wanted = _names("methods", methods)
    per_preset = _select_methods(selected, wanted, config["skip"])
    if size is not None:
        size = int(check_number("size", size, low=8, high=4096, integer=True))
    ks = _check_values("multiples", multiples) or list(config["multiples"])
    sample_override = _check_samples(samples)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    plan = []
    for p in selected:
        if not per_preset[p.name]:
            continue
        noise = make_problem(p, size=size, seed=seed).noise
        if not isinstance(noise, GaussianNoise) or noise.sigma <= 0:
            raise ValueError(f"presets: {p.name!r} has no Gaussian noise, so noise-shift does not apply")
        sigma0 = noise.sigma
        sigmas = [k * sigma0 for k in ks]
        plan.append(
            {
                "preset": p.name,
                "methods": per_preset[p.name],
                "images": _images(p, config["images"], sample_override),
                "x": sigmas,
                "x_key": "sigma",
                "multiples": list(ks),
                "settings": [{"noise_sigma": s} for s in sigmas],
                "reference": sigma0,
                "tuned_sigma": sigma0,
                "sigmas": sigmas,
            }
        )
    wall = _sweep(_NOISE, plan, size, seed, jobs, progress)

    def xlabel(entry):
        unit = _NOISE_UNITS.get(entry["preset"].split("-")[0])
        return "noise std σ" + (f" ({unit})" if unit else "")

    title = "Noise shift: PSNR vs noise level, with parameters tuned for the preset's own level"
    figure = out / f"{_NOISE}.png"
    plot_panels(figure, plan, title, xlabel, lambda e: f"tuned for σ = {fmt(e['reference'])}", logx=True)

    data = {
        "study": _NOISE,
        "suite": suite,
        "seed": seed,
        "size": size,
        "jobs": jobs,
        "presets": public_plan(plan, ("tuned_sigma", "sigmas", "multiples")),
        "wall_seconds": round(wall, 3),
    }
    write_atomic(out / f"{_NOISE}.json", json.dumps(data, indent=1))

    tables = []
    for e in plan:
        n = len(e["images"])
        heading = (
            f"{e['preset']}: PSNR (dB) vs noise std σ, parameters tuned for σ = {fmt(e['tuned_sigma'])} "
            f"(mean over {n} image{'s' if n > 1 else ''})"
        )
        headers = [f"σ = {fmt(s)} (×{fmt(k)})" for s, k in zip(e["sigmas"], e["multiples"], strict=True)]
        tables.append(markdown_table(e, heading, headers))

    names = ", ".join(e["preset"] for e in plan)
    own = ", ".join(f"{e['preset']} σ₀ = {fmt(e['tuned_sigma'])}" for e in plan)
    caption = (
        f"PSNR (dB) of each method on {names} when the Gaussian noise std is σ = k·σ₀ for "
        f"k ∈ {{{', '.join(fmt(k) for k in ks)}}}, where σ₀ is the preset's own noise level (dashed line; "
        f"{own}). Every method keeps the "
        "parameters tuned for σ₀ (listed in noise-shift.json), so the curves show how robust each tuning is "
        "to a wrong noise level; the direct baselines (dashed) have no parameters. σ is in the units of the "
        "measurements: for MRI the std of complex k-space noise, for CT the std on the ray sums. "
        + images_sentence(plan, size)
        + f" Seed {seed} fixes the operators' random parts and the noise realization, the same draw scaled "
        f"to each σ. {suite.capitalize()} suite; run time {wall:.0f} s"
        f" ({jobs} process{'es' if jobs > 1 else ''})."
        + skip_sentence(suite, config["skip"], wanted, plan)
        + dropped_sentence(selected, per_preset)
    )
    return StudyResult(_NOISE, title, caption, [figure], data, tables)


def run_sampling_shift(
    out: str | Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    size: int | None = None,
    values: Sequence[float] | None = None,
    samples: Sequence[str] | None = None,
) -> StudyResult:
    """PSNR of MRI/CT methods at other accelerations, numbers of angles or angular ranges than their preset's.

    For every selected preset with a sampling knob (:attr:`inverselab.presets.Preset.sampling`: mri-4x and
    mri-8x-multicoil change the acceleration of their mask, keeping its center band; ct-sparse-60 the number
    of angles over 180 degrees; ct-limited-90 the angular range, one angle per degree), the problem is rebuilt
    at each value (``make_problem(..., sampling=value)``) with the preset's noise, and every method runs with
    the parameters tuned for the preset's own value. Suites (:data:`SAMPLING_SUITES`): ``quick`` runs mri-4x
    at accelerations {2, 4, 8, 12} and ct-sparse-60 at {15, 30, 60, 120} angles on the default image, without
    ista-wavelet; ``full`` runs all four presets at five or six values each on three test images. Measured on
    the shared 2-core development machine: ``quick`` 60-80 s; ``full`` about 15 min, estimated from the
    per-method times.

    Writes ``out/sampling-shift.png`` (one panel per preset: PSNR against the knob, the dashed line at the
    preset's own value) and ``out/sampling-shift.json``.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"``.
        presets: Preset names with a sampling knob (default: the suite's).
        methods: Restrict every preset to these of its methods (default: the preset's methods, minus the
            suite's skipped ones); each must belong to at least one selected preset.
        seed: Seeds the masks' random parts and the noise. The same seed gives identical numbers.
        jobs: Worker processes; above 1, problems are spread over a spawn-started process pool whose
            workers use one thread each.
        progress: Show a progress bar over the problems.
        size: Image side length for every preset (default: each preset's own; for tests).
        values: Knob values for every selected preset (default: the suite's per-preset values; for tests).
        samples: Test images for every preset (default: the suite's; for tests).

    Returns:
        The study result. ``data["presets"][name]`` holds ``knob``, ``default``, ``values``, ``images``,
        for MRI the ``sampling_fraction`` of k-space each mask samples, and, per method, its ``params`` and
        ``points``: one record per value with the mean ``psnr``, ``psnr_per_image``, mean ``ssim`` and mean
        ``seconds`` per reconstruction.
    """
    seed, jobs = _check_common(suite, SAMPLING_SUITES, seed, jobs)
    config = SAMPLING_SUITES[suite]
    selected = _select_presets(
        _SAMPLING, _names("presets", presets), config["presets"], lambda p: p.sampling is not None
    )
    wanted = _names("methods", methods)
    per_preset = _select_methods(selected, wanted, config["skip"])
    if size is not None:
        size = int(check_number("size", size, low=8, high=4096, integer=True))
    override = _check_values("values", values)
    sample_override = _check_samples(samples)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    plan = []
    for p in selected:
        if not per_preset[p.name]:
            continue
        vals = override or list(config["values"].get(p.name, (p.sampling_default,)))
        plan.append(
            {
                "preset": p.name,
                "methods": per_preset[p.name],
                "images": _images(p, config["images"], sample_override),
                "x": vals,
                "x_key": "value",
                "settings": [{"sampling": v} for v in vals],
                "reference": p.sampling_default,
                "knob": p.sampling,
                "default": p.sampling_default,
                "values": vals,
            }
        )
    from ..presets import make_problem

    for e in plan:  # bad values fail before anything runs (building a problem takes < 0.5 s)
        for v in e["values"]:
            try:
                make_problem(e["preset"], size=size, seed=seed, sampling=v)
            except (TypeError, ValueError) as err:
                raise type(err)(
                    f"values: {v!r} cannot be used as {e['knob']} for {e['preset']!r} ({err})"
                ) from err
    wall = _sweep(_SAMPLING, plan, size, seed, jobs, progress)

    title = "Sampling shift: PSNR vs sampling, with parameters tuned for the preset's own sampling"
    figure = out / f"{_SAMPLING}.png"
    plot_panels(
        figure,
        plan,
        title,
        lambda e: _AXIS_LABELS.get(e["knob"], e["knob"]),
        lambda e: f"tuned for {_REF_LABELS.get(e['knob'], '{}').format(fmt(e['default']))}",
        logx=False,
    )

    data = {
        "study": _SAMPLING,
        "suite": suite,
        "seed": seed,
        "size": size,
        "jobs": jobs,
        "presets": public_plan(plan, ("knob", "default", "values", "sampling_fraction")),
        "wall_seconds": round(wall, 3),
    }
    write_atomic(out / f"{_SAMPLING}.json", json.dumps(data, indent=1))

    tables = []
    for e in plan:
        n = len(e["images"])
        heading = (
            f"{e['preset']}: PSNR (dB) vs {e['knob']}, parameters tuned for {fmt(e['default'])} "
            f"(mean over {n} image{'s' if n > 1 else ''})"
        )
        headers = [fmt(v) + (" (tuned)" if v == e["default"] else "") for v in e["values"]]
        tables.append(markdown_table(e, heading, headers))

    knobs = "; ".join(
        f"{e['preset']}: {e['knob']} ∈ {{{', '.join(map(fmt, e['values']))}}} (own: {fmt(e['default'])})"
        for e in plan
    )
    caption = (
        f"PSNR (dB) of each method when the sampling differs from the preset's own (dashed line). {knobs}. "
        + " ".join(dict.fromkeys(_KNOB_SENTENCES[e["knob"]] for e in plan))
        + (
            " The accelerations are nominal: sampling_fraction in sampling-shift.json gives the fraction of "
            "k-space each mask actually samples."
            if any("sampling_fraction" in e for e in plan)
            else ""
        )
        + " The noise model stays the preset's, and every method keeps the parameters tuned for the preset's "
        + "own sampling (listed in sampling-shift.json); the direct baselines (dashed) have no parameters. "
        + images_sentence(plan, size)
        + f" Seed {seed} fixes the masks' random parts and the noise. {suite.capitalize()} suite; run time "
        f"{wall:.0f} s ({jobs} process{'es' if jobs > 1 else ''})."
        + skip_sentence(suite, config["skip"], wanted, plan)
        + dropped_sentence(selected, per_preset)
    )
    return StudyResult(_SAMPLING, title, caption, [figure], data, tables)
