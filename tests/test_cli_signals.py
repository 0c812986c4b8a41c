"""``inverselab solve`` and ``bench`` on the 1-D signal and phase retrieval presets."""

from __future__ import annotations

import json

import numpy as np

from inverselab.cli import main


def test_solve_spikes_1d(tmp_path, capsys):
    assert main(["solve", "spikes-1d", "--out", str(tmp_path), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["method"] == "fista-l1" and metrics["nmse_db"] < -30
    assert np.load(tmp_path / "reconstruction.npy").shape == (1, 256)
    assert (tmp_path / "comparison.png").exists()
    assert "spikes-1d - fista-l1: NMSE" in capsys.readouterr().out


def test_solve_cs_1d_sparse_sample_with_amp(tmp_path):
    assert main(["solve", "cs-1d", "--sample", "spikes", "--method", "amp", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["nmse_db"] < -25


def test_solve_pr_cdp_writes_aligned_real_image(tmp_path):
    out = tmp_path / "cdp"
    args = ["solve", "pr-cdp", "--size", "32", "--method", "gerchberg-saxton", "--out", str(out), "--quiet"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rec = np.load(out / "reconstruction.npy")
    assert rec.shape == (1, 32, 32) and not np.iscomplexobj(rec) and metrics["psnr"] > 15
    assert (out / "comparison.png").exists()


def test_solve_pr_gaussian_spectral(tmp_path):
    assert main(["solve", "pr-gaussian", "--method", "spectral-init", "--out", str(tmp_path), "--quiet"]) == 0
    assert np.load(tmp_path / "reconstruction.npy").shape == (1, 16, 16)


def test_diverging_wf_is_one_line_error(tmp_path, capsys):
    args = ["solve", "pr-cdp", "--size", "32", "--method", "wf", "--param", "real=false"]
    args += ["--param", "mu_max=5.0", "--out", str(tmp_path), "--quiet"]
    assert main(args) == 2
    assert "Wirtinger flow diverged" in capsys.readouterr().err


def test_bench_runs_signal_presets(tmp_path):
    out = tmp_path / "bench"
    args = ["bench", "--suite", "quick", "--presets", "spikes-1d,pr-cdp", "--methods", "fista-l1,adjoint"]
    args += ["--out", str(out), "--quiet"]
    assert main(args) == 0
    records = json.loads((out / "results.json").read_text())["records"]
    assert {r["preset"] for r in records} == {"spikes-1d"}
    assert all(r["status"] == "ok" for r in records) and len(records) == 6  # 2 methods x 3 seeds
    assert (out / "index.html").exists()
