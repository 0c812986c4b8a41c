"""The pictures behind a benchmark report: one folder per problem with the truth, a view of the measurement,
and each method's reconstruction and error map, as small PNGs (written by the worker that ran the method).

Error maps show ``|x_hat - x|`` on one fixed scale, ``0`` to :data:`ERROR_SCALE` times the data range, so the
maps of different methods (and images) can be compared by eye.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_path, write_atomic

__all__ = ["ERROR_SCALE", "save_problem", "save_reconstruction"]

#: Error maps span ``[0, ERROR_SCALE * data range]`` (brighter is worse; larger errors saturate).
ERROR_SCALE = 0.2


def _write_png(path: Path, img: np.ndarray) -> None:
    """Atomically write ``img`` (float in [0, 1], ``(H, W)`` or ``(H, W, 3)``) as an 8-bit PNG."""
    from PIL import Image

    data = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(data).save(tmp, format="PNG", optimize=True)


def _save_figure(path: Path, fig) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _write_error_png(path: Path, err: np.ndarray, vmax: float) -> None:
    """Atomically write ``(H, W)`` errors as a palette PNG: 256 levels on ``[0, vmax]`` through matplotlib's
    ``magma`` colormap (exact colors, a third of the size of RGB)."""
    import matplotlib
    from PIL import Image

    levels = (np.clip(err / vmax, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    palette = (matplotlib.colormaps["magma"](np.arange(256) / 255.0)[:, :3] * 255.0 + 0.5).astype(np.uint8)
    img = Image.fromarray(levels, mode="P")
    img.putpalette(palette.reshape(-1).tolist())
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG", optimize=True)


def _range(problem) -> float:
    dr = problem.preset.data_range
    return float(problem.x_true.abs().max()) if dr == "max" else float(dr)


def save_problem(folder: Path, problem) -> None:
    """Write ``truth.png``, ``measurement.png`` and ``problem.json`` (what the measurement shows), once."""
    from ..viz import measurement_view, to_display

    folder = Path(folder)
    if (folder / "problem.json").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"kind": problem.preset.kind, "shape": list(problem.x_true.shape[1:])}
    if problem.preset.kind == "image":
        _write_png(folder / "truth.png", to_display(problem.x_true / _range(problem)))
        view, title = measurement_view(problem.y, problem.A)
        _write_png(folder / "measurement.png", view)
        info["view"] = title
    else:
        _stem(folder / "truth.png", problem.x_true, None, "truth")
        info["view"] = None
    write_atomic(folder / "problem.json", json.dumps(info) + "\n")


def save_reconstruction(folder: Path, method: str, x_hat, problem) -> None:
    """Write ``<method>.png`` (and ``<method>-error.png`` for images) into ``folder``."""
    from ..presets import align_to_truth
    from ..viz import to_display

    folder = Path(folder)
    x_hat = align_to_truth(x_hat.detach(), problem.x_true, problem.preset)  # phase retrieval: global phase
    if problem.preset.kind != "image":
        _stem(folder / f"{method}.png", problem.x_true, x_hat, method)
        return
    scale = _range(problem)
    _write_png(folder / f"{method}.png", to_display(x_hat / scale))
    x = x_hat.detach().cpu()
    x = (x.abs() if x.is_complex() else x).to(problem.x_true.dtype)
    err = (x - problem.x_true.cpu()).abs()[0].mean(dim=0).numpy()
    _write_error_png(folder / f"{method}-error.png", err, ERROR_SCALE * scale)


def _stem(path: Path, x_true, x_hat, title: str) -> None:
    """A small stem plot of a sparse vector (and a reconstruction over it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = x_true.detach().cpu().reshape(-1).double().numpy()
    fig, ax = plt.subplots(figsize=(3.2, 1.9), constrained_layout=True)
    idx = np.arange(t.size)
    ax.vlines(idx, 0, t, color="0.55", linewidth=0.8, label="truth")
    if x_hat is not None:
        r = x_hat.detach().cpu().reshape(-1).double().numpy()
        ax.plot(idx, r, "C1.", markersize=2.5, label="reconstruction")
        ax.legend(loc="upper right", fontsize=6, frameon=False)
    lim = 1.15 * max(float(np.abs(t).max()), 1e-6)
    ax.set_ylim(-lim, lim)
    ax.set_xlim(0, t.size)
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    _save_figure(path, fig)
