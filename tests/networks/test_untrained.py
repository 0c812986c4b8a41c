"""Untrained networks (Deep Decoder, ConvDecoder, Deep Image Prior's skip network): shapes at any size,
parameter counts, seeded initialization that leaves the global RNG alone, configs and validation."""

import pytest
import torch

from inverselab.networks import (
    NETWORKS,
    ConvDecoder,
    DeepDecoder,
    SkipNet,
    deep_decoder_num_parameters,
    skip_net_max_scales,
)
from inverselab.networks._untrained import ChannelNorm


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = {
    "deep-decoder": lambda size, gen=0: DeepDecoder(
        size, out_channels=3, channels=6, num_layers=4, generator=gen
    ),
    "convdecoder": lambda size, gen=0: ConvDecoder(
        size, out_channels=2, channels=6, num_layers=4, generator=gen
    ),
    "skip": lambda size, gen=0: SkipNet(
        size, in_channels=4, out_channels=3, channels=6, skip_channels=2, num_scales=3, generator=gen
    ),
}


def test_deep_decoder_parameter_count_is_the_papers():
    # Heckel & Hand 2019: k = 64 channels, 6 layers, color output: 25,536 weights
    assert deep_decoder_num_parameters(64, 6, 3) == 25_536
    net = DeepDecoder(512, out_channels=3, channels=64, num_layers=6)
    assert net.num_parameters() == 25_536
    assert net.input_shape == (64, 16, 16)  # 16x16 input for 512x512 (5 doublings)


@pytest.mark.parametrize("k, d, c", [(1, 1, 1), (4, 3, 1), (10, 5, 2), (32, 6, 3)])
@pytest.mark.parametrize("size", [16, (23, 40)])
def test_deep_decoder_parameter_count_matches_the_formula(k, d, c, size):
    net = DeepDecoder(size, out_channels=c, channels=k, num_layers=d)
    assert net.num_parameters() == deep_decoder_num_parameters(k, d, c) == d * k * k + 2 * d * k + k * c


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("size", [(16, 16), (17, 23), (32, 12), (25, 25)])
def test_output_shape_at_any_size(name, size):
    net = TINY[name](size)
    out = net(net.random_input(generator=1, batch_size=2))
    assert out.shape == (2, net.out_channels, *size) and bool(torch.isfinite(out).all())


def test_sigmoid_outputs_are_images_in_the_unit_range():
    for net in (TINY["deep-decoder"](20), TINY["skip"](20)):
        with torch.no_grad():
            out = net(net.random_input(generator=0))
        assert bool(((out > 0) & (out < 1)).all())
    signed = DeepDecoder(20, out_channels=2, channels=6, num_layers=3, sigmoid=False)
    with torch.no_grad():
        assert float(signed(signed.random_input()).min()) < 0  # no sigmoid: signed output (complex images)


def test_deep_decoder_layer_sizes_double_and_end_at_the_image_size():
    assert DeepDecoder(64, channels=2, num_layers=5).sizes == [(4, 4), (8, 8), (16, 16), (32, 32), (64, 64)]
    assert DeepDecoder((50, 33), channels=2, num_layers=4).sizes == [(7, 5), (13, 9), (25, 17), (50, 33)]


def test_convdecoder_sizes_grow_geometrically_from_the_input():
    net = ConvDecoder(256, channels=2, num_layers=5, input_size=4)
    assert net.sizes == [(4, 4), (12, 12), (32, 32), (91, 91), (256, 256)]  # ratio (256/4)^(1/4) ≈ 2.83
    assert net.input_shape == (2, 4, 4)


def test_skip_net_max_scales_keeps_two_pixels_at_the_coarsest_scale():
    assert skip_net_max_scales(32) == 4 and skip_net_max_scales(33) == 5 and skip_net_max_scales(512) == 8
    SkipNet(33, in_channels=2, out_channels=1, channels=2, skip_channels=1, num_scales=5)  # fits
    with pytest.raises(ValueError, match=r"num_scales must be at most 4 for image_size \(32, 32\)"):
        SkipNet(32, num_scales=5)


def test_skip_net_default_is_the_papers_architecture():
    net = SkipNet(64)
    assert (net.in_channels, net.channels, net.skip_channels, net.num_scales) == (32, 128, 4, 5)
    assert 2_000_000 < net.num_parameters() < 2_500_000


def test_skip_net_without_skip_connections():
    net = SkipNet(16, in_channels=2, out_channels=1, channels=4, skip_channels=0, num_scales=2)
    assert net(net.random_input()).shape == (1, 1, 16, 16)


@pytest.mark.parametrize("name", TINY)
def test_initialization_is_seeded_and_leaves_the_global_rng_alone(name):
    state = torch.random.get_rng_state()
    a, b, c = TINY[name](12, 5), TINY[name](12, torch.Generator().manual_seed(5)), TINY[name](12, 6)
    za, zb = a.random_input(generator=3), b.random_input(generator=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # nothing drawn from the global generator
    assert torch.equal(za, zb) and float(za.min()) >= 0 and float(za.max()) < 0.1  # the papers' input
    for (n, p), (_, q), (_, r) in zip(
        a.named_parameters(), b.named_parameters(), c.named_parameters(), strict=True
    ):
        assert torch.equal(p, q), n
        if p.ndim == 4:  # convolution weights: PyTorch's default range, another seed other weights
            fan_in = p[0].numel()
            assert float(p.detach().abs().max()) <= fan_in**-0.5 and not torch.equal(p, r)


@pytest.mark.parametrize("name", TINY)
def test_config_rebuilds_the_architecture(name):
    net = TINY[name]((14, 18))
    twin = type(net)(**net.config)
    assert twin.config == net.config and twin.num_parameters() == net.num_parameters()


def test_untrained_networks_are_not_training_models():
    # `inverselab train --model` names only trained networks
    assert not {DeepDecoder, ConvDecoder, SkipNet} & set(NETWORKS.values())


def test_channel_norm_is_batch_norm_of_one_image():
    x = torch.randn(1, 3, 5, 7, dtype=torch.float64)
    norm, bn = ChannelNorm(3).double(), torch.nn.BatchNorm2d(3).double().train()
    torch.testing.assert_close(norm(x), bn(x))
    both = norm(torch.cat((x, torch.randn_like(x))))  # items of a batch stay independent
    torch.testing.assert_close(both[:1], norm(x), atol=1e-12, rtol=0)


def test_float64_networks():
    net = TINY["convdecoder"](10).double()
    z = net.random_input()
    assert z.dtype == torch.float64 and net(z).dtype == torch.float64


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: DeepDecoder(16, channels=0), ValueError, "channels must be >= 1"),
        (lambda: DeepDecoder(16, num_layers=2.5), TypeError, "num_layers must be an integer"),
        (lambda: DeepDecoder((16,)), ValueError, r"image_size must be an integer or a pair \(H, W\)"),
        (lambda: DeepDecoder(0), ValueError, "image_size must be >= 1"),
        (lambda: ConvDecoder(16, num_layers=1), ValueError, "num_layers must be >= 2"),
        (
            lambda: ConvDecoder(16, input_size=20),
            ValueError,
            r"input_size must be at most image_size \(16, 16\)",
        ),
        (lambda: SkipNet(16, skip_channels=-1), ValueError, "skip_channels must be >= 0"),
        (lambda: DeepDecoder(16).random_input(batch_size=0), ValueError, "batch_size must be >= 1"),
    ],
)
def test_bad_arguments_name_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_wrong_input_shape_is_refused():
    net = TINY["deep-decoder"](16)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 6, 2, 2\)"):
        net(torch.zeros(1, 6, 3, 3))
    with pytest.raises(TypeError, match="z must be a real floating-point tensor"):
        net(torch.zeros(1, 6, 2, 2, dtype=torch.int64))
