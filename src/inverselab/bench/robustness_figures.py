"""Figures of the robustness studies (:mod:`inverselab.bench.adversarial`,
:mod:`inverselab.bench.small_features`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .shift_figures import RC as _RC
from .shift_figures import fmt

__all__ = ["plot_adversarial", "plot_adversarial_examples", "plot_feature_crops"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_adversarial(
    path: Path,
    plan: list[dict[str, Any]],
    presets: dict[str, Any],
    title: str,
    styles: dict[str, dict[str, Any]],
) -> None:
    """One panel per preset: PSNR against ``ε`` (log axis), PGD solid, random dotted, clean at ``ε = 0``."""
    plt = _plt()
    from matplotlib.lines import Line2D

    n = len(plan)
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 3.4), dpi=150, squeeze=False, layout="constrained")
        for ax, entry in zip(axes.flat, plan, strict=True):
            rec = presets[entry["preset"]]
            eps = rec["eps"]
            zero = eps[0] / 3  # where the unperturbed PSNR is drawn on the log axis
            for m in entry["methods"]:
                st, mr = styles[m], rec["methods"][m]
                clean = mr["clean_psnr"] if mr["clean_psnr"] is not None else math.nan
                adv = [pt["psnr"] if pt["psnr"] is not None else math.nan for pt in mr["points"]]
                rnd = [
                    pt["psnr_random"] if pt["psnr_random"] is not None else math.nan for pt in mr["points"]
                ]
                ax.plot(
                    [zero, *eps], [clean, *adv], color=st["color"], marker=st["marker"], ls="-", lw=1.5, ms=4
                )
                ax.plot([zero, *eps], [clean, *rnd], color=st["color"], ls=":", lw=1.3)
            ax.set_xscale("log")
            ax.set_xticks([zero, *eps])
            ax.set_xticklabels(["0", *(fmt(e) for e in eps)])
            ax.minorticks_off()
            ax.set_xlabel("perturbation size ε  (‖e‖₂ ≤ ε‖y‖₂)")
            ax.set_ylabel("PSNR (dB)")
            ax.set_title(entry["preset"], fontweight="bold")
            ax.grid(True, color="#dddddd", lw=0.6)
            ax.set_axisbelow(True)
        handles = [
            Line2D([], [], color=st["color"], marker=st["marker"], ls="-", lw=1.5, ms=4, label=m)
            for m, st in styles.items()
        ]
        handles += [
            Line2D([], [], color="black", ls="-", lw=1.5, label="worst case (PGD)"),
            Line2D([], [], color="black", ls=":", lw=1.3, label="random, same norm"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 5), frameon=False)
        fig.suptitle(title, fontsize=11)
        fig.savefig(path, dpi=150)
        plt.close(fig)


def _show(ax, img: np.ndarray, vmax: float, label: str) -> None:
    ax.imshow(np.clip(img / vmax, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(label, fontsize=8)


def plot_adversarial_examples(
    path: Path,
    plan: list[dict[str, Any]],
    presets: dict[str, Any],
    pictures: dict[str, dict],
    eps: float,
) -> None:
    """Per preset two rows: the truth, then each method under the PGD (top) and a random (bottom)
    perturbation of the same norm at budget ``eps``, with the PSNR of each."""
    plt = _plt()
    cols = 1 + max(len(e["methods"]) for e in plan)
    rows = 2 * len(plan)
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(
            rows, cols, figsize=(1.9 * cols, 2.0 * rows), dpi=130, squeeze=False, layout="constrained"
        )
        for ax in axes.flat:
            ax.axis("off")
        for i, entry in enumerate(plan):
            pics, rec = pictures[entry["preset"]], presets[entry["preset"]]
            truth = pics[("truth", "")]
            vmax = float(truth.max()) or 1.0
            j_eps = rec["eps"].index(eps)
            for r, kind in enumerate(("pgd", "random")):
                ax = axes[2 * i + r, 0]
                if r == 0:
                    ax.axis("on")
                    _show(ax, truth, vmax, f"{entry['preset']}\ntruth")
                for c, m in enumerate(entry["methods"], start=1):
                    img = pics.get((m, kind))
                    if img is None:
                        continue
                    pt = rec["methods"][m]["points"][j_eps]
                    value = pt["psnr_per_image"][0] if kind == "pgd" else pt["psnr_random_per_image"][0]
                    ax = axes[2 * i + r, c]
                    ax.axis("on")
                    _show(ax, img, vmax, f"{m}, {'PGD' if kind == 'pgd' else 'random'}\n{value:.1f} dB")
        fig.suptitle(
            f"Reconstructions under a perturbation with ‖e‖ = {fmt(eps)}‖y‖ (first test image)", fontsize=10
        )
        fig.savefig(path, dpi=130)
        plt.close(fig)


def plot_feature_crops(
    path: Path,
    rows: list[dict[str, Any]],
    title: str,
    half: int = 10,
) -> None:
    """A grid of crops: one row per (preset, feature), columns the truth then each method.

    Each ``rows`` item has ``label`` (row title), ``center`` ``(row, col)``, ``truth`` ``(H, W)``,
    ``methods`` (name -> image) and ``scores`` (name -> text under the crop); crops are ``2 half + 1`` px on
    a side, on the gray scale of the truth's crop.
    """
    plt = _plt()
    cols = 1 + max(len(r["methods"]) for r in rows)
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(
            len(rows),
            cols,
            figsize=(1.55 * cols, 1.75 * len(rows) + 0.4),
            dpi=130,
            squeeze=False,
            layout="constrained",
        )
        for ax in axes.flat:
            ax.axis("off")
        for i, row in enumerate(rows):
            r0, c0 = (int(round(v)) for v in row["center"])
            H, W = row["truth"].shape
            top, left = min(max(r0 - half, 0), H - 2 * half - 1), min(max(c0 - half, 0), W - 2 * half - 1)
            crop = (
                slice(max(top, 0), max(top, 0) + 2 * half + 1),
                slice(max(left, 0), max(left, 0) + 2 * half + 1),
            )
            t = row["truth"][crop]
            lo, hi = float(t.min()), float(t.max())
            hi = hi if hi > lo else lo + 1.0
            lo, hi = lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)  # room for over- and undershoot
            panels = [("truth", row["truth"], row["label"])] + [
                (m, img, f"{m}\n{row['scores'].get(m, '')}") for m, img in row["methods"].items()
            ]
            for j, (_, img, label) in enumerate(panels):
                ax = axes[i, j]
                ax.axis("on")
                ax.imshow(img[crop], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(label, fontsize=7)
        fig.suptitle(title, fontsize=10)
        fig.savefig(path, dpi=130)
        plt.close(fig)
