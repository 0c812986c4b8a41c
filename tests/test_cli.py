"""The command line end to end, including the user-mistake cases (one line on stderr, exit code 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from inverselab.cli import main


def run(*args):
    """Run the real console entry point in a subprocess (as a user would)."""
    proc = subprocess.run(
        [sys.executable, "-m", "inverselab.cli", *args], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_list_presets_json(capsys):
    assert main(["list", "presets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    by_name = {r["name"]: r for r in rows}
    assert by_name["denoise-sigma25"]["untrained"] == ["deep-decoder", "dip"]
    assert by_name["mri-4x"]["untrained"] == ["convdecoder"] and by_name["deblur-gauss"]["untrained"] == []
    assert main(["list", "presets"]) == 0
    assert "untrained: deep-decoder, dip" in capsys.readouterr().out
    for want in [
        "denoise-sigma25",
        "deblur-gauss",
        "inpaint-half",
        "sr-x4",
        "cs-sparse-250x500",
        "cs-image-25pct",
        "mri-4x",
        "mri-8x-multicoil",
        "ct-sparse-60",
        "ct-limited-90",
    ]:
        assert want in names


def test_list_methods_json(capsys):
    assert main(["list", "methods", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    want = {"adjoint", "zero-filled", "fbp", "tikhonov-cg", "ista-wavelet", "fista-wavelet", "tv-pdhg", "amp"}
    assert want <= names
    assert all(n == n.lower() and " " not in n and "_" not in n for n in names)


def test_solve_writes_outputs(tmp_path):
    code, out, err = run("solve", "denoise-sigma25", "--size", "64", "--out", str(tmp_path), "--quiet")
    assert code == 0, err
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in ["preset", "method", "psnr", "ssim", "nmse", "seconds"]:
        assert key in m
    assert m["preset"] == "denoise-sigma25" and m["method"] == "tv-admm"
    rec = np.load(tmp_path / "reconstruction.npy")
    assert rec.shape == (1, 64, 64)
    assert (tmp_path / "reconstruction.png").stat().st_size > 1000
    assert (tmp_path / "comparison.png").stat().st_size > 5000
    # sigma = 25/255 noise alone gives ~20.2 dB; TV must do clearly better.
    assert m["psnr"] > 24.0


def test_solve_param_overrides_the_preset(tmp_path):
    """--param values reach the method: a huge TV weight flattens the image, so PSNR collapses."""
    args = ["solve", "denoise-sigma25", "--size", "32", "--quiet", "--out"]
    assert main([*args, str(tmp_path / "a")]) == 0
    assert main([*args, str(tmp_path / "b"), "--param", "lam=10", "--param", "num_iter=20"]) == 0
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in "ab")
    assert b["params"]["lam"] == 10 and b["params"]["num_iter"] == 20
    assert b["psnr"] < a["psnr"] - 5


def test_solve_with_image_file(tmp_path):
    from PIL import Image

    img = (np.random.default_rng(0).random((40, 50)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    assert (
        main(
            [
                "solve",
                "deblur-gauss",
                "--image",
                str(tmp_path / "in.png"),
                "--size",
                "32",
                "--quiet",
                "--method",
                "adjoint",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["shape"] == [1, 32, 32]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["solve", "no-such-preset"], "preset must be one of"),
        (["solve", "denoise-sigma25", "--method", "magic"], "method must be one of"),
        (["solve", "denoise-sigma25", "--image", "/nonexistent/x.png"], "/nonexistent/x.png"),
        (["solve", "denoise-sigma25", "--sample", "no-such-image"], "no-such-image"),
        (["solve", "denoise-sigma25", "--size", "-3"], "--size"),
        (["solve", "denoise-sigma25", "--seed", "-1"], "--seed"),
        (["solve", "denoise-sigma25", "--noise", "-0.1"], "--noise"),
        (["solve", "denoise-sigma25", "--noise", "nan"], "--noise"),
        (["solve", "denoise-sigma25", "--size", "abc"], "invalid int value"),
        (["solve", "denoise-sigma25", "--param", "lam"], "--param must be KEY=VALUE"),
        (["solve", "denoise-sigma25", "--param", "bogus=1"], "KEY one of lam,"),
        (
            ["solve", "deblur-gauss", "--method", "hqs", "--param", "denoiser=magic"],
            "denoiser must be one of",
        ),
        (["list", "things"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args, needle, capsys, tmp_path):
    code = main([*args, "--out", str(tmp_path)] if args[0] == "solve" else args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("inverselab: error:"), err
    assert needle in err
    assert "Traceback" not in err


def test_wrong_shaped_and_nan_image(tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 4, 5)))
    assert (
        main(["solve", "denoise-sigma25", "--image", str(tmp_path / "bad.npy"), "--out", str(tmp_path)]) == 2
    )
    assert "bad.npy" in capsys.readouterr().err
    arr = np.full((16, 16), np.nan)
    np.save(tmp_path / "nan.npy", arr)
    assert (
        main(["solve", "denoise-sigma25", "--image", str(tmp_path / "nan.npy"), "--out", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert "NaN" in err or "finite" in err


def test_subprocess_error_is_one_line():
    code, out, err = run("solve", "nope")
    assert code == 2 and err.strip().count("\n") == 0 and "Traceback" not in err
