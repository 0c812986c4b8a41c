"""Weights by name: listed with their sidecar facts, rebuilt from the sidecar, checked by sha256."""

import json
import shutil

import pytest
import torch

from inverselab.cli import main
from inverselab.training.trainer import TrainConfig, train
from inverselab.weights import find_weights, list_weights, load_model

DRUNET = {"features": [4, 8], "num_blocks": 1}
TINY = {"epochs": 1, "steps_per_epoch": 3, "batch_size": 2, "patch": 32, "num_train": 4, "num_val": 2}


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("w")
    for name, config in {
        "tiny-unet": TrainConfig("inpaint-half", "unet", {"chans": 4, "num_pool_layers": 2}, **TINY),
        "tiny-drunet": TrainConfig("denoise-sigma25", "drunet", DRUNET, **TINY),
    }.items():
        train(config, root / name, command=f"inverselab train ... ({name})")
        for ext in (".safetensors", ".json"):
            shutil.copy(root / name / f"model{ext}", root / f"{name}{ext}")
    return root


def test_listed_and_loaded_by_name(weights_dir, monkeypatch):
    monkeypatch.setenv("INVERSELAB_WEIGHTS_PATH", str(weights_dir))
    rows = {r["name"]: r for r in list_weights()}
    assert {"tiny-unet", "tiny-drunet"} <= set(rows)
    assert rows["tiny-unet"]["initial"] == "adjoint" and rows["tiny-unet"]["preset"] == "inpaint-half"
    assert rows["tiny-drunet"]["command"] == "inverselab train ... (tiny-drunet)"
    assert find_weights("tiny-unet") == weights_dir / "tiny-unet.safetensors"
    unet = load_model("tiny-unet")
    x = torch.rand(1, 1, 32, 32)
    from inverselab.operators import Identity

    assert unet(x, Identity((1, 32, 32))).shape == x.shape
    drunet = load_model(weights_dir / "tiny-drunet.safetensors")
    assert drunet(x, 0.1).shape == x.shape and not drunet.training


def test_cli_lists_weights(weights_dir, monkeypatch, capsys):
    monkeypatch.setenv("INVERSELAB_WEIGHTS_PATH", str(weights_dir))
    assert main(["list", "weights"]) == 0
    assert "tiny-unet  unet for inpaint-half, validation PSNR" in capsys.readouterr().out
    assert main(["list", "weights", "--json"]) == 0
    assert {"tiny-unet", "tiny-drunet"} <= {r["name"] for r in json.loads(capsys.readouterr().out)}


def test_corrupt_and_unknown_weights(weights_dir, tmp_path):
    with pytest.raises(ValueError, match="weights must be a shipped name"):
        find_weights("no-such-weights")
    bad = tmp_path / "bad.safetensors"
    shutil.copy(weights_dir / "tiny-unet.json", tmp_path / "bad.json")
    data = bytearray((weights_dir / "tiny-unet.safetensors").read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_model(bad)
