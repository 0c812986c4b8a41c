"""The noise-shift and sampling-shift studies, on 32 x 32 problems with few methods and values (fast)."""

from __future__ import annotations

import json

import pytest
import torch

from inverselab.bench.shift import run_noise_shift, run_sampling_shift
from inverselab.methods import get_method
from inverselab.presets import evaluate, get_preset, make_problem


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Small problems on a shared 2-core machine: extra threads only spin (10x slower under load).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _psnr(data, preset, method):
    return [pt["psnr"] for pt in data["presets"][preset]["methods"][method]["points"]]


@pytest.fixture(scope="module")
def noise_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise")
    result = run_noise_shift(
        out,
        presets=["denoise-sigma25", "deblur-gauss"],
        methods=["tv-admm", "tikhonov-cg", "tv-pdhg"],
        size=32,
        multiples=(1, 4),
    )
    return out, result


def test_noise_shift_tuned_level_beats_four_times_the_noise(noise_run):
    _, result = noise_run
    data = result.data
    assert data["presets"]["denoise-sigma25"]["tuned_sigma"] == pytest.approx(25 / 255)
    assert data["presets"]["deblur-gauss"]["sigmas"] == pytest.approx([0.01, 0.04])
    assert list(data["presets"]["deblur-gauss"]["methods"]) == ["tv-admm", "tikhonov-cg", "tv-pdhg"]
    assert list(data["presets"]["denoise-sigma25"]["methods"]) == ["tv-admm", "tv-pdhg"]
    for preset, rec in data["presets"].items():
        for method in rec["methods"]:
            tuned, shifted = _psnr(data, preset, method)
            # measured at 32 px: gaps of 1.7 (tikhonov-cg on deblur) to 15 dB (TV on denoise)
            assert tuned > shifted + 1.0, (preset, method, tuned, shifted)


def test_noise_shift_at_the_tuned_level_is_the_preset_itself(noise_run):
    _, result = noise_run
    p = get_preset("deblur-gauss")
    pr = make_problem(p, size=32)
    with torch.no_grad():
        x = get_method("tv-admm", **p.method_params("tv-admm"))(pr.y, pr.A)
    point = result.data["presets"]["deblur-gauss"]["methods"]["tv-admm"]["points"][0]
    assert point["multiple"] == 1 and point["psnr_per_image"] == [evaluate(x, pr.x_true, p)["psnr"]]
    assert result.data["presets"]["deblur-gauss"]["methods"]["tv-admm"]["params"] == {"lam": 5e-4}


def test_noise_shift_files_hold_the_returned_numbers(noise_run):
    from PIL import Image

    out, result = noise_run
    assert json.loads((out / "noise-shift.json").read_text()) == result.data
    assert result.figures == [out / "noise-shift.png"]
    with Image.open(result.figures[0]) as img:
        img.verify()
    with Image.open(result.figures[0]) as img:
        assert img.format == "PNG" and img.width > 600 and img.height > 300
    assert "denoise-sigma25" in result.caption and "32 × 32" in result.caption and "Seed 0" in result.caption
    assert "tuned for σ₀" in result.caption
    table = result.tables[1]
    assert table.startswith("#### deblur-gauss")
    rows = [
        line.strip("|").split("|") for line in table.splitlines() if line.startswith("| ") and "σ" not in line
    ]
    assert [r[0].strip() for r in rows] == ["tv-admm", "tikhonov-cg", "tv-pdhg"]
    for col in (1, 2):  # the best value of each column, and only it, in bold
        cells = [r[col].strip() for r in rows]
        values = [float(c.strip("*")) for c in cells]
        assert [c.startswith("**") for c in cells] == [v == max(values) for v in values]
    assert rows[1][2].strip().startswith("**")  # Tikhonov is the most robust at 4x the noise


def test_noise_shift_is_deterministic(tmp_path):
    kw = {"presets": ["denoise-sigma25"], "methods": ["tv-admm"], "size": 32, "multiples": (0.5, 2)}
    a = run_noise_shift(tmp_path / "a", seed=3, **kw).data
    b = run_noise_shift(tmp_path / "b", seed=3, progress=True, **kw).data
    c = run_noise_shift(tmp_path / "c", seed=4, **kw).data
    assert _psnr(a, "denoise-sigma25", "tv-admm") == _psnr(b, "denoise-sigma25", "tv-admm")
    assert _psnr(a, "denoise-sigma25", "tv-admm") != _psnr(c, "denoise-sigma25", "tv-admm")


def test_sampling_shift_lower_acceleration_is_better(tmp_path):
    result = run_sampling_shift(tmp_path, presets=["mri-4x"], methods=["tv-admm"], size=32, values=(2, 8))
    rec = result.data["presets"]["mri-4x"]
    assert (rec["knob"], rec["default"], rec["values"]) == ("acceleration", 4, [2, 8])
    at2, at8 = _psnr(result.data, "mri-4x", "tv-admm")
    assert at2 > at8 + 3.0, (at2, at8)  # measured 26.1 vs 17.7 dB at 32 px
    frac2, frac8 = rec["sampling_fraction"]
    assert frac2 > 2 * frac8 and frac8 >= 3 / 32  # the 3 center columns are always sampled
    assert json.loads((tmp_path / "sampling-shift.json").read_text()) == result.data
    assert (tmp_path / "sampling-shift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "acceleration ∈ {2, 8} (own: 4)" in result.caption


def test_sampling_shift_more_angles_is_better(tmp_path):
    result = run_sampling_shift(tmp_path, presets=["ct-sparse-60"], methods=["fbp"], size=32, values=(10, 60))
    assert "sampling_fraction" not in result.data["presets"]["ct-sparse-60"]
    few, many = _psnr(result.data, "ct-sparse-60", "fbp")
    assert many > few + 3.0, (few, many)


@pytest.mark.parametrize(
    ("study", "kwargs", "error", "match"),
    [
        (run_noise_shift, {"suite": "medium"}, ValueError, "suite must be one of"),
        (run_sampling_shift, {"suite": "medium"}, ValueError, "suite must be one of"),
        (run_noise_shift, {"presets": ["nope"]}, ValueError, "presets must be among"),
        (
            run_noise_shift,
            {"presets": ["cs-sparse-250x500"]},
            ValueError,
            "presets: 'cs-sparse-250x500' does",
        ),
        (run_sampling_shift, {"presets": ["deblur-gauss"]}, ValueError, "presets: 'deblur-gauss' does not"),
        (run_sampling_shift, {"presets": "mri-4x"}, TypeError, "presets must be a sequence"),
        (
            run_noise_shift,
            {"presets": ["denoise-sigma25"], "methods": ["fbp"]},
            ValueError,
            "methods must be",
        ),
        (run_noise_shift, {"methods": ["nope"]}, ValueError, "methods must be among"),
        (run_noise_shift, {"seed": -1}, ValueError, "seed must be >= 0"),
        (run_noise_shift, {"jobs": 0}, ValueError, "jobs must be >= 1"),
        (run_noise_shift, {"multiples": (0, 1)}, ValueError, "multiples must be > 0"),
        (run_noise_shift, {"samples": ["nope"]}, ValueError, "samples must be among"),
        (run_noise_shift, {"size": 4}, ValueError, "size must be >= 8"),
        (
            run_sampling_shift,
            {"presets": ["mri-4x"], "values": (20,)},
            ValueError,
            "values: 20 cannot be used as acceleration",
        ),
        (run_sampling_shift, {"presets": ["ct-sparse-60"], "values": (7.5,)}, TypeError, "values: 7.5"),
    ],
)
def test_bad_arguments(tmp_path, study, kwargs, error, match):
    with pytest.raises(error, match=match):
        study(tmp_path, **({"size": 32} | kwargs))
    assert not (tmp_path / "noise-shift.json").exists() and not (tmp_path / "sampling-shift.json").exists()


@pytest.mark.slow
def test_process_pool_gives_the_same_numbers(tmp_path):
    kw = {"presets": ["mri-4x"], "methods": ["tv-admm", "zero-filled"], "size": 32, "values": (2, 4, 8)}
    one = run_sampling_shift(tmp_path / "one", jobs=1, **kw).data
    two = run_sampling_shift(tmp_path / "two", jobs=2, **kw).data
    for m in kw["methods"]:
        assert _psnr(one, "mri-4x", m) == pytest.approx(_psnr(two, "mri-4x", m), abs=1e-3)
