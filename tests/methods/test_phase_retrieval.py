"""Phase retrieval methods and presets: ``method(y, A)`` on ``pr-gaussian`` and ``pr-cdp``, phase-invariant
evaluation, and errors for operators that are not phase retrieval models."""

import math

import pytest
import torch

from inverselab.methods import METHODS, get_method
from inverselab.operators import Identity
from inverselab.presets import align_to_truth, evaluate, get_preset, make_problem

PR_METHODS = ("spectral-init", "wf", "gerchberg-saxton", "pnp-wf")


def test_registered():
    for name in PR_METHODS:
        assert name in METHODS and METHODS[name].citation


def test_pr_gaussian_exact_recovery():
    preset = get_preset("pr-gaussian")
    p = make_problem(preset, seed=0)
    assert p.x_true.shape == (1, 1, 16, 16) and p.y.shape == (1, 8 * 256)
    for method in ("wf", "gerchberg-saxton"):
        x_hat = get_method(method, **preset.method_params(method))(p.y, p.A)
        assert x_hat.shape == p.x_true.shape and x_hat.is_complex()
        assert evaluate(x_hat, p.x_true, preset)["nmse_db"] < -60  # float32: measured -74 and -89 dB


def test_pr_cdp_methods_and_ranking():
    preset = get_preset("pr-cdp")
    p = make_problem(preset, sample="camera", size=32, seed=1)
    assert p.y.shape == (1, 4, 1, 32, 32)
    psnr = {}
    for method in ("pnp-wf", "gerchberg-saxton", "spectral-init"):
        x_hat = get_method(method, **preset.method_params(method))(p.y, p.A)
        assert x_hat.shape == p.x_true.shape
        psnr[method] = evaluate(x_hat, p.x_true, preset)["psnr"]
    assert psnr["pnp-wf"] > psnr["spectral-init"] + 10, psnr
    assert psnr["pnp-wf"] > 20, psnr


def test_evaluate_is_invariant_to_a_global_phase():
    preset = get_preset("pr-cdp")
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    for rotated in (-x, x * complex(math.cos(2.0), math.sin(2.0))):
        m = evaluate(rotated, x, preset)
        assert m["nmse"] < 1e-12 and m["psnr"] > 100
        assert torch.allclose(align_to_truth(rotated, x, preset), x, atol=1e-6)
    assert evaluate(-x, x, get_preset("deblur-gauss"))["psnr"] < 20  # other presets do not align


def test_methods_reject_linear_operators():
    with pytest.raises(TypeError, match="A must be a MagnitudeSquared"):
        get_method("wf")(torch.ones(1, 4), Identity((4,)))


def test_deep_decoder_is_the_untrained_method_of_pr_cdp():
    preset = get_preset("pr-cdp")
    assert preset.untrained == ("deep-decoder-pr",) and METHODS["deep-decoder-pr"].family == "untrained"
    p = make_problem(preset, sample="camera", size=32, seed=0)
    x_hat = get_method("deep-decoder-pr", channels=16, num_layers=4, num_iter=200)(p.y, p.A)
    assert x_hat.shape == p.x_true.shape
    assert evaluate(x_hat, p.x_true, preset)["psnr"] > 18
