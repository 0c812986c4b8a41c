"""The benchmark runner: plans, records, failures, time budget, resume, determinism, parallel workers."""

from __future__ import annotations

import csv
import json
import math
import re

import pytest

from inverselab.bench.runner import Task, git_commit, load_results, plan, run_bench, run_task
from inverselab.bench.suites import SUITES, Suite, SuiteEntry, get_suite, list_suites

SMALL = Suite(
    "small",
    "test",
    (
        SuiteEntry("denoise-sigma25", ("tv-admm", "adjoint"), ("camera", "coins")),
        SuiteEntry("cs-sparse-250x500", ("amp", "adjoint"), ("bernoulli-gaussian",), (0, 1)),
    ),
    time_budget=30.0,
    size=24,
)


def _by_key(records):
    return {(r["preset"], r["method"], r["image"], r["seed"]): r for r in records}


def test_suites_cover_every_preset_and_method():
    from inverselab.presets import PRESETS

    assert {"quick", "full", "untrained", "tiny"} <= set(list_suites())
    for name in ("quick", "full"):
        suite = get_suite(name)
        assert [e.preset for e in suite.entries] == [n for n, p in PRESETS.items() if p.kind != "graph"]
    quick, full = plan(SUITES["quick"]), plan(SUITES["full"])
    for p in PRESETS.values():  # quick: classical and learned methods; full: untrained networks too
        if p.kind == "graph":  # community detection runs as a study (--study sbm-transition)
            continue
        assert {t.method for t in quick if t.preset == p.name} == set(p.methods + p.learned)
        assert {t.method for t in full if t.preset == p.name} == set(p.all_methods)
    assert len(full) > len(quick)
    with pytest.raises(ValueError, match="suite must be one of"):
        get_suite("nope")


def test_untrained_networks_run_in_the_full_and_untrained_suites_only():
    from inverselab.methods import METHODS
    from inverselab.presets import PRESETS

    untrained = {name for name, info in METHODS.items() if info.family == "untrained"}
    with_untrained = [p for p in PRESETS.values() if p.untrained]
    assert {"denoise-sigma25", "inpaint-half", "sr-x4", "cs-image-25pct", "mri-4x", "mri-8x-multicoil"} <= {
        p.name for p in with_untrained
    }
    assert not {t.method for t in plan(SUITES["quick"])} & untrained  # `make demo` stays fast
    assert {t.method for t in plan(SUITES["full"])} >= untrained
    suite = get_suite("untrained")
    assert [e.preset for e in suite.entries] == [p.name for p in with_untrained]
    tasks = plan(suite)
    for p in with_untrained:  # the default method, the learned ones and the untrained ones, 2 images, seed 0
        mine = [t for t in tasks if t.preset == p.name]
        assert {t.method for t in mine} == {p.default_method, *p.learned, *p.untrained}
        assert len({t.image for t in mine}) == 2 and {t.seed for t in mine} == {0}
        for m in p.untrained:  # tuned widths and budgets reach the tasks
            assert next(t for t in mine if t.method == m).params == p.method_params(m) != {}


def test_plan_filters_and_validates():
    tasks = plan(SMALL, presets="denoise-sigma25", methods=["adjoint"], num_images=1, seed=5)
    assert [(t.preset, t.method, t.image, t.seed, t.size) for t in tasks] == [
        ("denoise-sigma25", "adjoint", "camera", 5, 24)
    ]
    vec = plan(SMALL, presets=["cs-sparse-250x500"], size=16)
    assert {t.size for t in vec} == {500}  # vector presets keep their length
    assert [t.seed for t in vec] == [0, 0, 1, 1]
    assert plan(SMALL, presets=["denoise-sigma25"], methods="tv-admm")[0].params == {"lam": 0.08}
    with pytest.raises(ValueError, match="presets must be among"):
        plan(SMALL, presets=["mri-4x"])
    with pytest.raises(ValueError, match="methods must be among"):
        plan(SMALL, methods=["no-such-method"])
    with pytest.raises(ValueError, match="run by none of the selected presets"):
        plan(SMALL, presets=["denoise-sigma25"], methods=["amp"])
    with pytest.raises(ValueError, match="num_images"):
        plan(SMALL, num_images=0)
    with pytest.raises(ValueError, match="seed"):
        plan(SMALL, seed=-1)


def test_run_writes_consistent_json_and_csv(tmp_path):
    tasks = plan(SMALL)
    results = run_bench(tasks, tmp_path, meta={"suite": "small"})
    records = results["records"]
    assert len(records) == len(tasks) == 8
    assert all(r["status"] == "ok" for r in records), [r["error"] for r in records]
    on_disk = load_results(tmp_path)
    assert on_disk["records"] == records
    assert on_disk["meta"]["suite"] == "small" and on_disk["meta"]["version"]
    assert on_disk["meta"]["peak_rss_mb"] > 0
    by = _by_key(records)
    # The learned-free facts we know: TV beats the noisy image, AMP recovers the sparse vector exactly.
    for image in ("camera", "coins"):
        assert (
            by[("denoise-sigma25", "tv-admm", image, 0)]["psnr"]
            > by[("denoise-sigma25", "adjoint", image, 0)]["psnr"] + 1
        )
    for seed in (0, 1):
        assert by[("cs-sparse-250x500", "amp", "bernoulli-gaussian", seed)]["nmse_db"] < -40
        assert (
            by[("cs-sparse-250x500", "amp", "bernoulli-gaussian", seed)]["psnr"] is None
        )  # no PSNR for vectors
    assert by[("denoise-sigma25", "tv-admm", "camera", 0)]["params"] == {"lam": 0.08}
    commit = git_commit()
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit)
    assert {r["commit"] for r in records} == {commit}
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(records)
    for row, rec in zip(rows, records, strict=True):
        assert (row["preset"], row["method"], row["image"]) == (rec["preset"], rec["method"], rec["image"])
        if rec["psnr"] is not None:
            assert math.isclose(float(row["psnr"]), rec["psnr"], rel_tol=1e-12)
        assert json.loads(row["params"]) == rec["params"]
    folder = tmp_path / tasks[0].image_dir
    assert {"truth.png", "measurement.png", "tv-admm.png", "tv-admm-error.png", "problem.json"} <= {
        p.name for p in folder.iterdir()
    }


def test_deterministic_for_a_seed(tmp_path):
    tasks = plan(SMALL, methods=["tv-admm", "amp"], num_images=1)
    a = run_bench(tasks, tmp_path / "a")["records"]
    b = run_bench(tasks, tmp_path / "b")["records"]
    keys = ("psnr", "ssim", "nmse", "nmse_db")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    c = run_bench(plan(SMALL, methods=["tv-admm"], seed=1), tmp_path / "c")["records"]
    assert c[0]["psnr"] != a[0]["psnr"]  # another seed, another noise draw


def test_failure_and_time_budget_are_recorded_not_fatal(tmp_path, monkeypatch):
    import time
    from types import SimpleNamespace

    from inverselab import methods

    def forever(y, A):
        while True:
            time.sleep(0.01)

    def broken(y, A):
        raise RuntimeError("boom")

    monkeypatch.setitem(methods.METHODS, "forever", SimpleNamespace(iterative=False, load=lambda: forever))
    monkeypatch.setitem(methods.METHODS, "broken", SimpleNamespace(iterative=False, load=lambda: broken))
    tasks = [
        Task("denoise-sigma25", "broken", "camera", 0, 24),
        Task("denoise-sigma25", "fbp", "camera", 0, 24),  # FBP needs a CT operator
        Task("denoise-sigma25", "forever", "camera", 0, 24),
        Task("denoise-sigma25", "adjoint", "camera", 0, 24),
    ]
    start = time.perf_counter()
    records = run_bench(tasks, tmp_path, time_budget=0.5)["records"]
    assert time.perf_counter() - start < 20  # the endless method was stopped
    broken_rec, fbp, slow, ok = records
    assert broken_rec["status"] == "failed" and broken_rec["error"] == "RuntimeError: boom"
    assert fbp["status"] == "failed" and fbp["error"]
    assert slow["status"] == "failed" and "time budget of 0.5 s" in slow["error"]
    assert slow["seconds"] < 5
    assert ok["status"] == "ok" and ok["psnr"] > 15
    assert load_results(tmp_path)["records"] == records


def test_resume_skips_finished_records_and_survives_an_interrupt(tmp_path):
    tasks = plan(SMALL, presets=["denoise-sigma25"])
    seen = []

    def stop_after_two(record):
        seen.append(record)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(tasks, tmp_path, on_record=stop_after_two)
    partial = load_results(tmp_path)["records"]
    assert partial == seen  # nothing computed is lost
    new = []
    full = run_bench(tasks, tmp_path, resume=True, on_record=new.append)["records"]
    assert len(new) == len(tasks) - 2  # only the missing ones ran
    assert full[:2] == partial  # the finished records are kept as they were (same timings)
    assert sorted(_by_key(full)) == sorted((t.preset, t.method, t.image, t.seed) for t in tasks)
    again = []
    run_bench(tasks, tmp_path, resume=True, on_record=again.append)
    assert again == []
    # Without resume the run starts afresh.
    fresh = []
    run_bench(tasks[:1], tmp_path, on_record=fresh.append)
    assert len(fresh) == 1 and len(load_results(tmp_path)["records"]) == 1


def test_parallel_workers_match_serial(tmp_path):
    tasks = plan(SMALL, presets=["denoise-sigma25"])
    serial = run_bench(tasks, tmp_path / "s")["records"]
    parallel = run_bench(tasks, tmp_path / "p", jobs=2)["records"]
    a, b = _by_key(serial), _by_key(parallel)
    assert a.keys() == b.keys()
    for k in a:
        assert b[k]["status"] == "ok"
        assert math.isclose(a[k]["psnr"], b[k]["psnr"], abs_tol=1e-3)


def test_run_task_checks_nothing_is_silently_wrong(tmp_path):
    rec = run_task(Task("denoise-sigma25", "adjoint", "camera", 0, 16), tmp_path)
    assert rec["status"] == "ok" and rec["seconds"] >= 0 and 15 < rec["psnr"] < 25
    with pytest.raises(ValueError, match="jobs"):
        run_bench([], tmp_path, jobs=0)
    with pytest.raises(ValueError, match="time_budget"):
        run_bench([], tmp_path, time_budget=0)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(OSError, match="cannot read"):
        load_results(tmp_path)
