"""UNet, DnCNN and DRUNet: shapes, residual structure, noise-level forms, validation, config round-trip,
gradients, and a tiny denoising problem on which the networks must learn."""

import json

import pytest
import torch

from inverselab.networks import NETWORKS, DnCNN, DRUNet, UNet, noise_level_map

TINY = {
    "unet": lambda: UNet(2, 3, chans=4, num_pool_layers=2),
    "dncnn": lambda: DnCNN(channels=2, depth=3, features=8),
    "drunet": lambda: DRUNet(channels=2, features=(4, 8, 8), num_blocks=1),
}


def run(net, x, sigma=0.1):
    return net(x) if isinstance(net, UNet) else net(x, sigma)


def out_channels(net):
    return net.out_chans if isinstance(net, UNet) else net.channels


def test_table_names_every_network():
    from inverselab.networks import (
        ALISTA,
        DCGAN,
        DDPM,
        LAMP,
        LISTA,
        LISTACP,
        LISTACPSS,
        VAE,
        GraphNet,
        LearnedPrimalDual,
        MoDL,
        UnrolledProximalGradient,
        VarNet,
    )
    from inverselab.training.generative import GENERATIVE_MODELS
    from inverselab.training.trainer import MODEL_DEFAULTS, UNROLLED

    assert NETWORKS == {
        "unet": UNet,
        "dncnn": DnCNN,
        "drunet": DRUNet,
        "lista": LISTA,
        "lista-cp": LISTACP,
        "lista-cpss": LISTACPSS,
        "alista": ALISTA,
        "lamp": LAMP,
        "unrolled-pg": UnrolledProximalGradient,
        "modl": MoDL,
        "lpd": LearnedPrimalDual,
        "varnet": VarNet,
        "vae": VAE,
        "gan": DCGAN,
        "ddpm": DDPM,
        "gnn": GraphNet,
    }
    assert set(UNROLLED) <= set(MODEL_DEFAULTS) <= set(NETWORKS)  # every trainer model has a class
    assert set(GENERATIVE_MODELS) <= set(NETWORKS)


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("size", [(16, 16), (17, 23), (9, 30), (31, 12)])
def test_output_shape_any_size(name, size):
    torch.manual_seed(0)
    net = TINY[name]()
    x = torch.randn(3, 2, *size)
    y = run(net, x)
    assert y.shape == (3, out_channels(net), *size)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", TINY)
def test_batch_items_are_independent(name):
    # eval mode (batch norm uses running statistics): each output depends on its own input only
    torch.manual_seed(0)
    net = TINY[name]().eval()
    x = torch.randn(3, 2, 13, 18)
    with torch.no_grad():
        both = run(net, x)
        one = run(net, x[1:2])
    torch.testing.assert_close(both[1:2], one, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", TINY)
def test_float64(name):
    net = TINY[name]().double()
    x = torch.randn(2, 2, 11, 12, dtype=torch.float64)
    assert run(net, x).dtype == torch.float64


@pytest.mark.parametrize("name", ["dncnn", "drunet"])
def test_zero_last_layer_gives_identity(name):
    torch.manual_seed(0)
    net = TINY[name]()
    last = net.layers[-1] if name == "dncnn" else net.tail
    with torch.no_grad():
        last.weight.zero_()
    x = torch.randn(2, 2, 13, 10)
    assert torch.equal(run(net, x), x)
    # ... and with random weights it is not the identity
    assert not torch.allclose(run(TINY[name](), x), x)


def test_dncnn_ignores_sigma():
    torch.manual_seed(0)
    net = DnCNN(channels=1, depth=4, features=8).eval()
    x = torch.randn(2, 1, 10, 10)
    with torch.no_grad():
        ref = net(x)
        assert torch.equal(net(x, 0.3), ref)
        assert torch.equal(net(x, torch.tensor([0.0, 1.0])), ref)


def test_drunet_sigma_forms_agree_and_sigma_matters():
    torch.manual_seed(0)
    net = DRUNet(channels=1, features=(4, 8), num_blocks=1)
    x = torch.randn(2, 1, 9, 14)
    with torch.no_grad():
        ref = net(x, 0.1)
        for sigma in [
            torch.tensor(0.1),
            torch.full((2,), 0.1),
            torch.full((2, 1, 9, 14), 0.1),
            torch.full((1, 1, 1, 1), 0.1),
            torch.full((2, 1, 1, 1), 0.1, dtype=torch.float64),
        ]:
            torch.testing.assert_close(net(x, sigma), ref, rtol=0, atol=0)
        # per-image levels: each image is denoised at its own level
        mixed = net(x, torch.tensor([0.1, 0.4]))
        torch.testing.assert_close(mixed[0], ref[0], rtol=0, atol=0)
        assert (mixed[1] - ref[1]).abs().max() > 1e-4


def test_noise_level_map():
    x = torch.zeros(2, 3, 4, 5, dtype=torch.float64)
    m = noise_level_map(0.2, x)
    assert m.shape == (2, 1, 4, 5) and m.dtype == torch.float64
    assert torch.equal(m, torch.full((2, 1, 4, 5), 0.2, dtype=torch.float64))
    per_pixel = torch.rand(2, 1, 4, 5)
    torch.testing.assert_close(noise_level_map(per_pixel, x), per_pixel.double())


@pytest.mark.parametrize(
    "sigma, error, match",
    [
        (-0.1, ValueError, "sigma must be >= 0"),
        (float("nan"), ValueError, "sigma"),
        (torch.tensor([0.1, -0.1]), ValueError, "sigma must be finite and >= 0"),
        (torch.tensor([0.1, 0.2, 0.3]), ValueError, r"sigma must be .*\(2,\) tensor.*got shape \(3,\)"),
        (torch.zeros(2, 1, 3, 3), ValueError, "sigma"),
        (torch.zeros(2, 2, 4, 4), ValueError, "sigma"),
        ("0.1", TypeError, "sigma"),
        (torch.tensor([1j, 1j]), TypeError, "sigma"),
    ],
)
@pytest.mark.parametrize("cls", [DRUNet, DnCNN])
def test_bad_sigma(cls, sigma, error, match):
    net = cls(
        channels=1, **({"depth": 2, "features": 4} if cls is DnCNN else {"features": (4,), "num_blocks": 1})
    )
    with pytest.raises(error, match=match):
        net(torch.zeros(2, 1, 4, 4), sigma)


def test_drunet_needs_sigma():
    with pytest.raises(TypeError):
        DRUNet(features=(4,), num_blocks=1)(torch.zeros(1, 1, 4, 4))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: UNet(0, 1), "in_chans"),
        (lambda: UNet(1, 0), "out_chans"),
        (lambda: UNet(1, 1, chans=0), "chans"),
        (lambda: UNet(1, 1, num_pool_layers=0), "num_pool_layers"),
        (lambda: UNet(1, 1, drop_prob=1.0), "drop_prob"),
        (lambda: UNet(1, 1, drop_prob=-0.1), "drop_prob"),
        (lambda: DnCNN(channels=0), "channels"),
        (lambda: DnCNN(depth=1), "depth"),
        (lambda: DnCNN(features=-3), "features"),
        (lambda: DRUNet(channels=0), "channels"),
        (lambda: DRUNet(features=()), "features"),
        (lambda: DRUNet(features=(8, 0)), r"features\[1\]"),
        (lambda: DRUNet(num_blocks=0), "num_blocks"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: UNet(1, 1, chans=2.5), "chans"),
        (lambda: DnCNN(batch_norm=1), "batch_norm"),
        (lambda: DRUNet(features=8), "features"),
    ],
)
def test_bad_argument_types(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("name", TINY)
def test_bad_input(name):
    net = TINY[name]()
    with pytest.raises(ValueError, match=r"x must have 2 channel\(s\), got shape \(1, 1, 16, 16\)"):
        run(net, torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"x must have shape \(B, C, H, W\)"):
        run(net, torch.zeros(2, 16, 16))
    with pytest.raises(TypeError, match="x must be a real floating-point tensor"):
        run(net, torch.zeros(1, 2, 16, 16, dtype=torch.complex64))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        run(net, [[0.0]])


def test_unet_too_small_input():
    net = UNet(1, 1, chans=2, num_pool_layers=3)
    with pytest.raises(ValueError, match=r"x must have H, W >= 2\*\*num_pool_layers = 8"):
        net(torch.zeros(1, 1, 7, 30))
    with pytest.raises(ValueError, match="coarsest level"):
        net(torch.zeros(1, 1, 8, 15))  # 1 x 1 at the bottom: instance norm is undefined
    assert net(torch.zeros(1, 1, 8, 16)).shape == (1, 1, 8, 16)


@pytest.mark.parametrize("name", TINY)
def test_config_round_trip(name):
    net = TINY[name]()
    config = json.loads(json.dumps(net.config))
    assert config == net.config
    twin = NETWORKS[name](**config)
    assert twin.config == net.config
    a, b = net.state_dict(), twin.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)
    twin.load_state_dict(a)
    x = torch.randn(2, 2, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(run(twin.eval(), x), run(net.eval(), x))


@pytest.mark.parametrize("name", TINY)
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    net = TINY[name]()
    x = torch.randn(2, 2, 13, 17)
    run(net, x).square().sum().backward()
    for key, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, key


def test_parameter_counts():
    # hand counts: every conv is (out * in * k * k) [+ out bias]
    assert DnCNN(channels=1, depth=3, features=8, batch_norm=True).num_parameters() == (
        (8 * 9 + 8) + (8 * 8 * 9 + 2 * 8) + 8 * 9
    )
    assert DnCNN(channels=1, depth=3, features=8, batch_norm=False).num_parameters() == (
        (8 * 9 + 8) + (8 * 8 * 9 + 8) + 8 * 9
    )
    assert DRUNet(channels=1, features=(4, 8), num_blocks=1).num_parameters() == (
        2 * 4 * 9  # head (image + noise map)
        + 2 * 4 * 4 * 9  # res block, level 0, down
        + 4 * 8 * 4  # strided conv
        + 2 * 8 * 8 * 9  # body
        + 8 * 4 * 4  # transposed conv
        + 2 * 4 * 4 * 9  # res block, level 0, up
        + 4 * 9  # tail
    )
    assert UNet(1, 1, chans=2, num_pool_layers=1).num_parameters() == (
        (2 * 1 * 9 + 2 * 2 * 9)  # down block 1 -> 2
        + (4 * 2 * 9 + 4 * 4 * 9)  # bottom 2 -> 4
        + 4 * 2 * 4  # transposed conv 4 -> 2
        + (2 * 4 * 9 + 2 * 2 * 9)  # up block 4 -> 2
        + (2 + 1)  # final 1x1 conv with bias
    )
    # the defaults (reported in the README): fastMRI's U-Net, the paper's DnCNN, a small DRUNet
    assert UNet(1, 1).num_parameters() == 7_756_097
    assert DnCNN().num_parameters() == 556_096
    assert DRUNet().num_parameters() == 1_063_344


def test_dropout_only_in_training():
    torch.manual_seed(0)
    net = UNet(1, 1, chans=4, num_pool_layers=1, drop_prob=0.5)
    x = torch.randn(1, 1, 8, 8)
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


# --- learning -----------------------------------------------------------------------------------------------
def rectangles(n, generator):
    """A piecewise-constant image: random rectangles of random grey levels."""
    img = torch.zeros(n, n)
    for _ in range(12):
        r, c = torch.randint(0, n, (2,), generator=generator).tolist()
        h, w = torch.randint(4, n // 2, (2,), generator=generator).tolist()
        img[r : r + h, c : c + w] = torch.rand((), generator=generator)
    return img[None, None]


def psnr(x, ref):
    return float(10 * torch.log10(1 / (x - ref).square().mean()))


@pytest.mark.parametrize(
    "make",
    [lambda: DnCNN(depth=5, features=16), lambda: DRUNet(features=(8, 16), num_blocks=1)],
    ids=["dncnn", "drunet"],
)
def test_learns_to_denoise(make):
    """120 Adam steps on 16x16 patches of one image, tested on another: +4.4 to +5.1 dB PSNR with seed 0
    (+3.0 to +7.2 dB over seeds 0-5), about 1 s each."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    train, test = rectangles(64, g), rectangles(48, g)
    sigma = 0.1
    net = make()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    losses = []
    for _ in range(120):
        r, c = torch.randint(0, 64 - 16, (2, 16), generator=g).tolist()
        clean = torch.cat([train[..., i : i + 16, j : j + 16] for i, j in zip(r, c, strict=True)])
        noisy = clean + sigma * torch.randn(clean.shape, generator=g)
        loss = (net(noisy, sigma) - clean).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-20:]) < 0.5 * sum(losses[:20])
    noisy = test + sigma * torch.randn(test.shape, generator=g)
    with torch.no_grad():
        out = net.eval()(noisy, sigma)
    assert psnr(noisy, test) == pytest.approx(20.0, abs=0.5)
    assert psnr(out, test) >= psnr(noisy, test) + 2.5
