"""Self-supervised denoising (SURE, Noise2Self): learns without clean images, never sees them, resumes
exactly; training on a folder of images, clean or already noisy."""

import numpy as np
import pytest
import torch

from inverselab.data import training_images
from inverselab.training import checkpoints, trainer
from inverselab.training.trainer import TrainConfig, train

DNCNN = {"depth": 4, "features": 16}
TINY = {"batch_size": 4, "patch": 32, "num_train": 32, "num_val": 8}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _weights(path):
    return checkpoints.load_weights(path / "model")[0]


@pytest.mark.parametrize("loss, margin", [("sure", 1.0), ("noise2self", 1.5)])
def test_self_supervised_denoiser_beats_its_noisy_input(tmp_path, loss, margin):
    """60 steps of a 4-layer DnCNN on photo crops; measured over seeds 0-3, held-out PSNR above the noisy
    input's: SURE +1.9 to +2.7 dB, Noise2Self +2.9 to +3.5 dB (supervised MSE: +4.3 dB)."""
    config = TrainConfig(
        "denoise-sigma25",
        "dncnn",
        DNCNN,
        loss=loss,
        data="photos",
        lr=1e-2,
        epochs=1,
        steps_per_epoch=60,
        **TINY,
    )
    side = train(config, tmp_path)
    assert side["metrics"]["val_psnr"] > side["metrics"]["input_psnr"] + margin
    assert side["train_config"]["loss"] == loss


def _garble_clean_images(monkeypatch):
    """After the measurement is simulated, overwrite the clean batch with NaN: any later use of it shows."""
    original = trainer._Simulator.measure

    def measure(self, x, gen):
        y, sigma = original(self, x, gen)
        assert y.data_ptr() != x.data_ptr()
        x.fill_(float("nan"))
        return y, sigma

    monkeypatch.setattr(trainer._Simulator, "measure", measure)


@pytest.mark.parametrize("loss", ["sure", "noise2self"])
def test_the_clean_images_never_enter_a_self_supervised_loss(tmp_path, monkeypatch, loss):
    config = TrainConfig(
        "denoise-sigma25", "drunet", {"features": [4, 8], "num_blocks": 1}, loss=loss, **TINY
    )
    config.epochs, config.steps_per_epoch = 1, 3
    train(config, tmp_path / "plain")
    _garble_clean_images(monkeypatch)
    train(config, tmp_path / "garbled")
    a, b = _weights(tmp_path / "plain"), _weights(tmp_path / "garbled")
    assert all(torch.equal(a[k], b[k]) for k in a)
    supervised = TrainConfig(**{**config.__dict__, "loss": "mse"})  # the check is sensitive: MSE uses x
    train(supervised, tmp_path / "mse")
    assert not all(bool(torch.isfinite(v).all()) for v in _weights(tmp_path / "mse").values())


@pytest.mark.parametrize("loss", ["sure", "noise2self"])
def test_resume_restores_the_loss_generator(tmp_path, monkeypatch, loss):
    config = TrainConfig(
        "denoise-sigma25", "drunet", {"features": [4, 8], "num_blocks": 1}, loss=loss, **TINY
    )
    config.epochs, config.steps_per_epoch = 2, 3
    train(config, tmp_path / "a")
    original = checkpoints.save_checkpoint

    def killed_after_first(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints, "save_checkpoint", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "b")
    monkeypatch.setattr(checkpoints, "save_checkpoint", original)
    train(config, tmp_path / "b", resume=True)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _noisy_folder(path, num=4, size=48, sigma=25 / 255):
    path.mkdir()
    x = training_images("photos", num, size, 7)
    y = (x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(8))).clamp(0, 1)
    for k in range(num):
        np.save(path / f"noisy{k}.npy", y[k, 0].numpy())
    return path


def test_training_on_a_folder_of_noisy_images(tmp_path, monkeypatch):
    folder = _noisy_folder(tmp_path / "noisy")
    seen = []
    original = trainer._Simulator.measure

    def spy(self, x, gen):
        y, sigma = original(self, x, gen)
        seen.append((x, y, sigma))
        return y, sigma

    monkeypatch.setattr(trainer._Simulator, "measure", spy)
    config = TrainConfig(
        "denoise-sigma25",
        "drunet",
        {"features": [4, 8], "num_blocks": 1},
        loss="sure",
        data=folder,
        noisy_data=True,
    )
    config.epochs, config.steps_per_epoch, config.num_train, config.num_val, config.patch = 1, 2, 8, 2, 32
    side = train(config, tmp_path / "run")
    assert all(y is x for x, y, _ in seen)  # no noise added: the images are the inputs
    assert all(torch.allclose(s, torch.full_like(s, 25 / 255)) for *_, s in seen)  # the preset's level
    assert side["train_config"]["data"] == str(folder) and side["train_config"]["noisy_data"] is True
    assert side["train_config"]["sigma_range"] == [25 / 255, 25 / 255]
    assert f"of the 4 images in folder {folder.resolve()}" in side["data"] and "noisy" in side["data"]
    assert "generated" in side["validation_data"]  # validation on simulated noise: PSNR needs the truth
    assert side["metrics"]["input_psnr"] == pytest.approx(20.6, abs=1.0)  # simulated sigma = 25/255


def test_supervised_training_on_a_folder_of_clean_images(tmp_path):
    folder = tmp_path / "clean"
    folder.mkdir()
    x = training_images("photos", 3, 40, 9)
    for k in range(3):
        np.save(folder / f"{k}.npy", x[k, 0].numpy())
    config = TrainConfig("denoise-sigma25", "dncnn", {"depth": 3, "features": 8}, data=str(folder), **TINY)
    config.epochs, config.steps_per_epoch = 1, 2
    side = train(config, tmp_path / "run")
    assert "of the 3 images in folder" in side["data"] and "noisy" not in side["data"]
    assert side["validation_data"].startswith("8 images of 32x32 px, seed 4: dead-leaves images")


def test_bad_self_supervised_configurations_name_the_field(tmp_path):
    folder = _noisy_folder(tmp_path / "noisy", num=1)
    base = {"preset": "denoise-sigma25", "model": "dncnn"}
    cases = [
        ({"model": "unet", "preset": "inpaint-half", "loss": "sure"}, "loss 'sure' is a self-supervised"),
        ({"model": "unet", "loss": "noise2self"}, "loss 'noise2self'"),
        ({"data": str(folder), "noisy_data": True}, "noisy_data=True.*loss must be 'sure' or 'noise2self'"),
        ({"loss": "sure", "noisy_data": True}, "noisy_data=True needs data to be a folder"),
        ({"loss": "sure", "data": "photos", "noisy_data": True}, "noisy_data=True needs data to be a folder"),
        ({"loss": "sure", "data": str(folder), "noisy_data": True, "sigma_range": (0, 0.2)}, "sigma_range"),
        ({"data": str(tmp_path / "missing")}, "data must be one of .* or an existing folder"),
        ({"noisy_data": 1}, "noisy_data"),
    ]
    for changes, message in cases:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**{**base, **changes}).check()
    TrainConfig(**base, loss="sure", data=folder, noisy_data=True).check()  # a Path is accepted
