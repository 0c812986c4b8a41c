"""The distribution-shift and test-time-training studies on a tiny setting (mri-4x at 32 px, one small
U-Net trained briefly on each image class): the target-trained network beats the source-trained one on target
images, test-time training closes part of that gap, and the files hold the returned numbers."""

from __future__ import annotations

import json

import pytest
import torch

from inverselab.bench.distribution import DISTRIBUTION_SUITES, run_distribution_shift
from inverselab.bench.studies import STUDIES, get_study
from inverselab.bench.ttt import run_test_time_training

TINY = {
    **DISTRIBUTION_SUITES["quick"],
    "size": 32,
    "target_images": ("moon", "coins"),
    "models": ("unet",),
    "train": {"epochs": 1, "steps_per_epoch": 80, "batch_size": 8, "num_train": 128, "num_val": 4},
    "untrained": {"mri-4x": {"convdecoder": {"channels": 8, "num_iter": 30}}},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def shift_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("shift")
    return out, run_distribution_shift(out, config=TINY)


def test_target_trained_beats_source_trained_on_target_images(shift_run):
    _, result = shift_run
    e = result.data["presets"]["mri-4x"]["methods"]["unet"]
    assert e["gap_psnr"] > 0.5, e  # ellipse-trained U-Net on photographs; measured +4.25 dB
    assert e["gap_psnr"] == pytest.approx(
        e["target_on_target"]["psnr"] - e["source_on_target"]["psnr"], abs=2e-3
    )
    assert len(e["source_on_target"]["psnr_per_image"]) == 2
    methods = result.data["presets"]["mri-4x"]["methods"]
    assert list(methods) == ["unet", "convdecoder", "tv-admm", "zero-filled"]
    assert methods["convdecoder"]["gap_psnr"] == 0.0 and "on_target" in methods["convdecoder"]
    training = result.data["presets"]["mri-4x"]["training"]["unet"]
    assert training["source"]["train_config"]["data"] == "ellipses"
    assert training["target"]["train_config"]["data"] == "photos"
    assert training["source"]["train_config"]["steps_per_epoch"] == 80 and not training["source"]["reused"]


def test_distribution_shift_files_and_report(shift_run):
    from PIL import Image

    out, result = shift_run
    assert json.loads((out / "distribution-shift.json").read_text()) == result.data
    with Image.open(result.figures[0]) as img:
        assert img.format == "PNG" and img.width > 400
    assert "| unet |" in result.tables[0] and "gap" in result.caption


def test_test_time_training_closes_part_of_the_gap(shift_run):
    out, _ = shift_run
    result = run_test_time_training(out, config=TINY, ttt={"num_iter": 40, "also_target": False})
    e = result.data["presets"]["mri-4x"]["methods"]["unet"]
    assert result.data["presets"]["mri-4x"]["training"]["unet"]["source"]["reused"]  # the study's models
    assert e["source_ttt"]["dc_loss_after"] < 0.5 * e["source_ttt"]["dc_loss_before"]
    assert e["gain_psnr"] > 0.3 and e["closed_psnr"] > 0.15, e  # measured: +1.54 dB, 0.36
    assert len(e["source_ttt"]["curve"]) == 41 and "target_ttt" not in e
    # the discrepancy-principle stop, read off the same run, is what adapt_to_measurement(noise_std=) returns
    from inverselab.bench.distribution import problems
    from inverselab.methods.learned import load_network
    from inverselab.presets import evaluate
    from inverselab.training.adaptation import adapt_to_measurement

    d = e["source_ttt_stopped"]
    assert len(d["steps_per_image"]) == 2 and d["steps"] <= 40 and "closed_psnr_stopped" in e
    pr = problems("mri-4x", TINY["target_images"], 32, 0)[0]
    net = load_network(result.data["presets"]["mri-4x"]["training"]["unet"]["source"]["weights"])
    direct = adapt_to_measurement(net, pr.y, pr.A, num_iter=40, lr=3e-4, noise_std=pr.noise.sigma)
    assert direct.num_iter == d["steps_per_image"][0]
    assert evaluate(direct.x, pr.x_true, pr.preset)["psnr"] == pytest.approx(d["psnr_per_image"][0], abs=1e-3)
    assert "discrepancy stop" in result.tables[0]
    assert json.loads((out / "test-time-training.json").read_text()) == result.data
    assert (out / "test-time-training.png").stat().st_size > 10_000


def test_studies_are_registered_and_check_arguments(tmp_path):
    assert get_study("distribution-shift") is run_distribution_shift
    assert get_study("test-time-training") is run_test_time_training
    assert {"distribution-shift", "test-time-training"} <= set(STUDIES)
    with pytest.raises(ValueError, match="suite"):
        run_distribution_shift(tmp_path, suite="huge")
    with pytest.raises(ValueError, match="presets"):
        run_distribution_shift(tmp_path, presets=["sr-x4"])
    with pytest.raises(ValueError, match="methods"):
        run_distribution_shift(tmp_path, methods=["drunet"], config=TINY)
    with pytest.raises(ValueError, match="methods"):
        run_test_time_training(tmp_path, methods=["tv-admm"])
    with pytest.raises(ValueError, match="seed"):
        run_test_time_training(tmp_path, seed=-1)
    with pytest.raises(ValueError, match="ttt lr"):
        run_test_time_training(tmp_path, ttt={"lr": 0})
