"""The ``small-features`` study: do reconstructions keep small details that the training data did not have?

Small synthetic features (bright and dark discs of radius 1 to 2.5 px, bright and dark lines a few pixels
long; :mod:`inverselab.robustness.features`) are added at known, reproducible positions in flat parts of each
test image; the preset's measurement of that image is reconstructed by every method, and so is the
measurement of the same image without the features (same operator, same noise draw). For each feature the
study reports the local error in a window around it relative to the feature (0 perfect, about 1 missing),
the contrast recovered against its surround (1 full, 0 gone; ``detected`` at one half or more) and the
fraction of the inserted change that reaches the output, ``<x̂ - x̂₀, δ> / ‖δ‖²`` (``x̂₀`` the reconstruction
without the features).

This is the "small structural change" experiment of Antun et al. (PNAS 2020) and the small-lesion insertion
of Cheng et al. (MIDL 2020), run over classical, learned and untrained methods of a preset.
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
from .shift import _TASK_BAR, _check_common, _check_samples, _finite, _images, _mean, _names, _select_presets
from .shift_figures import images_sentence
from .studies import StudyResult

__all__ = ["SMALL_FEATURE_SUITES", "run_small_features"]

_NAME = "small-features"

_QUICK_SHAPES = (("disc", 1.0, 0.2), ("disc", 2.0, 0.2), ("disc", 2.0, -0.15), ("line", 6.0, 0.2))
_FULL_SHAPES = (
    ("disc", 1.0, 0.2),
    ("disc", 1.5, 0.2),
    ("disc", 2.5, 0.2),
    ("disc", 1.5, -0.15),
    ("disc", 2.5, -0.15),
    ("line", 5.0, 0.2),
    ("line", 9.0, 0.2),
    ("line", 7.0, -0.15),
)

#: Suites: presets, features ``(kind, size px, amplitude)`` per image, test images per preset, methods left
#: out, and parameter overrides of the untrained methods (their budget).
SMALL_FEATURE_SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "presets": ("mri-4x", "ct-sparse-60"),
        "shapes": _QUICK_SHAPES,
        "images": 1,
        "skip": ("ista-wavelet",),
        "untrained": {"num_iter": 500},
    },
    "full": {
        "presets": ("mri-4x", "ct-sparse-60", "mri-8x-multicoil"),
        "shapes": _FULL_SHAPES,
        "images": 2,
        "skip": (),
        "untrained": {},
    },
}

_MARGIN = 3
_THRESHOLD = 0.5
_MIN_CNR = 2.0


def _run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One (preset, image): every method with and without the features (module-level, for a pool)."""
    import torch

    from ..methods import METHODS, get_method
    from ..presets import evaluate, get_preset, make_problem
    from ..robustness import feature_scores, insert_features, place_features

    p = get_preset(task["preset"])
    x0 = make_problem(p, sample=task["sample"], size=task["size"], seed=task["seed"]).x_true
    features = place_features(
        x0, task["shapes"], generator=task["seed"] * 1000 + task["index"], margin=_MARGIN
    )
    x = insert_features(x0, features)
    pr = make_problem(p, x=x, seed=task["seed"])
    pr0 = make_problem(p, x=x0, seed=task["seed"])
    data_range = float(x.max()) if p.data_range == "max" else float(p.data_range)
    out: dict[str, Any] = {"features": [f.to_dict() for f in features], "methods": {}, "images": {}}
    for m in task["methods"]:
        params = p.method_params(m)
        if METHODS[m].family == "untrained":
            params.update(task["untrained"])
        method = get_method(m, **params)
        start = time.perf_counter()
        with torch.no_grad():
            x_hat = method(pr.y, pr.A)
            x_base = method(pr0.y, pr0.A)
        seconds = time.perf_counter() - start
        scores = feature_scores(
            x_hat,
            x,
            features,
            baseline=x_base,
            margin=_MARGIN,
            data_range=data_range,
            threshold=_THRESHOLD,
            min_cnr=_MIN_CNR,
        )
        out["methods"][m] = {
            "psnr": evaluate(x_hat, x, p)["psnr"],
            "params": params,
            "features": scores,
            "seconds": seconds,
        }
        if task["keep_images"]:
            out["images"][m] = x_hat.detach().abs().float()[0, 0].numpy()
    if task["keep_images"]:
        out["images"]["truth"] = x[0, 0].float().numpy()
    return out


def run_small_features(
    out: str | Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    size: int | None = None,
    samples: Sequence[str] | None = None,
    shapes: Sequence[tuple[str, float, float]] | None = None,
) -> StudyResult:
    """Local error and contrast of small inserted features, for classical, learned and untrained methods.

    Suites (:data:`SMALL_FEATURE_SUITES`): ``quick`` inserts four features (bright discs of radius 1 and
    2 px, a dark disc of radius 2, a bright 6 px line) in the default image of mri-4x and ct-sparse-60 and
    runs every method of the presets but ista-wavelet, the untrained ConvDecoder with a 500-step budget
    (77 s of CPU, 2.5 min on the shared 2-core machine); ``full`` inserts eight features in two images each
    of mri-4x, ct-sparse-60 and mri-8x-multicoil with every method at the preset's settings (without the
    ConvDecoder, 1.5 min of CPU; each ConvDecoder fit at its full budget adds up to 2.5 min, four per preset).

    Writes ``out/small-features.png`` (crops around three features of the first image per preset: the truth
    and each method's reconstruction, with the contrast recovered) and ``out/small-features.json``.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"``.
        presets: Preset names (MRI and CT presets; default: the suite's).
        methods: Keep only these methods (each must belong to a selected preset).
        seed: Seeds the operators, noise and feature positions.
        jobs: Worker processes (one problem per task).
        progress: Show a progress bar over the problems.
        size: Image side length (default: each preset's own; for tests).
        samples: Test images for every preset (default: the suite's; for tests).
        shapes: Features ``(kind, size, amplitude)`` (default: the suite's; for tests).

    Returns:
        The study result. ``data["presets"][name]`` holds ``images``, the ``features`` placed in each and, per
        method, its ``params``, ``psnr`` (whole image, mean), the means over all features of ``local_error``,
        ``contrast_recovery`` and ``recovered_fraction``, ``detected`` / ``total``, and the per-feature
        ``scores`` per image.
    """
    seed, jobs = _check_common(suite, SMALL_FEATURE_SUITES, seed, jobs)
    config = SMALL_FEATURE_SUITES[suite]

    def applies(p) -> bool:
        return p.kind == "image" and p.name.split("-")[0] in ("mri", "ct")  # MRI and CT presets

    selected = _select_presets(_NAME, _names("presets", presets), config["presets"], applies)
    wanted = _names("methods", methods)
    per_preset = {
        p.name: [m for m in p.all_methods if (m in wanted if wanted is not None else m not in config["skip"])]
        for p in selected
    }
    if wanted is not None:
        offered = {m for p in selected for m in p.all_methods}
        bad = [m for m in wanted if m not in offered]
        if bad:
            raise ValueError(f"methods must be among the selected presets' methods; got {bad!r}")
    if size is not None:
        size = int(check_number("size", size, low=8, high=4096, integer=True))
    sample_override = _check_samples(samples)
    shape_list = tuple(tuple(s) for s in (shapes if shapes is not None else config["shapes"]))
    if not shape_list:
        raise ValueError("shapes must list at least one feature (kind, size, amplitude)")
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
                    "shapes": shape_list,
                    "untrained": dict(config["untrained"]),
                    "keep_images": k == 0,
                }
            )
    wall = time.perf_counter()
    results = map_ordered(_run_task, tasks, jobs=jobs, threads=1, progress=progress, desc=_NAME, **_TASK_BAR)
    wall = time.perf_counter() - wall

    data_presets: dict[str, Any] = {}
    crop_rows = []
    for entry in plan:
        name = entry["preset"]
        per_image = [r for t, r in zip(tasks, results, strict=True) if t["preset"] == name]
        rec: dict[str, Any] = {
            "images": entry["images"],
            "features": [r["features"] for r in per_image],
            "methods": {},
        }
        for m in entry["methods"]:
            scores = [s for r in per_image for s in r["methods"][m]["features"]]
            rec["methods"][m] = {
                "params": per_image[0]["methods"][m]["params"],
                "psnr": _finite(_mean(r["methods"][m]["psnr"] for r in per_image)),
                "local_error": _finite(_mean(s["local_error"] for s in scores)),
                "local_psnr": _finite(_mean(s["local_psnr"] for s in scores)),
                "contrast_recovery": _finite(_mean(s["contrast_recovery"] for s in scores)),
                "cnr": _finite(_mean(s["cnr"] for s in scores)),
                "recovered_fraction": _finite(_mean(s["recovered_fraction"] for s in scores)),
                "detected": sum(bool(s["detected"]) for s in scores),
                "total": len(scores),
                "seconds": sum(r["methods"][m]["seconds"] for r in per_image),
                "scores": [
                    [
                        {k: (_finite(v) if isinstance(v, float) else v) for k, v in s.items()}
                        for s in r["methods"][m]["features"]
                    ]
                    for r in per_image
                ],
            }
        data_presets[name] = rec
        first = per_image[0]
        feats = first["features"]
        order = _crop_choice(feats)
        for i in order:
            f = feats[i]
            crop_rows.append(
                {
                    "label": f"{name}\n{_label(f)}",
                    "center": (f["row"], f["col"]),
                    "truth": first["images"]["truth"],
                    "methods": {m: first["images"][m] for m in entry["methods"]},
                    "scores": {
                        m: f"CR {_fmt(first['methods'][m]['features'][i]['contrast_recovery'])}"
                        for m in entry["methods"]
                    },
                }
            )

    from .robustness_figures import plot_feature_crops

    figure = out / f"{_NAME}.png"
    title = "Small-feature recovery: crops around inserted features (CR = contrast recovered, 1 = full)"
    plot_feature_crops(figure, crop_rows, title)

    data = {
        "study": _NAME,
        "suite": suite,
        "seed": seed,
        "size": size,
        "jobs": jobs,
        "shapes": [list(s) for s in shape_list],
        "margin": _MARGIN,
        "threshold": _THRESHOLD,
        "min_cnr": _MIN_CNR,
        "untrained_overrides": config["untrained"],
        "presets": data_presets,
        "wall_seconds": round(wall, 3),
    }
    write_atomic(out / f"{_NAME}.json", json.dumps(data, indent=1))

    tables = []
    for name, rec in data_presets.items():
        tables.append(_summary_table(name, rec))
        tables.append(_feature_table(name, rec))
    kinds = "; ".join(
        (f"disc of radius {s:g} px" if k == "disc" else f"line of {s:g} px") + f", amplitude {a:+g}"
        for k, s, a in shape_list
    )
    untrained = (
        f" Untrained networks run with {', '.join(f'{k} = {v}' for k, v in config['untrained'].items())} "
        "(a shorter budget than their presets')."
        if config["untrained"]
        else ""
    )
    caption = (
        f"Features inserted in each test image ({kinds}) at reproducible positions in flat regions inside "
        "the object (image ≥ 0.05 around them), then measured and reconstructed with the preset's operator "
        "and noise; the same image without the features is reconstructed from the same noise draw. Per "
        f"feature: local error = ‖(x̂ - x) in a window (footprint + {_MARGIN} px)‖ / ‖feature‖ (0 perfect, "
        "about 1 missing); contrast recovery CR = (mean inside - mean of the ring around it) in x̂ over the "
        "same in x (1 full, 0 gone); CNR = that contrast in x̂ over the standard deviation of x̂ - x on the "
        f"ring (does it stand out of the local error?); detected when CR ≥ {_THRESHOLD} and CNR ≥ "
        f"{_MIN_CNR:g}; recovered fraction = <x̂ - x̂₀, δ>/‖δ‖², the part of the inserted change δ that "
        "reaches the output (x̂₀ without the features). PSNR is over the whole image. "
        + images_sentence(plan, size)
        + untrained
        + f" Seed {seed}. {suite.capitalize()} suite; run time {wall:.0f} s."
    )
    return StudyResult(_NAME, title, caption, [figure], data, tables)


def _fmt(v) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.2f}"


def _label(f: dict[str, Any]) -> str:
    tone = "bright" if f["amplitude"] > 0 else "dark"
    return f"{tone} disc r={f['size']:g}" if f["kind"] == "disc" else f"{tone} line {f['size']:g} px"


def _crop_choice(feats: list[dict[str, Any]]) -> list[int]:
    """Up to three features to show: the smallest bright disc, a dark one, a line."""
    picks = []
    bright = [i for i, f in enumerate(feats) if f["kind"] == "disc" and f["amplitude"] > 0]
    if bright:
        picks.append(min(bright, key=lambda i: feats[i]["size"]))
    dark = [i for i, f in enumerate(feats) if f["amplitude"] < 0]
    if dark:
        picks.append(dark[0])
    lines = [i for i, f in enumerate(feats) if f["kind"] == "line" and i not in picks]
    if lines:
        picks.append(lines[0])
    return picks or [0]


def _summary_table(name: str, rec: dict[str, Any]) -> str:
    n = len(rec["images"])
    lines = [
        f"#### {name}: small-feature recovery (mean over all features of {n} image{'s' if n > 1 else ''})",
        "",
        "| method | PSNR (dB) | local error | local PSNR (dB) | contrast recovery | CNR | recovered fraction "
        "| detected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m, r in rec["methods"].items():
        lines.append(
            f"| {m} | {_fmt(r['psnr'])} | {_fmt(r['local_error'])} | {_fmt(r['local_psnr'])} | "
            f"{_fmt(r['contrast_recovery'])} | {_fmt(r['cnr'])} | {_fmt(r['recovered_fraction'])} | "
            f"{r['detected']}/{r['total']} |"
        )
    return "\n".join(lines)


def _feature_table(name: str, rec: dict[str, Any]) -> str:
    """Contrast recovery per feature of the first image (rows methods)."""
    feats = rec["features"][0]
    heads = [_label(f) for f in feats]
    lines = [
        f"#### {name}: contrast recovery per feature ({rec['images'][0]})",
        "",
        "| method | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for m, r in rec["methods"].items():
        lines.append(f"| {m} | " + " | ".join(_fmt(s["contrast_recovery"]) for s in r["scores"][0]) + " |")
    return "\n".join(lines)
