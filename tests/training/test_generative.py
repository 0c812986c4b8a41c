"""Generative priors train from the CLI and the API, resume exactly, and refuse bad runs."""

import json

import pytest
import torch

from inverselab.cli import main
from inverselab.training import checkpoints
from inverselab.training.generative import GenerativeConfig, build_generative_model, train_generative

SMALL = {
    "vae": {"latent_dim": 4, "width": 8},
    "gan": {"latent_dim": 4, "width": 8},
    "ddpm": {"widths": [8, 16], "attention": False},
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(model, **changes):
    fields = {"epochs": 2, "steps_per_epoch": 4, "batch_size": 8, **changes}
    return GenerativeConfig("cs-digits-32", model, SMALL[model], **fields)


@pytest.mark.parametrize("model", ["vae", "gan", "ddpm"])
def test_resume_after_an_interrupt_gives_the_same_weights(model, tmp_path, monkeypatch):
    cfg = config(model)
    side = train_generative(cfg, tmp_path / "a")
    reference, _ = checkpoints.load_weights(tmp_path / "a" / "model", expect=build_generative_model(cfg))
    assert side["model"] == model and side["image_size"] == 32 and side["data"].startswith("digits")
    assert len((tmp_path / "a" / "log.csv").read_text().splitlines()) == 1 + 2
    assert (tmp_path / "a" / "samples.png").stat().st_size > 1000

    original = checkpoints.save_checkpoint

    def killed_after_first(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints, "save_checkpoint", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        train_generative(cfg, tmp_path / "b")
    monkeypatch.setattr(checkpoints, "save_checkpoint", original)
    with pytest.raises(ValueError, match="already holds checkpoints"):
        train_generative(cfg, tmp_path / "b")
    train_generative(cfg, tmp_path / "b", resume=True)
    resumed, _ = checkpoints.load_weights(tmp_path / "b" / "model")
    assert resumed.keys() == reference.keys()
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)
    with pytest.raises(ValueError, match="another configuration"):
        train_generative(config(model, batch_size=4), tmp_path / "b", resume=True)


def test_a_finished_run_extends_exactly(tmp_path):
    """The learning rate is constant, so 1 epoch + 1 resumed epoch = 2 epochs."""
    train_generative(config("vae"), tmp_path / "two")
    train_generative(config("vae", epochs=1), tmp_path / "one")
    train_generative(config("vae"), tmp_path / "one", resume=True)
    a, _ = checkpoints.load_weights(tmp_path / "two" / "model")
    b, _ = checkpoints.load_weights(tmp_path / "one" / "model")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ddpm_saves_the_moving_average(tmp_path):
    side = train_generative(config("ddpm", ema=0.5), tmp_path)
    state, _ = checkpoints.load_weights(tmp_path / "model")
    ckpt = checkpoints.latest_checkpoint(tmp_path / "checkpoints")
    holder = json.loads((ckpt / "model.json").read_text())
    names = holder["tensors"]
    assert any(k.startswith("average.") for k in names) and any(k.startswith("model.") for k in names)
    assert "betas" not in " ".join(state)  # the schedule is rebuilt from the config, never stored
    assert side["metrics"]["val_loss"] > 0


def test_vae_training_lowers_the_held_out_loss(tmp_path):
    side = train_generative(config("vae", epochs=3, steps_per_epoch=15, batch_size=16), tmp_path)
    val = [h["val_loss"] for h in side["history"]]
    assert val[-1] < 0.9 * val[0]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "flow"}, "model"),
        ({"preset": "denoise-sigma25"}, "no image class"),
        ({"preset": "cs-sparse-250x500"}, "image preset"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"ema": 1.0}, "ema"),
        ({"data": "imagenet"}, "data"),
    ],
)
def test_bad_configurations_name_the_field(changes, message):
    fields = {"preset": "cs-digits-32", "model": "vae", **changes}
    with pytest.raises(ValueError, match=message):
        GenerativeConfig(**fields).check()


def test_other_classes_train_from_a_generated_source(tmp_path):
    cfg = GenerativeConfig(
        "ct-ellipses-30", "vae", SMALL["vae"], epochs=1, steps_per_epoch=2, batch_size=4, data="ellipses",
        num_train=16,
    )  # fmt: skip
    side = train_generative(cfg, tmp_path)
    assert side["image_size"] == 64 and "random-ellipse" in side["data"]


def test_cli_train_generative(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "cs-digits-32", "--model", "gan", "--epochs", "1", "--steps", "2", "--batch-size", "4"]
    args += ["--net", "width=8", "--net", "latent_dim=4", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "val_d_loss" in capsys.readouterr().out
    side = json.loads((out / "model.json").read_text())
    assert side["network_config"]["width"] == 8 and side["train_config"]["batch_size"] == 4
    assert main([*args[:-3], "--net", "image_size=16", "--out", str(tmp_path / "x")]) == 2
    assert "--net" in capsys.readouterr().err
