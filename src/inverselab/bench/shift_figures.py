"""Figures, tables and caption sentences of the shift studies (:mod:`inverselab.bench.shift`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "method_styles",
    "fmt",
    "plot_panels",
    "markdown_table",
    "public_plan",
    "images_sentence",
    "skip_sentence",
    "dropped_sentence",
]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")


#: Matplotlib settings of the study figures (small fonts, no top/right spines).
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def method_styles(plan: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One colour and marker per method for the whole figure; direct baselines dashed."""
    from ..methods import METHODS

    order = list(dict.fromkeys(m for entry in plan for m in entry["methods"]))
    palette = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#F0E442")
    styles = {}
    iterative = [m for m in order if METHODS[m].family != "direct"]
    direct = [m for m in order if METHODS[m].family == "direct"]
    for i, m in enumerate(iterative):
        styles[m] = {"color": palette[i % len(palette)], "marker": _MARKERS[i % len(_MARKERS)], "ls": "-"}
    grays = ("#555555", "#888888", "#333333")
    for i, m in enumerate(direct):
        styles[m] = {"color": grays[i % len(grays)], "marker": _MARKERS[-1 - i % 3], "ls": "--"}
    return {m: styles[m] for m in iterative + direct}


def fmt(v: float) -> str:
    return f"{v:.3g}"


def plot_panels(
    path: Path,
    plan: list[dict[str, Any]],
    title: str,
    xlabel: Callable[[dict[str, Any]], str],
    ref_label: Callable[[dict[str, Any]], str],
    logx: bool,
) -> None:
    """One panel per plan entry: mean PSNR against the swept value, a dashed line at the preset's own."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    n = len(plan)
    ncols = n if n <= 3 else (2 if n == 4 else 3)
    nrows = math.ceil(n / ncols)
    styles = method_styles(plan)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(3.7 * ncols, 2.9 * nrows + 0.7),
            dpi=150,
            squeeze=False,
            layout="constrained",
        )
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax, entry in zip(axes.flat, plan, strict=False):
            xs = entry["x"]
            for m in entry["methods"]:
                ys = [pt["psnr"] if pt["psnr"] is not None else float("nan") for pt in entry["curves"][m]]
                st = styles[m]
                ax.plot(xs, ys, color=st["color"], marker=st["marker"], ls=st["ls"], lw=1.4, ms=4.5, label=m)
            ref = entry["reference"]
            ax.axvline(ref, ymax=0.9, color="black", ls=(0, (4, 3)), lw=0.9, zorder=1)
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, hi + 0.15 * (hi - lo))  # room for the label above the curves
            ha = "left" if ref <= min(xs) else "right" if ref >= max(xs) else "center"
            ax.annotate(
                ref_label(entry),
                xy=(ref, 0.985),
                xycoords=("data", "axes fraction"),
                ha=ha,
                va="top",
                fontsize=7.5,
                color="#222222",
                bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none"},
                zorder=3,
            )
            if logx:
                ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator(xs))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_minor_formatter(NullFormatter())
            labels = [fmt(v) for v in xs]
            if len(xs) > 6:  # every other label, keeping the reference value's
                start = xs.index(ref) % 2 if ref in xs else 0
                labels = [lab if (i - start) % 2 == 0 else "" for i, lab in enumerate(labels)]
            ax.set_xticklabels(labels)
            ax.set_title(entry["preset"], fontweight="bold")
            ax.set_xlabel(xlabel(entry))
            ax.set_ylabel("PSNR (dB)")
            ax.grid(True, which="major", color="#dddddd", lw=0.6)
            ax.set_axisbelow(True)
        handles = [
            Line2D([], [], color=st["color"], marker=st["marker"], ls=st["ls"], lw=1.4, ms=4.5, label=m)
            for m, st in styles.items()
        ]
        handles.append(
            Line2D([], [], color="black", ls=(0, (4, 3)), lw=0.9, label="preset's own setting (tuned)")
        )
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=min(len(handles), 4 if ncols < 3 else 6),
            frameon=False,
        )
        fig.suptitle(title, fontsize=11)
        fig.savefig(path, dpi=150)
        plt.close(fig)


def markdown_table(entry: dict[str, Any], heading: str, headers: list[str]) -> str:
    """Markdown: rows methods, columns the swept values, the best mean PSNR of each column in bold."""
    lines = [f"#### {heading}", "", "| method | " + " | ".join(headers) + " |"]
    lines.append("|---|" + "---:|" * len(headers))
    best = []
    for j in range(len(entry["x"])):
        vals = [entry["curves"][m][j]["psnr"] for m in entry["methods"]]
        vals = [v for v in vals if v is not None]
        best.append(max(vals) if vals else None)
    for m in entry["methods"]:
        cells = []
        for j, pt in enumerate(entry["curves"][m]):
            v = pt["psnr"]
            text = "—" if v is None else f"{v:.2f}"
            cells.append(
                f"**{text}**"
                if v is not None and best[j] is not None and round(v, 2) == round(best[j], 2)
                else text
            )
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def public_plan(plan: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """The JSON record of each preset: its settings, images, methods (with parameters) and curves."""
    from ..presets import get_preset

    out = {}
    for entry in plan:
        p = get_preset(entry["preset"])
        rec = {k: entry[k] for k in keys if k in entry}
        rec["images"] = entry["images"]
        rec["methods"] = {
            m: {"params": p.method_params(m), "points": entry["curves"][m]} for m in entry["methods"]
        }
        out[entry["preset"]] = rec
    return out


def images_sentence(plan: list[dict[str, Any]], size: int | None) -> str:
    from ..presets import get_preset

    groups: dict[tuple[str, ...], list[str]] = {}
    for entry in plan:
        groups.setdefault(tuple(entry["images"]), []).append(entry["preset"])
    parts = [f"{', '.join(imgs)} ({', '.join(names)})" for imgs, names in groups.items()]
    sizes = sorted({size or get_preset(e["preset"]).size for e in plan})
    px = " / ".join(f"{s} × {s}" for s in sizes)
    n_img = {len(e["images"]) for e in plan}
    mean = "" if n_img == {1} else "; PSNR is the mean over the images"
    return f"Test images (grayscale, {px} px, never used for training): {'; '.join(parts)}{mean}."


def skip_sentence(suite: str, skip: Sequence[str], methods: list[str] | None, plan) -> str:
    if methods is not None or not skip:
        return ""
    from ..presets import get_preset

    skipped = sorted({m for e in plan for m in get_preset(e["preset"]).methods if m in skip})
    if not skipped:
        return ""
    return (
        f" The {suite} suite leaves out {', '.join(skipped)} (it minimizes the same objective as "
        "fista-wavelet, only more slowly); the full suite runs it."
    )


def dropped_sentence(presets: list, per_preset: dict[str, list[str]]) -> str:
    dropped = [p.name for p in presets if not per_preset[p.name]]
    if not dropped:
        return ""
    return f" Not shown (none of the requested methods applies): {', '.join(dropped)}."
