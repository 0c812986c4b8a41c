"""Training images for learned methods: generated phantoms and crops of the bundled training photos.

Learned methods train on these and are evaluated on :data:`~inverselab.data.TEST_SAMPLES` (what
``inverselab bench`` uses), which they never see: :func:`training_images` refuses test images.

Sources:

- ``"dead-leaves"``: scale-invariant occlusion images (:func:`~inverselab.data.dead_leaves`), a good prior for
  natural-image restoration networks (Achddou, Gousseau & Ladjal, SSVM 2021);
- ``"ellipses"``: random-ellipse phantoms (:func:`~inverselab.data.random_ellipses`), the usual training set
  of learned CT/MRI reconstruction;
- ``"photos"``: random crops of :data:`~inverselab.data.TRAIN_SAMPLES` at random scales, flipped and rotated;
- ``"natural"``: half dead leaves, half photos; ``"phantoms"``: half ellipses, half photos;
- a folder of the user's images (any path to an existing directory that is not one of the names above;
  write ``./photos`` for a folder called ``photos``): random ``size x size`` crops of its images, grayscale,
  randomly flipped and rotated by quarter turns but never rescaled (a crop of a noisy image keeps its noise
  level). Every image is loaded once per call (:class:`~inverselab.data.ImageFolder`); each crop picks an
  image uniformly, so every image must be at least ``size`` pixels on each side.

Example:
    >>> x = training_images("dead-leaves", 4, size=16, generator=0)
    >>> tuple(x.shape), bool(x.min() >= 0) and bool(x.max() <= 1)
    ((4, 1, 16, 16), True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from .._checks import check_number

__all__ = ["TRAINING_SOURCES", "training_images", "describe_source", "is_folder_source"]

#: Names accepted by :func:`training_images`.
TRAINING_SOURCES = ("dead-leaves", "ellipses", "photos", "natural", "phantoms")

_MIXES = {"natural": ("dead-leaves", "photos"), "phantoms": ("ellipses", "photos")}


def is_folder_source(source: str | os.PathLike) -> bool:
    """Whether :func:`training_images` reads ``source`` as a folder of images (not a generated source)."""
    return source not in TRAINING_SOURCES and Path(source).is_dir()


def _check_source(source: str | os.PathLike) -> None:
    if not is_folder_source(source) and source not in TRAINING_SOURCES:
        choices = ", ".join(map(repr, TRAINING_SOURCES))
        raise ValueError(f"source must be one of {choices} or an existing folder of images; got {source!r}")


def describe_source(source: str | os.PathLike, num: int, size: int, seed: int) -> str:
    """One line saying what :func:`training_images` returned (for checkpoint sidecars and reports).

    Args:
        source: As for :func:`training_images`; a folder is described by its absolute path and file count.
        num: Number of images.
        size: Side length in pixels.
        seed: The seed the images were drawn with.

    Returns:
        E.g. ``"256 images of 64x64 px, seed 3: dead-leaves images + random crops of the training photos
        (...)"``.

    Raises:
        ValueError: Unknown source, or a folder without images.
    """
    from .images import TRAIN_SAMPLES, ImageFolder

    _check_source(source)
    head = f"{num} images of {size}x{size} px, seed {seed}: "
    if is_folder_source(source):
        folder = ImageFolder(source)
        count = len(folder.files)
        return head + (
            f"random crops (flipped, rotated, not rescaled) of the {count} image{'s' * (count != 1)} "
            f"in folder {Path(source).resolve()}"
        )
    parts = _MIXES.get(source, (source,))
    words = {
        "dead-leaves": "dead-leaves images",
        "ellipses": "random-ellipse phantoms",
        "photos": f"random crops of the training photos ({', '.join(TRAIN_SAMPLES)})",
    }
    return head + " + ".join(words[p] for p in parts)


def training_images(
    source: str | os.PathLike,
    num: int,
    size: int = 64,
    generator: torch.Generator | int | None = None,
    *,
    photos: Sequence[str] | None = None,
) -> torch.Tensor:
    """``num`` grayscale training images ``(num, 1, size, size)`` in ``[0, 1]`` from ``source``.

    Args:
        source: One of :data:`TRAINING_SOURCES`, or a folder of images (see the module docstring).
        num: Number of images.
        size: Side length in pixels.
        generator: Seed or ``torch.Generator``; the same seed gives the same images.
        photos: Names of the photos to crop (default :data:`~inverselab.data.TRAIN_SAMPLES`); test images are
            refused.

    Returns:
        A float32 tensor.

    Raises:
        ValueError: Unknown source, test images in ``photos``, a folder without images or with an image
            smaller than ``size`` (the message names the file).
    """
    from ..noise import make_generator
    from .images import TEST_SAMPLES, TRAIN_SAMPLES

    _check_source(source)
    num = int(check_number("num", num, low=1, integer=True))
    size = int(check_number("size", size, low=8, high=4096, integer=True))
    if is_folder_source(source):
        return _folder_crops(Path(source), num, size, make_generator(generator))
    photos = tuple(TRAIN_SAMPLES if photos is None else photos)
    leaked = [p for p in photos if p in TEST_SAMPLES]
    if leaked:
        raise ValueError(f"photos must not include test images (inverselab.data.TEST_SAMPLES), got {leaked}")
    if not photos and source in ("photos", "natural", "phantoms"):
        raise ValueError("photos must name at least one image for this source")
    gen = make_generator(generator)
    parts = _MIXES.get(source, (source,))
    counts = [num // len(parts) + (i < num % len(parts)) for i in range(len(parts))]
    out = torch.cat([_one_source(p, c, size, gen, photos) for p, c in zip(parts, counts, strict=True) if c])
    order = torch.randperm(num, generator=gen)  # interleave the sources
    return out[order].contiguous()


def _one_source(source: str, num: int, size: int, gen: torch.Generator, photos: tuple[str, ...]):
    from .phantoms import dead_leaves, random_ellipses

    if source == "dead-leaves":
        return dead_leaves(num, size, gen)
    if source == "ellipses":
        return random_ellipses(num, size, gen)
    return _photo_crops(num, size, gen, photos)


def _photo_crops(num: int, size: int, gen: torch.Generator, photos: tuple[str, ...]) -> torch.Tensor:
    """Random crops (side uniform between ``size`` and 4 ``size``, at most the photo), resized to ``size``
    with area averaging, then a random flip and quarter turn."""
    import torch.nn.functional as F

    from .images import load_sample

    images = [load_sample(name, gray=True) for name in photos]
    out = torch.empty(num, 1, size, size)
    for i in range(num):
        img = images[int(torch.randint(len(images), (1,), generator=gen))]
        h, w = img.shape[-2:]
        biggest = min(h, w, 4 * size)
        side = int(torch.randint(min(size, biggest), biggest + 1, (1,), generator=gen))
        top = int(torch.randint(h - side + 1, (1,), generator=gen))
        left = int(torch.randint(w - side + 1, (1,), generator=gen))
        crop = img[:, top : top + side, left : left + side].unsqueeze(0)
        crop = F.interpolate(crop, size=(size, size), mode="area") if side != size else crop
        if bool(torch.randint(2, (1,), generator=gen)):
            crop = crop.flip(-1)
        crop = torch.rot90(crop, int(torch.randint(4, (1,), generator=gen)), dims=(-2, -1))
        out[i] = crop[0].clamp(0.0, 1.0)
    return out


def _folder_crops(path: Path, num: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """``num`` random ``size x size`` crops of the folder's images (grayscale), flipped and rotated."""
    from .images import ImageFolder

    folder = ImageFolder(path, gray=True)
    images = [folder[k] for k in range(len(folder))]
    for file, img in zip(folder.files, images, strict=True):
        h, w = img.shape[-2:]
        if h < size or w < size:
            raise ValueError(
                f"image file {str(file)!r} is {h}x{w} px, smaller than the {size}x{size} px training crops "
                "(use a smaller patch or remove the file)"
            )
    out = torch.empty(num, 1, size, size)
    for i in range(num):
        img = images[int(torch.randint(len(images), (1,), generator=gen))]
        h, w = img.shape[-2:]
        top = int(torch.randint(h - size + 1, (1,), generator=gen))
        left = int(torch.randint(w - size + 1, (1,), generator=gen))
        crop = img[:, top : top + size, left : left + size]
        if bool(torch.randint(2, (1,), generator=gen)):
            crop = crop.flip(-1)
        out[i] = torch.rot90(crop, int(torch.randint(4, (1,), generator=gen)), dims=(-2, -1))
    return out
