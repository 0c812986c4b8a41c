"""Distribution shift of the images: networks trained on one image class and tested on another.

``inverselab bench --study distribution-shift`` (:func:`run_distribution_shift`) trains small networks
itself, with the library's trainer (:func:`inverselab.training.trainer.train`, seeded, budgets recorded), on
a source class P (random-ellipse phantoms, the usual training set of learned CT/MRI) and on a target class Q
(crops of the training photos), for one operator (a preset), and tests them on held-out natural images (the
bench's test photos, never trained on). The distribution-shift gap of a trained method is

    gap = quality(trained on Q, tested on Q) - quality(trained on P, tested on Q)

in PSNR and SSIM (Darestani, Chaudhari & Heckel, ICML 2021; Darestani, Liu & Heckel, ICML 2022). Beside the
post-processing U-Net and an unrolled network (MoDL), the untrained networks (Deep Decoder, ConvDecoder) use
no training data, so they have no gap by construction: their absolute numbers on Q stand next to the trained
ones, with the preset's classical method (TV) and its direct baseline for reference.

The test-time-training study (:mod:`inverselab.bench.ttt`) reuses :func:`train_pair` and the suites here.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._checks import check_number
from .._files import write_atomic
from .studies import StudyResult
from .suites import NATURAL_TEST

__all__ = [
    "DISTRIBUTION_SUITES",
    "TRAINED",
    "run_distribution_shift",
    "train_pair",
    "score",
]

_NAME = "distribution-shift"

#: The trained methods: method name -> family shown in the tables.
TRAINED = {"unet": "learned (post-processing U-Net)", "modl": "unrolled (MoDL)"}

#: Small networks for CPU training (the same for every preset and both image classes).
_MODELS: dict[str, dict[str, Any]] = {
    "unet": {"chans": 16, "num_pool_layers": 3},
    "modl": {"num_iter": 3, "features": 16, "depth": 4, "cg_iter": 5},
}

#: Suites: presets, image side, source and target classes, test images, training budget (the
#: :class:`~inverselab.training.trainer.TrainConfig` fields), and per preset the untrained and classical
#: methods with their parameters (the untrained budgets are cut for the image size and the CPU).
DISTRIBUTION_SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "presets": ("mri-4x",),
        "size": 64,
        "source": "ellipses",
        "target": "photos",
        "target_images": NATURAL_TEST,
        "source_images": ("shepp_logan",),
        "models": ("unet", "modl"),
        "train": {"epochs": 1, "steps_per_epoch": 300, "batch_size": 8, "num_train": 512, "num_val": 8},
        # the presets' untrained widths (tuned at 128 px), budgets cut for the CPU
        "untrained": {
            "mri-4x": {"convdecoder": {"channels": 32, "num_iter": 500}},
            "ct-sparse-60": {"deep-decoder": {"channels": 32, "num_iter": 1000}},
        },
    },
    "full": {
        "presets": ("mri-4x", "ct-sparse-60"),
        "size": 128,
        "source": "ellipses",
        "target": "photos",
        "target_images": NATURAL_TEST,
        "source_images": ("shepp_logan",),
        "models": ("unet", "modl"),
        "train": {"epochs": 2, "steps_per_epoch": 250, "batch_size": 8, "num_train": 1024, "num_val": 8},
        "untrained": {
            "mri-4x": {"convdecoder": {"channels": 32, "num_iter": 3000}},
            "ct-sparse-60": {"deep-decoder": {"channels": 64, "num_iter": 2000}},
        },
    },
}


# --- arguments ----------------------------------------------------------------------------------------------
def check_common(
    study: str, suite: str, presets: Sequence[str] | None, seed: int, jobs: int
) -> tuple[dict[str, Any], list[str], int]:
    """The suite's configuration, the selected presets (checked) and the seed; errors name the argument."""
    if suite not in DISTRIBUTION_SUITES:
        raise ValueError(f"suite must be one of {', '.join(map(repr, DISTRIBUTION_SUITES))}; got {suite!r}")
    seed = int(check_number("seed", seed, low=0, integer=True))
    check_number("jobs", jobs, low=1, integer=True)
    config = DISTRIBUTION_SUITES[suite]
    supported = list(dict.fromkeys(p for s in DISTRIBUTION_SUITES.values() for p in s["untrained"]))
    if presets is None or len(presets) == 0:
        names = list(config["presets"])
    else:
        if isinstance(presets, str):
            raise TypeError(f"presets must be a sequence of names, got the string {presets!r}")
        names = list(dict.fromkeys(presets))
        for n in names:
            if n not in supported:
                raise ValueError(f"presets must be among {', '.join(supported)} for {study}; got {n!r}")
    return config, names, seed


def check_methods(methods: Sequence[str] | None, offered: Sequence[str]) -> list[str]:
    """``offered`` filtered to ``methods`` (all when ``None``); unknown names are an error naming them."""
    if methods is None or len(methods) == 0:
        return list(offered)
    if isinstance(methods, str):
        raise TypeError(f"methods must be a sequence of names, got the string {methods!r}")
    bad = [m for m in methods if m not in offered]
    if bad:
        raise ValueError(f"methods must be among {', '.join(offered)}; got {bad!r}")
    return [m for m in offered if m in methods]


# --- training -----------------------------------------------------------------------------------------------
def train_pair(
    out: Path,
    preset: str,
    model: str,
    config: dict[str, Any],
    seed: int,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Train ``model`` for ``preset`` on the suite's source and target classes (one seeded run each).

    Each run writes ``out/models/<preset>/<model>-<class>/`` (checkpoints, ``log.csv``, ``model.safetensors``
    and its sidecar). A directory whose sidecar holds the same training configuration is reused (so the
    distribution-shift and test-time-training studies share their models when given the same ``out``), and
    an interrupted run of the same configuration resumes from its last checkpoint.

    Returns:
        ``{"source": record, "target": record}``: each with ``weights`` (the ``.safetensors`` path),
        ``data`` (what it trained on), ``train_config``, ``val_psnr`` (on held-out images of its own class),
        ``seconds`` (training time) and ``reused``.
    """
    from ..training.checkpoints import read_sidecar
    from ..training.trainer import TrainConfig

    records = {}
    for role in ("source", "target"):
        data = config[role]
        cfg = TrainConfig(
            preset=preset,
            model=model,
            model_config=dict(_MODELS[model]),
            data=data,
            patch=config["size"],
            seed=seed,
            **config["train"],
        )
        run = out / "models" / preset / f"{model}-{data}"
        sidecar = run / "model.json"
        reused = False
        if sidecar.exists():
            side = read_sidecar(sidecar)
            # the trainer records the configuration with the noise range it derived from the preset
            want = json.loads(
                json.dumps({**asdict(cfg), "sigma_range": side["train_config"].get("sigma_range")})
            )
            reused = side.get("train_config") == want
        if not reused:
            side = _train_or_resume(cfg, run, progress, f"(study) {model} on {data} for {preset}")
        seconds = sum(float(h["seconds"]) for h in side["history"])
        records[role] = {
            "weights": str(run / "model.safetensors"),
            "class": data,
            "data": side["data"],
            "train_config": side["train_config"],
            "val_psnr": round(float(side["metrics"]["val_psnr"]), 3),
            "seconds": round(seconds, 1),
            "reused": reused,
        }
    return records


def _train_or_resume(cfg, run: Path, progress: bool, command: str) -> dict[str, Any]:
    """Train ``cfg`` into ``run``: resume an interrupted run of the same configuration from its last
    checkpoint (the trainer gives the same weights as an uninterrupted run), else start afresh."""
    import shutil

    from ..training.checkpoints import latest_checkpoint
    from ..training.trainer import train

    if (run / "model.json").exists():  # finished, but for another configuration
        shutil.rmtree(run)
    elif latest_checkpoint(run / "checkpoints") is not None:
        try:
            return train(cfg, run, resume=True, progress=progress, command=command)
        except ValueError:  # checkpoints of another configuration
            shutil.rmtree(run)
    elif run.exists():
        shutil.rmtree(run)
    return train(cfg, run, progress=progress, command=command)


# --- evaluation ---------------------------------------------------------------------------------------------
def score(x_hat, problem) -> dict[str, float]:
    """PSNR and SSIM of ``x_hat`` for ``problem`` (the preset's data range and conventions)."""
    from ..presets import evaluate

    s = evaluate(x_hat, problem.x_true, problem.preset)
    return {"psnr": s["psnr"], "ssim": s["ssim"]}


def _run(fn, problem) -> dict[str, float]:
    import torch

    start = time.perf_counter()
    with torch.no_grad():
        x = fn(problem.y, problem.A)
    return {**score(x, problem), "seconds": time.perf_counter() - start}


def summarize(per_image: list[dict[str, float]]) -> dict[str, Any]:
    """Mean PSNR/SSIM/seconds over images, and the per-image values (rounded)."""
    n = len(per_image)
    return {
        "psnr": round(sum(r["psnr"] for r in per_image) / n, 3),
        "ssim": round(sum(r["ssim"] for r in per_image) / n, 4),
        "psnr_per_image": [round(r["psnr"], 3) for r in per_image],
        "ssim_per_image": [round(r["ssim"], 4) for r in per_image],
        **(
            {"seconds": round(sum(r["seconds"] for r in per_image) / n, 3)}
            if "seconds" in per_image[0]
            else {}
        ),
    }


def problems(preset: str, images: Sequence[str], size: int, seed: int) -> list:
    """The preset's problem on each test image (the same operator and noise draw for every method)."""
    from ..presets import make_problem

    return [make_problem(preset, sample=img, size=size, seed=seed) for img in images]


def _plan_methods(preset: str, config: dict[str, Any], wanted: Sequence[str] | None) -> dict[str, list]:
    from ..presets import get_preset

    p = get_preset(preset)
    trained = list(config["models"])
    untrained = list(config["untrained"].get(preset, {}))
    classical = [p.default_method, p.baseline]
    offered = trained + untrained + classical
    chosen = check_methods(wanted, offered) if wanted is not None else offered
    return {
        "trained": [m for m in trained if m in chosen],
        "untrained": [m for m in untrained if m in chosen],
        "classical": [m for m in classical if m in chosen],
    }


# --- the study ----------------------------------------------------------------------------------------------
def run_distribution_shift(
    out: str | Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    config: dict[str, Any] | None = None,
) -> StudyResult:
    """Train on one image class, test on another: the distribution-shift gap of trained reconstructors.

    For every selected preset, a post-processing U-Net (``unet``, after the preset's direct method) and an
    unrolled MoDL (``modl``) are trained twice with the library's trainer and the same seed and budget: on
    the source class P (``"ellipses"``: random-ellipse phantoms) and on the target class Q (``"photos"``:
    random crops of the training photos). Both are tested on held-out natural images (Q; the bench's test
    photos, never trained on), and on the Shepp-Logan phantom (P) as the in-distribution check. The gap
    ``Q→Q - P→Q`` is reported in PSNR and SSIM. The untrained networks (Deep Decoder; ConvDecoder for MRI)
    and the preset's classical method (TV) and direct baseline run on the same Q problems: they use no
    training data, so they have no gap. Suites (:data:`DISTRIBUTION_SUITES`): ``quick`` is mri-4x at 64 px
    with 300 training steps of 8 images per network; ``full`` is mri-4x and ct-sparse-60 at 128 px with 500
    steps per network; both test on the four natural test images (camera, astronaut, coins, moon). Measured
    on the shared 2-core development machine (one thread, load about 6): ``quick`` 8 min (5.6 of them
    training); ``full`` on mri-4x with the U-Net alone 36 min (25 of them training the two U-Nets), so about
    1.5 h for the whole suite (estimated; less on an idle core).

    Writes ``out/distribution-shift.png`` (per preset: PSNR on Q of every method, the trained ones as a pair
    of bars, P-trained and Q-trained, with the gap written above) and ``out/distribution-shift.json``
    (``data`` below), and the trained networks under ``out/models`` (reused by a later run with the same
    configuration, e.g. the test-time-training study).

    References:
        M. Zalbagi Darestani, A. Chaudhari and R. Heckel, "Measuring robustness in deep learning based
        compressive sensing", ICML 2021. M. Zalbagi Darestani, J. Liu and R. Heckel, "Test-time training can
        close the natural distribution shift performance gap in deep learning based compressed sensing",
        ICML 2022.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"``.
        presets: Preset names (default: the suite's); among ``mri-4x`` and ``ct-sparse-60``.
        methods: Keep only these methods (among the trained ``unet``, ``modl``, the preset's untrained ones,
            its default classical method and its baseline).
        seed: Seeds the training runs (data, initialization, batches, masks, noise) and the test problems
            (operator and noise). The same seed gives the same numbers on the same machine.
        jobs: Accepted for the CLI; the study runs in one process (training dominates its time).
        progress: Show the training progress bars.
        config: Replace the suite's configuration (a dict like those of :data:`DISTRIBUTION_SUITES`; for
            tests).

    Returns:
        The study result. ``data["presets"][name]`` holds the ``target_images``, ``source_images``, the
        ``training`` records of each trained method (``source`` and ``target``: weights path, data,
        configuration, validation PSNR, seconds) and ``methods``: per trained method ``family``,
        ``source_on_target``, ``target_on_target``, ``source_on_source``, ``target_on_source`` (mean ``psnr``,
        ``ssim`` and per image) and ``gap_psnr``, ``gap_ssim``; per untrained or classical method
        ``family``, ``params``, ``on_target``, ``on_source`` (classical only) and ``gap_psnr = gap_ssim = 0``.
    """
    from ..methods import get_method
    from ..presets import get_preset

    base, names, seed = check_common(_NAME, suite, presets, seed, jobs)
    config = dict(base if config is None else config)
    wanted = None if methods is None or len(methods) == 0 else list(methods)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plans = {name: _plan_methods(name, config, wanted) for name in names}
    if wanted is not None:
        offered = {m for pl in plans.values() for ms in pl.values() for m in ms}
        missing = [m for m in wanted if m not in offered]
        if missing:
            raise ValueError(f"methods: {missing!r} apply to none of the selected presets")
    size = int(config["size"])
    wall = time.perf_counter()
    presets_data: dict[str, Any] = {}
    for name in names:
        p = get_preset(name)
        plan = plans[name]
        target_pr = problems(name, config["target_images"], size, seed)
        source_pr = problems(name, config["source_images"], size, seed)
        rec: dict[str, Any] = {
            "target_images": list(config["target_images"]),
            "source_images": list(config["source_images"]),
            "training": {},
            "methods": {},
        }
        for m in plan["trained"]:
            pair = train_pair(out, name, m, config, seed, progress)
            rec["training"][m] = pair
            entry: dict[str, Any] = {"family": TRAINED[m], "network_config": _MODELS[m]}
            for role in ("source", "target"):
                fn = get_method(m, weights=pair[role]["weights"])
                entry[f"{role}_on_target"] = summarize([_run(fn, pr) for pr in target_pr])
                entry[f"{role}_on_source"] = summarize([_run(fn, pr) for pr in source_pr])
            entry["gap_psnr"] = round(
                entry["target_on_target"]["psnr"] - entry["source_on_target"]["psnr"], 3
            )
            entry["gap_ssim"] = round(
                entry["target_on_target"]["ssim"] - entry["source_on_target"]["ssim"], 4
            )
            rec["methods"][m] = entry
        for m in plan["untrained"]:
            params = dict(config["untrained"][name][m])
            fn = get_method(m, **params)
            rec["methods"][m] = {
                "family": "untrained (no training data)",
                "params": params,
                "on_target": summarize([_run(fn, pr) for pr in target_pr]),
                "gap_psnr": 0.0,
                "gap_ssim": 0.0,
            }
        for m in plan["classical"]:
            params = p.method_params(m)
            fn = get_method(m, **params)
            rec["methods"][m] = {
                "family": "direct baseline" if m == p.baseline else "classical",
                "params": params,
                "on_target": summarize([_run(fn, pr) for pr in target_pr]),
                "on_source": summarize([_run(fn, pr) for pr in source_pr]),
                "gap_psnr": 0.0,
                "gap_ssim": 0.0,
            }
        presets_data[name] = rec
    wall = time.perf_counter() - wall

    data = {
        "study": _NAME,
        "suite": suite,
        "seed": seed,
        "size": size,
        "source": config["source"],
        "target": config["target"],
        "training_budget": {**config["train"], "patch": size, "lr": 1e-3, "models": _MODELS},
        "presets": presets_data,
        "wall_seconds": round(wall, 1),
    }
    write_atomic(out / f"{_NAME}.json", json.dumps(data, indent=1))
    figure = out / f"{_NAME}.png"
    _plot(figure, data)
    tables = [_table(name, rec, data) for name, rec in presets_data.items()]
    return StudyResult(_NAME, _title(data), _caption(data, suite), [figure], data, tables)


# --- report -------------------------------------------------------------------------------------------------
_WORDS = {"ellipses": "random-ellipse phantoms", "photos": "crops of the training photos"}


def _title(data: dict[str, Any]) -> str:
    return f"Distribution shift: trained on {data['source']} (P), tested on natural images (Q)"


def _caption(data: dict[str, Any], suite: str) -> str:
    t = data["training_budget"]
    steps = t["epochs"] * t["steps_per_epoch"]
    any_rec = next(iter(data["presets"].values()))
    trained_s = sum(
        r["seconds"]
        for rec in data["presets"].values()
        for pair in rec["training"].values()
        for r in pair.values()
    )
    m = _MODELS
    return (
        f"PSNR (dB) on natural test images (Q: {', '.join(any_rec['target_images'])}; "
        f"{data['size']} × {data['size']} px, grayscale, never trained on) of networks trained on "
        f"P = {_WORDS[data['source']]} (light bars) and on Q = {_WORDS[data['target']]} (dark bars), with "
        f"the same seed and budget: {steps} AdamW steps of {t['batch_size']} images ({t['patch']} px, "
        f"learning rate {t['lr']:g}, cosine decay) from a pool of {t['num_train']} images, a fresh random "
        "operator instance per step for random-mask presets. The number above each pair is the "
        "distribution-shift gap Q→Q − P→Q. The untrained networks (fitted to each measurement, no training "
        "data) and the classical method (TV) and direct baseline have no gap by construction and are shown "
        "once. The in-distribution check (tested on the Shepp-Logan phantom, P) is in the table. U-Net: "
        f"{m['unet']['chans']} channels, {m['unet']['num_pool_layers']} poolings, after the direct method; "
        f"MoDL: {m['modl']['num_iter']} iterations of a {m['modl']['depth']}-layer CNN of "
        f"{m['modl']['features']} channels and {m['modl']['cg_iter']} CG steps. Seed {data['seed']} fixes "
        f"training and test problems. {suite.capitalize()} suite; training {trained_s:.0f} s, total "
        f"{data['wall_seconds']:.0f} s in one process. Reference: Darestani, Liu & Heckel, ICML 2022."
    )


def _fmt_pair(rec: dict[str, Any], key: str, digits: int) -> str:
    return f"{rec[key]:.{digits}f}" if rec.get(key) is not None else "—"


def _table(name: str, rec: dict[str, Any], data: dict[str, Any]) -> str:
    P, Q = data["source"], data["target"]
    lines = [
        f"#### {name}: PSNR (dB) / SSIM on Q (natural test images) and on P (Shepp-Logan), trained on "
        f"P = {P} or Q = {Q}",
        "",
        "| method | family | P→Q | Q→Q | gap PSNR | gap SSIM | P→P | Q→P |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m, e in rec["methods"].items():
        if "gap_psnr" in e and "source_on_target" in e:
            cells = [
                f"{e['source_on_target']['psnr']:.2f} / {e['source_on_target']['ssim']:.3f}",
                f"{e['target_on_target']['psnr']:.2f} / {e['target_on_target']['ssim']:.3f}",
                f"**{e['gap_psnr']:+.2f}**",
                f"{e['gap_ssim']:+.3f}",
                f"{e['source_on_source']['psnr']:.2f}",
                f"{e['target_on_source']['psnr']:.2f}",
            ]
        else:
            on = f"{e['on_target']['psnr']:.2f} / {e['on_target']['ssim']:.3f}"
            src = f"{e['on_source']['psnr']:.2f}" if "on_source" in e else "—"
            cells = [on, on, "0 (no training)", "0", src, src]
        lines.append(f"| {m} | {e['family']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


_COLORS = {"source": "#9ecae1", "target": "#08519c", "untrained": "#41ab5d", "classical": "#777777"}


def _plot(path: Path, data: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    names = list(data["presets"])
    rc = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False}
    with plt.rc_context(rc):
        fig, axes = plt.subplots(
            1, len(names), figsize=(4.6 * len(names) + 0.6, 3.6), dpi=150, squeeze=False, layout="constrained"
        )
        for ax, name in zip(axes.flat, names, strict=True):
            rec = data["presets"][name]
            xs, labels, top = 0.0, [], -math.inf
            ticks = []
            for m, e in rec["methods"].items():
                if "source_on_target" in e:
                    a, b = e["source_on_target"]["psnr"], e["target_on_target"]["psnr"]
                    ax.bar(xs - 0.2, a, 0.4, color=_COLORS["source"])
                    ax.bar(xs + 0.2, b, 0.4, color=_COLORS["target"])
                    ax.annotate(
                        f"gap {e['gap_psnr']:+.2f}",
                        xy=(xs, max(a, b)),
                        xytext=(0, 3),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=8,
                    )
                    top = max(top, a, b)
                else:
                    v = e["on_target"]["psnr"]
                    color = (
                        _COLORS["untrained"] if e["family"].startswith("untrained") else _COLORS["classical"]
                    )
                    ax.bar(xs, v, 0.5, color=color)
                    top = max(top, v)
                ticks.append(xs)
                labels.append(m)
                xs += 1.0
            lows = [
                v
                for e in rec["methods"].values()
                for v in (
                    [e["source_on_target"]["psnr"], e["target_on_target"]["psnr"]]
                    if "source_on_target" in e
                    else [e["on_target"]["psnr"]]
                )
            ]
            ax.set_ylim(max(0.0, min(lows) - 3.0), top + 1.5)
            ax.set_xticks(ticks)
            ax.set_xticklabels(labels, rotation=20, ha="right")
            ax.set_ylabel("PSNR on Q (dB)")
            ax.set_title(name, fontweight="bold")
            ax.grid(True, axis="y", color="#dddddd", lw=0.6)
            ax.set_axisbelow(True)
        handles = [
            Patch(color=_COLORS["source"], label=f"trained on P ({data['source']})"),
            Patch(color=_COLORS["target"], label=f"trained on Q ({data['target']})"),
            Patch(color=_COLORS["untrained"], label="untrained (no data)"),
            Patch(color=_COLORS["classical"], label="classical / direct"),
        ]
        fig.legend(
            handles=handles, loc="outside lower center", ncol=4 if len(names) > 1 else 2, frameon=False
        )
        fig.suptitle(_title(data), fontsize=10)
        fig.savefig(path, dpi=150)
        plt.close(fig)
