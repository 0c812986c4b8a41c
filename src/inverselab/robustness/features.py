"""Small synthetic features at known positions, and how well a reconstruction recovers them.

A :class:`Feature` is a small disc or a short straight line of a few pixels, added to an image with a given
amplitude (bright if positive, dark if negative). :func:`place_features` puts a list of them at random but
reproducible positions in flat parts of an image (so that the contrast of each is measured against a
uniform surround), :func:`insert_features` adds them, and :func:`feature_scores` measures in a reconstruction,
for each feature:

- the local error in a window around it (the footprint dilated by ``margin`` pixels), relative to the
  feature itself, ``‖(x̂ - x) 1_window‖ / ‖δ‖`` with ``δ`` the inserted feature (0: perfect; about 1: the
  feature is missing), and as a local PSNR;
- the contrast recovery ``(mean_in x̂ - mean_ring x̂) / (mean_in x - mean_ring x)``, the feature's mean against
  the ring of pixels around it, in the reconstruction relative to the truth (1: full contrast, 0: gone), the
  contrast-to-noise ratio (that contrast over the spread of the error on the ring), and ``detected`` when
  at least half the contrast is there and it stands out of the local error (CNR at least 2);
- given the reconstruction ``x̂₀`` of the same measurement without the features (same operator and noise),
  the recovered fraction ``<x̂ - x̂₀, δ> / ‖δ‖²``: how much of the inserted change reaches the output.

This follows the "small structural change" experiments of Antun et al. (PNAS 2020), who added small
details (text, dots) to an image and asked which reconstructions still show them, and the false-negative
study of Cheng, Caldera & Ramadge / fastMRI-style pathology insertion (small lesions added to knee images,
Cheng et al., "Addressing the false negative problem of deep learning MRI reconstruction models by
adversarial attacks and robust training", MIDL 2020).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from .._checks import check_choice, check_number, check_tensor
from ..noise import make_generator

__all__ = ["Feature", "FEATURE_KINDS", "insert_features", "feature_masks", "feature_scores", "place_features"]

#: Kinds of :class:`Feature`.
FEATURE_KINDS = ("disc", "line")


@dataclass(frozen=True)
class Feature:
    """A small feature added to an image.

    Attributes:
        kind: ``"disc"`` (all pixels whose centers are within ``size`` of the center) or ``"line"`` (the
            pixels within half a pixel of a segment of length ``size`` through the center, at ``angle``).
        row: Row of the center (pixels, may be fractional).
        col: Column of the center.
        size: Disc radius or line length, in pixels.
        amplitude: Value added on the footprint (positive: bright, negative: dark).
        angle: Direction of a line (radians from the column axis).
    """

    kind: str
    row: float
    col: float
    size: float
    amplitude: float
    angle: float = 0.0

    def __post_init__(self):
        check_choice("kind", self.kind, FEATURE_KINDS)
        for name in ("row", "col", "amplitude", "angle"):
            check_number(name, getattr(self, name))
        check_number("size", self.size, low=0, low_inclusive=False)

    @property
    def label(self) -> str:
        """E.g. ``"bright disc r=1.5"`` or ``"dark line 5 px"``."""
        tone = "bright" if self.amplitude > 0 else "dark"
        return f"{tone} disc r={self.size:g}" if self.kind == "disc" else f"{tone} line {self.size:g} px"

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)

    def footprint(self, shape: Sequence[int]) -> torch.Tensor:
        """Bool ``(H, W)``: the pixels the feature covers (at least one pixel)."""
        H, W = (int(s) for s in shape)
        r = torch.arange(H, dtype=torch.float64).reshape(-1, 1) - self.row
        c = torch.arange(W, dtype=torch.float64).reshape(1, -1) - self.col
        if self.kind == "disc":
            inside = r**2 + c**2 <= self.size**2 + 1e-9
        else:
            dr, dc = math.sin(self.angle), math.cos(self.angle)
            along = r * dr + c * dc
            across = (r * dc - c * dr).abs()
            inside = (along.abs() <= self.size / 2 + 1e-9) & (across <= 0.5 + 1e-9)
        if not bool(inside.any()):  # a sub-pixel feature covers its nearest pixel
            i = min(max(round(self.row), 0), H - 1)
            j = min(max(round(self.col), 0), W - 1)
            inside[i, j] = True
        return inside


def _image2d(name: str, x: torch.Tensor) -> torch.Tensor:
    """``x`` as ``(H, W)`` from ``(H, W)`` or ``(1, 1, H, W)``; magnitudes for complex images."""
    check_tensor(name, x, finite=False)
    if x.ndim == 4 and x.shape[:2] == (1, 1):
        x = x[0, 0]
    if x.ndim != 2:
        raise ValueError(f"{name} must be one grayscale image (H, W) or (1, 1, H, W), got {tuple(x.shape)}")
    return x.abs() if x.is_complex() else x


def _dilate(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """The pixels within Chebyshev distance ``pixels`` of ``mask`` (a square dilation)."""
    if pixels <= 0:
        return mask
    k = 2 * pixels + 1
    out = torch.nn.functional.max_pool2d(mask[None, None].double(), k, stride=1, padding=pixels)
    return out[0, 0] > 0


def feature_masks(feature: Feature, shape: Sequence[int], margin: int = 3) -> dict[str, torch.Tensor]:
    """The regions used to score ``feature`` in an image of ``shape`` ``(H, W)``.

    Returns:
        ``inside`` (the footprint), ``window`` (the footprint dilated by ``margin`` pixels: where the local
        error is measured) and ``ring`` (the window minus the footprint dilated by one pixel: the surround the
        contrast is measured against), all bool ``(H, W)``.

    Example:
        >>> masks = feature_masks(Feature("disc", 8, 8, 1.0, 0.5), (16, 16), margin=3)
        >>> [int(masks[k].sum()) for k in ("inside", "window", "ring")]
        [5, 77, 56]
    """
    if not isinstance(feature, Feature):
        raise TypeError(f"feature must be a Feature, got {type(feature).__name__}")
    margin = int(check_number("margin", margin, low=2, integer=True))
    inside = feature.footprint(shape)
    return {
        "inside": inside,
        "window": _dilate(inside, margin),
        "ring": _dilate(inside, margin) & ~_dilate(inside, 1),
    }


def insert_features(x: torch.Tensor, features: Sequence[Feature]) -> torch.Tensor:
    """``x`` plus every feature's amplitude on its footprint (no clipping, so ``δ`` is exactly known).

    Args:
        x: Images ``(B, C, H, W)`` or ``(H, W)``; every channel and item gets the same features.
        features: The features.

    Example:
        >>> x = insert_features(torch.zeros(1, 1, 5, 5), [Feature("disc", 2, 2, 1.0, 0.5)])
        >>> float(x.sum())
        2.5
    """
    check_tensor("x", x, finite=False)
    if x.ndim not in (2, 4):
        raise ValueError(f"x must be (H, W) or (B, C, H, W), got shape {tuple(x.shape)}")
    delta = torch.zeros(x.shape[-2:], dtype=torch.float64)
    for f in features:
        if not isinstance(f, Feature):
            raise TypeError(f"features must contain Feature objects, got {type(f).__name__}")
        delta = delta + f.amplitude * f.footprint(x.shape[-2:]).double()
    return x + delta.to(device=x.device, dtype=x.real.dtype if x.is_complex() else x.dtype)


def feature_scores(
    x_hat: torch.Tensor,
    x_true: torch.Tensor,
    features: Sequence[Feature],
    *,
    baseline: torch.Tensor | None = None,
    margin: int = 3,
    data_range: float = 1.0,
    threshold: float = 0.5,
    min_cnr: float = 2.0,
) -> list[dict[str, float | bool | str]]:
    """How well ``x_hat`` recovers each of ``features`` present in ``x_true``.

    Args:
        x_hat: The reconstruction ``(H, W)`` or ``(1, 1, H, W)`` (complex: its magnitude).
        x_true: The truth with the features inserted (:func:`insert_features`), same shape.
        features: The inserted features.
        baseline: The reconstruction of the same measurement without the features (optional): adds the
            ``recovered_fraction``.
        margin: Window half-width around each footprint, pixels (>= 2).
        data_range: Range for the local PSNR.
        threshold: ``detected`` needs a contrast recovery of at least this ...
        min_cnr: ... and a contrast-to-noise ratio of at least this.

    Returns:
        One record per feature: ``label``, ``local_error`` (``‖(x̂ - x) 1_window‖ / ‖δ‖``), ``local_psnr``
        (dB, over the window), ``contrast_true``, ``contrast`` (mean inside minus mean over the ring),
        ``contrast_recovery`` (their ratio), ``cnr`` (the contrast in ``x̂``, signed like the feature, over
        the standard deviation of the error ``x̂ - x`` on the ring: is it visible above the local error?),
        ``detected`` (``contrast_recovery >= threshold`` and ``cnr >= min_cnr``), and with ``baseline`` the
        ``recovered_fraction``
        ``<x̂ - x̂₀, δ> / ‖δ‖²``.

    Example:
        >>> f = Feature("disc", 8, 8, 1.0, 0.5)
        >>> x = insert_features(torch.zeros(16, 16), [f])
        >>> s = feature_scores(0.5 * x, x, [f])[0]
        >>> round(s["local_error"], 3), round(s["contrast_recovery"], 3), s["detected"]
        (0.5, 0.5, True)
    """
    xh = _image2d("x_hat", x_hat).double()
    xt = _image2d("x_true", x_true).double()
    if xh.shape != xt.shape:
        raise ValueError(f"x_hat must have x_true's shape {tuple(xt.shape)}, got {tuple(xh.shape)}")
    base = None if baseline is None else _image2d("baseline", baseline).double()
    if base is not None and base.shape != xt.shape:
        raise ValueError(f"baseline must have x_true's shape {tuple(xt.shape)}, got {tuple(base.shape)}")
    data_range = float(check_number("data_range", data_range, low=0, low_inclusive=False))
    threshold = float(check_number("threshold", threshold))
    min_cnr = float(check_number("min_cnr", min_cnr))
    out = []
    for f in features:
        m = feature_masks(f, xt.shape, margin)
        inside, window, ring = (m[k].to(xt.device) for k in ("inside", "window", "ring"))
        delta = f.amplitude * inside.double()
        delta_norm = float(torch.linalg.vector_norm(delta))
        err = (xh - xt)[window]
        mse = float(err.pow(2).mean())
        c_true = float(xt[inside].mean() - xt[ring].mean())
        c_hat = float(xh[inside].mean() - xh[ring].mean())
        recovery = c_hat / c_true if c_true != 0 else math.nan
        spread = float((xh - xt)[ring].std()) if int(ring.sum()) > 1 else 0.0
        signed = c_hat * math.copysign(1.0, c_true)
        cnr = signed / spread if spread > 0 else (math.inf if signed > 0 else 0.0)
        rec = {
            "label": f.label,
            "local_error": float(torch.linalg.vector_norm(err)) / delta_norm,
            "local_psnr": 10 * math.log10(data_range**2 / mse) if mse > 0 else math.inf,
            "contrast_true": c_true,
            "contrast": c_hat,
            "contrast_recovery": recovery,
            "cnr": cnr,
            "detected": bool(recovery >= threshold and cnr >= min_cnr),
        }
        if base is not None:
            rec["recovered_fraction"] = float(((xh - base) * delta).sum()) / delta_norm**2
        out.append(rec)
    return out


def place_features(
    image: torch.Tensor,
    shapes: Sequence[tuple[str, float, float]],
    *,
    spacing: float = 12.0,
    margin: int = 3,
    floor: float = 0.05,
    generator: torch.Generator | int | None = 0,
) -> list[Feature]:
    """Reproducible positions for features ``shapes`` in the flat parts of ``image``.

    A position qualifies when the feature's window (footprint dilated by ``margin + 1`` pixels) lies inside
    the image, the image there is at least ``floor`` (inside the object, not on an empty background) and
    stays in ``[0, 1]`` after adding the amplitude, and the window is flat: its
    standard deviation is in the lowest quarter of those of all qualifying positions. Positions are drawn at
    random among them (lines get a random angle), at least ``spacing`` pixels from each other.

    Args:
        image: The image ``(H, W)`` or ``(1, 1, H, W)`` the features will be added to (values in [0, 1]).
        shapes: ``(kind, size, amplitude)`` per feature, e.g. ``("disc", 1.5, 0.2)``, ``("line", 5, -0.2)``.
        spacing: Least distance between two centers, pixels.
        margin: As in :func:`feature_scores`.
        floor: Least image value in a feature's window.
        generator: Seed or generator of the positions and angles.

    Returns:
        The features, in the order of ``shapes``.

    Raises:
        ValueError: no room for a feature (too large, too many, or no flat region where its amplitude fits).

    Example:
        >>> fs = place_features(torch.full((32, 32), 0.5), [("disc", 1, 0.2), ("line", 5, -0.2)])
        >>> [f.kind for f in fs]
        ['disc', 'line']
    """
    img = _image2d("image", image).double().cpu()
    H, W = img.shape
    spacing = float(check_number("spacing", spacing, low=0))
    margin = int(check_number("margin", margin, low=2, integer=True))
    floor = float(check_number("floor", floor))
    gen = make_generator(generator)
    placed: list[Feature] = []
    for i, spec in enumerate(shapes):
        if not isinstance(spec, (tuple, list)) or len(spec) != 3:
            raise ValueError(f"shapes[{i}] must be (kind, size, amplitude), got {spec!r}")
        kind, size, amplitude = spec
        check_choice(f"shapes[{i}] kind", kind, FEATURE_KINDS)
        size = float(check_number(f"shapes[{i}] size", size, low=0, low_inclusive=False))
        amplitude = float(check_number(f"shapes[{i}] amplitude", amplitude))
        half = math.ceil(size if kind == "disc" else size / 2) + margin + 1
        k = 2 * half + 1
        if k > min(H, W):
            raise ValueError(f"shapes[{i}]: a {kind} of size {size:g} does not fit in a {H} x {W} image")
        pool = torch.nn.functional.avg_pool2d
        mean = pool(img[None, None], k, stride=1)[0, 0]
        var = (pool(img[None, None] ** 2, k, stride=1)[0, 0] - mean**2).clamp(min=0)
        lo = -torch.nn.functional.max_pool2d(-img[None, None], k, stride=1)[0, 0]
        hi = torch.nn.functional.max_pool2d(img[None, None], k, stride=1)[0, 0]
        ok = (lo >= floor) & (lo + amplitude >= 0) & (hi + amplitude <= 1)
        rows = torch.arange(mean.shape[0], dtype=torch.float64).reshape(-1, 1) + half
        cols = torch.arange(mean.shape[1], dtype=torch.float64).reshape(1, -1) + half
        for f in placed:
            ok &= (rows - f.row) ** 2 + (cols - f.col) ** 2 >= spacing**2
        if not bool(ok.any()):
            raise ValueError(
                f"shapes[{i}]: no room for a {kind} of size {size:g} and amplitude {amplitude:g} "
                f"({len(placed)} placed; try fewer features, a smaller spacing, floor or amplitude)"
            )
        cut = torch.quantile(var[ok], 0.25)
        cand = torch.nonzero(ok & (var <= cut))
        pick = cand[int(torch.randint(len(cand), (1,), generator=gen))]
        angle = float(torch.rand((), generator=gen, dtype=torch.float64)) * math.pi if kind == "line" else 0.0
        placed.append(Feature(kind, float(pick[0]) + half, float(pick[1]) + half, size, amplitude, angle))
    return placed
