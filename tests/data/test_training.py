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
