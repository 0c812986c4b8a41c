"""The 1-D signal presets (kind "signal") and the phase retrieval presets: shapes, samples, bench plans."""

import pytest
import torch

from inverselab.bench.runner import plan
from inverselab.bench.suites import get_suite
from inverselab.presets import PRESETS, make_problem


@pytest.mark.parametrize("name, y_shape", [("spikes-1d", (1, 1, 256)), ("cs-1d", (1, 96))])
def test_signal_presets(name, y_shape):
    p = make_problem(name, seed=0)
    assert p.preset.kind == "signal" and p.preset.metric == "nmse_db"
    assert p.x_true.shape == (1, 1, 256) and tuple(p.y.shape) == y_shape
    again = make_problem(name, seed=0)
    assert torch.equal(p.x_true, again.x_true) and torch.equal(p.y, again.y)
    assert not torch.equal(p.x_true, make_problem(name, seed=1).x_true)


def test_signal_samples_and_errors():
    spikes = make_problem("cs-1d", sample="spikes", seed=0).x_true
    assert int((spikes != 0).sum()) == 10
    assert make_problem("cs-1d", size=64, seed=0).y.shape == (1, 24)  # m = 3n/8
    with pytest.raises(ValueError, match="sample must be one of spikes, piecewise-constant"):
        make_problem("spikes-1d", sample="camera")
    with pytest.raises(ValueError, match=r"x must have shape \(1, C, n\)"):
        make_problem("spikes-1d", torch.zeros(1, 256))


def test_phase_retrieval_presets_are_phase_invariant_images():
    for name in ("pr-gaussian", "pr-cdp"):
        assert PRESETS[name].phase_invariant and PRESETS[name].kind == "image"
    assert not PRESETS["deblur-gauss"].phase_invariant
    with pytest.raises(ValueError, match="size must be <= 32 for pr-gaussian"):
        make_problem("pr-gaussian", size=64)


def test_bench_plans_include_the_new_presets():
    tasks = plan(get_suite("quick"), presets=["spikes-1d", "cs-1d", "pr-cdp", "pr-gaussian"], size=32)
    by_preset = {}
    for t in tasks:
        by_preset.setdefault(t.preset, set()).add((t.image, t.size))
    assert by_preset["spikes-1d"] == {("spikes", 256)}  # signals keep their length under --size
    assert by_preset["cs-1d"] == {("piecewise-constant", 256)}
    assert by_preset["pr-cdp"] == {("camera", 32), ("astronaut", 32)}
    assert by_preset["pr-gaussian"] == {("digits", 32)}


def test_bench_records_a_problem_that_cannot_be_built(tmp_path):
    from inverselab.bench.runner import run_task

    task = next(t for t in plan(get_suite("quick"), presets=["pr-gaussian"], size=64) if t.method == "wf")
    record = run_task(task, tmp_path)
    assert record["status"] == "failed" and "size must be <= 32" in record["error"]
