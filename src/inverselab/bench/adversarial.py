"""The ``adversarial`` study: reconstruction error under worst-case bounded perturbations of the measurements.

For every selected preset, test image and method, :func:`inverselab.robustness.attack` searches by projected
gradient ascent for the perturbation ``e`` with ``‖e‖₂ <= ε ‖y‖₂`` (on the entries the operator produces) that
most increases ``‖f(y + e) - x‖₂``, at each budget ``ε``; the same norm in a random direction is the
comparison. Trained networks are differentiated as they are; classical methods through a fixed number of
their iterations (the suite's ``num_iter``, which is also the setting their clean PSNR is reported for).
A sanity check per preset runs the same attack on the preset's linear direct method (filtered
back-projection, or the complex zero-filled image ``Aᴴy`` for MRI) against its own clean output, where the
worst case is known: the largest singular value times the budget (:func:`inverselab.robustness.linear_gain`).

References: A. Madry et al., ICLR 2018 (PGD); V. Antun et al., PNAS 117(48), 2020; M. Z. Darestani,
A. S. Chaudhari and R. Heckel, "Measuring robustness in deep learning based compressive sensing", ICML 2021.
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
from .shift import (
    _TASK_BAR,
    _check_common,
    _check_samples,
    _check_values,
    _finite,
    _images,
    _mean,
    _names,
    _select_presets,
)
from .shift_figures import fmt, images_sentence, method_styles
from .studies import StudyResult

__all__ = ["ADVERSARIAL_SUITES", "run_adversarial"]

_NAME = "adversarial"

#: Suites: presets, methods per preset, budgets ``ε`` (relative to ‖y‖), PGD steps, random draws per budget,
#: test images per preset, iterations of the classical methods (differentiated through), the budget shown in
#: the example images.
ADVERSARIAL_SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "presets": ("mri-4x", "ct-sparse-60"),
        "methods": {
            "mri-4x": ("zero-filled", "tv-pdhg", "unet", "modl"),
            "ct-sparse-60": ("fbp", "tv-pdhg", "unet", "lpd"),
        },
        "eps": (0.01, 0.03, 0.1),
        "steps": 5,
        "random_draws": 2,
        "images": 1,
        "num_iter": 200,
        "show": 0.03,
    },
    "full": {
        "presets": ("mri-4x", "ct-sparse-60"),
        "methods": {
            "mri-4x": ("zero-filled", "fista-wavelet", "tv-pdhg", "unet", "modl"),
            "ct-sparse-60": ("fbp", "tikhonov-cg", "tv-pdhg", "fista-wavelet", "unet", "lpd"),
        },
        "eps": (0.003, 0.01, 0.03, 0.1),
        "steps": 10,
        "random_draws": 3,
        "images": 2,
        "num_iter": 200,
        "show": 0.03,
    },
}

#: Classical iterative methods the study attacks: run with the suite's ``num_iter``, differentiated through
#: every iteration. tv-admm is left out: through its inner CG solves, the gradient on ct-sparse-60 was about
#: 1000 times larger than the other methods' (5e3 against 1-9), which has not been checked yet.
_ITERATIVE = ("fista-wavelet", "ista-wavelet", "tv-pdhg", "tikhonov-cg", "fista-dct")
_CHECK_STEPS = 50


def _linear_direct(preset_name: str):
    """The preset's linear direct method and a sentence naming it (for the sanity check)."""
    from ..solvers import direct

    if preset_name.startswith("ct-"):
        return (lambda y, A: direct.fbp(y, A)), "filtered back-projection"
    return (lambda y, A: direct.adjoint(y, A)), "the complex zero-filled image Aᴴy"


def _params(p, method: str, num_iter: int) -> dict[str, Any]:
    params = p.method_params(method)
    if method in _ITERATIVE:
        params["num_iter"] = num_iter
    return params


def _run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One (preset, image) problem attacked for every method (module-level, for a process pool)."""
    import torch

    from ..presets import evaluate, get_preset, make_problem
    from ..robustness import (
        attack,
        differentiable_method,
        linear_gain,
        measurement_support,
        random_perturbation,
    )

    p = get_preset(task["preset"])
    pr = make_problem(p, sample=task["sample"], size=task["size"], seed=task["seed"])
    support = measurement_support(pr.A)
    y_norm = float(torch.linalg.vector_norm(pr.y))
    noise_norm = float(torch.linalg.vector_norm((pr.y - pr.A(pr.x_true)) * support))
    out: dict[str, Any] = {"y_norm": y_norm, "noise_norm": noise_norm, "methods": {}, "images": {}}
    gen_seed = task["seed"] * 1000 + task["index"]
    for m in task["methods"]:
        f = differentiable_method(m, **_params(p, m, task["num_iter"]))
        start = time.perf_counter()
        with torch.no_grad():
            clean = evaluate(f(pr.y, pr.A), pr.x_true, p)
        points = []
        for j, eps in enumerate(task["eps"]):
            res = attack(
                f,
                pr.y,
                pr.A,
                pr.x_true,
                eps,
                steps=task["steps"],
                support=support,
                generator=gen_seed + 7919 * j,
            )
            adv = evaluate(res.x, pr.x_true, p)
            rnd = []
            for d in range(task["random_draws"]):
                e = random_perturbation(
                    pr.y, res.radius, support, generator=gen_seed + 7919 * j + 104729 * (d + 1)
                )
                with torch.no_grad():
                    x_r = f(pr.y + e, pr.A)
                rnd.append(evaluate(x_r, pr.x_true, p)["psnr"])
                if d == 0 and task["keep_images"] and eps == task["show"]:
                    out["images"][(m, "random")] = x_r.detach().abs().float()[0, 0].numpy()
            if task["keep_images"] and eps == task["show"]:
                out["images"][(m, "pgd")] = res.x.abs().float()[0, 0].numpy()
            points.append(
                {
                    "eps": eps,
                    "radius": float(res.radius[0]),
                    "psnr": adv["psnr"],
                    "ssim": adv["ssim"],
                    "psnr_random": sum(rnd) / len(rnd),
                    "psnr_random_draws": rnd,
                    "error": float(res.error[0]),
                    "history_mse": [round(h, 6) for h in res.history],
                }
            )
        out["methods"][m] = {
            "clean_psnr": clean["psnr"],
            "clean_ssim": clean["ssim"],
            "points": points,
            "seconds": time.perf_counter() - start,
        }
    if task["keep_images"]:
        out["images"][("truth", "")] = pr.x_true.abs().float()[0, 0].numpy()
    if task["check"]:
        lin, label = _linear_direct(p.name)
        sigma = linear_gain(lin, pr.y, pr.A, num_iter=200, support=support)
        with torch.no_grad():
            x_lin = lin(pr.y, pr.A)
        eps = task["show"]
        res = attack(lin, pr.y, pr.A, x_lin, eps, steps=_CHECK_STEPS, support=support, generator=gen_seed)
        e = random_perturbation(pr.y, res.radius, support, generator=gen_seed + 1)
        with torch.no_grad():
            rnd = float(torch.linalg.vector_norm(lin(pr.y + e, pr.A) - x_lin))
        r = float(res.radius[0])
        out["check"] = {
            "method": label,
            "eps": eps,
            "steps": _CHECK_STEPS,
            "sigma_max": sigma,
            "analytic_change": sigma * r,
            "pgd_change": float(res.error[0]),
            "random_change": rnd,
            "ratio": float(res.error[0]) / (sigma * r) if sigma > 0 else None,
        }
    return out


def run_adversarial(
    out: str | Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    size: int | None = None,
    eps: Sequence[float] | None = None,
    steps: int | None = None,
    samples: Sequence[str] | None = None,
) -> StudyResult:
    """PSNR of classical and learned methods under worst-case (PGD) and random measurement perturbations.

    For each selected preset and test image, each method is attacked at every budget ``ε`` with
    :func:`inverselab.robustness.attack` (``steps`` normalized gradient steps of length ``ε‖y‖`` from a
    random start, perturbations on the entries the operator produces), and also evaluated under random
    perturbations of the same norm. Suites (:data:`ADVERSARIAL_SUITES`): ``quick`` attacks zero-filled,
    TV-PDHG, the shipped U-Net and MoDL on mri-4x and FBP, TV-PDHG, U-Net and learned primal-dual on
    ct-sparse-60 at ``ε`` in {0.01, 0.03, 0.1} with 5 steps on the default image (81 s of CPU, 3 min on
    the shared 2-core machine); ``full`` adds FISTA-wavelet on MRI and Tikhonov-CG and FISTA-wavelet on CT,
    four budgets from 0.003 to 0.1, 10 steps and two images (19 min of CPU, 51 min there). Classical
    methods run 200 iterations (differentiated through all of them; TV-PDHG on mri-4x then reaches 32.8 dB
    against 32.9 at the preset's 500).

    Writes ``out/adversarial.png`` (PSNR against ``ε`` per preset: solid PGD, dotted random, the clean PSNR
    at ``ε = 0``), ``out/adversarial-examples.png`` (the reconstructions under the PGD and a random
    perturbation at the suite's shown budget, first image) and ``out/adversarial.json``.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"``.
        presets: Preset names (default: the suite's); presets outside the suite attack their classical
            methods that support gradients and their feed-forward learned methods.
        methods: Keep only these methods (each must be attacked on at least one selected preset).
        seed: Seeds the operator, noise, random starts and random perturbations.
        jobs: Worker processes (one problem per task).
        progress: Show a progress bar over the problems.
        size: Image side length (default: each preset's own; for tests).
        eps: Budgets (default: the suite's; for tests).
        steps: PGD steps (default: the suite's; for tests).
        samples: Test images for every preset (default: the suite's; for tests).

    Returns:
        The study result. ``data["presets"][name]`` holds ``images``, ``eps``, ``y_norm`` and ``noise_norm``
        per image, the linear ``check`` (``sigma_max``, ``analytic_change``, ``pgd_change``, ``ratio``) and,
        per method, its ``params``, ``clean_psnr`` and ``points``: per ``ε`` the mean ``psnr`` under PGD, the
        mean ``psnr_random`` and the per-image values.
    """
    from ..methods import METHODS

    seed, jobs = _check_common(suite, ADVERSARIAL_SUITES, seed, jobs)
    config = ADVERSARIAL_SUITES[suite]

    def applies(p) -> bool:
        return p.kind == "image" and p.name.split("-")[0] in ("mri", "ct")  # MRI and CT presets

    selected = _select_presets(_NAME, _names("presets", presets), config["presets"], applies)
    wanted = _names("methods", methods)
    per_preset: dict[str, list[str]] = {}
    for p in selected:
        default = config["methods"].get(p.name)
        if default is None:
            default = tuple(
                m
                for m in p.methods + p.learned
                if m in _ITERATIVE
                or m in ("unet", "modl", "lpd", "varnet", "unrolled-pg")
                or METHODS[m].family == "direct"
            )
        per_preset[p.name] = [m for m in default if wanted is None or m in wanted]
    if wanted is not None:
        offered = {m for ms in per_preset.values() for m in ms}
        bad = [m for m in wanted if m not in offered]
        if bad:
            raise ValueError(f"methods must be among those attacked on the selected presets; got {bad!r}")
    if size is not None:
        size = int(check_number("size", size, low=8, high=4096, integer=True))
    budgets = _check_values("eps", eps) or list(config["eps"])
    steps = config["steps"] if steps is None else int(check_number("steps", steps, low=1, integer=True))
    sample_override = _check_samples(samples)
    show = config["show"] if config["show"] in budgets else budgets[len(budgets) // 2]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    plan, tasks = [], []
    for p in selected:
        if not per_preset[p.name]:
            continue
        entry = {
            "preset": p.name,
            "methods": per_preset[p.name],
            "images": _images(p, config["images"], sample_override),
        }
        plan.append(entry)
        for k, sample in enumerate(entry["images"]):
            tasks.append(
                {
                    "preset": p.name,
                    "sample": sample,
                    "size": size,
                    "seed": seed,
                    "index": len(tasks),
                    "methods": tuple(entry["methods"]),
                    "eps": tuple(budgets),
                    "steps": steps,
                    "random_draws": config["random_draws"],
                    "num_iter": config["num_iter"],
                    "show": show,
                    "keep_images": k == 0,
                    "check": k == 0,
                }
            )
    wall = time.perf_counter()
    results = map_ordered(_run_task, tasks, jobs=jobs, threads=1, progress=progress, desc=_NAME, **_TASK_BAR)
    wall = time.perf_counter() - wall

    from ..presets import get_preset

    data_presets: dict[str, Any] = {}
    pictures: dict[str, dict] = {}
    for entry in plan:
        name = entry["preset"]
        p = get_preset(name)
        per_image = [r for t, r in zip(tasks, results, strict=True) if t["preset"] == name]
        rec: dict[str, Any] = {
            "images": entry["images"],
            "eps": budgets,
            "y_norm": [r["y_norm"] for r in per_image],
            "noise_norm": [r["noise_norm"] for r in per_image],
            "check": per_image[0].get("check"),
            "methods": {},
        }
        for m in entry["methods"]:
            recs = [r["methods"][m] for r in per_image]
            points = []
            for j, e in enumerate(budgets):
                pts = [r["points"][j] for r in recs]
                points.append(
                    {
                        "eps": e,
                        "radius_over_noise": _mean(
                            [pt["radius"] / r["noise_norm"] for pt, r in zip(pts, per_image, strict=True)]
                        ),
                        "psnr": _finite(_mean([pt["psnr"] for pt in pts]) or math.nan),
                        "psnr_random": _finite(_mean([pt["psnr_random"] for pt in pts]) or math.nan),
                        "ssim": _finite(_mean([pt["ssim"] for pt in pts]) or math.nan),
                        "psnr_per_image": [_finite(pt["psnr"]) for pt in pts],
                        "psnr_random_per_image": [_finite(pt["psnr_random"]) for pt in pts],
                        "history_mse": [pt["history_mse"] for pt in pts],
                    }
                )
            rec["methods"][m] = {
                "params": _params(p, m, config["num_iter"]),
                "clean_psnr": _finite(_mean([r["clean_psnr"] for r in recs]) or math.nan),
                "clean_psnr_per_image": [_finite(r["clean_psnr"]) for r in recs],
                "points": points,
                "seconds": sum(r["seconds"] for r in recs),
            }
        data_presets[name] = rec
        pictures[name] = per_image[0]["images"]

    from .robustness_figures import plot_adversarial, plot_adversarial_examples

    figure = out / f"{_NAME}.png"
    examples = out / f"{_NAME}-examples.png"
    title = "Adversarial perturbations: PSNR vs perturbation size ‖e‖ ≤ ε‖y‖ (PGD vs random)"
    plot_adversarial(figure, plan, data_presets, title, method_styles(plan))
    plot_adversarial_examples(examples, plan, data_presets, pictures, show)

    data = {
        "study": _NAME,
        "suite": suite,
        "seed": seed,
        "size": size,
        "jobs": jobs,
        "steps": steps,
        "step_size": 1.0,
        "random_draws": config["random_draws"],
        "classical_iterations": config["num_iter"],
        "shown_eps": show,
        "presets": data_presets,
        "wall_seconds": round(wall, 3),
    }
    write_atomic(out / f"{_NAME}.json", json.dumps(data, indent=1))

    tables = [_table(name, rec) for name, rec in data_presets.items()]
    checks = []
    for name, rec in data_presets.items():
        c = rec["check"]
        if c:
            checks.append(
                f"{name}: {c['method']} has σ_max = {c['sigma_max']:.4g}, so at ε = {fmt(c['eps'])} its "
                f"output can change by at most {c['analytic_change']:.4g}; PGD ({c['steps']} steps) changes "
                f"it by {c['pgd_change']:.4g} ({100 * c['ratio']:.1f}% of the bound), a random perturbation "
                f"of the same norm by {c['random_change']:.4g}"
            )
    caption = (
        "PSNR (dB) of each method when the measurements y are perturbed by e with ‖e‖₂ ≤ ε‖y‖₂, for "
        f"ε ∈ {{{', '.join(fmt(e) for e in budgets)}}}: solid lines the worst case found by projected "
        f"gradient ascent on ‖f(y + e) - x‖² ({steps} normalized steps of length ε‖y‖ from a random start, "
        "best iterate; Madry et al. 2018, as in Antun et al. 2020 and Darestani, Chaudhari & Heckel 2021), "
        f"dotted lines random directions of the same norm (mean of {config['random_draws']} draws), the "
        "points at ε = 0 the unperturbed PSNR. Perturbations only touch the entries the operator produces "
        "(the sampled k-space locations for MRI). Learned methods are the shipped networks, differentiated "
        "directly; classical "
        f"methods run {config['num_iter']} iterations, differentiated through all of them (their clean PSNR "
        "is for that setting, which can differ from the preset's). The budget relative to the noise, "
        "‖e‖/‖noise‖, is in the table headers. "
        + images_sentence(plan, size)
        + f" Seed {seed}. {suite.capitalize()} suite; run time {wall:.0f} s. Sanity check of the attack on a "
        "linear method against its own clean output, where the worst case is the largest singular value "
        "times the budget: " + "; ".join(checks) + "."
    )
    return StudyResult(_NAME, title, caption, [figure, examples], data, tables)


def _table(name: str, rec: dict[str, Any]) -> str:
    """Rows methods; columns clean PSNR, then ``PGD / random`` PSNR per budget (the lowest PGD in bold)."""
    heads = []
    for j, e in enumerate(rec["eps"]):
        ratios = [pt["points"][j]["radius_over_noise"] for pt in rec["methods"].values()]
        ratio = ratios[0] if ratios else None
        heads.append(f"ε = {fmt(e)}" + (f" (‖e‖ = {ratio:.2g}‖n‖)" if ratio else ""))
    n = len(rec["images"])
    lines = [
        f"#### {name}: PSNR (dB) clean, and under PGD / random perturbation "
        f"(mean over {n} image{'s' if n > 1 else ''})",
        "",
        "| method | clean | " + " | ".join(heads) + " |",
        "|---|---:|" + "---:|" * len(heads),
    ]

    def cell(v):
        return "—" if v is None else f"{v:.2f}"

    for m, mr in rec["methods"].items():
        cells = [f"{cell(pt['psnr'])} / {cell(pt['psnr_random'])}" for pt in mr["points"]]
        lines.append(f"| {m} | {cell(mr['clean_psnr'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
