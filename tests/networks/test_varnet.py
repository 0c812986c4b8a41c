"""E2E-VarNet: sensitivity estimation, data consistency, checkpointing and a short training on the preset."""

import json

import pytest
import torch

from inverselab.data import shepp_logan, training_images
from inverselab.methods import classical
from inverselab.metrics import psnr
from inverselab.networks import SensitivityModel, VarNet
from inverselab.networks.varnet import acs_band
from inverselab.operators import MRI, MultiCoilMRI, coil_sensitivity_maps, equispaced_kspace_mask
from inverselab.presets import get_preset

N = 32


def _operator(acceleration=4, center_fraction=0.25, coils=4, seed=1):
    maps = coil_sensitivity_maps(coils, (N, N), generator=seed)
    return MultiCoilMRI(maps, equispaced_kspace_mask((N, N), acceleration, center_fraction, generator=0))


def _small_varnet(**kwargs):
    torch.manual_seed(0)  # the default nn.init draws from the global generator
    return VarNet(num_cascades=2, chans=4, sens_chans=4, num_pool_layers=2, sens_num_pool_layers=2, **kwargs)


def _zero_last_layer(unet):
    torch.nn.init.zeros_(unet.final.weight)
    torch.nn.init.zeros_(unet.final.bias)


def _phase_free_correlation(estimate, maps, support):
    """``|<S_est, S>| / (‖S_est‖ ‖S‖)`` over the coils and the support pixels, per image."""
    inner = ((estimate.conj() * maps).sum(1) * support).sum((-2, -1)).abs()
    norm_est = ((estimate.abs() ** 2).sum(1) * support).sum((-2, -1)).sqrt()
    norm_true = ((maps.abs() ** 2).sum(0) * support).sum((-2, -1)).sqrt()
    return inner / (norm_est * norm_true)


def test_config_round_trip_and_state_dict():
    net = _small_varnet(checkpointing=True)
    config = json.loads(json.dumps(net.config))
    twin = VarNet(**config)
    assert twin.config == net.config
    twin.load_state_dict(net.state_dict())
    A = _operator()
    y = A(training_images("phantoms", 2, N, generator=0))
    with torch.no_grad():
        assert torch.equal(twin(y, A), net(y, A))
    assert not hasattr(net, "net")
    assert VarNet().config == {
        "num_cascades": 5,
        "chans": 12,
        "sens_chans": 6,
        "num_pool_layers": 3,
        "sens_num_pool_layers": 2,
        "checkpointing": False,
        "zero_init": False,
    }
    with pytest.raises(ValueError, match="num_cascades"):
        VarNet(num_cascades=0)


def test_acs_band_and_bad_arguments():
    mask = torch.zeros(4, 16, dtype=torch.bool)
    mask[:, [2, 6, 7, 8, 9, 13]] = True
    assert acs_band(mask) == (6, 10)
    mask[:, 8] = False
    with pytest.raises(ValueError, match="mask"):
        acs_band(mask)
    net = _small_varnet()
    single = MRI((N, N), equispaced_kspace_mask((N, N), 4, 0.25))
    with pytest.raises(ValueError, match="A must be a MultiCoilMRI"):
        net(torch.zeros(1, 1, N, N, dtype=torch.complex64), single)
    with pytest.raises(ValueError, match="A must be a MultiCoilMRI"):
        net.initial_reconstruction(torch.zeros(1, 1, N, N, dtype=torch.complex64), single)
    with pytest.raises(ValueError, match="y"):
        net(torch.zeros(1, 3, N, N, dtype=torch.complex64), _operator())


def test_sensitivity_estimate_is_normalized_and_close_to_the_true_maps():
    A = _operator()
    x = training_images("phantoms", 4, N, generator=3)
    torch.manual_seed(0)
    model = SensitivityModel(chans=4, num_pool_layers=2)
    with torch.no_grad():
        maps = model(A(x), A.mask)  # random initialization: still normalized
        assert maps.shape == (4, 4, N, N) and maps.is_complex()
        power = (maps.abs() ** 2).sum(1)
        assert torch.allclose(power, torch.ones_like(power), atol=1e-5)
        _zero_last_layer(model.unet)  # the classical ACS estimate: low-resolution coil images / their RSS
        support = x[:, 0] > 0.05
        corr = _phase_free_correlation(model(A(x), A.mask), A.maps, support)
        # measured 0.988-0.991 with the 9 ACS columns of this mask; constant maps 1/2 give 0.48-0.51
        assert bool((corr > 0.97).all()), corr
        constant = torch.full_like(maps, 0.5)
        assert bool((_phase_free_correlation(constant, A.maps, support) < 0.6).all())
        x_sl = shepp_logan(N).reshape(1, 1, N, N).float()
        corr = _phase_free_correlation(model(A(x_sl), A.mask), A.maps, x_sl[:, 0] > 0.05)
        assert float(corr) > 0.99  # measured 0.997
        full = _operator(acceleration=1, center_fraction=1.0)  # all of k-space: S x / |x| = S where x > 0
        error = (model(full(x), full.mask) - full.maps).abs().amax(1)
        assert float(error[x[:, 0] > 0].max()) < 1e-4  # measured 1.7e-6


def test_zero_cnn_keeps_data_consistency():
    gen = torch.Generator().manual_seed(0)
    A, noise = get_preset("mri-8x-multicoil").build((1, N, N), gen)
    x = training_images("phantoms", 2, N, generator=4)
    y = noise(A(x), gen)
    net = _small_varnet()
    sampled = A.mask.expand(2, 8, N, N)
    with torch.no_grad():
        # the first cascade's CNN is random, the last one outputs zero and eta = 1: sampled entries = y
        _zero_last_layer(net.cascades[-1].unet)
        k, maps = net.reconstruct_kspace(y, A)
        assert torch.allclose(k[sampled], y[sampled], rtol=0, atol=1e-6)
        assert float((k[~sampled]).abs().max()) > 1e-2  # the random first cascade filled unsampled k-space
        net.cascades[-1].eta.fill_(0.5)  # a different eta mixes in the previous estimate
        k_half, _ = net.reconstruct_kspace(y, A)
        assert float((k_half[sampled] - y[sampled]).abs().max()) > 1e-3
        # every CNN outputs zero: k stays the zero-filled k-space and x is the zero-filled image
        _zero_last_layer(net.cascades[0].unet)
        k, _ = net.reconstruct_kspace(y, A)
        assert torch.allclose(k, y * A.mask, rtol=0, atol=1e-6)
        out, zero_filled = net(y, A), classical.zero_filled(y, A)
        assert out.shape == x.shape and out.dtype == torch.float32
        assert torch.allclose(out, zero_filled, rtol=0, atol=1e-6)
        assert torch.equal(net.initial_reconstruction(y, A), zero_filled)


def test_checkpointing_gives_the_same_output_and_gradients():
    A = _operator(acceleration=8, center_fraction=0.125, coils=3)
    x = training_images("phantoms", 2, N, generator=5)
    y = A(x)
    plain, checkpointed = _small_varnet(), _small_varnet(checkpointing=True)
    checkpointed.load_state_dict(plain.state_dict())
    outputs = []
    for net in (plain, checkpointed):
        out = net(y, A)
        (out - x).pow(2).mean().backward()
        outputs.append(out)
    assert torch.allclose(outputs[0], outputs[1], rtol=0, atol=1e-6)
    for (name, p), q in zip(plain.named_parameters(), checkpointed.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None, name
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-7), name
    # every parameter is trained, except the first eta: k_0 = M y, so M (k_0 - y) = 0
    zero_grad = [name for name, p in plain.named_parameters() if float(p.grad.abs().sum()) == 0]
    assert zero_grad == ["cascades.0.eta"]


@pytest.mark.slow
def test_short_training_beats_zero_filled():
    preset = get_preset("mri-8x-multicoil")
    gen = torch.Generator().manual_seed(0)
    train = training_images("phantoms", 64, N, generator=1)
    test = training_images("phantoms", 16, N, generator=2)
    net = _small_varnet()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        x = train[torch.randint(0, len(train), (4,), generator=gen)]
        A, noise = preset.build((1, N, N), gen)  # a fresh mask offset every step, as the trainer does
        y = noise(A(x), gen)
        loss = (net(y, A) - x).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    gen = torch.Generator().manual_seed(123)
    gains = []
    with torch.no_grad():
        for x in test.split(4):
            A, noise = preset.build((1, N, N), gen)
            y = noise(A(x), gen)
            zero_filled = net.initial_reconstruction(y, A).clamp(0, 1)
            gains.append(psnr(net(y, A).clamp(0, 1), x) - psnr(zero_filled, x))
    gains = torch.cat(gains)
    # measured: mean +2.51 dB (median +0.93, from -0.76 to +10.6), 13 of the 16 images improved; ~20 s CPU
    assert float(gains.mean()) > 1.0, gains
    assert int((gains > 0).sum()) >= 10, gains


def test_zero_init_starts_at_zero_filled_and_still_learns():
    """``zero_init=True``: the untrained network is the zero-filled image, the config round-trips, and the
    cascades' last layers get gradients (so training moves away from zero-filled)."""
    gen = torch.Generator().manual_seed(0)
    A, noise = get_preset("mri-8x-multicoil").build((1, N, N), gen)
    x = training_images("phantoms", 2, N, generator=4)
    y = noise(A(x), gen)
    torch.manual_seed(0)
    net = VarNet(num_cascades=2, chans=4, sens_chans=2, num_pool_layers=2, zero_init=True)
    out = net(y, A)
    assert torch.allclose(out, classical.zero_filled(y, A), rtol=0, atol=1e-6)
    assert VarNet(**net.config).config == net.config and net.config["zero_init"] is True
    ((out - x) ** 2).mean().backward()
    assert all(float(c.unet.final.weight.grad.abs().max()) > 0 for c in net.cascades)
    with pytest.raises(TypeError, match="zero_init"):
        VarNet(zero_init=1)


def test_operator_maps_use_the_known_coil_maps_and_learn_faster():
    """``maps="operator"``: no sensitivity network (config round-trips without its sizes), the coil maps are
    the operator's, and 60 Adam steps from the zero-filled start beat zero-filling on held-out phantoms."""
    preset = get_preset("mri-8x-multicoil")
    net = VarNet(num_cascades=2, chans=4, num_pool_layers=2, zero_init=True, maps="operator")
    assert net.sens_model is None and net.config["maps"] == "operator" and "sens_chans" not in net.config
    assert VarNet(**net.config).config == net.config
    assert "maps" not in _small_varnet().config  # the paper's estimate: the shipped sidecars stay valid
    gen = torch.Generator().manual_seed(0)
    A, noise = preset.build((1, N, N), gen)
    x = training_images("phantoms", 2, N, generator=4)
    y = noise(A(x), gen)
    k, maps = net.reconstruct_kspace(y, A)
    assert torch.equal(maps[0], A.maps)
    with pytest.raises(ValueError, match="maps must be one of"):
        VarNet(maps="espirit")

    train = training_images("phantoms", 64, N, generator=1)
    test = training_images("phantoms", 8, N, generator=2)
    torch.manual_seed(0)
    net = VarNet(num_cascades=2, chans=4, num_pool_layers=2, zero_init=True, maps="operator")
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        xb = train[torch.randint(0, len(train), (4,), generator=g)]
        A, noise = preset.build((1, N, N), g)
        loss = (net(noise(A(xb), g), A) - xb).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        A, noise = preset.build((1, N, N), g)
        y = noise(A(test), g)
        gain = psnr(net(y, A).clamp(0, 1), test) - psnr(classical.zero_filled(y, A).clamp(0, 1), test)
    # measured: +1.1 to +3.6 dB on each of the 8 phantoms (mean +2.0); ~4 s CPU
    assert float(gain.mean()) > 0.5 and int((gain > 0).sum()) >= 6, gain
