"""The adversarial and small-features studies on small problems with few methods (fast)."""

from __future__ import annotations

import json

import pytest
import torch

from inverselab.bench.adversarial import run_adversarial
from inverselab.bench.small_features import run_small_features
from inverselab.bench.studies import get_study


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_studies_are_registered():
    assert get_study("adversarial") is run_adversarial
    assert get_study("small-features") is run_small_features


def test_adversarial_study(tmp_path):
    result = run_adversarial(
        tmp_path, presets=["ct-sparse-60"], methods=["fbp", "unet"], size=32, eps=[0.01, 0.03], steps=2
    )
    data = result.data
    assert json.loads((tmp_path / "adversarial.json").read_text()) == data
    assert [f.name for f in result.figures] == ["adversarial.png", "adversarial-examples.png"]
    assert all(f.stat().st_size > 10_000 for f in result.figures)
    rec = data["presets"]["ct-sparse-60"]
    assert list(rec["methods"]) == ["fbp", "unet"]
    for m, mr in rec["methods"].items():
        psnr = [pt["psnr"] for pt in mr["points"]]
        random = [pt["psnr_random"] for pt in mr["points"]]
        # the worst case is worse than a random direction of the same norm, and worse at the larger budget
        assert all(a < r for a, r in zip(psnr, random, strict=True)), (m, psnr, random)
        assert psnr[1] < psnr[0] < mr["clean_psnr"]
    check = rec["check"]  # FBP is linear: PGD (50 steps) reaches σ_max ‖e‖
    assert check["ratio"] == pytest.approx(1.0, abs=0.02) and check["random_change"] < check["pgd_change"]
    assert rec["methods"]["fbp"]["params"] == {}
    assert "ct-sparse-60" in result.tables[0] and " / " in result.tables[0]
    assert "32 × 32" in result.caption and "σ_max" in result.caption
    with pytest.raises(ValueError, match="methods must be among"):
        run_adversarial(tmp_path, presets=["ct-sparse-60"], methods=["modl"], size=32)
    with pytest.raises(ValueError, match="suite must be one of"):
        run_adversarial(tmp_path, suite="huge")


def test_small_features_study(tmp_path):
    result = run_small_features(
        tmp_path,
        presets=["ct-sparse-60"],
        methods=["fbp", "tikhonov-cg"],
        size=64,
        shapes=[("disc", 2.0, 0.2), ("line", 6.0, 0.2)],
    )
    data = result.data
    assert json.loads((tmp_path / "small-features.json").read_text()) == data
    assert result.figures == [tmp_path / "small-features.png"] and result.figures[0].stat().st_size > 10_000
    rec = data["presets"]["ct-sparse-60"]
    assert [f["kind"] for f in rec["features"][0]] == ["disc", "line"]
    for mr in rec["methods"].values():
        assert mr["total"] == 2 and 0 <= mr["detected"] <= 2
        assert 0 < mr["local_error"] < 3 and mr["contrast_recovery"] is not None
        assert len(mr["scores"][0]) == 2
    # FBP is linear and nearly unbiased: the inserted change comes through (measured 0.7-0.8 at 64 px)
    assert rec["methods"]["fbp"]["recovered_fraction"] > 0.4
    assert (
        "small-feature recovery" in result.tables[0] and "contrast recovery per feature" in result.tables[1]
    )
