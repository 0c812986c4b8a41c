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
        ({"model": "varnet", "preset": "mri-4x"}, "multi-coil MRI preset"),
        ({"model": "modl", "preset": "deblur-gauss", "loss": "sure"}, "not the reconstruction model 'modl'"),
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


def test_float16_weights_are_half_the_size_and_load_as_float32(tmp_path):
    """weights_dtype="float16": the same training, a final file half the size, equal up to rounding."""
    from inverselab.weights import load_model

    config = TrainConfig("denoise-sigma25", "dncnn", {"depth": 3, "features": 8}, **{**TINY, "epochs": 1})
    full = train(config, tmp_path / "a")
    half = train(config, tmp_path / "b", weights_dtype="float16")
    assert {v["dtype"] for v in half["tensors"].values()} == {"float16", "int64"}  # + BatchNorm's counters
    size = {k: (tmp_path / k / "model.safetensors").stat().st_size for k in "ab"}
    assert size["b"] < 0.6 * size["a"]
    # storage only: training is unchanged
    assert [h["train_loss"] for h in half["history"]] == [h["train_loss"] for h in full["history"]]
    a, b = load_model(tmp_path / "a" / "model"), load_model(tmp_path / "b" / "model")
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        if p.is_floating_point():
            assert q.dtype == torch.float32, name
            assert torch.equal(q, p.half().float()), name  # exactly the rounded float32 weights
        else:
            assert torch.equal(q, p), name
    with pytest.raises(ValueError, match="weights_dtype must be one of"):
        train(config, tmp_path / "c", weights_dtype="bfloat8")


def test_device_and_amp(tmp_path):
    config = TrainConfig("denoise-sigma25", "dncnn", {"depth": 3, "features": 8}, **{**TINY, "epochs": 1})
    config.steps_per_epoch = 2
    side = train(config, tmp_path / "a", device=torch.device("cpu"))
    assert side["device"] == "cpu" and side["amp"] is False
    auto = train(config, tmp_path / "b")  # "auto" is the CPU here: the same run
    assert auto["sha256"] == side["sha256"]
    # device and amp are not part of the configuration: a run may resume elsewhere (here: nothing left to do)
    assert train(config, tmp_path / "a", resume=True, device="auto")["sha256"] == side["sha256"]
    with pytest.raises(ValueError, match="amp=True: mixed precision needs CUDA, but the device is cpu"):
        train(config, tmp_path / "c", device="cpu", amp=True)
    with pytest.raises(ValueError, match="device must be"):
        train(config, tmp_path / "c", device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda': CUDA is not available"):
            train(config, tmp_path / "c", device="cuda")
    assert not (tmp_path / "c").exists()


def test_resume_accepts_checkpoints_written_before_a_field_was_added():
    from dataclasses import asdict

    from inverselab.training.trainer import _same_config

    now = asdict(TrainConfig("denoise-sigma25", "dncnn"))
    old = {k: v for k, v in now.items() if k != "noisy_data"}
    assert _same_config(now, now) and _same_config(old, now)
    assert not _same_config(old, {**now, "noisy_data": True})
    assert not _same_config({**old, "lr": 0.5}, now) and not _same_config(None, now)


def test_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = TrainConfig("denoise-sigma25", "dncnn", {"depth": 3, "features": 8}, **{**TINY, "epochs": 2})
    config.steps_per_epoch = 3
    side = train(config, tmp_path, tensorboard=True)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    columns = ("train_loss", "val_psnr", "val_ssim", "input_psnr", "lr", "samples_per_s")
    assert set(events.Tags()["scalars"]) == {"train/loss", *(f"epoch/{c}" for c in columns)}
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4, 5, 6]
    for c in columns:
        assert [e.step for e in events.Scalars(f"epoch/{c}")] == [3, 6]
        assert [e.value for e in events.Scalars(f"epoch/{c}")] == pytest.approx(
            [h[c] for h in side["history"]]
        )


def test_tensorboard_missing_says_how_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` now fails
    config = TrainConfig("denoise-sigma25", "dncnn", {"depth": 3, "features": 8}, **TINY)
    with pytest.raises(ImportError, match=r"^tensorboard=True needs `pip install tensorboard`$"):
        train(config, tmp_path / "run", tensorboard=True)
    assert not (tmp_path / "run").exists()


_RESUME_RANK = """
import json, sys
import torch, torch.distributed as dist
from inverselab.training.trainer import TrainConfig, train
rank, init, out, config = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method="file://" + init, rank=rank, world_size=2)
try:
    train(TrainConfig(**config), out, resume=True)
finally:
    dist.destroy_process_group()
"""


@pytest.mark.slow
def test_distributed_resume_gives_every_rank_the_saved_generators(tmp_path, monkeypatch):
    """Interrupted after epoch 1 in one process, resumed with 2 DDP processes (every rank reads the same
    checkpoint, so all continue rank 0's batch, noise and SURE-probe streams): the weights are those of an
    uninterrupted single-process run. A rank that restarted its generators would train on other batches."""
    import json
    import subprocess
    import sys
    from dataclasses import asdict

    config = TrainConfig(
        "denoise-sigma25",
        "drunet",
        {"features": [4, 8], "num_blocks": 1},
        loss="sure",
        **{**TINY, "epochs": 2},
    )
    config.steps_per_epoch, config.num_train, config.num_val = 3, 8, 2
    train(config, tmp_path / "one")
    original = checkpoints.save_checkpoint

    def killed_after_first(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints, "save_checkpoint", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "two")
    monkeypatch.setattr(checkpoints, "save_checkpoint", original)
    args = [str(tmp_path / "rendezvous"), str(tmp_path / "two"), json.dumps(asdict(config))]
    ranks = [subprocess.Popen([sys.executable, "-c", _RESUME_RANK, str(r), *args]) for r in range(2)]
    assert [p.wait(timeout=300) for p in ranks] == [0, 0]
    a, _ = checkpoints.load_weights(tmp_path / "one" / "model")
    b, meta = checkpoints.load_weights(tmp_path / "two" / "model")
    assert [h["epoch"] for h in meta["history"]] == [1, 2]
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), k


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--amp"], "mixed precision needs CUDA"),
        (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "tpu"], "device"),
        (["--loss", "sure"], "self-supervised"),
        (["--noisy-data"], "noisy_data"),
        (["--net", "bogus=1"], "--net must be KEY=VALUE"),
        (["--lr", "0"], "lr"),
        (["--batch-size", "0"], "batch_size"),
        (["--net", "chans=2x"], "VALUE must be JSON"),
        (["--net", "chans=abc"], "chans"),
        (["--weights-dtype", "int8"], "weights_dtype"),
    ],
)
def test_cli_train_flags_reach_the_trainer(extra, needle, tmp_path, capsys):
    """--amp, --device, --loss sure and --noisy-data are passed on: their mistakes come back as one line."""
    from inverselab.cli import main

    args = ["train", "inpaint-half", "--model", "unet", "--epochs", "1", "--steps", "1", "--batch-size", "2"]
    assert main([*args, "--patch", "32", "--num-train", "2", "--out", str(tmp_path), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err


def test_kill_9_then_resume_gives_the_same_weights(tmp_path):
    """A real SIGKILL in the middle of training (a subprocess), then --resume: bit-identical final weights."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from inverselab.cli import main

    args = ["train", "denoise-sigma25", "--model", "dncnn", "--epochs", "3", "--steps", "25"]
    args += ["--batch-size", "4", "--patch", "32", "--num-train", "16", "--seed", "3", "--quiet", "--out"]
    assert main([*args, str(tmp_path / "a")]) == 0
    reference, _ = checkpoints.load_weights(tmp_path / "a" / "model")

    out = tmp_path / "b"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "inverselab", *args, str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoints" / "latest").exists():  # the first epoch's checkpoint is written
            assert proc.poll() is None and time.monotonic() < deadline, "ended before its first checkpoint"
            time.sleep(0.01)
        time.sleep(0.2)  # now somewhere in the second epoch
        assert proc.poll() is None, "the run finished before it could be killed: make it longer"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()
    assert main([*args, str(out), "--resume"]) == 0
    resumed, _ = checkpoints.load_weights(out / "model")
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)


def test_cli_net_sets_the_network(tmp_path):
    """--net KEY=VALUE reaches the network: the sidecar records it and the weights have its shapes."""
    import json

    from inverselab.cli import main

    args = ["train", "inpaint-half", "--model", "unet", "--epochs", "1", "--steps", "1", "--batch-size", "2"]
    args += ["--patch", "32", "--num-train", "2", "--quiet", "--net", "chans=4", "--net", "num_pool_layers=2"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    side = json.loads((tmp_path / "model.json").read_text())
    assert side["network_config"]["chans"] == 4 and side["network_config"]["num_pool_layers"] == 2
    assert side["train_config"]["model_config"] == {"chans": 4, "num_pool_layers": 2}


def test_unrolled_network_trains_and_solves(tmp_path, capsys):
    """inverselab train --model unrolled-pg: beats its input (the adjoint) on held-out images; the weights
    rebuild the same class and `solve --method unrolled-pg` runs them; other kinds of weights are refused."""
    import json

    from inverselab.cli import main
    from inverselab.methods import get_method
    from inverselab.networks import UnrolledProximalGradient
    from inverselab.presets import make_problem
    from inverselab.weights import load_model

    out = tmp_path / "pg"
    args = ["train", "deblur-gauss", "--model", "unrolled-pg", "--net", "num_iter=3", "--net", "features=8"]
    args += ["--net", "depth=2", "--epochs", "2", "--steps", "10", "--batch-size", "4", "--patch", "32"]
    assert main([*args, "--num-train", "16", "--lr", "3e-3", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    side = json.loads((out / "model.json").read_text())
    assert side["initial"] is None and side["network_config"]["initial"] == "adjoint"
    assert side["metrics"]["val_psnr"] > side["metrics"]["input_psnr"] + 0.5  # 19.20 vs 18.16 measured
    assert isinstance(load_model(out / "model"), UnrolledProximalGradient)
    p = make_problem("deblur-gauss", size=32, seed=3)
    x = get_method("unrolled-pg", weights=str(out / "model.safetensors"))(p.y, p.A)
    assert x.shape == p.x_true.shape
    with pytest.raises(ValueError, match="not a modl network"):
        get_method("modl", weights=str(out / "model.safetensors"))(p.y, p.A)
    with pytest.raises(ValueError, match="weights is required for lpd"):
        get_method("lpd")(p.y, p.A)
