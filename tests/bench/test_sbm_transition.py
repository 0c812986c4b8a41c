"""The sbm-transition study: a tiny run writes its figure and numbers; the transition shows; bad arguments."""

from __future__ import annotations

import json

import pytest

from inverselab.bench.sbm_transition import run
from inverselab.bench.studies import get_study, list_studies


def test_tiny_run_shows_the_transition(tmp_path):
    assert "sbm-transition" in list_studies() and get_study("sbm-transition") is run
    methods = ["bethe-hessian", "spectral-adjacency"]
    result = run(tmp_path, methods=methods, gaps=[1.0, 5.5], num_nodes=3000, graphs=1)
    assert (tmp_path / "sbm-transition.png").stat().st_size > 10_000
    data = json.loads((tmp_path / "sbm-transition.json").read_text())
    assert data["gaps"] == [1.0, 5.5] and data["methods"] == methods
    assert abs(data["kesten_stigum"] - 3.4641) < 1e-3
    bh = data["overlap"]["bethe-hessian"]
    assert bh[0] < 0.1 < 0.7 < bh[1]  # chance far below the threshold, detection far above
    assert "Kesten-Stigum" in result.caption and "| 5.5 |" in result.tables[0]
    assert data["reference"] is None  # the reference is for N = 50 000


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="suite must be one of"):
        run(tmp_path, suite="huge")
    with pytest.raises(ValueError, match="methods must be among"):
        run(tmp_path, methods=["tv-admm"])
    with pytest.raises(ValueError, match=r"presets must be empty or \['sbm-2groups'\]"):
        run(tmp_path, presets=["mri-4x"])
    with pytest.raises(ValueError, match="gaps must be <= 6"):
        run(tmp_path, gaps=[7.0], methods=["bethe-hessian"])
