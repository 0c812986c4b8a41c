"""Test-time training against distribution shift: how much of the gap does fine-tuning on the test
measurement close?

``inverselab bench --study test-time-training`` (:func:`run_test_time_training`) trains the networks of the
distribution-shift study (:mod:`inverselab.bench.distribution`: the same suites, seeds and budgets, so both
studies share their models when run into the same directory), then fine-tunes the source-trained (P) network
on each target (Q) test measurement alone with the self-supervised data-consistency loss
``‖A f_θ(y) - y‖² / ‖y‖²`` (:func:`inverselab.training.adaptation.adapt_to_measurement`, a fixed number of
Adam steps), and reports the fraction of the gap it closes,

    closed = (PSNR(P-trained + TTT) - PSNR(P-trained)) / (PSNR(Q-trained) - PSNR(P-trained)),

as Darestani, Liu & Heckel (ICML 2022) do (1 closes the gap; 0 does nothing; negative hurts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._checks import check_number
from .._files import write_atomic
from .distribution import TRAINED, check_common, check_methods, problems, score, summarize, train_pair
from .studies import StudyResult

__all__ = ["TTT_SUITES", "run_test_time_training"]

_NAME = "test-time-training"

#: Test-time-training budgets per suite: Adam steps and step size, and whether to fine-tune the
#: target-trained network too (what test-time training does without a shift). Chosen on the training photos
#: chelsea, coffee and brick (never the test images) with the quick suite's ellipse-trained mri-4x networks:
#: mean PSNR after 100 steps of 3e-5 / 1e-4 / 3e-4: U-Net 19.05 / 19.53 / 20.12 dB from 17.99, MoDL
#: 19.80 / 19.97 / 20.10 from 19.49. The same budget lowers the PSNR on ct-sparse-60 (fitting the noisy ray
#: sums): a fixed budget does not transfer between operators.
#: ``tau``: the study also reports TTT stopped by the discrepancy principle at this safety factor (the
#: first step whose loss reaches the preset's noise level,
#: :func:`~inverselab.training.adaptation.discrepancy_level`), read off the same run; ``None``: not reported.
TTT_SUITES: dict[str, dict[str, Any]] = {
    "quick": {"num_iter": 100, "lr": 3e-4, "also_target": True, "tau": 1.0},
    "full": {"num_iter": 100, "lr": 3e-4, "also_target": True, "tau": 1.0},
}

#: Gaps smaller than these (PSNR in dB, SSIM) give no closed fraction (a ratio of two small noisy numbers;
#: and a negative gap, the source-trained network being the better one, leaves nothing to close).
MIN_GAP_DB = 0.1
MIN_GAP_SSIM = 0.005


def _adapt(model, problem, num_iter: int, lr: float, tau: float | None = None) -> dict[str, Any]:
    """Fine-tune ``model`` on ``problem``'s measurement; score every iterate (PSNR curve). With ``tau``, also
    the iterate where the discrepancy principle stops (``"stopped"``: its scores and ``steps``), which is what
    ``adapt_to_measurement(..., noise_std=σ, tau=tau)`` returns: the same deterministic steps, cut there."""
    import torch

    from ..metrics import psnr
    from ..training.adaptation import adapt_to_measurement, discrepancy_level, noise_level

    p = problem.preset
    curve: list[float] = []
    iterates: list[torch.Tensor] = []

    def record(_: int, x: torch.Tensor) -> None:
        iterates.append(x)
        x = x.abs() if x.is_complex() else x
        curve.append(float(psnr(x, problem.x_true, data_range=p.data_range)[0]))

    with torch.no_grad():
        x0 = model(problem.y, problem.A)
    record(0, x0)
    start = time.perf_counter()
    res = adapt_to_measurement(model, problem.y, problem.A, num_iter=num_iter, lr=lr, callback=record)
    seconds = time.perf_counter() - start
    out = {
        **score(res.x, problem),
        "seconds": seconds,
        "dc_loss_before": res.initial_loss,
        "dc_loss_after": res.final_loss,
        "curve": curve,
    }
    sigma = None if tau is None else noise_level(problem.noise, problem.y)
    if sigma is not None:
        target = discrepancy_level(problem.y, float(sigma[0]), tau)
        losses = [res.initial_loss, *res.history.get("objective", [])]
        steps = next((k for k, v in enumerate(losses) if v <= target), len(losses) - 1)
        out["stopped"] = {**score(iterates[steps], problem), "steps": steps, "dc_loss": losses[steps]}
        out["dc_loss_target"] = target
    return out


def _mean_curve(runs: list[dict[str, Any]]) -> list[float]:
    n = len(runs)
    return [round(sum(r["curve"][k] for r in runs) / n, 3) for k in range(len(runs[0]["curve"]))]


def _closed(before: float, after: float, target: float, min_gap: float) -> float | None:
    """``(after - before) / (target - before)``, or ``None`` without a gap of at least ``min_gap`` (no gap, or
    the source-trained network is the better one: nothing to close)."""
    gap = target - before
    return None if gap < min_gap else round((after - before) / gap, 3)


def run_test_time_training(
    out: str | Path,
    *,
    suite: str = "quick",
    presets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    config: dict[str, Any] | None = None,
    ttt: dict[str, Any] | None = None,
) -> StudyResult:
    """Test-time training of source-trained networks on target measurements: the share of the gap it closes.

    For every selected preset and trained method (``unet``: post-processing U-Net; ``modl``: unrolled MoDL),
    the networks trained on P (random-ellipse phantoms) and on Q (training photos) are those of the
    distribution-shift study (:func:`~inverselab.bench.distribution.run_distribution_shift`, same suites and
    seeds; reused from ``out/models`` when present). On each natural test image (Q) the P-trained network is
    fine-tuned on the measurement alone (:func:`~inverselab.training.adaptation.adapt_to_measurement`: Adam on
    the relative data-consistency loss ``‖A f_θ(y) - y‖² / ‖y‖²``, a fixed budget, :data:`TTT_SUITES`), and
    the Q-trained network too (test-time training without a shift). Reported per method: PSNR/SSIM of P→Q,
    P→Q + TTT, Q→Q (+ TTT), the data-consistency loss before and after, and the fraction of the gap closed
    ``(TTT - P→Q) / (Q→Q - P→Q)`` (in PSNR and SSIM; none unless Q→Q beats P→Q by 0.1 dB, or 0.005 in
    SSIM). Suites as for the
    distribution-shift study (``quick``: mri-4x at 64 px, 14 min on the shared development machine, 5 of
    them test-time training; ``full``: mri-4x and ct-sparse-60 at 128 px), 100 Adam steps of 3e-4 per
    measurement. Beside that fixed budget it reports TTT stopped by the discrepancy principle (the first step
    whose loss reaches the preset's noise level; ``*_ttt_stopped``, read off the same run).

    Writes ``out/test-time-training.png`` (per preset: the bars P→Q, P→Q + TTT, Q→Q per method, and the mean
    PSNR along the fine-tuning against the Q-trained level) and ``out/test-time-training.json``.

    Reference: M. Zalbagi Darestani, J. Liu and R. Heckel, "Test-time training can close the natural
    distribution shift performance gap in deep learning based compressed sensing", ICML 2022.

    Args:
        out: Output directory (created if missing).
        suite: ``"quick"`` or ``"full"``.
        presets: Preset names (default: the suite's); among ``mri-4x`` and ``ct-sparse-60``.
        methods: Keep only these trained methods (``unet``, ``modl``).
        seed: Seeds the training runs and the test problems; TTT itself is deterministic.
        jobs: Accepted for the CLI; the study runs in one process.
        progress: Show the training progress bars.
        config: Replace the distribution-shift suite's configuration (for tests).
        ttt: Replace the suite's test-time-training settings (``num_iter``, ``lr``, ``also_target``,
            ``tau``; for tests).

    Returns:
        The study result. ``data["presets"][name]["methods"][m]`` holds ``source``, ``source_ttt``,
        ``target`` (and ``target_ttt``): mean ``psnr``, ``ssim``, per-image values, for the TTT entries the
        mean ``dc_loss_before``/``dc_loss_after`` and the mean PSNR ``curve`` over the steps (entry 0 before
        fine-tuning); ``gap_psnr``, ``gain_psnr`` (TTT - P→Q), ``closed_psnr``, ``closed_ssim``; with the
        discrepancy stop, ``source_ttt_stopped`` (and ``target_ttt_stopped``: scores, mean ``steps``,
        ``steps_per_image``, ``dc_loss_target``), ``gain_psnr_stopped`` and ``closed_psnr_stopped``.
    """
    import torch

    from ..methods.learned import load_network

    base, names, seed = check_common(_NAME, suite, presets, seed, jobs)
    config = dict(base if config is None else config)
    settings = {**TTT_SUITES[suite], **(ttt or {})}
    num_iter = int(check_number("ttt num_iter", settings["num_iter"], low=0, integer=True))
    lr = float(check_number("ttt lr", settings["lr"], low=0, low_inclusive=False))
    tau = settings.get("tau")
    tau = None if tau is None else float(check_number("ttt tau", tau, low=0, low_inclusive=False))
    chosen = check_methods(methods, list(config["models"]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = int(config["size"])
    wall = time.perf_counter()
    presets_data: dict[str, Any] = {}
    for name in names:
        target_pr = problems(name, config["target_images"], size, seed)
        rec: dict[str, Any] = {"target_images": list(config["target_images"]), "training": {}, "methods": {}}
        for m in chosen:
            pair = train_pair(out, name, m, config, seed, progress)
            rec["training"][m] = pair
            nets = {role: load_network(pair[role]["weights"]) for role in ("source", "target")}
            entry: dict[str, Any] = {"family": TRAINED[m]}
            for role in ("source", "target"):
                runs = []
                for pr in target_pr:
                    with torch.no_grad():
                        x = nets[role](pr.y, pr.A)
                    runs.append(score(x, pr))
                entry[role] = summarize(runs)
            for role in ("source", "target") if settings["also_target"] else ("source",):
                runs = [_adapt(nets[role], pr, num_iter, lr, tau) for pr in target_pr]
                summary = summarize(runs)
                n = len(runs)
                summary["dc_loss_before"] = sum(r["dc_loss_before"] for r in runs) / n
                summary["dc_loss_after"] = sum(r["dc_loss_after"] for r in runs) / n
                summary["curve"] = _mean_curve(runs)
                entry[f"{role}_ttt"] = summary
                if all("stopped" in r for r in runs):  # the discrepancy-principle stop
                    stopped = summarize([r["stopped"] for r in runs])
                    stopped["steps_per_image"] = [r["stopped"]["steps"] for r in runs]
                    stopped["steps"] = sum(stopped["steps_per_image"]) / n
                    stopped["dc_loss_target"] = sum(r["dc_loss_target"] for r in runs) / n
                    entry[f"{role}_ttt_stopped"] = stopped
            s, t, a = entry["source"], entry["target"], entry["source_ttt"]
            entry["gap_psnr"] = round(t["psnr"] - s["psnr"], 3)
            entry["gap_ssim"] = round(t["ssim"] - s["ssim"], 4)
            entry["gain_psnr"] = round(a["psnr"] - s["psnr"], 3)
            entry["gain_ssim"] = round(a["ssim"] - s["ssim"], 4)
            entry["closed_psnr"] = _closed(s["psnr"], a["psnr"], t["psnr"], MIN_GAP_DB)
            entry["closed_ssim"] = _closed(s["ssim"], a["ssim"], t["ssim"], MIN_GAP_SSIM)
            if "source_ttt_stopped" in entry:
                d = entry["source_ttt_stopped"]
                entry["gain_psnr_stopped"] = round(d["psnr"] - s["psnr"], 3)
                entry["closed_psnr_stopped"] = _closed(s["psnr"], d["psnr"], t["psnr"], MIN_GAP_DB)
            rec["methods"][m] = entry
        presets_data[name] = rec
    wall = time.perf_counter() - wall
    data = {
        "study": _NAME,
        "suite": suite,
        "seed": seed,
        "size": size,
        "source": config["source"],
        "target": config["target"],
        "training_budget": {**config["train"], "patch": size, "lr": 1e-3},
        "ttt": {
            "num_iter": num_iter,
            "lr": lr,
            "loss": "‖A f(y) - y‖² / ‖y‖²",
            "optimizer": "Adam",
            "tau": tau,
        },  # fmt: skip
        "presets": presets_data,
        "wall_seconds": round(wall, 1),
    }
    write_atomic(out / f"{_NAME}.json", json.dumps(data, indent=1))
    figure = out / f"{_NAME}.png"
    _plot(figure, data)
    tables = [_table(name, rec, data) for name, rec in presets_data.items()]
    title = (
        f"Test-time training: fine-tuning {data['source']}-trained networks on each natural-image measurement"
    )
    return StudyResult(_NAME, title, _caption(data, suite), [figure], data, tables)


def _caption(data: dict[str, Any], suite: str) -> str:
    t, s = data["training_budget"], data["ttt"]
    rec = next(iter(data["presets"].values()))
    return (
        f"Networks trained on P = {data['source']} and on Q = {data['target']} (as in the distribution-shift "
        f"study: {t['epochs'] * t['steps_per_epoch']} steps of {t['batch_size']} images of {t['patch']} px, "
        f"seed {data['seed']}) are tested on natural images (Q: {', '.join(rec['target_images'])}, "
        f"{data['size']} × {data['size']} px, never trained on). Test-time training (TTT) fine-tunes a copy "
        f"of a network on one measurement alone: {s['num_iter']} Adam steps of size {s['lr']:g} on the "
        f"relative data-consistency loss {s['loss']}, no clean image involved. Closed = (P→Q + TTT − P→Q) / "
        "(Q→Q − P→Q): 1 closes the distribution-shift gap, 0 leaves it, negative widens it (none when Q→Q "
        f"does not beat P→Q by {MIN_GAP_DB} dB, or {MIN_GAP_SSIM} in SSIM). The right panels follow the "
        "mean PSNR over the fine-tuning steps. "
        + (
            ""
            if s.get("tau") is None
            else "The discrepancy-stop columns end the same fine-tuning at the first step whose loss "
            f"reaches the noise level tau² N σ² / ‖y‖² (tau = {s['tau']:g}; the dots on the right), with no "
            "step when the network already fits the data that well (steps in parentheses, mean over images). "
        )
        + f"{suite.capitalize()} suite; {data['wall_seconds']:.0f} s. Reference: Darestani, Liu & Heckel, "
        "ICML 2022."
    )


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _table(name: str, rec: dict[str, Any], data: dict[str, Any]) -> str:
    lines = [
        f"#### {name}: PSNR (dB) / SSIM on the natural test images, trained on P = {data['source']} or Q = "
        f"{data['target']}, with and without test-time training",
        "",
        "| method | P→Q | P→Q + TTT | Q→Q | Q→Q + TTT | gap | TTT gain | closed (PSNR) | closed (SSIM) "
        "| DC loss before → after | P→Q + TTT, discrepancy stop (steps) | Q→Q + TTT, discrepancy stop "
        "| closed (PSNR), discrepancy stop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m, e in rec["methods"].items():
        tt = e.get("target_ttt")
        cells = [
            f"{e['source']['psnr']:.2f} / {e['source']['ssim']:.3f}",
            f"{e['source_ttt']['psnr']:.2f} / {e['source_ttt']['ssim']:.3f}",
            f"{e['target']['psnr']:.2f} / {e['target']['ssim']:.3f}",
            "—" if tt is None else f"{tt['psnr']:.2f} / {tt['ssim']:.3f}",
            f"{e['gap_psnr']:+.2f}",
            f"{e['gain_psnr']:+.2f}",
            f"**{_fmt(e['closed_psnr'], '.2f')}**",
            _fmt(e["closed_ssim"], ".2f"),
            f"{e['source_ttt']['dc_loss_before']:.2e} → {e['source_ttt']['dc_loss_after']:.2e}",
        ]
        ds, dt = e.get("source_ttt_stopped"), e.get("target_ttt_stopped")
        cells += [
            "—" if ds is None else f"{ds['psnr']:.2f} / {ds['ssim']:.3f} ({ds['steps']:.0f})",
            "—" if dt is None else f"{dt['psnr']:.2f} / {dt['ssim']:.3f} ({dt['steps']:.0f})",
            f"**{_fmt(e.get('closed_psnr_stopped'), '.2f')}**",
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plot(path: Path, data: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    names = list(data["presets"])
    colors = {
        "source": "#9ecae1",
        "source_ttt": "#fd8d3c",
        "source_ttt_stopped": "#31a354",
        "target": "#08519c",
        "target_ttt": "#7f2704",
    }
    labels = {
        "source": f"trained on P ({data['source']})",
        "source_ttt": "P-trained + TTT",
        "source_ttt_stopped": "P-trained + TTT, discrepancy stop",
        "target": f"trained on Q ({data['target']})",
        "target_ttt": "Q-trained + TTT",
    }
    line_colors = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
    rc = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False}
    with plt.rc_context(rc):
        fig, axes = plt.subplots(
            len(names), 2, figsize=(9.5, 3.4 * len(names) + 0.6), dpi=150, squeeze=False, layout="constrained"
        )
        for row, name in zip(axes, names, strict=True):
            rec = data["presets"][name]
            ax = row[0]
            keys = [
                k
                for k in ("source", "source_ttt", "source_ttt_stopped", "target", "target_ttt")
                if any(k in e for e in rec["methods"].values())
            ]
            width = 0.8 / len(keys)
            values = []
            for i, e in enumerate(rec["methods"].values()):
                for j, k in enumerate(keys):
                    if k in e:
                        v = e[k]["psnr"]
                        values.append(v)
                        ax.bar(i + (j - (len(keys) - 1) / 2) * width, v, width, color=colors[k])
                closed = e["closed_psnr"]
                ax.annotate(
                    f"closed {closed:.0%}" if closed is not None else "no gap to close",
                    xy=(i, max(e[k]["psnr"] for k in keys if k in e)),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                )
            ax.set_xticks(range(len(rec["methods"])))
            ax.set_xticklabels(list(rec["methods"]))
            span = max(values) - min(values)
            ax.set_ylim(min(values) - 2.0, max(values) + 0.45 * span + 1.5)  # room for the legend
            ax.set_ylabel("PSNR on Q (dB)")
            ax.set_title(f"{name}: PSNR on natural images", fontweight="bold")
            ax.grid(True, axis="y", color="#dddddd", lw=0.6)
            ax.set_axisbelow(True)
            ax.legend(
                handles=[Patch(color=colors[k], label=labels[k]) for k in keys],
                fontsize=7.5,
                frameon=False,
                ncol=2,
                loc="upper center",
            )
            ax = row[1]
            for c, (m, e) in zip(line_colors, rec["methods"].items(), strict=False):
                curve = e["source_ttt"]["curve"]
                ax.plot(range(len(curve)), curve, color=c, lw=1.5, label=f"{m}: P-trained + TTT")
                ax.axhline(e["target"]["psnr"], color=c, ls="--", lw=1.0, label=f"{m}: Q-trained")
                d = e.get("source_ttt_stopped")
                if d is not None:  # mean PSNR where the discrepancy principle stops, at the mean step
                    ax.plot([d["steps"]], [d["psnr"]], "o", color=c, ms=6, label=f"{m}: discrepancy stop")
            ax.set_xlabel("test-time training step (Adam)")
            ax.set_ylabel("mean PSNR on Q (dB)")
            ax.set_title(f"{name}: along the fine-tuning", fontweight="bold")
            ax.grid(True, color="#dddddd", lw=0.6)
            ax.legend(fontsize=7.5, frameon=False)
        fig.savefig(path, dpi=150)
        plt.close(fig)
