"""Natural images: samples bundled with scikit-image (offline), single image files and folders of them.

Every loader returns float32 tensors in ``[0, 1]``: one image is ``(C, H, W)``, a folder ``(N, C, H, W)``,
with ``C = 1`` when ``gray`` (color converted to luminance ``0.2125 R + 0.7154 G + 0.0721 B``, as
scikit-image's ``rgb2gray``) and ``C = 3`` otherwise (gray images repeated on three channels). With ``size``,
the image is center-cropped to its largest square and resized to ``size x size`` by anti-aliased bilinear
interpolation.

Value scaling: 8-bit images are divided by 255 and 16-bit ones by 65535; other integer arrays by 255 or
65535 when their values fit in that range (else min-max scaled); boolean images map to 0 and 1;
floating-point images already in ``[0, 1]`` are kept as they are, others are min-max scaled to ``[0, 1]``.
Alpha channels are dropped.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .._checks import check_choice, check_number

__all__ = [
    "SKIMAGE_SAMPLES",
    "SKLEARN_SAMPLES",
    "SYNTHETIC_SAMPLES",
    "TEST_SAMPLES",
    "TRAIN_SAMPLES",
    "IMAGE_EXTENSIONS",
    "list_samples",
    "load_sample",
    "load_image",
    "load_folder",
    "ImageFolder",
]

#: Images that scikit-image ships in its wheel (no download). ``cat`` and ``chelsea`` are the same photograph.
SKIMAGE_SAMPLES = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "shepp_logan_phantom",
    "text",
)
#: The two photographs of scikit-learn's ``load_sample_image``; available only when scikit-learn is installed
#: (an optional dependency), and part of neither split.
SKLEARN_SAMPLES = ("china", "flower")
#: Images computed on the fly: ``shepp_logan`` is :func:`~inverselab.data.shepp_logan`, rasterized exactly at
#: the requested size (400 x 400 without ``size``, like scikit-image's ``shepp_logan_phantom``).
SYNTHETIC_SAMPLES = ("shepp_logan",)
#: Images reserved for evaluation and benchmarks: never train on them.
TEST_SAMPLES = ("astronaut", "camera", "coins", "moon", "shepp_logan_phantom", "shepp_logan")
#: The other bundled images, for training learned methods (disjoint from :data:`TEST_SAMPLES`).
TRAIN_SAMPLES = tuple(name for name in SKIMAGE_SAMPLES if name not in TEST_SAMPLES)
#: File types read by :func:`load_image` (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy")

_LUMA = (0.2125, 0.7154, 0.0721)  # ITU-R BT.709, as skimage.color.rgb2gray


def _has_sklearn() -> bool:
    return importlib.util.find_spec("sklearn") is not None


def list_samples() -> list[str]:
    """Names accepted by :func:`load_sample`: scikit-image's, synthetic ones, and scikit-learn's if installed.

    Example:
        >>> "camera" in list_samples()
        True
    """
    return [*SKIMAGE_SAMPLES, *SYNTHETIC_SAMPLES, *(SKLEARN_SAMPLES if _has_sklearn() else ())]


def _scale(arr: np.ndarray, source: str) -> np.ndarray:
    """Values as float64 in ``[0, 1]`` (see the module docstring for the rules)."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    if arr.dtype == np.uint8:
        return arr / 255.0
    if arr.dtype == np.uint16:
        return arr / 65535.0
    if np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float64)
        if not np.isfinite(out).all():
            raise ValueError(f"image {source} must contain only finite values, got NaN or Inf")
        lo, hi = (out.min(), out.max()) if out.size else (0.0, 0.0)
        if np.issubdtype(arr.dtype, np.integer) and lo >= 0 and hi <= 65535:
            return out / (255.0 if hi <= 255 else 65535.0)
        if np.issubdtype(arr.dtype, np.floating) and lo >= 0 and hi <= 1:
            return out
        return (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
    raise ValueError(f"image {source} must have a numeric dtype, got {arr.dtype}")


def _to_chw(arr: np.ndarray, source: str) -> np.ndarray:
    """``(H, W)``, ``(H, W, C)`` (C in 1..4) or ``(C, H, W)`` (C in {1, 3}) -> ``(C, H, W)``, no alpha."""
    if arr.ndim == 2:
        return arr[None]
    if arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4):
        arr = np.moveaxis(arr, 2, 0)
    elif not (arr.ndim == 3 and arr.shape[0] in (1, 3)):
        raise ValueError(
            f"image {source} must have shape (H, W), (H, W, C) with C in 1..4 or (C, H, W) with C in "
            f"{{1, 3}}, got shape {arr.shape}"
        )
    if arr.shape[0] in (2, 4):  # gray + alpha, RGB + alpha
        arr = arr[:-1]
    return arr


def _finish(arr: np.ndarray, source: str, size: int | None, gray: bool) -> torch.Tensor:
    """Raw array -> ``(C, H, W)`` float32 in ``[0, 1]``, gray or RGB, optionally cropped and resized."""
    chw = _to_chw(np.asarray(arr), source)
    if min(chw.shape[1:]) < 1:
        raise ValueError(f"image {source} must not be empty, got shape {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(_scale(chw, source)))
    if gray and x.shape[0] == 3:
        x = (x * torch.tensor(_LUMA, dtype=x.dtype).reshape(3, 1, 1)).sum(0, keepdim=True)
    elif not gray and x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    if size is not None:
        h, w = x.shape[1:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[None, :, top : top + side, left : left + side]
        if side != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        x = x[0]
    return x.clamp(0, 1).to(torch.float32).contiguous()


def _check_size(size: int | None) -> int | None:
    return None if size is None else int(check_number("size", size, low=1, integer=True))


def load_sample(name: str, size: int | None = None, gray: bool = True) -> torch.Tensor:
    """A bundled (or synthetic) sample image, loaded offline (never downloaded).

    Args:
        name: One of :func:`list_samples` (e.g. ``"camera"``, ``"astronaut"``).
        size: Crop to the central square and resize to ``size x size``; ``None`` keeps the original image.
        gray: One luminance channel; otherwise three RGB channels.

    Returns:
        Shape ``(1, H, W)`` if ``gray`` else ``(3, H, W)``, float32 in ``[0, 1]``.

    Example:
        >>> load_sample("camera", size=64).shape
        torch.Size([1, 64, 64])
    """
    check_choice("name", name, list_samples())
    size = _check_size(size)
    if name == "shepp_logan":
        from .phantoms import shepp_logan

        return _finish(shepp_logan(size or 400)[0].numpy(), "sample 'shepp_logan'", None, gray)
    if name in SKLEARN_SAMPLES:
        from sklearn.datasets import load_sample_image

        arr = load_sample_image(f"{name}.jpg")
    else:
        import skimage.data

        arr = getattr(skimage.data, name)()
    return _finish(arr, f"sample {name!r}", size, gray)


def _read(path: Path) -> np.ndarray:
    """The raw array stored in an image file, or a ``ValueError`` naming the path."""
    if not path.is_file():
        raise ValueError(f"image file {str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise ValueError(
            f"image file {str(path)!r} must have one of the extensions {', '.join(IMAGE_EXTENSIONS)}, "
            f"got {path.suffix!r}"
        )
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)  # never unpickle user files
        from PIL import Image

        with Image.open(path) as im:
            if im.mode in ("P", "PA"):
                im = im.convert("RGBA")
            elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            return np.array(im)
    except (OSError, ValueError, SyntaxError) as err:  # PIL raises these for corrupt or unknown files
        raise ValueError(f"cannot read image file {str(path)!r}: {err}") from err


def load_image(path: str | Path, size: int | None = None, gray: bool = True) -> torch.Tensor:
    """One image from a PNG, JPEG, TIFF or NPY file.

    NPY files hold ``(H, W)``, ``(H, W, C)`` or ``(C, H, W)`` arrays and are read with ``allow_pickle=False``.

    Args:
        path: The file.
        size: Crop to the central square and resize to ``size x size``; ``None`` keeps the original image.
        gray: One luminance channel; otherwise three RGB channels.

    Returns:
        Shape ``(1, H, W)`` if ``gray`` else ``(3, H, W)``, float32 in ``[0, 1]``.

    Raises:
        ValueError: The file is missing, unreadable, of an unknown type or of an unsupported shape; the
            message names the path.

    Example:
        >>> import tempfile, numpy as np
        >>> f = tempfile.NamedTemporaryFile(suffix=".npy", delete=False).name
        >>> np.save(f, np.full((8, 6), 0.5))
        >>> load_image(f, gray=False).shape
        torch.Size([3, 8, 6])
    """
    path = Path(path)
    size = _check_size(size)
    return _finish(_read(path), repr(str(path)), size, gray)


class ImageFolder(Dataset):
    """The images of a folder as a dataset: its files with an :data:`IMAGE_EXTENSIONS` suffix, sorted by name
    (not recursive; hidden files skipped), each loaded on access by :func:`load_image`.

    Args:
        path: The folder.
        size: Crop and resize every image to ``size x size`` (needed to batch images of different shapes).
        gray: One luminance channel; otherwise three RGB channels.

    Example:
        >>> import tempfile, numpy as np
        >>> d = tempfile.mkdtemp()
        >>> for k in range(3):
        ...     np.save(f"{d}/{k}.npy", np.zeros((8, 8)))
        >>> ds = ImageFolder(d, size=4)
        >>> len(ds), ds[0].shape
        (3, torch.Size([1, 4, 4]))
    """

    def __init__(self, path: str | Path, size: int | None = None, gray: bool = True):
        self.path = Path(path)
        self.size = _check_size(size)
        self.gray = bool(gray)
        if not self.path.is_dir():
            raise ValueError(f"image folder {str(self.path)!r} does not exist or is not a folder")
        self.files = sorted(
            p
            for p in self.path.iterdir()
            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
        )
        if not self.files:
            raise ValueError(
                f"image folder {str(self.path)!r} must contain files with one of the extensions "
                f"{', '.join(IMAGE_EXTENSIONS)}, found none"
            )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        return load_image(self.files[index], self.size, self.gray)

    def __repr__(self) -> str:
        return f"ImageFolder({str(self.path)!r}, size={self.size}, gray={self.gray}, files={len(self.files)})"


def load_folder(path: str | Path, size: int | None = None, gray: bool = True) -> torch.Tensor:
    """All the images of a folder (see :class:`ImageFolder`) as one batch.

    Returns:
        Shape ``(N, C, H, W)``, float32 in ``[0, 1]``, in file-name order.

    Raises:
        ValueError: As :class:`ImageFolder` and :func:`load_image`; also when the images have different shapes
            and no ``size`` is given.

    Example:
        >>> import tempfile, numpy as np
        >>> d = tempfile.mkdtemp()
        >>> np.save(f"{d}/a.npy", np.zeros((8, 8))); np.save(f"{d}/b.npy", np.ones((8, 8)))
        >>> load_folder(d).shape
        torch.Size([2, 1, 8, 8])
    """
    folder = ImageFolder(path, size, gray)
    images = [folder[k] for k in range(len(folder))]
    for file, img in zip(folder.files, images, strict=True):
        if img.shape != images[0].shape:
            raise ValueError(
                f"images of folder {str(folder.path)!r} must have the same shape to form a batch "
                f"(pass size=...): {folder.files[0].name!r} is {tuple(images[0].shape)}, "
                f"{file.name!r} is {tuple(img.shape)}"
            )
    return torch.stack(images)
