"""Training images: shapes, range, determinism, mixing, and no test image ever used for training."""

import pytest
import torch

from inverselab.data import TEST_SAMPLES, TRAINING_SOURCES, describe_source, load_sample, training_images


@pytest.mark.parametrize("source", TRAINING_SOURCES)
def test_shapes_range_and_determinism(source):
    x = training_images(source, 5, size=24, generator=3)
    assert x.shape == (5, 1, 24, 24) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert float(x.std()) > 0.05  # not blank
    assert torch.equal(x, training_images(source, 5, size=24, generator=3))
    assert not torch.equal(x, training_images(source, 5, size=24, generator=4))


def test_mixes_split_between_sources(monkeypatch):
    from inverselab.data import training

    calls = []

    def fake(source, num, size, gen, photos):
        calls.append((source, num))
        return torch.full((num, 1, size, size), float(len(calls)))

    monkeypatch.setattr(training, "_one_source", fake)
    x = training_images("phantoms", 5, size=8, generator=0)
    assert calls == [("ellipses", 3), ("photos", 2)]
    assert sorted(float(v) for v in x[:, 0, 0, 0]) == [1, 1, 1, 2, 2]  # all kept, shuffled together


def test_photo_crops_come_from_the_photos():
    x = training_images("photos", 3, size=32, generator=1, photos=["brick"])
    brick = load_sample("brick", gray=True)
    assert abs(float(x.mean()) - float(brick.mean())) < 0.15


def test_refuses_test_images_and_bad_arguments():
    with pytest.raises(ValueError, match="photos must not include test images"):
        training_images("photos", 2, photos=["brick", TEST_SAMPLES[0]])
    with pytest.raises(ValueError, match="source"):
        training_images("imagenet", 2)
    with pytest.raises(ValueError, match="num"):
        training_images("ellipses", 0)
    with pytest.raises(ValueError, match="size"):
        training_images("ellipses", 1, size=4)
    assert "dead-leaves images + random crops of the training photos" in describe_source("natural", 8, 64, 0)


def test_folder_source_crops_without_rescaling(tmp_path):
    import numpy as np

    from inverselab.data import is_folder_source

    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(40, 50, generator=g), torch.rand(36, 36, generator=g)
    np.save(tmp_path / "a.npy", a.numpy())
    np.save(tmp_path / "b.npy", b.numpy())
    assert is_folder_source(tmp_path) and is_folder_source(str(tmp_path)) and not is_folder_source("photos")
    x = training_images(tmp_path, 6, size=32, generator=1)
    assert x.shape == (6, 1, 32, 32)
    assert torch.equal(x, training_images(str(tmp_path), 6, size=32, generator=1))
    values = {float(v) for v in torch.cat([a.flatten(), b.flatten()])}
    assert all(float(v) in values for v in x.flatten())  # pixels of the images: not resampled
    assert describe_source(tmp_path, 6, 32, 1) == (
        "6 images of 32x32 px, seed 1: random crops (flipped, rotated, not rescaled) of the 2 images in "
        f"folder {tmp_path.resolve()}"
    )
    with pytest.raises(ValueError, match=r"b\.npy' is 36x36 px, smaller than the 40x40 px"):
        training_images(tmp_path, 2, size=40)
    with pytest.raises(ValueError, match="source must be one of .* or an existing folder"):
        training_images(tmp_path / "missing", 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="must contain files"):
        training_images(tmp_path / "empty", 2)
