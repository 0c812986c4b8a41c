"""Handwritten digits: scikit-learn's 8x8 digits (UCI optdigits), upscaled, as a small image class.

The image class of the generative priors (VAE, GAN, diffusion): small enough to train on a CPU in minutes,
and a class a generative model can learn well, unlike natural images. The 1797 images (43 writers) are split
by index into fixed, disjoint parts, so learned models never see the test digits:

- ``"train"``: images 0-1399, what ``inverselab train`` fits;
- ``"validation"``: images 1400-1499, the per-epoch validation of training runs;
- ``"test"``: images 1500-1796 (297 digits), what presets and benchmarks reconstruct (sample ``"digits"``;
  the problem's seed picks the digit).

Each 8x8 image (17 gray levels) is scaled to ``[0, 1]`` and upscaled by bicubic interpolation (clipped to
``[0, 1]``), so the images are smooth: at 32 px they are band-limited to the 8x8 grid's frequencies.

Reference: E. Alpaydin and C. Kaynak, "Optical recognition of handwritten digits", UCI Machine Learning
Repository, 1998 (as bundled by scikit-learn's ``load_digits``).

Example:
    >>> x = digits("test", size=32)
    >>> tuple(x.shape), float(x.min()) >= 0, float(x.max()) <= 1
    ((297, 1, 32, 32), True, True)
"""

from __future__ import annotations

import functools

import torch

from .._checks import check_choice, check_number

__all__ = ["DIGIT_SPLITS", "digits", "digit_labels"]

#: The index ranges of the splits (start, stop) in scikit-learn's order.
DIGIT_SPLITS = {"train": (0, 1400), "validation": (1400, 1500), "test": (1500, 1797)}


@functools.cache
def _load() -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ModuleNotFoundError:  # pragma: no cover - scikit-learn is a dependency
        raise ModuleNotFoundError(
            "the digits need scikit-learn (pip install scikit-learn); it bundles them, no download"
        ) from None
    data = load_digits()
    images = torch.as_tensor(data.images, dtype=torch.float32) / 16.0
    return images.unsqueeze(1), torch.as_tensor(data.target, dtype=torch.int64)


def digits(split: str = "train", size: int = 32) -> torch.Tensor:
    """The digit images of one split, upscaled to ``size x size``.

    Args:
        split: ``"train"``, ``"validation"``, ``"test"`` (see the module docstring) or ``"all"``.
        size: Side length in pixels (8 gives the original images; larger sizes are bicubic upscales).

    Returns:
        ``(num, 1, size, size)`` float32 in ``[0, 1]``.
    """
    check_choice("split", split, (*DIGIT_SPLITS, "all"))
    size = int(check_number("size", size, low=8, high=512, integer=True))
    images, _ = _load()
    if split != "all":
        start, stop = DIGIT_SPLITS[split]
        images = images[start:stop]
    if size != 8:
        images = torch.nn.functional.interpolate(
            images, size=(size, size), mode="bicubic", align_corners=False
        )
    return images.clamp(0, 1).contiguous()


def digit_labels(split: str = "train") -> torch.Tensor:
    """The digit (0-9) shown by each image of :func:`digits` ``(split)``, shape ``(num,)``."""
    check_choice("split", split, (*DIGIT_SPLITS, "all"))
    _, labels = _load()
    if split == "all":
        return labels.clone()
    start, stop = DIGIT_SPLITS[split]
    return labels[start:stop].clone()
