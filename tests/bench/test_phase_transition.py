import importlib
import json

import numpy as np
import pytest
from PIL import Image

from inverselab.bench import phase_transition as pt
from inverselab.solvers.amp import phase_transition_rho

# The module, not the function that inverselab.solvers re-exports under the same name.
amp_module = importlib.import_module("inverselab.solvers.amp")

# delta = 0.5: rho_SE = 0.386, so rho = 0.1 is far below the curve and rho = 0.8 far above it.
TINY = {"grid": ([0.5], [0.1, 0.8]), "n": 60, "trials": 6}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("pt")
    return out, pt.run(out, seed=3, **TINY)


def test_success_below_the_curve_failure_above_for_both_methods(tiny):
    _, result = tiny
    success = result.data["success"]
    assert set(success) == {"l1", "amp"}
    # L1 (exact LP) recovers k = 3 of n = 60 from m = 30 every time and k = 24 never.
    assert success["l1"] == [[1.0, 0.0]]
    # Undamped AMP at n = 60 may lose a trial below the curve, never most of them.
    assert success["amp"][0][0] >= 0.8
    assert success["amp"][0][1] == 0.0
    assert result.data["k"] == [[3, 24]]
    assert result.data["m"] == [30]
    assert result.data["theory"]["rho_se"] == [pytest.approx(0.3857, abs=1e-4)]


def test_json_png_and_table_match_the_returned_result(tiny):
    out, result = tiny
    data = json.loads((out / "phase-transition.json").read_text())
    assert data["success"] == result.data["success"]
    assert data["seed"] == 3 and data["n"] == 60 and data["trials"] == 6
    curve_d, curve_r = data["theory"]["curve_delta"], data["theory"]["curve_rho"]
    assert len(curve_d) == len(curve_r) > 50
    assert curve_r[curve_d.index(1.0)] == 1.0 and all(np.diff(curve_r) > 0)
    assert result.figures == [out / "phase-transition.png"]
    with Image.open(result.figures[0]) as img:
        img.verify()
    with Image.open(result.figures[0]) as img:
        assert img.format == "PNG" and img.width > 600 and img.height > 300
    assert result.figures[0].stat().st_size < 400_000
    # The row of delta = 0.5: theory 0.386, L1 crossing between the two cells (rho 0.1: 1, rho 0.8: 0).
    table = result.tables[0]
    assert "| 0.500 | 30 | 0.386 | 0.450 | +0.064 |" in table
    assert "N(0, 1/m)" in result.caption and "10⁻²" in result.caption and "seed 3" in result.caption


def test_same_seed_same_numbers(tmp_path):
    kwargs = {"grid": ([0.3, 0.6], [0.3, 0.45]), "n": 40, "trials": 4, "methods": ["l1"]}
    a = pt.run(tmp_path / "a", seed=7, **kwargs)
    b = pt.run(tmp_path / "b", seed=7, **kwargs)
    assert a.data["success"] == b.data["success"]
    assert a.data["methods"] == ["l1"] and "amp" not in a.data["success"]


def test_amp_falls_back_to_one_trial_at_a_time(monkeypatch):
    """When a batched AMP run fails (a trial diverging to Inf), each trial is rerun alone: same verdicts."""
    task = (0, 0, 0.5, 0.2, 50, 4, ("amp",), 1, 100)
    batched = pt._run_cell(task)
    real_amp = amp_module.amp

    def amp_failing_on_batches(y, A, **kwargs):
        if y.shape[0] > 1:
            raise ValueError("threshold must be real, finite and nonnegative")
        return real_amp(y, A, **kwargs)

    monkeypatch.setattr(amp_module, "amp", amp_failing_on_batches)
    assert pt._run_cell(task)["success"] == batched["success"]
    assert batched["success"]["amp"] >= 3


def test_empirical_transition_interpolates_and_flags_outside():
    assert pt.empirical_transition([0.1, 0.3], [1.0, 0.0]) == pytest.approx(0.2)
    assert pt.empirical_transition([0.1, 0.3], [0.2, 0.0]) is None
    assert pt.empirical_transition([0.1, 0.3], [1.0, 0.9]) is None
    # The first fall below 1/2 counts, not a later noisy rise.
    assert pt.empirical_transition([0.1, 0.2, 0.3], [1.0, 0.25, 0.75]) == pytest.approx(0.1 + 0.1 * 2 / 3)


def test_suites_cover_the_unit_square_and_the_theory_is_consistent():
    for suite, size in (("quick", 10), ("full", 20)):
        cfg = pt.SUITES[suite]
        assert len(cfg["deltas"]) == len(cfg["rhos"]) == size
        assert 0 < cfg["deltas"][0] < cfg["deltas"][-1] < 1
    assert pt.SUITES["full"]["n"] > pt.SUITES["quick"]["n"]
    # The study draws the same curve that the solver module defines.
    deltas, rhos = pt._theory_curve(10)
    assert rhos[3] == phase_transition_rho(deltas[3])


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"suite": "huge"}, "suite"),
        ({"methods": ["l1", "omp"]}, "methods"),
        ({"presets": ["cs-sparse-250x500"]}, "presets"),
        ({"grid": ([0.5], [1.5])}, "grid rhos"),
        ({"grid": ([0.6, 0.5], [0.1])}, "grid deltas"),
        ({"n": 1}, "n"),
        ({"trials": 0}, "trials"),
        ({"seed": -1}, "seed"),
        ({"jobs": 0}, "jobs"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(tmp_path, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        pt.run(tmp_path, **kwargs)
    assert not (tmp_path / "phase-transition.json").exists()


def test_methods_as_a_string_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="methods"):
        pt.run(tmp_path, methods="l1")


@pytest.mark.slow
def test_process_pool_gives_the_same_numbers(tmp_path):
    kwargs = {"grid": ([0.3, 0.6], [0.2, 0.5]), "n": 40, "trials": 3, "seed": 5}
    one = pt.run(tmp_path / "one", **kwargs)
    two = pt.run(tmp_path / "two", jobs=2, **kwargs)
    assert one.data["success"] == two.data["success"]
    assert two.data["timings"]["jobs"] == 2
