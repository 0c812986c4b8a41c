"""Pictures of problems and reconstructions (matplotlib, Agg backend, files only).

Example:
    >>> import torch
    >>> float(to_display(torch.ones(1, 3, 4, 4) * 2).max())
    1.0
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["to_display", "measurement_view", "save_image", "save_comparison", "save_vector_comparison"]


def to_display(x: torch.Tensor, clip: bool = True) -> np.ndarray:
    """A ``(H, W)`` or ``(H, W, 3)`` float array in [0, 1] from ``(C, H, W)`` or ``(1, C, H, W)`` data.

    Complex data is shown by magnitude; with ``clip=False`` the values are min-max normalized instead.
    """
    x = x.detach().cpu()
    if x.ndim == 4:
        x = x[0]
    if x.is_complex():
        x = x.abs()
    x = x.to(torch.float64)
    if x.ndim == 3 and x.shape[0] == 3:
        img = x.permute(1, 2, 0).numpy()
    else:
        img = x.reshape(-1, *x.shape[-2:])[0].numpy()
    if clip:
        return np.clip(img, 0.0, 1.0)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def measurement_view(y: torch.Tensor, A) -> tuple[np.ndarray, str]:
    """A picture of the measurement: the image itself for image-to-image operators, the log-magnitude of
    k-space for MRI (first coil), the sinogram for CT, the normalized adjoint otherwise."""
    from .operators.phase_retrieval import CodedDiffraction, MagnitudeSquared
    from .operators.tomography import ParallelBeamCT

    y = y.detach()
    if isinstance(A, MagnitudeSquared):  # phase retrieval: no adjoint
        if isinstance(A.linear, CodedDiffraction) and y.ndim == 5:
            pattern = torch.fft.fftshift(y[0, 0, :1], dim=(-2, -1))
            return to_display(torch.log1p(pattern.clamp(min=0)), clip=False), "diffraction pattern 1 (log)"
        from .solvers.phase_retrieval import spectral_init

        with torch.no_grad():
            return to_display(spectral_init(y[:1], A).abs(), clip=False), "spectral initialization"
    if y.ndim == 4 and A.out_complex:
        return to_display(torch.log1p(y[0, :1].abs() / (y.abs().max() + 1e-12) * 1e3), clip=False), (
            "k-space (log magnitude)"
        )
    if isinstance(A, ParallelBeamCT):
        return to_display(y[0], clip=False), "sinogram"
    if y.ndim == 4 and tuple(A.out_shape) == tuple(A.in_shape):
        return to_display(y[0]), "measurement"
    if y.ndim == 4:
        return to_display(y[0]), "measurement (low resolution)"
    with torch.no_grad():
        return to_display(A.adjoint(y)[0], clip=False), "adjoint of the measurement"


def save_image(path: str | Path, x: torch.Tensor) -> None:
    """Write ``x`` (clipped to [0, 1]) as an 8-bit PNG."""
    from PIL import Image

    img = (to_display(x) * 255.0 + 0.5).astype(np.uint8)
    Image.fromarray(img).save(path)


def save_comparison(
    path: str | Path,
    x_true: torch.Tensor,
    y: torch.Tensor,
    A,
    x_hat: torch.Tensor,
    title: str,
    std: torch.Tensor | None = None,
) -> None:
    """Truth / measurement view / reconstruction / error map side by side, as a PNG; with ``std`` (the
    pixel-wise standard deviation of posterior samples) a fifth panel shows it on the error map's scale, so
    the two compare directly."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    view, view_title = measurement_view(y, A)
    truth, rec = to_display(x_true), to_display(x_hat)
    err = np.abs(rec - truth)
    if err.ndim == 3:
        err = err.mean(axis=2)
    panels = 4 if std is None else 5
    fig, axes = plt.subplots(1, panels, figsize=(3.25 * panels, 3.6), constrained_layout=True)
    for ax, img, t in zip(axes[:3], (truth, view, rec), ("truth", view_title, "reconstruction"), strict=True):
        aspect = "auto" if t == "sinogram" else "equal"  # angles x detectors: stretch to the panel
        ax.imshow(
            img,
            cmap=None if img.ndim == 3 else "gray",
            vmin=0,
            vmax=1,
            interpolation="nearest",
            aspect=aspect,
        )
        ax.set_title(t)
        ax.set_axis_off()
    top = max(float(err.max()), 1e-6)
    if std is not None:
        spread = to_display(std)  # absolute values (a std of images in [0, 1] stays below 1)
        spread = spread.mean(axis=2) if spread.ndim == 3 else spread
        top = max(top, float(spread.max()))
    im = axes[3].imshow(err, cmap="magma", vmin=0, vmax=top)
    axes[3].set_title("|error|")
    axes[3].set_axis_off()
    fig.colorbar(im, ax=axes[3], fraction=0.046)
    if std is not None:
        im = axes[4].imshow(spread, cmap="magma", vmin=0, vmax=top)
        axes[4].set_title("posterior std")
        axes[4].set_axis_off()
        fig.colorbar(im, ax=axes[4], fraction=0.046)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_vector_comparison(path: str | Path, x_true: torch.Tensor, x_hat: torch.Tensor, title: str) -> None:
    """Stem plot of a sparse vector and its reconstruction, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = x_true.detach().cpu().reshape(-1).numpy()
    r = x_hat.detach().cpu().reshape(-1).to(torch.float64).numpy()
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True, constrained_layout=True)
    idx = np.arange(t.size)
    axes[0].stem(idx, t, markerfmt=".", basefmt=" ", label="truth")
    axes[0].stem(idx, r, linefmt="C1-", markerfmt="C1x", basefmt=" ", label="reconstruction")
    axes[0].legend(loc="upper right")
    axes[0].set_ylabel("value")
    axes[1].stem(idx, r - t, linefmt="C3-", markerfmt=" ", basefmt=" ")
    axes[1].set_ylabel("error")
    axes[1].set_xlabel("index")
    lim = max(float(np.abs(t).max()), 1e-6)
    axes[1].set_ylim(-lim, lim)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
