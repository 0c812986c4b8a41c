"""Fitting untrained networks: the plain fit is Adam on the data loss, the average and the jitter do what they
say, early stopping (held-out entries, running variance) picks and returns its best estimate, data
consistency through a multi-coil MRI operator, scale invariance, and validation."""

import copy

import pytest
import torch
from torch import nn

from inverselab.data import load_sample
from inverselab.methods import get_method
from inverselab.networks import ConvDecoder, DeepDecoder, SkipNet
from inverselab.noise import GaussianNoise, make_generator
from inverselab.operators import (
    GaussianMatrix,
    Identity,
    Inpainting,
    MultiCoilMRI,
    coil_sensitivity_maps,
    equispaced_kspace_mask,
    random_mask,
)
from inverselab.solvers._common import psnr
from inverselab.solvers.untrained import fit_untrained


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class FreePixels(nn.Module):
    """Test double: the image itself is the parameter (the input is ignored), so every measured entry that is
    fitted moves its own pixel and nothing else."""

    input_shape = (1, 1, 1)

    def __init__(self, shape):
        super().__init__()
        self.pixels = nn.Parameter(torch.full((1, *shape), 0.5))

    def forward(self, z):
        return self.pixels + 0 * z.sum()


def noisy_camera(size=32, sigma=25 / 255):
    x = load_sample("camera", size=size, gray=True).unsqueeze(0)
    return x, GaussianNoise(sigma)(x, make_generator(1))


def tiny_decoder(size=16, channels=4, layers=3, seed=0):
    return DeepDecoder(size, out_channels=1, channels=channels, num_layers=layers, generator=seed)


def test_fitting_reduces_the_data_loss():
    x, _ = noisy_camera(16)
    res = fit_untrained(x, Identity((1, 16, 16)), tiny_decoder(channels=8), num_iter=150, early_stopping=None)
    loss = res.history["objective"]
    assert len(loss) == res.num_iter == res.best_iter == 150 and not res.converged
    assert loss[-1] < 0.1 * loss[0]
    assert psnr(res.x, x) > 20


def test_the_plain_fit_is_adam_on_the_mean_squared_residual():
    x, y = noisy_camera(16)
    A = Identity((1, 16, 16))
    net = tiny_decoder()
    twin = copy.deepcopy(net)
    z = net.random_input(generator=5)
    res = fit_untrained(y, A, net, z, num_iter=25, lr=0.02, jitter=0.0, ema=None, early_stopping=None)
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.02)
    for _ in range(25):
        out = twin(z)
        loss = ((A(out) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.testing.assert_close(res.x, out.detach(), rtol=1e-5, atol=1e-6)  # the estimate before the step
    # the returned network holds the weights of the returned estimate
    with torch.no_grad():
        torch.testing.assert_close(res.network(res.z), res.x, rtol=0, atol=0)


def test_a_seed_makes_the_fit_deterministic():
    _, y = noisy_camera(16)
    A = Identity((1, 16, 16))

    def run(seed):
        net = SkipNet(
            16, in_channels=2, out_channels=1, channels=4, skip_channels=1, num_scales=2, generator=0
        )
        return fit_untrained(y, A, net, num_iter=30, jitter=0.05, ema=0.9, patience=5, generator=seed)

    a, b, c = run(3), run(3), run(4)
    assert torch.equal(a.x, b.x) and a.history == b.history
    assert not torch.equal(a.x, c.x)  # another input, other held-out entries, other jitter


def test_ema_averages_the_outputs_of_the_plain_fit():
    _, y = noisy_camera(16)
    A = Identity((1, 16, 16))
    outputs, averaged = [], []
    plain = fit_untrained(
        y,
        A,
        tiny_decoder(),
        num_iter=20,
        early_stopping=None,
        callback=lambda k, x: outputs.append(x.clone()),
    )
    smooth = fit_untrained(
        y, A, tiny_decoder(), num_iter=20, ema=0.9, early_stopping=None,
        callback=lambda k, x: averaged.append(x.clone()),
    )  # fmt: skip
    # the average does not feed back into the fit: the same outputs, averaged with x̄ ← 0.9 x̄ + 0.1 x
    assert torch.equal(outputs[-1], plain.x)
    expected = outputs[0]
    for k, out in enumerate(outputs):
        expected = out if k == 0 else 0.9 * expected + 0.1 * out
        torch.testing.assert_close(averaged[k], expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(smooth.x, expected, rtol=1e-6, atol=1e-7)
    assert smooth.history["objective"] == plain.history["objective"]


class InputRecorder(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net, self.inputs = net, []
        self.input_shape = net.input_shape

    def forward(self, z):
        self.inputs.append(z.detach().clone())
        return self.net(z)


def test_jitter_perturbs_the_input_by_gaussian_noise_of_that_size():
    _, y = noisy_camera(16)
    net = InputRecorder(tiny_decoder(size=16, channels=4, layers=2))  # input (4, 8, 8): 256 entries
    z = net.net.random_input(generator=1)
    fit_untrained(y, Identity((1, 16, 16)), net, z, num_iter=40, jitter=0.05, early_stopping=None)
    first, fitted = net.inputs[0], net.inputs[1:]  # the first call is the initial output, unperturbed
    assert torch.equal(first, z) and len(fitted) == 40
    deltas = torch.stack([zk - z for zk in fitted])
    assert abs(float(deltas.std()) - 0.05) < 0.003 and abs(float(deltas.mean())) < 0.003
    assert not torch.equal(fitted[0], fitted[1])  # fresh noise at every iteration
    net.inputs.clear()
    fit_untrained(y, Identity((1, 16, 16)), net, z, num_iter=3, jitter=0.0, early_stopping=None)
    assert all(torch.equal(zk, z) for zk in net.inputs)


def test_holdout_stopping_beats_the_noisy_image():
    x, y = noisy_camera(32)
    assert 18.5 < psnr(y, x) < 19.0
    net = DeepDecoder(32, out_channels=1, channels=16, num_layers=4, generator=0)
    res = fit_untrained(y, Identity((1, 32, 32)), net, num_iter=600, patience=100, generator=0, x_true=x)
    assert res.converged and res.num_iter == res.best_iter + 100 < 600
    assert psnr(res.x, x) > 23.5  # measured 24.1 (the best iterate of the run: 24.3)
    assert res.history["psnr"][-1] < res.history["psnr"][res.best_iter - 1]  # it was over-fitting


def test_holdout_returns_the_estimate_with_the_lowest_holdout_loss():
    _, y = noisy_camera(16)
    estimates = []
    res = fit_untrained(
        y, Identity((1, 16, 16)), tiny_decoder(channels=12), num_iter=300, patience=30,
        callback=lambda k, x: estimates.append(x.clone()),
    )  # fmt: skip
    losses = torch.tensor(res.history["holdout_loss"])
    assert res.best_iter == int(losses.argmin()) + 1
    assert torch.equal(res.x, estimates[res.best_iter - 1])
    with torch.no_grad():
        torch.testing.assert_close(res.network(res.z), res.x, rtol=0, atol=0)


def test_held_out_entries_are_not_fitted():
    y = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    estimates = []
    fit_untrained(
        y, Identity((1, 32, 32)), FreePixels((1, 32, 32)), num_iter=40, lr=0.05, holdout=0.3, patience=100,
        callback=lambda k, x: estimates.append(x.clone()),
    )  # fmt: skip
    unmoved = estimates[-1] == 0.5
    assert 0.25 < float(unmoved.float().mean()) < 0.35  # about 30% held out, never fitted


def test_dominant_entries_are_never_held_out():
    # a few entries with most of the energy (the centre of k-space) cannot be predicted from the others
    y = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    y[0, 0, 0, :20] = 30.0  # > 10 times the mean energy per entry
    estimates = []
    fit_untrained(
        y, Identity((1, 32, 32)), FreePixels((1, 32, 32)), num_iter=40, lr=0.05, holdout=0.5, patience=100,
        callback=lambda k, x: estimates.append(x.clone()),
    )  # fmt: skip
    moved = estimates[-1] != 0.5
    assert bool(moved[0, 0, 0, :20].all())  # all fitted
    assert 0.4 < float((~moved).float().mean()) < 0.6  # about half of the others held out


def test_entries_the_operator_never_measures_are_left_out():
    # noise on the missing pixels (A x is 0 there whatever x) must not count as unexplained data
    mask = random_mask((16, 16), 0.5, generator=0)
    A = Inpainting((1, 16, 16), mask)
    y = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1))  # nonzero everywhere
    res = fit_untrained(y, A, FreePixels((1, 16, 16)), num_iter=300, lr=0.05, early_stopping=None)
    assert res.history["objective"][-1] < 1e-4


def test_variance_stopping_returns_the_estimate_at_the_lowest_running_variance():
    _, y = noisy_camera(16)
    estimates = []
    res = fit_untrained(
        y, Identity((1, 16, 16)), tiny_decoder(channels=12), num_iter=400, early_stopping="variance",
        window=10, patience=40, callback=lambda k, x: estimates.append(x.clone()),
    )  # fmt: skip
    var = torch.tensor(res.history["variance"])
    assert bool(var[:9].isnan().all()) and not bool(var[9:].isnan().any())  # defined once the window is full
    assert res.best_iter == int(var[9:].argmin()) + 10
    assert torch.equal(res.x, estimates[res.best_iter - 1])
    assert res.converged and res.num_iter == res.best_iter + 40


def test_variance_is_that_of_the_last_window_of_outputs():
    _, y = noisy_camera(16)
    outputs = []
    res = fit_untrained(
        y, Identity((1, 16, 16)), tiny_decoder(), num_iter=30, early_stopping="variance", window=5,
        callback=lambda k, x: outputs.append(x.double()),
    )  # fmt: skip
    last = torch.stack(outputs[-5:])
    expected = float(((last - last.mean(0)) ** 2).sum() / 5)
    assert res.history["variance"][-1] == pytest.approx(expected, rel=1e-6)


def test_budget_shorter_than_the_variance_window_returns_the_last_estimate():
    _, y = noisy_camera(16)
    res = fit_untrained(y, Identity((1, 16, 16)), tiny_decoder(), num_iter=5, early_stopping="variance")
    assert res.best_iter == res.num_iter == 5 and not res.converged


def test_data_consistency_through_a_multicoil_mri_operator():
    x = load_sample("shepp_logan", size=32, gray=True).unsqueeze(0)
    A = MultiCoilMRI(
        coil_sensitivity_maps(4, (32, 32)), equispaced_kspace_mask((32, 32), 4, 0.125, generator=0)
    )
    y = GaussianNoise(0.005)(A(x), make_generator(1))
    zero_filled = get_method("zero-filled")(y, A)
    net = ConvDecoder(32, out_channels=2, channels=16, num_layers=4, generator=0)
    res = fit_untrained(y, A, net, num_iter=250, rescale=True, x_true=x)
    assert res.x.shape == (1, 1, 32, 32) and res.x.dtype == torch.complex64
    loss = res.history["objective"]
    assert loss[-1] < 0.01 * loss[0]
    # measured: zero-filled 18.9 dB, ConvDecoder 26.6 dB (magnitudes)
    assert psnr(res.x.abs(), x) > psnr(zero_filled, x) + 7
    assert res.history["psnr"][res.best_iter - 1] == pytest.approx(psnr(res.x.abs(), x), abs=1e-4)


def test_rescale_makes_the_fit_invariant_to_the_data_scale():
    A = GaussianMatrix((1, 8, 8), 40, generator=0)
    x = load_sample("camera", size=8, gray=True).unsqueeze(0)
    y = A(x)

    def fit(data):
        net = ConvDecoder(8, out_channels=1, channels=4, num_layers=2, generator=0)
        return fit_untrained(data, A, net, num_iter=30, rescale=True, early_stopping=None)

    # a power of two scales exactly in floating point: the two fits are the same computation
    small, big = fit(y), fit(2.0**-10 * y)
    assert big.scale == 2.0**10 * small.scale
    assert torch.equal(big.x, 2.0**-10 * small.x)
    # without rescaling, data 1000 times smaller are fitted much worse by the same number of steps
    net = ConvDecoder(8, out_channels=1, channels=4, num_layers=2, generator=0)
    plain = fit_untrained(2.0**-10 * y, A, net, num_iter=30, early_stopping=None)
    assert plain.scale == 1.0
    assert plain.history["objective"][-1] > 10 * big.history["objective"][-1]


def test_works_under_no_grad_and_inference_mode():
    _, y = noisy_camera(16)
    net = tiny_decoder()
    with torch.inference_mode():
        res = fit_untrained(y, Identity((1, 16, 16)), net, num_iter=10, early_stopping=None)
    with torch.no_grad():
        again = fit_untrained(y, Identity((1, 16, 16)), tiny_decoder(), num_iter=10, early_stopping=None)
    assert res.history["objective"][-1] < res.history["objective"][0]
    assert torch.equal(res.x, again.x)


def test_progress_bar_runs():
    _, y = noisy_camera(16)
    res = fit_untrained(y, Identity((1, 16, 16)), tiny_decoder(), num_iter=3, progress=True)
    assert res.num_iter == 3


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"jitter": -0.1}, ValueError, "jitter must be >= 0"),
        ({"ema": 1.0}, ValueError, "ema must be < 1"),
        ({"early_stopping": "best"}, ValueError, "early_stopping must be one of 'holdout', 'variance'"),
        ({"holdout": 0.0}, ValueError, "holdout must be > 0"),
        ({"holdout": 1.0}, ValueError, "holdout must be < 1"),
        ({"patience": 0}, ValueError, "patience must be >= 1"),
        ({"window": 1}, ValueError, "window must be >= 2"),
        ({"num_iter": -1}, ValueError, "num_iter must be >= 0"),
        ({"x_true": torch.zeros(1, 1, 8, 8)}, ValueError, "x_true"),
        ({"z": torch.zeros(2, 4, 4, 4)}, ValueError, "z must have batch 1"),
        ({"callback": 3}, TypeError, "callback must be callable"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    _, y = noisy_camera(16)
    with pytest.raises(error, match=match):
        fit_untrained(y, Identity((1, 16, 16)), tiny_decoder(), **kwargs)


def test_bad_problems_are_refused():
    _, y = noisy_camera(16)
    A = Identity((1, 16, 16))
    with pytest.raises(ValueError, match="y must hold one measurement"):
        fit_untrained(torch.cat((y, y)), A, tiny_decoder())
    with pytest.raises(TypeError, match="A must be a LinearOperator"):
        fit_untrained(y, "identity", tiny_decoder())
    with pytest.raises(ValueError, match=r"A must act on images.*got \(10,\)"):
        fit_untrained(torch.zeros(1, 10), Identity((10,)), tiny_decoder())
    with pytest.raises(TypeError, match="net must be a torch.nn.Module"):
        fit_untrained(y, A, lambda z: z)
    with pytest.raises(ValueError, match=r"net must give images of shape \(1, 1, 16, 16\)"):
        fit_untrained(y, A, DeepDecoder(16, out_channels=3, channels=2, num_layers=2))
    mri = MultiCoilMRI(coil_sensitivity_maps(2, (16, 16)), torch.ones(16, 16, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"2 = 2 x 1 channels \(real and imaginary parts\)"):
        fit_untrained(mri(y), mri, tiny_decoder())
    empty = Inpainting((1, 4, 4), torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="A measures nothing"):
        fit_untrained(torch.zeros(1, 1, 4, 4), empty, FreePixels((1, 4, 4)))
    with pytest.raises(ValueError, match="holdout=0.01 of the 4 measured entries leaves none to hold out"):
        fit_untrained(torch.zeros(1, 1, 2, 2), Identity((1, 2, 2)), FreePixels((1, 2, 2)), holdout=0.01)
