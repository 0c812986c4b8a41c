"""Untrained-network methods: registered as method(y, A) for any operator, gray and color, sizes that are not
powers of two, complex MRI images, one network per batch item, seeds, the CLI and argument errors."""

import inspect
import json

import pytest
import torch

from inverselab.cli import main
from inverselab.methods import METHODS, get_method
from inverselab.noise import GaussianNoise, make_generator
from inverselab.operators import Blur, Identity, Inpainting, gaussian_kernel, random_mask
from inverselab.presets import evaluate, make_problem

NAMES = ("deep-decoder", "dip", "convdecoder")
#: Tiny settings of each method, for speed.
TINY = {
    "deep-decoder": {"channels": 6, "num_layers": 3, "num_iter": 20},
    "dip": {"channels": 4, "skip_channels": 1, "num_scales": 2, "input_channels": 2, "num_iter": 10},
    "convdecoder": {"channels": 6, "num_layers": 3, "num_iter": 20},
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", NAMES)
def test_registered_as_untrained_iterative_methods(name):
    info = METHODS[name]
    assert info.family == "untrained" and info.iterative and not info.posterior and info.citation
    params = inspect.signature(info.load()).parameters
    assert list(params)[:2] == ["y", "A"]
    assert params["seed"].default == 0 and params["progress"].default is False
    assert params["early_stopping"].default == "holdout" and params["lr"].default == 0.01


@pytest.mark.parametrize("name", NAMES)
def test_color_inpainting_at_a_size_that_is_not_a_power_of_two(name):
    x = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(0))
    A = Inpainting((3, 20, 28), random_mask((20, 28), 0.5, generator=0))
    y = GaussianNoise(0.05)(A(x), make_generator(1))
    out = get_method(name, **TINY[name])(y, A)
    assert out.shape == (1, 3, 20, 28) and out.dtype == torch.float32 and bool(torch.isfinite(out).all())
    if name != "convdecoder":  # sigmoid outputs
        assert bool(((out >= 0) & (out <= 1)).all())
    assert torch.equal(out, get_method(name, **TINY[name])(y, A))  # the seed fixes everything
    assert not torch.equal(out, get_method(name, **TINY[name], seed=1)(y, A))


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_is_fitted_item_by_item_with_seed_plus_b(name):
    A = Blur((1, 16, 16), gaussian_kernel(1.0))
    y = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    both = get_method(name, **TINY[name], seed=3)(y, A)
    first = get_method(name, **TINY[name], seed=3)(y[:1], A)
    second = get_method(name, **TINY[name], seed=4)(y[1:], A)
    assert torch.equal(both, torch.cat((first, second)))


@pytest.mark.parametrize("name", NAMES)
def test_mri_gives_complex_images(name):
    p = make_problem("mri-4x", size=16, seed=0)
    with torch.no_grad():
        x = get_method(name, **TINY[name])(p.y, p.A)
    assert x.shape == (1, 1, 16, 16) and x.dtype == torch.complex64 and bool(torch.isfinite(x).all())
    assert evaluate(x, p.x_true, p.preset)["psnr"] > 5  # magnitudes compared


def test_deep_decoder_denoises_a_tiny_image():
    p = make_problem("denoise-sigma25", size=32, seed=0)
    out = get_method("deep-decoder", channels=16, num_layers=4, num_iter=600, patience=100)(p.y, p.A)
    noisy = evaluate(p.y, p.x_true, p.preset)["psnr"]
    assert evaluate(out, p.x_true, p.preset)["psnr"] > noisy + 3  # measured: 24.9 dB from 20.2 dB


@pytest.mark.slow
def test_dip_denoises_a_small_image():
    p = make_problem("denoise-sigma25", size=32, seed=0)
    out = get_method("dip", channels=16, skip_channels=2, num_scales=3, input_channels=8, num_iter=800)(
        p.y, p.A
    )
    noisy = evaluate(p.y, p.x_true, p.preset)["psnr"]
    assert evaluate(out, p.x_true, p.preset)["psnr"] > noisy + 4.5  # measured: 26.1 dB from 20.2 dB


def test_dip_uses_as_many_scales_as_the_image_allows():
    y = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    kw = {"channels": 2, "skip_channels": 1, "input_channels": 2, "num_iter": 2}
    out = get_method("dip", **kw)(y, Identity((1, 32, 32)))  # the default 5 scales need 33 px: 4 are used
    assert out.shape == (1, 1, 32, 32)


def test_deep_decoder_uses_as_many_layers_as_the_image_allows():
    from inverselab.methods.untrained import _deep_decoder_max_layers

    assert [_deep_decoder_max_layers((n, n)) for n in (3, 16, 32, 64, 128, 512)] == [1, 3, 4, 5, 6, 8]
    y = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    out = get_method("deep-decoder", channels=4, num_iter=5)(y, Identity((1, 32, 32)))  # 4 of the 6 layers
    assert float(out.std()) > 1e-3  # six layers would start from a 1x1 input: a constant image


def test_works_under_inference_mode():
    y = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = get_method("deep-decoder", **TINY["deep-decoder"])(y, Identity((1, 16, 16)))
    assert torch.equal(out, get_method("deep-decoder", **TINY["deep-decoder"])(y, Identity((1, 16, 16))))


def test_solve_from_the_command_line(tmp_path):
    out = tmp_path / "out"
    args = ["solve", "denoise-sigma25", "--method", "deep-decoder", "--size", "16", "--quiet"]
    for key, value in TINY["deep-decoder"].items():
        args += ["--param", f"{key}={json.dumps(value)}"]
    assert main([*args, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "deep-decoder" and metrics["params"]["channels"] == 6


@pytest.mark.parametrize(
    "name, kwargs, error, match",
    [
        ("deep-decoder", {"channels": 0}, ValueError, "channels must be >= 1"),
        ("dip", {"num_scales": 0}, ValueError, "num_scales must be >= 1"),
        ("convdecoder", {"input_size": 0}, ValueError, "input_size must be >= 1"),
        ("deep-decoder", {"early_stopping": "never"}, ValueError, "early_stopping must be one of"),
        ("dip", {"ema": 2.0}, ValueError, "ema must be < 1"),
        ("convdecoder", {"seed": -1}, ValueError, "seed must be >= 0"),
        ("deep-decoder", {"holdout": 1.5}, ValueError, "holdout must be < 1"),
    ],
)
def test_bad_arguments_name_the_argument(name, kwargs, error, match):
    y = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    with pytest.raises(error, match=match):
        get_method(name, **{**TINY[name], **kwargs})(y, Identity((1, 16, 16)))


@pytest.mark.parametrize("name", NAMES)
def test_vector_operators_are_refused(name):
    with pytest.raises(ValueError, match=r"A.in_shape must be \(C, H, W\), got \(10,\)"):
        get_method(name)(torch.zeros(1, 10), Identity((10,)))
