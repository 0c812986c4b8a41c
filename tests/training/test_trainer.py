"""The trainer learns (held-out PSNR beats the network's input), resumes exactly, and refuses bad runs."""

import pytest
import torch

from inverselab.training import checkpoints
from inverselab.training.trainer import TrainConfig, build_model, train

TINY = {"epochs": 3, "steps_per_epoch": 20, "batch_size": 4, "patch": 32, "num_train": 32, "num_val": 4}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_denoiser_learns(tmp_path):
    config = TrainConfig("denoise-sigma25", "drunet", {"features": [8, 16], "num_blocks": 1}, lr=2e-3, **TINY)
    side = train(config, tmp_path)
    losses = [h["train_loss"] for h in side["history"]]
    assert losses[-1] < losses[0]
    assert side["metrics"]["val_psnr"] > side["metrics"]["input_psnr"] + 0.5
    assert side["data"].startswith("32 images of 32x32 px") and side["preset"] == "denoise-sigma25"
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 1 + 3
    state, meta = checkpoints.load_weights(tmp_path / "model", expect=build_model(config))
    assert meta["sha256"] == side["sha256"]


def test_postprocessing_unet_learns(tmp_path):
    config = TrainConfig("inpaint-half", "unet", {"chans": 8, "num_pool_layers": 2}, lr=3e-3, **TINY)
    side = train(config, tmp_path)
    assert side["metrics"]["val_psnr"] > side["metrics"]["input_psnr"] + 3  # 16.0 vs 8.1 dB measured


def test_resume_after_an_interrupt_gives_the_same_weights(tmp_path, monkeypatch):
    config = TrainConfig("denoise-sigma25", "dncnn", {"depth": 3, "features": 8}, **{**TINY, "epochs": 2})
    train(config, tmp_path / "a")
    reference, _ = checkpoints.load_weights(tmp_path / "a" / "model")

    original = checkpoints.save_checkpoint

    def killed_after_first(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt  # as if killed right after the first checkpoint

    monkeypatch.setattr(checkpoints, "save_checkpoint", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "b")
    monkeypatch.setattr(checkpoints, "save_checkpoint", original)
    with pytest.raises(ValueError, match="already holds checkpoints"):
        train(config, tmp_path / "b")
    side = train(config, tmp_path / "b", resume=True)
    resumed, _ = checkpoints.load_weights(tmp_path / "b" / "model")
    assert resumed.keys() == reference.keys()
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)
    assert [h["epoch"] for h in side["history"]] == [1, 2]
    other = TrainConfig(**{**config.__dict__, "lr": 0.1})
    with pytest.raises(ValueError, match="another configuration"):
        train(other, tmp_path / "b", resume=True)
    with pytest.raises(ValueError, match="no checkpoint"):
        train(config, tmp_path / "c", resume=True)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "resnet"}, "model"),
        ({"model": "dncnn", "preset": "deblur-gauss"}, "denoiser"),
        ({"preset": "cs-sparse-250x500"}, "image preset"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"loss": "perceptual"}, "loss"),
        ({"data": "imagenet"}, "data"),
        ({"patch": 8}, "patch"),
    ],
)
def test_bad_configurations_name_the_field(changes, message):
    base = {"preset": "denoise-sigma25", "model": "unet"}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**base, **changes}).check()


def test_cli_train(tmp_path, capsys):
    from inverselab.cli import main

    out = tmp_path / "run"
    args = ["train", "inpaint-half", "--model", "unet", "--epochs", "1", "--steps", "5", "--batch-size", "2"]
    args += ["--patch", "32", "--num-train", "8", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "inpaint-half / unet: validation PSNR" in capsys.readouterr().out
    assert (out / "model.safetensors").exists() and (out / "model.json").exists()
    assert main(args) == 2  # checkpoints exist: --resume or another --out
    assert "already holds checkpoints" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0  # nothing left to do: writes the same final weights
    assert main(["train", "deblur-gauss", "--model", "dncnn", "--out", str(tmp_path / "x")]) == 2
    assert "denoiser" in capsys.readouterr().err
