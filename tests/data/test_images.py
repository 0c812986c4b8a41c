"""Bundled samples (offline), image files and folders: values, layouts, resizing and error messages."""

import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import inverselab.data as D
from inverselab.data import (
    SKIMAGE_SAMPLES,
    TEST_SAMPLES,
    TRAIN_SAMPLES,
    ImageFolder,
    list_samples,
    load_folder,
    load_image,
    load_sample,
)
from inverselab.metrics import psnr


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", list_samples())
def test_every_sample_loads_offline(name, no_network):
    g = load_sample(name, size=64)
    c = load_sample(name, size=64, gray=False)
    assert g.shape == (1, 64, 64) and c.shape == (3, 64, 64)
    assert g.dtype == c.dtype == torch.float32
    assert 0 <= float(g.min()) and float(g.max()) <= 1 and float(g.std()) > 0.02
    # The gray version is the luminance of the color one (resizing is linear, so it commutes).
    luma = (c * torch.tensor([0.2125, 0.7154, 0.0721]).reshape(3, 1, 1)).sum(0, keepdim=True)
    torch.testing.assert_close(g, luma, atol=1e-5, rtol=0)


def test_splits_are_disjoint_and_cover_the_bundled_samples():
    assert not set(TEST_SAMPLES) & set(TRAIN_SAMPLES)
    assert set(TEST_SAMPLES) | set(TRAIN_SAMPLES) == set(SKIMAGE_SAMPLES) | {"shepp_logan"}
    assert {"cat", "chelsea"} <= set(TRAIN_SAMPLES)  # the same photograph stays on one side
    assert {"camera", "astronaut", "shepp_logan_phantom"} <= set(TEST_SAMPLES)


def test_sample_values_match_skimage():
    from skimage import color, data, transform

    cam = data.camera()
    np.testing.assert_array_equal(load_sample("camera")[0].numpy(), (cam / 255.0).astype(np.float32))
    astro = load_sample("astronaut")
    np.testing.assert_allclose(astro[0].numpy(), color.rgb2gray(data.astronaut()), atol=1e-6)
    assert load_sample("astronaut", gray=False).shape == (3, 512, 512)
    assert load_sample("coins").shape == (1, 303, 384)  # no size: the original, not cropped
    # Center crop of a non-square image without resizing is exact.
    crop = load_sample("coins", size=303)[0].numpy()
    np.testing.assert_allclose(crop, data.coins()[:, 40:343] / 255.0, atol=1e-7, rtol=0)
    # Anti-aliased resizing agrees with scikit-image's.
    ref = torch.tensor(transform.resize(cam / 255.0, (128, 128), anti_aliasing=True), dtype=torch.float32)
    assert float(psnr(load_sample("camera", size=128)[None], ref[None, None])) > 35
    assert load_sample("horse", size=32).unique().numel() > 2  # boolean image, resized
    # The synthetic phantom is rasterized at the requested size, not resized.
    torch.testing.assert_close(load_sample("shepp_logan", size=96), D.shepp_logan(96))
    assert load_sample("shepp_logan", gray=False).shape == (3, 400, 400)


def test_unknown_sample_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"name must be one of .*'camera'.*; got 'brain'"):
        load_sample("brain")  # brain would need a download
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        load_sample("camera", size=0)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    gray8 = (rng.random((20, 30)) * 255).astype(np.uint8)
    rgb8 = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
    g16 = (rng.random((20, 30)) * 65535).astype(np.uint16)
    Image.fromarray(gray8).save(tmp_path / "a_gray.png")
    Image.fromarray(rgb8).save(tmp_path / "b_rgb.PNG")
    Image.fromarray(np.dstack([rgb8, np.full((20, 30), 7, np.uint8)])).save(tmp_path / "c_rgba.png")
    Image.fromarray(g16).save(tmp_path / "d_16.png")
    Image.fromarray(g16).save(tmp_path / "e_16.tif")
    smooth = (np.add.outer(np.arange(20) * 4, np.arange(30) * 3)[..., None] + np.array([0, 30, 60])).astype(
        np.uint8
    )
    Image.fromarray(smooth).save(tmp_path / "f.jpg", quality=95)
    np.save(tmp_path / "g_float.npy", rng.random((20, 30)) * 4 - 1)  # outside [0, 1]: min-max scaled
    np.save(tmp_path / "h_chw.npy", rgb8.transpose(2, 0, 1) / 255.0)
    np.save(tmp_path / "i_bool.npy", gray8 > 128)
    Image.fromarray(rng.random((20, 30)).astype(np.float32)).save(tmp_path / "j_float.tiff")
    (tmp_path / "notes.txt").write_text("not an image")
    Image.fromarray(gray8).save(tmp_path / ".hidden.png")
    return tmp_path, {"gray8": gray8, "rgb8": rgb8, "g16": g16, "smooth": smooth}


def test_load_image_scales_and_layouts(files):
    d, raw = files
    np.testing.assert_allclose(load_image(d / "a_gray.png")[0].numpy(), raw["gray8"] / 255.0, atol=1e-7)
    rgb = load_image(d / "b_rgb.PNG", gray=False).numpy()
    np.testing.assert_allclose(rgb, raw["rgb8"].transpose(2, 0, 1) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(load_image(d / "c_rgba.png", gray=False).numpy(), rgb)  # alpha dropped
    for name in ("d_16.png", "e_16.tif"):
        np.testing.assert_allclose(load_image(d / name)[0].numpy(), raw["g16"] / 65535.0, atol=1e-7)
    jpg = load_image(d / "f.jpg", gray=False).numpy()
    assert np.abs(jpg - raw["smooth"].transpose(2, 0, 1) / 255.0).max() < 0.03  # lossy, but the same picture
    f = load_image(d / "g_float.npy")
    assert float(f.min()) == 0.0 and float(f.max()) == 1.0
    np.testing.assert_allclose(load_image(d / "h_chw.npy", gray=False).numpy(), rgb, atol=1e-7)
    assert set(load_image(d / "i_bool.npy").unique().tolist()) == {0.0, 1.0}
    kept = np.asarray(Image.open(d / "j_float.tiff"))  # float in [0, 1]: kept as is
    np.testing.assert_array_equal(load_image(d / "j_float.tiff")[0].numpy(), kept)
    # gray <-> color conversions and crop + resize
    assert load_image(d / "a_gray.png", gray=False).shape == (3, 20, 30)
    np.testing.assert_allclose(
        load_image(d / "b_rgb.PNG")[0].numpy(),
        np.tensordot([0.2125, 0.7154, 0.0721], raw["rgb8"].transpose(2, 0, 1) / 255.0, axes=1),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        load_image(d / "a_gray.png", size=20)[0].numpy(), raw["gray8"][:, 5:25] / 255.0
    )
    assert load_image(str(d / "a_gray.png"), size=8).shape == (1, 8, 8)


def test_bad_files_raise_value_errors_naming_the_path(files, tmp_path):
    d, _ = files
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(d / "vector.npy", np.zeros(10))
    np.save(d / "volume.npy", np.zeros((2, 5, 8, 8)))
    np.save(d / "nan.npy", np.full((4, 4), np.nan))
    cases = {
        "missing.png": "does not exist",
        "broken.png": "cannot read image file",
        "objects.npy": "cannot read image file",  # would need unpickling: refused
        "vector.npy": r"must have shape .* got shape \(10,\)",
        "volume.npy": r"got shape \(2, 5, 8, 8\)",
        "nan.npy": "finite",
        "notes.txt": "must have one of the extensions",
    }
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message) as info:
            load_image(d / name)
        assert name in str(info.value)
    with pytest.raises(ValueError, match="does not exist or is not a file"):
        load_image(d)


def test_folder_is_sorted_filtered_and_batched(files, tmp_path):
    d, raw = files
    folder = ImageFolder(d, size=16, gray=False)
    names = [p.name for p in folder.files]
    assert names == sorted(names) and ".hidden.png" not in names and "notes.txt" not in names
    assert len(folder) == 10 and folder[0].shape == (3, 16, 16)
    batch = load_folder(d, size=16, gray=False)
    assert batch.shape == (10, 3, 16, 16)
    torch.testing.assert_close(batch[1], folder[1])
    same = tmp_path / "same"
    same.mkdir()
    for k in range(3):
        np.save(same / f"{k}.npy", np.full((6, 5), k / 2))
    torch.testing.assert_close(load_folder(same)[:, 0, 0, 0], torch.tensor([0.0, 0.5, 1.0]))
    np.save(same / "3.npy", np.zeros((6, 6)))
    with pytest.raises(ValueError, match=r"same shape.*'0.npy' is \(1, 6, 5\), '3.npy' is \(1, 6, 6\)"):
        load_folder(same)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=f"image folder '{empty}' must contain files"):
        ImageFolder(empty)
    with pytest.raises(ValueError, match="nowhere' does not exist or is not a folder"):
        load_folder(tmp_path / "nowhere")


def test_package_exports_and_lazy_imports():
    for name in D.__all__:
        assert hasattr(D, name), name
    code = (
        "import sys, inverselab.data, inverselab.metrics;"
        "print(sorted(m for m in ('skimage', 'sklearn', 'PIL', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
